--- End to end: :CodegenGenerate and :'<,'>CodegenTranslate through the plugin. With CODEGEN_TEST_EXPECT=scripted
--- (the server runs the scripted model of CODEGEN_LSP_FAKE_MODEL) the generated code is known and must be applied;
--- with CODEGEN_TEST_EXPECT=tiny (the random tiny model) the file must parse afterwards, changed or not.
package.path = debug.getinfo(1, 'S').source:sub(2):match('(.*)/') .. '/?.lua;' .. package.path
local t = require('harness')
local common = require('common')

local function buffer_text(bufnr)
  return table.concat(vim.api.nvim_buf_get_lines(bufnr or 0, 0, -1, true), '\n') .. '\n'
end

--- Whether `text` is valid Python (checked by the test's own interpreter).
local function parses(text)
  local check = vim.system({ vim.env.CODEGEN_TEST_PYTHON, '-c', 'import ast, sys; ast.parse(sys.stdin.read())' },
    { stdin = text }):wait()
  return check.code == 0
end

local function line_of(pattern)
  for row, line in ipairs(vim.api.nvim_buf_get_lines(0, 0, -1, true)) do
    if line:find(pattern, 1, true) then
      return row
    end
  end
  error('FAILED: no line with ' .. pattern)
end

t.run(function()
  common.setup({ settings = { codeActions = { retries = 1 }, maxTokens = 32 } })
  local client = common.open_file()
  local commands = vim.tbl_get(client.server_capabilities, 'executeCommandProvider', 'commands') or {}
  if not vim.list_contains(commands, 'codegen.generateFromDocstring') then
    t.skip('the server has no codegen.generateFromDocstring command')
  end
  local scripted = vim.env.CODEGEN_TEST_EXPECT == 'scripted'

  -- :CodegenGenerate in greet's docstring.
  local before = buffer_text()
  vim.api.nvim_win_set_cursor(0, { line_of('Return a greeting'), 8 })
  vim.cmd('CodegenGenerate')
  if scripted then
    t.wait_until('the generated body', function()
      return buffer_text() ~= before
    end)
    t.check(buffer_text():find('    """Return a greeting for name."""\n    return "Hello, " + name\n', 1, true) ~= nil,
      ':CodegenGenerate replaces the placeholder with the generated body', buffer_text())
    t.check(buffer_text():find('pass', 1, true) == nil, 'the placeholder is gone')
  else
    t.wait_until('the generated body or a message', function()
      return buffer_text() ~= before or vim.iter(t.messages):any(function(message)
        return message:find('nothing was changed', 1, true) ~= nil
      end)
    end)
  end
  t.check(parses(buffer_text()), 'the file parses after :CodegenGenerate', buffer_text())

  if scripted then
    -- :'<,'>CodegenTranslate javascript on a new function: a new file main.js beside main.py.
    vim.api.nvim_buf_set_lines(0, -1, -1, true, { '', '', 'def square(x):', '    return x * x' })
    vim.cmd('silent write')
    local last = vim.api.nvim_buf_line_count(0)
    vim.cmd(('%d,%dCodegenTranslate javascript'):format(last - 1, last))
    local target = vim.fs.joinpath(vim.fs.dirname(vim.env.CODEGEN_TEST_FILE), 'main.js')
    local translated = t.wait_until('the translation in a new buffer', function()
      local bufnr = vim.fn.bufnr(target)
      return bufnr > 0 and buffer_text(bufnr):find('function square', 1, true) and bufnr
    end)
    t.check(buffer_text(translated):find('return x * x;', 1, true) ~= nil, ':CodegenTranslate creates main.js',
      buffer_text(translated))
  end
end)
