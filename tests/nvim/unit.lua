--- Unit tests of the plugin's pure functions (no server): run in a real Neovim like the end-to-end scenarios.
package.path = debug.getinfo(1, 'S').source:sub(2):match('(.*)/') .. '/?.lua;' .. package.path
local t = require('harness')
vim.opt.runtimepath:prepend(assert(vim.env.CODEGEN_TEST_PLUGIN, 'CODEGEN_TEST_PLUGIN is not set'))

local function raises(fn, fragment)
  local ok, err = pcall(fn)
  return not ok and tostring(err):find(fragment, 1, true) ~= nil
end

t.run(function()
  local inline = require('codegen_lsp.inline')
  local split = function(text, part)
    return { inline.split_accept(text, part) }
  end
  t.equal(split('foo(bar)\nbaz', 'all'), { 'foo(bar)\nbaz', '' }, 'accept all takes everything')
  t.equal(split('foo(bar)\nbaz', 'word'), { 'foo', '(bar)\nbaz' }, 'a word is an identifier run')
  t.equal(split('(bar)', 'word'), { '(', 'bar)' }, 'a word is a punctuation run')
  t.equal(split('  x = 1', 'word'), { '  x', ' = 1' }, 'a word takes the blanks before it')
  t.equal(split('\n    return x', 'word'), { '\n    return', ' x' }, 'a word may start on the next line')
  t.equal(split('\n\n', 'word'), { '\n', '\n' }, 'a word is at least the newline')
  t.equal(split('a + b\nc', 'line'), { 'a + b', '\nc' }, 'a line ends before the newline')
  t.equal(split('\n    c\nd', 'line'), { '\n    c', '\nd' }, 'a suggestion starting with a newline gives the next line')
  t.equal(split('x', 'line'), { 'x', '' }, 'the last line is all that is left')
  t.equal(inline.remaining('return x', 'ret'), 'urn x', 'typed characters are skipped')
  t.equal(inline.remaining('return x', 'rex'), nil, 'a mismatching keystroke drops the suggestion')
  t.equal(inline.backend_name('extmark'), 'extmark', 'the extmark backend can be forced')
  t.equal(inline.backend_name('auto'), vim.lsp.inline_completion and 'builtin' or 'extmark',
    'auto picks the built-in backend exactly when Neovim has it')

  local config = require('codegen_lsp.config')
  t.equal(config.unknown_settings({ maxTokens = 3, maxTokenz = 4, translate = { output = 'below', outptu = 1 } },
    config.default_settings), { 'maxTokenz', 'translate.outptu' }, 'unknown settings are found, nested ones too')
  t.equal(config.unknown_settings(config.default_settings, config.default_settings), {}, 'the defaults are known')
  local resolved = config.resolve({ cmd = { 'python', '-m', 'codegen_lsp' }, settings = { maxTokens = 8 } })
  t.equal(resolved.cmd, { 'python', '-m', 'codegen_lsp' }, 'cmd replaces the default list')
  t.equal({ resolved.settings.maxTokens, resolved.settings.debounceMs }, { 8, 50 }, 'settings merge over defaults')
  t.equal(config.default_settings.maxTokens, 64, 'resolve does not change the defaults')
  t.check(raises(function() config.resolve({ cmd = {} }) end, 'option cmd must be a non-empty list'),
    'an empty cmd is refused with a clear message')
  t.check(raises(function() config.resolve({ ghost_text = 'fancy' }) end, 'option ghost_text must be'),
    'an unknown ghost_text mode is refused with a clear message')
  t.check(raises(function() config.get() end, 'call require("codegen_lsp").setup'),
    'using the plugin before setup() says how to set it up')

  local commands = require('codegen_lsp.commands')
  t.equal(commands.format_status({ state = 'failed', model = vim.NIL, device = 'cpu', version = '0.1.0',
    enabled = false, error = 'model not found at /x' }, 'extmark'),
    'failed · model none · device cpu · codegen-lsp 0.1.0 · completion off · ghost text extmark · error: model not found at /x',
    'the status line names state, model, device, version, switches and the error')

  local health = require('codegen_lsp.health')
  t.equal(health.base_command({ 'codegen-lsp', '--stdio' }), { 'codegen-lsp' }, 'health drops --stdio')
  t.equal({ health.parse_doctor('codegen-lsp 0.1.0\nexecution providers: CPUExecutionProvider\nmodel: /m (family llama)\n') },
    { '/m (family llama)', 'CPUExecutionProvider' }, 'health reads the model and providers from `doctor`')
  t.equal({ health.parse_doctor('model: NOT USABLE: missing') }, { 'NOT USABLE: missing', nil },
    'health reads a failed model line')

  -- :help codegen_lsp opens the plugin's help, and every |tag| it links to exists.
  local runtime = vim.fn.tempname()
  vim.fn.mkdir(runtime .. '/doc', 'p')
  vim.fn.writefile(vim.fn.readfile(vim.env.CODEGEN_TEST_PLUGIN .. '/doc/codegen_lsp.txt'), runtime .. '/doc/codegen_lsp.txt')
  vim.cmd.helptags(runtime .. '/doc')
  vim.opt.runtimepath:prepend(runtime)
  vim.cmd.help('codegen_lsp')
  t.check(vim.endswith(vim.api.nvim_buf_get_name(0), 'codegen_lsp.txt'), ':help codegen_lsp opens the help file')
  local text = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n')
  local tags = {}
  for tag in text:gmatch('%*([^%s*]+)%*') do
    tags[tag] = true
  end
  for link in text:gmatch('|([^%s|]+)|') do
    t.check(tags[link], 'the help links to an existing tag: ' .. link)
  end
  vim.cmd.helpclose()
end)
