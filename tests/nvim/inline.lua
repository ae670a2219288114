--- End to end: ghost text from the real server through the plugin; accept, accept word, dismiss, cycle, toggle and
--- the Tab fall-through. CODEGEN_TEST_EXPECT_BACKEND names the backend that must be in use.
package.path = debug.getinfo(1, 'S').source:sub(2):match('(.*)/') .. '/?.lua;' .. package.path
local t = require('harness')
local common = require('common')

--- `lines` with `text` inserted at (row, col) (0-based, bytes).
local function inserted(lines, row, col, text)
  local line = lines[row + 1]
  local pieces = vim.split(line:sub(1, col) .. text .. line:sub(col + 1), '\n', { plain = true })
  local result = vim.list_slice(lines, 1, row)
  vim.list_extend(result, pieces)
  return vim.list_extend(result, vim.list_slice(lines, row + 2))
end

local function buffer_lines()
  return vim.api.nvim_buf_get_lines(0, 0, -1, true)
end

local function cursor()
  local row, col = unpack(vim.api.nvim_win_get_cursor(0))
  return row - 1, col
end

t.run(function()
  common.setup()
  common.open_file()
  local inline = require('codegen_lsp.inline')
  local bufnr = vim.api.nvim_get_current_buf()
  local backend = inline.backend_name(require('codegen_lsp.config').get().ghost_text)
  t.equal(backend, vim.env.CODEGEN_TEST_EXPECT_BACKEND, 'the ghost text backend')
  if backend == 'builtin' then
    t.check(vim.lsp.inline_completion.is_enabled({ bufnr = bufnr }), "Neovim's inline completion is on in the buffer")
  end

  -- Tab accepts the whole suggestion.
  t.type('Godef mul(x, y):<CR>    ')
  local ghost = t.wait_until('a suggestion to show', function()
    return common.ghost_lines(bufnr)
  end)
  t.check(inline.visible(bufnr) and #table.concat(ghost) > 0, 'a suggestion shows as ghost text')
  local before, row, col = buffer_lines(), cursor()
  t.type('<Tab>')
  t.wait_until('Tab to insert the suggestion', function()
    return not vim.deep_equal(buffer_lines(), before)
  end)
  t.equal(buffer_lines(), inserted(before, row, col, table.concat(ghost, '\n')), 'Tab inserts the suggestion')

  -- <M-Right> accepts one word.
  t.type('<Esc>o    return ')
  ghost = t.wait_until('a second suggestion', function()
    return common.ghost_lines(bufnr)
  end)
  local word = inline.split_accept(table.concat(ghost, '\n'), 'word')
  before, row, col = buffer_lines(), cursor()
  t.type('<M-Right>')
  t.wait_until('accept word to insert', function()
    return not vim.deep_equal(buffer_lines(), before)
  end)
  t.equal(buffer_lines(), inserted(before, row, col, word), 'accept word inserts the first word only')

  -- Leaving Insert mode takes the ghost text away, and none comes back in Normal mode (a late answer, an edit).
  t.type('<Esc>o    ')
  t.wait_until('a suggestion before leaving Insert mode', function()
    return common.ghost_lines(bufnr)
  end)
  t.type('<Esc>')
  t.wait_until('the ghost text to go with Insert mode', function()
    return not common.ghost_lines(bufnr)
  end)
  t.type('x')
  t.sleep(300)
  t.check(not common.ghost_lines(bufnr) and not inline.visible(bufnr), 'no ghost text in Normal mode')
  t.type('u')

  -- <C-]> dismisses; cycling with one candidate keeps it.
  t.type('<Esc>o    ')
  t.wait_until('a third suggestion', function()
    return common.ghost_lines(bufnr)
  end)
  before = buffer_lines()
  t.type('<M-]>')
  t.sleep(50)
  t.check(inline.visible(bufnr), 'cycling keeps the (only) suggestion shown')
  t.type('<C-]>')
  t.wait_until('the suggestion to go', function()
    return not common.ghost_lines(bufnr)
  end)
  t.equal(buffer_lines(), before, 'dismiss leaves the buffer as it was')

  -- :CodegenToggle turns completion off; Tab then falls through to a plain Tab.
  t.type('<Esc>')
  vim.cmd('CodegenToggle')
  t.wait_message('inline completion off')
  t.type('o')
  t.sleep(300)
  t.check(not inline.visible(bufnr), 'no suggestion while completion is off')
  before, row = buffer_lines(), cursor()
  t.type('<Tab>')
  t.wait_until('Tab to insert a tab', function()
    return not vim.deep_equal(buffer_lines(), before)
  end)
  t.equal(buffer_lines()[row + 1], before[row + 1] .. '\t', 'Tab falls through to a tab when no suggestion shows')
  t.type('<Esc>')
  vim.cmd('CodegenToggle')
  t.wait_message('inline completion on')
end)
