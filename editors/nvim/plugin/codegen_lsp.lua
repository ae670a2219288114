-- The :Codegen* commands; the server starts only after require('codegen_lsp').setup().
if vim.g.loaded_codegen_lsp then
  return
end
vim.g.loaded_codegen_lsp = true

if vim.fn.has('nvim-0.11') == 0 then
  vim.notify('codegen_lsp needs Neovim 0.11 or newer (vim.lsp.config); this is ' .. tostring(vim.version()),
    vim.log.levels.ERROR)
  return
end

local function command(name, method, opts)
  vim.api.nvim_create_user_command(name, function(args)
    require('codegen_lsp.commands')[method](args)
  end, opts)
end

command('CodegenGenerate', 'generate', { desc = 'codegen: generate the body of the function from its docstring' })
command('CodegenTranslate', 'translate', {
  desc = 'codegen: translate the selected lines to {language}',
  nargs = 1,
  range = '%',
  complete = function(arglead)
    return require('codegen_lsp.commands').complete_language(arglead)
  end,
})
command('CodegenFinetune', 'finetune', { desc = 'codegen: fine-tune the model on this project, then reload it' })
command('CodegenStatus', 'status', { desc = 'codegen: server and model status' })
command('CodegenToggle', 'toggle', { desc = 'codegen: turn inline completion on or off' })
