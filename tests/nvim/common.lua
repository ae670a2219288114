--- Shared start of the end-to-end scenarios: load the plugin from the checkout, set it up from the environment
--- (CODEGEN_TEST_PLUGIN, _PYTHON, _MODEL, _GHOST_TEXT, _FILE) and open the test file with the server ready.
local t = require('harness')
local M = {}

vim.opt.runtimepath:prepend(assert(vim.env.CODEGEN_TEST_PLUGIN, 'CODEGEN_TEST_PLUGIN is not set'))
vim.cmd('filetype on')
vim.o.showmode = false
vim.cmd.runtime('plugin/codegen_lsp.lua')

--- setup() with the test server and model, `overrides` merged in.
function M.setup(overrides)
  require('codegen_lsp').setup(vim.tbl_deep_extend('force', {
    cmd = { vim.env.CODEGEN_TEST_PYTHON, '-m', 'codegen_lsp' },
    root_markers = { 'pyproject.toml' },
    ghost_text = vim.env.CODEGEN_TEST_GHOST_TEXT or 'auto',
    settings = { model = vim.env.CODEGEN_TEST_MODEL, device = 'cpu', maxTokens = 8, debounceMs = 10 },
  }, overrides or {}))
end

--- Open the test file and wait for the server to attach and load the model; returns the client.
---@return vim.lsp.Client
function M.open_file()
  local path = assert(vim.env.CODEGEN_TEST_FILE, 'CODEGEN_TEST_FILE is not set')
  vim.cmd.edit(vim.fn.fnameescape(path))
  t.equal(vim.bo.filetype, 'python', 'the test file is detected as Python')
  local client = t.wait_until('the server to attach', function()
    return require('codegen_lsp').client(0)
  end)
  local status = t.wait_until('the model to load', function()
    local status = t.request(client, 'workspace/executeCommand', { command = 'codegen.status' })
    return status.state ~= 'loading' and status.state ~= 'idle' and status
  end)
  t.equal(status.state, 'ready', 'the server loads the model')
  return client
end

--- The ghost text on screen in `bufnr` (the plugin's own or Neovim's): its lines, without the (i/n) hint.
---@return string[]?
function M.ghost_lines(bufnr)
  for _, name in ipairs({ 'codegen_lsp.ghost_text', 'nvim.lsp.inline_completion' }) do
    local namespace = vim.api.nvim_get_namespaces()[name]
    local marks = namespace and vim.api.nvim_buf_get_extmarks(bufnr, namespace, 0, -1, { details = true }) or {}
    if #marks > 0 then
      local details = marks[1][4]
      local function text(chunks)
        return chunks[1] and chunks[1][1] or ''
      end
      local lines = { text(details.virt_text or {}) }
      for _, chunks in ipairs(details.virt_lines or {}) do
        table.insert(lines, text(chunks))
      end
      return lines
    end
  end
  return nil
end

return M
