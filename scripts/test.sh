#!/usr/bin/env bash
# Set up .venv with every optional engine and run the whole default test suite (slow tests excluded).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -m slow`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test,spark,notebooks
export PYSPARK_PYTHON="$PWD/.venv/bin/python"
if [ $# -eq 0 ]; then set -- -m "not slow"; fi
.venv/bin/python -m ruff check .
exec .venv/bin/python -m pytest "$@"
