#!/usr/bin/env bash
# Installs the peers of bench/peers.py: llama-cpp-python (with its OpenAI-compatible server) built from its source
# distribution into bench/.venv-peers, and unpacks that sdist so llama.cpp's own converter (convert_hf_to_gguf.py,
# vendor/llama.cpp) can turn our Hugging Face checkpoints into GGUF. Takes ~4 minutes on 2 free cores.
#
#   bash bench/setup_peers.sh            # idempotent: skips what is already there
#   LLAMA_CPP_PYTHON_VERSION=0.3.36 NICE=19 bash bench/setup_peers.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
NICE="${NICE:-0}"
PROJECT_PYTHON="${PROJECT_PYTHON:-$ROOT/.venv/bin/python}"
PEERS_VENV="$ROOT/bench/.venv-peers"
SDIST_DIR="$ROOT/.cache/peers/sdist"
SOURCE_DIR="$ROOT/.cache/peers/llama_cpp_python-$VERSION"

if [[ ! -x "$PROJECT_PYTHON" ]]; then
    echo "setup_peers: no project venv at $PROJECT_PYTHON — create it first (see README), or set PROJECT_PYTHON" >&2
    exit 2
fi

if [[ ! -f "$SDIST_DIR/llama_cpp_python-$VERSION.tar.gz" ]]; then
    nice -n "$NICE" "$PROJECT_PYTHON" -m pip download --no-deps --no-binary :all: "llama-cpp-python==$VERSION" -d "$SDIST_DIR"
fi
if [[ ! -f "$SOURCE_DIR/vendor/llama.cpp/convert_hf_to_gguf.py" ]]; then
    tar -xzf "$SDIST_DIR/llama_cpp_python-$VERSION.tar.gz" -C "$ROOT/.cache/peers"
fi

if [[ ! -x "$PEERS_VENV/bin/python" ]]; then
    "$PROJECT_PYTHON" -m venv "$PEERS_VENV"
fi
if ! "$PEERS_VENV/bin/python" -c "import llama_cpp, llama_cpp.server" 2>/dev/null; then
    # A native build for this CPU (AVX2/FMA here), without the multimodal (llava/mtmd) library that the benchmark never
    # loads; CMAKE_ARGS replaces that (e.g. "-DLLAVA_BUILD=OFF -DGGML_CUDA=on" on a GPU machine).
    CMAKE_ARGS="${CMAKE_ARGS:--DLLAVA_BUILD=OFF}" CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}" \
        nice -n "$NICE" "$PEERS_VENV/bin/pip" install --no-binary llama-cpp-python "$SOURCE_DIR[server]"
fi
# The converter runs in the project venv (torch, transformers; bench/peers.py puts the sdist's gguf-py on its path).
# It imports sentencepiece before it looks for a tokenizer.model, even for a byte-level BPE like ours.
"$PROJECT_PYTHON" -c "import sentencepiece" 2>/dev/null || nice -n "$NICE" "$PROJECT_PYTHON" -m pip install --quiet sentencepiece
"$PROJECT_PYTHON" -c "import torch, transformers, yaml, tqdm, requests" || {
    echo "setup_peers: the converter needs torch, transformers, pyyaml, tqdm, requests in $PROJECT_PYTHON (the train extra)" >&2
    exit 2
}

echo "peers ready: $("$PEERS_VENV/bin/python" -c 'import llama_cpp; print("llama-cpp-python", llama_cpp.__version__)'); converter $SOURCE_DIR/vendor/llama.cpp/convert_hf_to_gguf.py"
