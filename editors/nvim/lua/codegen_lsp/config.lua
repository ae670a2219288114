--- Plugin options: defaults, validation and the server settings (the keys of ARCHITECTURE.md, camelCase).
local M = {}

--- The server's settings with their defaults (section `codegen`); sent as initializationOptions and answered
--- to `workspace/configuration`.
M.default_settings = {
  enabled = true,
  model = '',
  device = 'auto',
  maxTokens = 64,
  temperature = 0.0,
  contextTokens = 1024,
  multiline = true,
  enabledLanguages = {},
  debounceMs = 50,
  timeBudgetMs = 2000,
  codeActions = { retries = 3 },
  translate = {
    targets = { 'python', 'javascript', 'typescript', 'java', 'cpp', 'go', 'rust' },
    output = 'newFile',
  },
  debug = { logDocuments = false },
}

M.defaults = {
  --- The server command (a list); e.g. { '/path/to/venv/bin/python', '-m', 'codegen_lsp' }.
  cmd = { 'codegen-lsp' },
  --- The fine-tune command; :CodegenFinetune appends the project root.
  finetune_cmd = { 'codegen-train', 'finetune' },
  filetypes = {
    'python', 'javascript', 'javascriptreact', 'typescript', 'typescriptreact',
    'java', 'go', 'rust', 'c', 'cpp', 'cs', 'ruby', 'lua', 'sh',
  },
  root_markers = { '.git', 'pyproject.toml', 'setup.py', 'package.json', 'Cargo.toml', 'go.mod' },
  --- 'auto': Neovim's built-in inline completion where it exists (0.12+), else the plugin's own ghost text;
  --- 'builtin' or 'extmark' to force one.
  ghost_text = 'auto',
  --- Insert-mode keys; false disables one. Each falls through to the key's normal meaning when no suggestion shows.
  keymaps = {
    accept = '<Tab>',
    accept_word = '<M-Right>',
    accept_line = '<M-C-Right>',
    dismiss = '<C-]>',
    next = '<M-]>',
    prev = '<M-[>',
  },
  settings = M.default_settings,
}

local GHOST_TEXT_MODES = { auto = true, builtin = true, extmark = true }

--- Keys of `settings` (dotted for nested ones) that the server does not know: most likely typos.
---@param settings table
---@param known table
---@param prefix? string
---@return string[]
function M.unknown_settings(settings, known, prefix)
  local unknown = {}
  for key, value in pairs(settings) do
    local name = (prefix or '') .. key
    local default = known[key]
    if default == nil then
      table.insert(unknown, name)
    elseif type(default) == 'table' and not vim.islist(default) and type(value) == 'table' then
      vim.list_extend(unknown, M.unknown_settings(value, default, name .. '.'))
    end
  end
  table.sort(unknown)
  return unknown
end

--- The effective options: `opts` over the defaults. Raises one clear line for a malformed option.
---@param opts? table
---@return table
function M.resolve(opts)
  opts = opts or {}
  vim.validate('opts', opts, 'table')
  local resolved = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts)
  -- Lists replace the default list instead of merging index by index.
  for _, key in ipairs({ 'cmd', 'finetune_cmd', 'filetypes', 'root_markers' }) do
    if opts[key] ~= nil then
      resolved[key] = opts[key]
    end
  end
  for _, key in ipairs({ 'cmd', 'finetune_cmd' }) do
    local value = resolved[key]
    if type(value) ~= 'table' or #value == 0 then
      error(('codegen_lsp: option %s must be a non-empty list of strings, e.g. { "codegen-lsp" }'):format(key), 0)
    end
  end
  if not GHOST_TEXT_MODES[resolved.ghost_text] then
    error(('codegen_lsp: option ghost_text must be "auto", "builtin" or "extmark", not %s'):format(
      vim.inspect(resolved.ghost_text)), 0)
  end
  if resolved.ghost_text == 'builtin' and not vim.lsp.inline_completion then
    error('codegen_lsp: ghost_text = "builtin" needs Neovim 0.12 (vim.lsp.inline_completion); use "auto"', 0)
  end
  return resolved
end

--- The current options (set by setup()).
---@type table?
M.current = nil

--- The current options, or an error telling how to set them.
---@return table
function M.get()
  if not M.current then
    error('codegen_lsp: not set up; call require("codegen_lsp").setup({}) in your init.lua', 0)
  end
  return M.current
end

return M
