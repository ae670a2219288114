--- codegen_lsp: a local code completion server in Neovim.
---
--- require('codegen_lsp').setup({ settings = { model = '/path/to/model' } })
--- starts `codegen-lsp` through vim.lsp.config / vim.lsp.enable for the configured filetypes, with ghost text,
--- the :Codegen* commands and :checkhealth codegen_lsp. Options: lua/codegen_lsp/config.lua.
local M = {}

--- The name of the vim.lsp config (and so of the client).
M.CLIENT_NAME = 'codegen_lsp'

---@param opts? table
function M.setup(opts)
  local config = require('codegen_lsp.config')
  local options = config.resolve(opts)
  for _, key in ipairs(config.unknown_settings(options.settings, config.default_settings)) do
    vim.notify(('codegen_lsp: unknown setting "%s" (check its spelling in :help codegen_lsp); the server ignores it')
      :format(key), vim.log.levels.WARN)
  end
  config.current = options
  vim.lsp.config(M.CLIENT_NAME, {
    cmd = options.cmd,
    filetypes = options.filetypes,
    root_markers = options.root_markers,
    init_options = options.settings,
    -- Answers the server's workspace/configuration requests for section `codegen`.
    settings = { codegen = options.settings },
  })
  local group = vim.api.nvim_create_augroup('codegen_lsp', { clear = true })
  vim.api.nvim_create_autocmd('LspAttach', {
    group = group,
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if client and client.name == M.CLIENT_NAME then
        require('codegen_lsp.inline').attach(client, args.buf)
      end
    end,
  })
  vim.lsp.enable(M.CLIENT_NAME)
end

--- The running codegen client of `bufnr` (default: the current buffer), else any running codegen client.
---@param bufnr? integer
---@return vim.lsp.Client?
function M.client(bufnr)
  return vim.lsp.get_clients({ name = M.CLIENT_NAME, bufnr = bufnr or 0 })[1]
    or vim.lsp.get_clients({ name = M.CLIENT_NAME })[1]
end

--- Change settings at run time: merged into the current ones and pushed to the running server.
---@param settings table
function M.update_settings(settings)
  local options = require('codegen_lsp.config').get()
  options.settings = vim.tbl_deep_extend('force', options.settings, settings)
  for _, client in ipairs(vim.lsp.get_clients({ name = M.CLIENT_NAME })) do
    client.settings = { codegen = options.settings }
    client:notify('workspace/didChangeConfiguration', { settings = client.settings })
  end
end

return M
