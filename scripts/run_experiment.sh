#!/usr/bin/env bash
# Set up .venv and run the main experiment on the bundled CDNOW data. Extra arguments go to the experiment.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m experiments.compare_ltv "$@"
