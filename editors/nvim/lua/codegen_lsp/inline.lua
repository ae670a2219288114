--- Ghost text. Two backends behind one interface (attach / visible / accept / dismiss / cycle / set_enabled):
--- 'builtin' drives Neovim's vim.lsp.inline_completion (0.12+); 'extmark' requests textDocument/inlineCompletion
--- itself (debounced, cancelling the previous request) and renders the suggestion with extmarks (0.11).
local M = {}
local api = vim.api

local NAMESPACE = api.nvim_create_namespace('codegen_lsp.ghost_text')
local BUILTIN_NAMESPACE = 'nvim.lsp.inline_completion'
local METHOD = 'textDocument/inlineCompletion'
local TRIGGER_AUTOMATIC = 2

api.nvim_set_hl(0, 'CodegenGhostText', { link = 'Comment', default = true })
api.nvim_set_hl(0, 'CodegenGhostTextHint', { link = 'MoreMsg', default = true })

-- Pure helpers -------------------------------------------------------------------------------------------------

--- The part of `text` that accepting `part` ('all' | 'word' | 'line') inserts, and the rest.
--- A word is the leading blanks (after at most one newline) and then a run of identifier or of other characters;
--- a line is the rest of the current line, or the next line when the suggestion starts with a newline.
---@param text string
---@param part 'all'|'word'|'line'
---@return string accepted, string rest
function M.split_accept(text, part)
  local accepted = text
  if part == 'word' then
    accepted = text:match('^\n?[ \t]*[%w_]+') or text:match('^\n?[ \t]*[^%w_%s]+') or text:match('^\n?[ \t]*')
  elseif part == 'line' then
    local newline = text:find('\n', 2, true)
    accepted = newline and text:sub(1, newline - 1) or text
  end
  if accepted == '' then
    accepted = text
  end
  return accepted, text:sub(#accepted + 1)
end

--- What is left of `text` to show once `typed` (the characters typed since the item's range start) is in the
--- buffer; nil when the user typed something else.
---@param text string
---@param typed string
---@return string?
function M.remaining(text, typed)
  if text:sub(1, #typed) ~= typed then
    return nil
  end
  return text:sub(#typed + 1)
end

--- The plain text of an InlineCompletionItem (a snippet's body as written).
---@param item table
---@return string
local function item_text(item)
  local insert = item.insertText or item.insert_text
  return type(insert) == 'table' and insert.value or insert or ''
end

--- Insert `text` at (row, col) (0-based, byte column) and put the cursor after it.
local function insert_text(bufnr, row, col, text)
  local lines = vim.split(text, '\n', { plain = true })
  api.nvim_buf_set_text(bufnr, row, col, row, col, lines)
  local end_col = (#lines == 1 and col or 0) + #lines[#lines]
  api.nvim_win_set_cursor(0, { row + #lines, end_col })
  return row + #lines - 1, end_col
end

local function cursor_position()
  local row, col = unpack(api.nvim_win_get_cursor(0))
  return row - 1, col
end

-- Backend 'extmark' ----------------------------------------------------------------------------------------------

---@class codegen_lsp.GhostState
---@field client_id integer
---@field timer uv.uv_timer_t
---@field request_id? integer
---@field items? string[] the suggestions' texts still to insert at (row, col)
---@field index integer
---@field row integer
---@field col integer
---@field tick integer changedtick when the suggestion was shown

---@type table<integer, codegen_lsp.GhostState>
local states = {}
local enabled = true

local function cancel_request(state)
  local client = vim.lsp.get_client_by_id(state.client_id)
  if state.request_id and client then
    client:cancel_request(state.request_id)
  end
  state.request_id = nil
end

local function hide(bufnr, state)
  cancel_request(state)
  state.timer:stop()
  state.items = nil
  if api.nvim_buf_is_valid(bufnr) then
    api.nvim_buf_clear_namespace(bufnr, NAMESPACE, 0, -1)
  end
end

local function render(bufnr, state)
  api.nvim_buf_clear_namespace(bufnr, NAMESPACE, 0, -1)
  local lines = vim.split(state.items[state.index], '\n', { plain = true })
  local virt_lines = {}
  for i = 2, #lines do
    table.insert(virt_lines, { { lines[i], 'CodegenGhostText' } })
  end
  local first = { { lines[1], 'CodegenGhostText' } }
  if #state.items > 1 then
    local hint = { (' (%d/%d)'):format(state.index, #state.items), 'CodegenGhostTextHint' }
    table.insert(#virt_lines > 0 and virt_lines[#virt_lines] or first, hint)
  end
  api.nvim_buf_set_extmark(bufnr, NAMESPACE, state.row, state.col, {
    virt_text = first,
    virt_text_pos = 'inline',
    virt_lines = virt_lines,
    hl_mode = 'combine',
  })
end

--- The texts to show at the cursor for the items of a response (empty ones and outdated ones dropped).
local function visible_texts(bufnr, client, items, row, col)
  local line = api.nvim_buf_get_lines(bufnr, row, row + 1, false)[1] or ''
  local texts = {}
  for _, item in ipairs(items) do
    local typed = ''
    local start = item.range and item.range.start
    if start and start.line == row then
      local start_col = vim.str_byteindex(line, client.offset_encoding, start.character, false)
      typed = start_col < col and line:sub(start_col + 1, col) or ''
    end
    local text = M.remaining(item_text(item), typed)
    if text and text ~= '' then
      table.insert(texts, text)
    end
  end
  return texts
end

local function request(bufnr, state)
  local client = vim.lsp.get_client_by_id(state.client_id)
  if not (enabled and client and api.nvim_get_current_buf() == bufnr and api.nvim_get_mode().mode:match('^i')) then
    return
  end
  cancel_request(state)
  local params = vim.lsp.util.make_position_params(0, client.offset_encoding)
  params.context = { triggerKind = TRIGGER_AUTOMATIC }
  local tick = api.nvim_buf_get_changedtick(bufnr)
  local row, col = cursor_position()
  local ok, request_id
  ok, request_id = client:request(METHOD, params, function(err, result)
    if state.request_id == request_id then
      state.request_id = nil
    end
    local current_row, current_col = cursor_position()
    if err or not result or api.nvim_get_current_buf() ~= bufnr or api.nvim_buf_get_changedtick(bufnr) ~= tick
        or current_row ~= row or current_col ~= col or not api.nvim_get_mode().mode:match('^i') then
      return
    end
    local texts = visible_texts(bufnr, client, result.items or result, row, col)
    if #texts > 0 then
      state.items, state.index, state.row, state.col, state.tick = texts, 1, row, col, tick
      render(bufnr, state)
    end
  end, bufnr)
  state.request_id = ok and request_id or nil
end

--- After an edit or a cursor move: keep the suggestion if nothing changed since it was shown, else hide it and
--- request a new one after the debounce delay.
local function on_change(bufnr, state, debounce_ms)
  local row, col = cursor_position()
  if state.items and state.tick == api.nvim_buf_get_changedtick(bufnr) and state.row == row and state.col == col then
    return
  end
  hide(bufnr, state)
  if enabled then
    state.timer:start(debounce_ms, 0, vim.schedule_wrap(function()
      request(bufnr, state)
    end))
  end
end

local extmark = {}

function extmark.attach(client, bufnr, debounce_ms)
  if states[bufnr] then
    return
  end
  local state = { client_id = client.id, timer = assert(vim.uv.new_timer()), index = 1, row = 0, col = 0, tick = 0 }
  states[bufnr] = state
  local group = api.nvim_create_augroup('codegen_lsp.ghost_text.' .. bufnr, { clear = true })
  api.nvim_create_autocmd({ 'InsertEnter', 'TextChangedI', 'CursorMovedI' }, {
    group = group,
    buffer = bufnr,
    callback = function()
      on_change(bufnr, state, debounce_ms)
    end,
  })
  api.nvim_create_autocmd({ 'InsertLeave', 'BufLeave' }, {
    group = group,
    buffer = bufnr,
    callback = function()
      hide(bufnr, state)
    end,
  })
  api.nvim_create_autocmd('LspDetach', {
    group = group,
    buffer = bufnr,
    callback = function(args)
      if args.data.client_id == state.client_id then
        hide(bufnr, state)
        state.timer:close()
        states[bufnr] = nil
        api.nvim_del_augroup_by_id(group)
      end
    end,
  })
end

function extmark.visible(bufnr)
  return states[bufnr] ~= nil and states[bufnr].items ~= nil
end

function extmark.accept(bufnr, part)
  local state = states[bufnr]
  if not extmark.visible(bufnr) then
    return false
  end
  local accepted, rest = M.split_accept(state.items[state.index], part)
  local row, col = insert_text(bufnr, state.row, state.col, accepted)
  if rest == '' then
    hide(bufnr, state)
  else
    state.items, state.index, state.row, state.col = { rest }, 1, row, col
    state.tick = api.nvim_buf_get_changedtick(bufnr)
    render(bufnr, state)
  end
  return true
end

function extmark.dismiss(bufnr)
  if not extmark.visible(bufnr) then
    return false
  end
  hide(bufnr, states[bufnr])
  return true
end

function extmark.cycle(bufnr, step)
  local state = states[bufnr]
  if not extmark.visible(bufnr) then
    return false
  end
  state.index = (state.index - 1 + step) % #state.items + 1
  render(bufnr, state)
  return true
end

function extmark.set_enabled(flag)
  enabled = flag
  if not flag then
    for bufnr, state in pairs(states) do
      hide(bufnr, state)
    end
  end
end

-- Backend 'builtin' ----------------------------------------------------------------------------------------------

local builtin = {}
local builtin_buffers = {}

function builtin.attach(_, bufnr)
  builtin_buffers[bufnr] = true
  vim.lsp.inline_completion.enable(enabled, { bufnr = bufnr })
  -- Ghost text never outlives Insert mode: leaving it detaches Neovim's completor (clearing its ghost text and any
  -- answer still on its way, which it would otherwise draw over the Normal-mode text); entering attaches it again.
  local group = api.nvim_create_augroup('codegen_lsp_builtin_' .. bufnr, { clear = true })
  api.nvim_create_autocmd({ 'InsertLeave', 'InsertEnter' }, {
    group = group,
    buffer = bufnr,
    callback = function(event)
      if enabled and api.nvim_buf_is_valid(bufnr) then
        vim.lsp.inline_completion.enable(event.event == 'InsertEnter', { bufnr = bufnr })
      end
    end,
  })
end

function builtin.visible(bufnr)
  local namespace = api.nvim_get_namespaces()[BUILTIN_NAMESPACE]
  return namespace ~= nil and #api.nvim_buf_get_extmarks(bufnr, namespace, 0, -1, { limit = 1 }) > 0
end

--- Insert the `part` of the accepted item at the cursor (what was typed since its range start is skipped).
local function accept_part(item, part)
  local row, col = cursor_position()
  local typed = ''
  local start = item.range and item.range.start
  if start and start.row == row and start.col < col then
    typed = api.nvim_buf_get_lines(0, row, row + 1, false)[1]:sub(start.col + 1, col)
  end
  local text = M.remaining(item_text(item), typed)
  if text and text ~= '' then
    insert_text(api.nvim_get_current_buf(), row, col, (M.split_accept(text, part)))
  end
end

function builtin.accept(bufnr, part)
  if not builtin.visible(bufnr) then
    return false
  end
  if part == 'all' then
    return vim.lsp.inline_completion.get({ bufnr = bufnr })
  end
  return vim.lsp.inline_completion.get({
    bufnr = bufnr,
    on_accept = function(item)
      accept_part(item, part)
    end,
  })
end

function builtin.dismiss(bufnr)
  if not builtin.visible(bufnr) then
    return false
  end
  -- Disabling detaches the completor, which clears its ghost text and pending requests.
  vim.lsp.inline_completion.enable(false, { bufnr = bufnr })
  vim.lsp.inline_completion.enable(true, { bufnr = bufnr })
  return true
end

function builtin.cycle(bufnr, step)
  if not builtin.visible(bufnr) then
    return false
  end
  vim.lsp.inline_completion.select({ bufnr = bufnr, count = step })
  return true
end

function builtin.set_enabled(flag)
  enabled = flag
  for bufnr in pairs(builtin_buffers) do
    if api.nvim_buf_is_valid(bufnr) then
      vim.lsp.inline_completion.enable(flag, { bufnr = bufnr })
    else
      builtin_buffers[bufnr] = nil
    end
  end
end

-- Interface --------------------------------------------------------------------------------------------------------

local backends = { builtin = builtin, extmark = extmark }

--- The backend the option `ghost_text` selects on this Neovim.
---@param ghost_text 'auto'|'builtin'|'extmark'
---@return 'builtin'|'extmark'
function M.backend_name(ghost_text)
  if ghost_text == 'auto' then
    return vim.lsp.inline_completion and 'builtin' or 'extmark'
  end
  return ghost_text
end

local function backend()
  return backends[M.backend_name(require('codegen_lsp.config').get().ghost_text)]
end

--- What a mapped key does when no suggestion shows: the key's previous mapping, else the key itself.
---@param key string
---@param bufnr integer
---@return fun(): string
local function fallback(key, bufnr)
  local previous = api.nvim_buf_call(bufnr, function()
    return vim.fn.maparg(key, 'i', false, true)
  end)
  if vim.tbl_isempty(previous) then
    return function()
      return vim.keycode(key)
    end
  end
  if previous.callback then
    return function()
      local keys = previous.callback()
      if previous.expr ~= 1 or type(keys) ~= 'string' then
        return ''
      end
      return previous.replace_keycodes == 1 and vim.keycode(keys) or keys
    end
  end
  return function()
    return vim.keycode(previous.expr == 1 and api.nvim_eval(previous.rhs) or previous.rhs)
  end
end

local ACTIONS = {
  accept = function(bufnr) return backend().accept(bufnr, 'all') end,
  accept_word = function(bufnr) return backend().accept(bufnr, 'word') end,
  accept_line = function(bufnr) return backend().accept(bufnr, 'line') end,
  dismiss = function(bufnr) return backend().dismiss(bufnr) end,
  next = function(bufnr) return backend().cycle(bufnr, 1) end,
  prev = function(bufnr) return backend().cycle(bufnr, -1) end,
}

local mapped_buffers = {}

--- Start ghost text for `bufnr` served by `client`, with the configured insert-mode keys.
function M.attach(client, bufnr)
  local options = require('codegen_lsp.config').get()
  backend().attach(client, bufnr, options.settings.debounceMs)
  if mapped_buffers[bufnr] then
    return
  end
  mapped_buffers[bufnr] = true
  vim.api.nvim_create_autocmd('BufWipeout', {
    buffer = bufnr,
    once = true,
    callback = function()
      mapped_buffers[bufnr] = nil
    end,
  })
  for action, key in pairs(options.keymaps) do
    if key then
      local otherwise = fallback(key, bufnr)
      vim.keymap.set('i', key, function()
        if not M.visible(bufnr) then
          return otherwise()
        end
        -- Expression mappings may not change the buffer: act right after.
        vim.schedule(function()
          ACTIONS[action](bufnr)
        end)
        return ''
      end, { buffer = bufnr, expr = true, replace_keycodes = false, desc = 'codegen_lsp: ' .. action })
    end
  end
end

--- Whether a suggestion shows in `bufnr`.
function M.visible(bufnr)
  return backend().visible(bufnr)
end

--- Accept all, a word or a line of the suggestion; false when none shows.
---@param part? 'all'|'word'|'line'
function M.accept(part, bufnr)
  return backend().accept(bufnr or api.nvim_get_current_buf(), part or 'all')
end

function M.dismiss(bufnr)
  return backend().dismiss(bufnr or api.nvim_get_current_buf())
end

function M.cycle(step, bufnr)
  return backend().cycle(bufnr or api.nvim_get_current_buf(), step)
end

--- Turn ghost text on or off in every attached buffer.
function M.set_enabled(flag)
  backend().set_enabled(flag)
end

function M.is_enabled()
  return enabled
end

return M
