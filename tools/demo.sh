#!/usr/bin/env bash
# The ctk demo: every step of the pipeline on this machine, outputs in demo-output/.
#
# Usage: bash tools/demo.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/bootstrap.sh >/dev/null
# shellcheck disable=SC1091
. "${CTK_VENV:-.venv}/bin/activate"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False
OUT="${1:-demo-output}"
rm -rf "$OUT"; mkdir -p "$OUT"
start=$(date +%s)
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. a synthetic cohort in the MIMIC-III benchmark layout"
ctk data synth --n 200 --seed 1 --out "$OUT/synth"
ctk data import --format mimic3-benchmark "$OUT/synth" --out "$OUT/cohort"
ctk data stats "$OUT/cohort"
ctk data anomalies "$OUT/cohort" --limit 3

step "2. a knowledge graph from the bundled PubMed and Wikipedia samples (embedded store)"
ctk kg build --store "$OUT/kg.db" \
  --source pubmed:samples/corpora/pubmed_baseline_sample.xml.gz \
  --source pubmed:samples/corpora/pubmed_efetch_sample.xml \
  --source wikipedia:samples/corpora/enwiki_medical_sample.xml.bz2 --wiki-category medical
ctk kg query "heart failure" --store "$OUT/kg.db" --limit 5
ctk kg export --store "$OUT/kg.db" --format turtle --out "$OUT/kg.ttl"
ctk kg vocab --store "$OUT/kg.db" --top 200 --out "$OUT/vk.jsonl"

printf '\n[demo] finished in %s s; outputs in %s/\n' "$(( $(date +%s) - start ))" "$OUT"
