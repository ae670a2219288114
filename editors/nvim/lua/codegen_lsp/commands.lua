--- The :Codegen* commands: thin wrappers over the server's workspace/executeCommand commands.
local M = {}
local api = vim.api

local function notify(message, level)
  vim.notify('codegen: ' .. message, level or vim.log.levels.INFO)
end

--- The codegen client of the current buffer, or nil after telling the user why there is none.
---@return vim.lsp.Client?
local function client_or_warn()
  local ok, options = pcall(require('codegen_lsp.config').get)
  if not ok then
    notify(options, vim.log.levels.ERROR)
    return nil
  end
  local client = require('codegen_lsp').client(0)
  if not client then
    notify(('no server attached to this buffer (filetype "%s"); add it to `filetypes` in setup() or check '
      .. ':checkhealth codegen_lsp'):format(vim.bo.filetype), vim.log.levels.ERROR)
  end
  return client
end

--- Run server command `command`; `on_result(result)` runs on success, errors are shown.
---@param client vim.lsp.Client
---@param command string
---@param arguments? any[]
---@param on_result? fun(result: any)
local function execute(client, command, arguments, on_result)
  client:request('workspace/executeCommand', { command = command, arguments = arguments }, function(err, result)
    if err then
      notify(('%s failed: %s'):format(command, err.message), vim.log.levels.ERROR)
    elseif on_result then
      on_result(result)
    end
  end, api.nvim_get_current_buf())
end

--- Apply a WorkspaceEdit a command returned (servers may also apply it through workspace/applyEdit).
local function apply_returned_edit(client, result)
  local edit = type(result) == 'table' and (result.edit or result) or nil
  if edit and (edit.changes or edit.documentChanges) then
    vim.lsp.util.apply_workspace_edit(edit, client.offset_encoding)
  end
end

--- :CodegenGenerate — the body of the function whose docstring is at the cursor.
function M.generate()
  local client = client_or_warn()
  if not client then
    return
  end
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  notify('generating…')
  execute(client, 'codegen.generateFromDocstring', { params.textDocument.uri, params.position }, function(result)
    apply_returned_edit(client, result)
  end)
end

--- The LSP range of lines line1..line2 (1-based, inclusive), or of the characterwise visual selection on them.
---@return lsp.Range
local function selected_range(client, line1, line2)
  local start_mark, end_mark = api.nvim_buf_get_mark(0, '<'), api.nvim_buf_get_mark(0, '>')
  local start_col, end_line, end_col = 0, line2, nil
  if vim.fn.visualmode() == 'v' and start_mark[1] == line1 and end_mark[1] == line2 then
    local last = api.nvim_buf_get_lines(0, line2 - 1, line2, false)[1]
    start_col = start_mark[2]
    -- The mark is on the last selected character: the range ends after it (it may be multibyte).
    end_col = math.min(#last, end_mark[2] + #vim.fn.strcharpart(last:sub(end_mark[2] + 1), 0, 1))
  end
  local last = api.nvim_buf_get_lines(0, end_line - 1, end_line, false)[1]
  end_col = end_col or #last
  local encoding = client.offset_encoding
  return {
    start = { line = line1 - 1, character = vim.lsp.util.character_offset(0, line1 - 1, start_col, encoding) },
    ['end'] = { line = end_line - 1, character = vim.lsp.util.character_offset(0, end_line - 1, end_col, encoding) },
  }
end

local function translate_targets()
  return require('codegen_lsp.config').get().settings.translate.targets
end

--- :'<,'>CodegenTranslate {language} — the selected code in another language (setting translate.output says where).
---@param args table user command arguments
function M.translate(args)
  local client = client_or_warn()
  if not client then
    return
  end
  local language = vim.trim(args.args)
  if not vim.list_contains(translate_targets(), language) then
    notify(('unknown language "%s"; use one of: %s (setting translate.targets)'):format(
      language, table.concat(translate_targets(), ', ')), vim.log.levels.ERROR)
    return
  end
  local uri = vim.uri_from_bufnr(0)
  notify(('translating to %s…'):format(language))
  execute(client, 'codegen.translate', { uri, selected_range(client, args.line1, args.line2), language },
    function(result)
      apply_returned_edit(client, result)
    end)
end

--- Completion of :CodegenTranslate's argument: the configured target languages starting with `arglead`.
---@param arglead string
---@return string[]
function M.complete_language(arglead)
  return vim.tbl_filter(function(language)
    return vim.startswith(language, arglead)
  end, translate_targets())
end

--- :CodegenFinetune — run the fine-tune command on the project root in a terminal, then reload the model.
---@return integer? job the terminal job's id
function M.finetune()
  local client = client_or_warn()
  if not client then
    return nil
  end
  local options = require('codegen_lsp.config').get()
  local cmd = vim.deepcopy(options.finetune_cmd)
  if vim.fn.executable(cmd[1]) == 0 then
    notify(('%s not found; install the training extra (pip install "codegen-lsp[train]") or set finetune_cmd')
      :format(cmd[1]), vim.log.levels.ERROR)
    return nil
  end
  local root = client.root_dir or vim.fs.root(0, options.root_markers) or vim.fn.getcwd()
  table.insert(cmd, root)
  vim.cmd('botright 12new')
  local job = vim.fn.jobstart(cmd, {
    term = true,
    on_exit = function(_, code)
      vim.schedule(function()
        if code ~= 0 then
          notify(('fine-tuning failed (exit code %d); see its terminal window'):format(code), vim.log.levels.ERROR)
          return
        end
        notify('fine-tuning finished; reloading the model')
        execute(client, 'codegen.reloadModel', nil, function(status)
          notify(('model %s: %s'):format(status and status.state or '?', status and status.model or '?'))
        end)
      end)
    end,
  })
  vim.cmd.wincmd('p')
  notify(('fine-tuning on %s (progress in the terminal window)'):format(root))
  return job
end

--- The one-line summary :CodegenStatus prints for a `codegen.status` result.
---@param status table
---@param ghost_text string the ghost text backend
---@return string
function M.format_status(status, ghost_text)
  local parts = {
    status.state or 'unknown',
    'model ' .. (status.model ~= vim.NIL and status.model or 'none'),
    'device ' .. (status.device ~= vim.NIL and status.device or '?'),
    'codegen-lsp ' .. (status.version or '?'),
    'completion ' .. (status.enabled == false and 'off' or 'on'),
    'ghost text ' .. ghost_text,
  }
  if type(status.error) == 'string' then
    table.insert(parts, 'error: ' .. status.error)
  end
  return table.concat(parts, ' · ')
end

--- :CodegenStatus
function M.status()
  local client = client_or_warn()
  if not client then
    return
  end
  local ghost_text = require('codegen_lsp.inline').backend_name(require('codegen_lsp.config').get().ghost_text)
  execute(client, 'codegen.status', nil, function(status)
    notify(M.format_status(status or {}, ghost_text))
  end)
end

--- :CodegenToggle — inline completion on/off, in the server and in the editor.
function M.toggle()
  local client = client_or_warn()
  if not client then
    return
  end
  execute(client, 'codegen.toggle', nil, function(result)
    local enabled = result and result.enabled ~= false
    -- Keep the answer to the server's next workspace/configuration request in step.
    require('codegen_lsp.config').get().settings.enabled = enabled
    vim.tbl_get(client.settings, 'codegen').enabled = enabled
    require('codegen_lsp.inline').set_enabled(enabled)
    notify('inline completion ' .. (enabled and 'on' or 'off'))
  end)
end

return M
