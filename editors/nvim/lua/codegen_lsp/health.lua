--- :checkhealth codegen_lsp — Neovim version, server executable and version, model and device.
local M = {}
local health = vim.health

local VERSION_TIMEOUT_MS = 10000
local DOCTOR_TIMEOUT_MS = 120000
local STATUS_TIMEOUT_MS = 5000

--- The server command without its transport flag, to run subcommands (`--version`, `doctor`) with.
---@param cmd string[]
---@return string[]
function M.base_command(cmd)
  return vim.tbl_filter(function(part)
    return part ~= '--stdio'
  end, cmd)
end

--- The `model:` and `execution providers:` lines of `codegen-lsp doctor` output.
---@param output string
---@return string? model, string? providers
function M.parse_doctor(output)
  return output:match('\nmodel: ([^\n]*)') or output:match('^model: ([^\n]*)'),
    output:match('execution providers: ([^\n]*)')
end

local function run(cmd, timeout_ms)
  local ok, process = pcall(vim.system, cmd, { text = true })
  if not ok then
    return nil, process
  end
  local result = process:wait(timeout_ms)
  if result.code ~= 0 then
    return nil, vim.trim((result.stderr or '') .. (result.stdout or ''))
  end
  return vim.trim(result.stdout or '')
end

local function check_model_with_running_server(client)
  local response = client:request_sync('workspace/executeCommand', { command = 'codegen.status' }, STATUS_TIMEOUT_MS)
  if not response or response.err then
    health.warn('the running server did not answer codegen.status: ' .. vim.inspect(response and response.err))
    return
  end
  local status = response.result
  if status.state == 'ready' then
    health.ok(('model ready: %s'):format(status.model))
  elseif status.state == 'loading' then
    health.info('model still loading: run :checkhealth codegen_lsp again in a moment')
  else
    health.error(('model not usable: %s'):format(status.error or status.state),
      { 'set `settings.model` in setup() to an exported model directory (codegen-train export)' })
  end
  health.info(('device: %s'):format(status.device or '?'))
end

local function check_model_with_doctor(base, settings)
  local cmd = vim.list_extend(vim.deepcopy(base), { 'doctor', '--device', settings.device })
  if settings.model ~= '' then
    vim.list_extend(cmd, { '--model', settings.model })
  end
  local output, failure = run(cmd, DOCTOR_TIMEOUT_MS)
  local model, providers = M.parse_doctor(output or failure or '')
  if output and model then
    health.ok('model: ' .. model)
  else
    health.error('model not usable: ' .. (model or failure or 'no answer from `doctor`'),
      { 'set `settings.model` in setup() to an exported model directory (codegen-train export)' })
  end
  health.info(('device setting: %s; execution providers: %s'):format(settings.device, providers or '?'))
end

function M.check()
  health.start('codegen_lsp')
  if vim.fn.has('nvim-0.11') == 0 then
    health.error('Neovim 0.11 or newer is needed (vim.lsp.config)')
    return
  end
  local ok, options = pcall(require('codegen_lsp.config').get)
  if not ok then
    health.error(options)
    return
  end
  health.ok(('Neovim %s; ghost text: %s'):format(tostring(vim.version()),
    require('codegen_lsp.inline').backend_name(options.ghost_text)))

  local base = M.base_command(options.cmd)
  if vim.fn.executable(base[1]) == 0 then
    health.error(('server executable not found: %s'):format(base[1]),
      { 'pip install codegen-lsp (in the venv on your PATH), or set `cmd` in setup()' })
    return
  end
  health.ok('server executable: ' .. vim.fn.exepath(base[1]))
  local version, failure = run(vim.list_extend(vim.deepcopy(base), { '--version' }), VERSION_TIMEOUT_MS)
  if version then
    health.ok('server version: ' .. version)
  else
    health.error('`--version` failed: ' .. tostring(failure))
  end

  local client = require('codegen_lsp').client()
  if client then
    check_model_with_running_server(client)
  else
    check_model_with_doctor(base, options.settings)
  end
end

return M
