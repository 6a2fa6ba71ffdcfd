#!/usr/bin/env bash
# Make the peers' virtual environment for benchmarks/bench_bayes.py (idempotent).
#
# pymc-marketing pins its own PyMC, so it gets its own interpreter, .venv-peers/ at the
# repository root, never the project's .venv. Re-running it is cheap: pip only checks that
# the pinned versions are already there.
#
# Usage: bash benchmarks/setup_peers.sh [PYTHON]   (PYTHON defaults to python3, 3.11+)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv-peers"
python="${1:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "pymc-marketing==0.19.*" nutpie psutil
"$venv/bin/python" - <<'EOF'
from importlib.metadata import version

print("peers:", ", ".join(f"{p} {version(p)}" for p in ("pymc-marketing", "pymc", "nutpie")))
EOF
