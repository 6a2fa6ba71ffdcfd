#!/usr/bin/env bash
# Create (or reuse) the project virtualenv in .venv and install the package with the given extras.
# Usage: bash scripts/setup.sh [extras]    e.g. bash scripts/setup.sh test,spark
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi
spec="."
[ -n "$extras" ] && spec=".[${extras}]"
.venv/bin/python -m pip install --quiet -e "$spec"
