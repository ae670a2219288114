#!/usr/bin/env bash
# Fresh machine -> the whole test suite (unit, parity, end-to-end over stdio, real Neovim/Vim/Emacs clients).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -e '.[train,test]'
if [ -x scripts/install-test-editors.sh ]; then scripts/install-test-editors.sh; fi
exec .venv/bin/python -m pytest -q -ra "$@"
