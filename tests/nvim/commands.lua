--- End to end: :CodegenStatus, :CodegenTranslate's completion and errors, :CodegenFinetune (a stand-in training
--- command in a terminal, then codegen.reloadModel) and :checkhealth codegen_lsp with and without a running server.
package.path = debug.getinfo(1, 'S').source:sub(2):match('(.*)/') .. '/?.lua;' .. package.path
local t = require('harness')
local common = require('common')

local function health_report()
  vim.cmd('checkhealth codegen_lsp')
  local report = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n')
  vim.cmd('bwipeout')
  return report
end

t.run(function()
  common.setup({
    finetune_cmd = { vim.env.CODEGEN_TEST_PYTHON, '-c', 'import sys; print("fine-tuning on", sys.argv[1])' },
  })
  local client = common.open_file()
  local file = vim.api.nvim_get_current_buf()

  vim.cmd('CodegenStatus')
  local status = t.wait_message('codegen: ready')
  t.check(status:find(vim.env.CODEGEN_TEST_MODEL, 1, true) ~= nil, ':CodegenStatus names the model', status)

  require('codegen_lsp').update_settings({ maxTokens = 5 })
  t.wait_until('the server to take the new settings', function()
    local answer = t.request(client, 'workspace/executeCommand', { command = 'codegen.status' })
    return vim.tbl_get(answer, 'settings', 'maxTokens') == 5
  end)
  t.check(true, 'update_settings() pushes settings to the running server')

  t.equal(vim.fn.getcompletion('CodegenTranslate ja', 'cmdline'), { 'javascript', 'java' },
    ':CodegenTranslate completes language names')
  vim.cmd('CodegenTranslate klingon')
  t.wait_message('unknown language "klingon"; use one of: python, javascript')

  vim.cmd('CodegenFinetune')
  t.equal(vim.api.nvim_get_current_buf(), file, 'the cursor stays in the file while fine-tuning runs')
  t.wait_message('fine-tuning finished; reloading the model')
  t.wait_message('model ready: ' .. vim.env.CODEGEN_TEST_MODEL)
  local terminal = vim.tbl_filter(function(bufnr)
    return vim.bo[bufnr].buftype == 'terminal'
  end, vim.api.nvim_list_bufs())[1]
  t.check(terminal ~= nil, 'fine-tuning runs in a terminal buffer')
  local root = vim.fs.dirname(vim.env.CODEGEN_TEST_FILE)
  t.wait_until('the training output in the terminal', function()
    -- Long lines wrap at the terminal's width: join them back.
    return table.concat(vim.api.nvim_buf_get_lines(terminal, 0, -1, false)):find('fine-tuning on ' .. root, 1, true)
  end)
  t.check(true, 'the training command gets the project root')

  local report = health_report()
  t.check(report:find('OK server executable', 1, true) ~= nil, 'checkhealth finds the server', report)
  t.check(report:find('OK server version: codegen-lsp', 1, true) ~= nil, 'checkhealth reports its version', report)
  t.check(report:find('OK model ready: ' .. vim.env.CODEGEN_TEST_MODEL, 1, true) ~= nil,
    'checkhealth reports the running model', report)
  t.check(report:find('ERROR', 1, true) == nil, 'checkhealth reports no error', report)

  client:stop()
  t.wait_until('the server to stop', function()
    return require('codegen_lsp').client() == nil
  end)
  report = health_report()
  t.check(report:find('OK model: ' .. vim.env.CODEGEN_TEST_MODEL, 1, true) ~= nil,
    'checkhealth without a server checks the model with `doctor`', report)
  t.check(report:find('device setting: cpu', 1, true) ~= nil, 'checkhealth reports the device', report)
end)
