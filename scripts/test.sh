#!/usr/bin/env bash
# Set up .venv with every optional engine and run ruff and the default test suite (slow tests are
# excluded by pyproject's addopts). Extra arguments go to pytest, e.g. `bash scripts/test.sh -m slow`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test,spark,notebooks
export PYSPARK_PYTHON="$PWD/.venv/bin/python"
.venv/bin/python -m ruff check .
exec .venv/bin/python -m pytest "$@"
