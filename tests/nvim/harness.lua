--- A tiny test runner for headless Neovim: the test runs as a coroutine that yields to the event loop while it
--- waits (so typed keys, timers and LSP messages are processed), then Neovim exits 0 (pass), 1 (fail) or
--- 77 (skip, with the reason printed). Run with: nvim --headless -u NONE -i NONE -c 'luafile <test>.lua'.
local M = {}

local SKIP_EXIT_CODE = 77
local POLL_MS = 20

local function out(line)
  io.stdout:write(line .. '\n')
  io.stdout:flush()
end

local SkipMarker = {}

--- Stop the test as skipped (exit code 77) with `reason`.
function M.skip(reason)
  error({ [SkipMarker] = true, reason = reason }, 0)
end

--- Assert `condition`, printing "ok - `what`".
function M.check(condition, what, detail)
  if not condition then
    error(('FAILED: %s%s'):format(what, detail and (' (' .. detail .. ')') or ''), 2)
  end
  out('ok - ' .. what)
end

function M.equal(actual, expected, what)
  M.check(vim.deep_equal(actual, expected), what,
    ('expected %s, got %s'):format(vim.inspect(expected), vim.inspect(actual)))
end

-- The test's outcome: nil while it runs, then { ok = boolean, err = any }.
local outcome

--- Resume the test coroutine, recording how it ended when it does.
local function resume(co)
  local ok, err = coroutine.resume(co)
  if coroutine.status(co) == 'dead' then
    outcome = { ok = ok, err = type(err) == 'string' and debug.traceback(co, err) or err }
  end
end

--- Yield to the event loop for `ms` milliseconds.
function M.sleep(ms)
  local co = coroutine.running()
  vim.defer_fn(function()
    resume(co)
  end, ms)
  coroutine.yield()
end

--- Wait until `condition()` returns a truthy value (returned), failing after `timeout_ms`.
function M.wait_until(what, condition, timeout_ms)
  local deadline = vim.uv.now() + (timeout_ms or 20000)
  while true do
    local value = condition()
    if value then
      return value
    end
    if vim.uv.now() > deadline then
      error(('FAILED: timed out waiting for %s'):format(what), 2)
    end
    M.sleep(POLL_MS)
  end
end

--- Type `keys` (with <> notation) as if the user did, mappings included; they run once the test yields.
function M.type(keys)
  vim.api.nvim_feedkeys(vim.keycode(keys), 'mt', false)
  M.sleep(POLL_MS)
end

--- Send `method` to `client` and wait for its answer.
function M.request(client, method, params, bufnr)
  local answer
  client:request(method, params, function(err, result)
    answer = { err = err, result = result }
  end, bufnr or 0)
  M.wait_until('an answer to ' .. method, function()
    return answer
  end)
  if answer.err then
    error(('FAILED: %s answered an error: %s'):format(method, vim.inspect(answer.err)), 2)
  end
  return answer.result
end

--- Every vim.notify message, for assertions.
M.messages = {}
vim.notify = function(message, level)
  table.insert(M.messages, message)
  out(('notify[%s]: %s'):format(level or vim.log.levels.INFO, message))
end

--- The first recorded message containing `text` (plain), waited for.
function M.wait_message(text, timeout_ms)
  return M.wait_until(('a message containing "%s"'):format(text), function()
    for _, message in ipairs(M.messages) do
      if message:find(text, 1, true) then
        return message
      end
    end
  end, timeout_ms)
end

--- Run `test` (a function) in a coroutine and exit Neovim with its outcome.
function M.run(test)
  local started = vim.uv.hrtime()
  local function finish(code, message)
    out(message)
    out(('finished in %.1f s'):format((vim.uv.hrtime() - started) / 1e9))
    vim.cmd(code == 0 and 'qall!' or ('cquit ' .. code))
  end
  local function watch()
    if not outcome then
      vim.defer_fn(watch, POLL_MS)
    elseif outcome.ok then
      finish(0, 'PASS')
    elseif type(outcome.err) == 'table' and outcome.err[SkipMarker] then
      finish(SKIP_EXIT_CODE, 'SKIP: ' .. outcome.err.reason)
    else
      finish(1, tostring(outcome.err))
    end
  end
  resume(coroutine.create(test))
  vim.schedule(watch)
end

return M
