#!/usr/bin/env bash
# Run ctk's whole test suite against real services.
#
# Usage: bash tools/run-tests.sh [PYTEST ARGS...]
# Runs ruff (lint + format check), mypy --strict and the import contracts (lint-imports:
# layers, no cycles; [tool.importlinter] in pyproject.toml) first, then pytest.
# Installs what is missing (tools/bootstrap.sh), resolves the Neo4j 5 LTS community
# jars with Maven (cached), then runs pytest. pytest's session fixture starts the
# Neo4j server with Bolt on 127.0.0.1, hands its URI to the tests and stops it at
# the end (tests/conftest.py). With CI=true, Neo4j tests fail instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/bootstrap.sh
# shellcheck disable=SC1091
. "${CTK_VENV:-.venv}/bin/activate"
python -c "import sys; sys.path.insert(0, 'tools/neo4j-test-server'); import neo4j_server; print('[tests] Neo4j jars in', neo4j_server.ensure_jars())"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False
echo "[tests] ruff"
ruff check .
ruff format --check . > /dev/null
echo "[tests] mypy --strict"
bash tools/typecheck.sh
echo "[tests] import contracts (lint-imports)"
bash tools/lint-imports.sh > /dev/null || bash tools/lint-imports.sh
echo "[tests] pytest"
python -m pytest "$@"
