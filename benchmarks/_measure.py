"""Time and peak memory of one call, and a runner that isolates each case in a fresh process.

Peak memory is the largest increase of the process's resident set size over its size just
before the call, sampled every 5 ms by a background thread (psutil). The same measure applies to
every library, whatever allocator it uses. :func:`process_peak_mib` gives the other measure, the
high-water mark of the whole process (imports and data included).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import psutil


def measure(function: Callable[[], object]) -> dict:
    """Run ``function()`` once; return wall seconds and peak RSS increase in MiB."""
    process = psutil.Process()
    baseline = process.memory_info().rss
    peak = baseline
    done = threading.Event()

    def poll() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.005)

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    start = time.perf_counter()
    result = function()
    seconds = time.perf_counter() - start
    done.set()
    watcher.join()
    peak = max(peak, process.memory_info().rss)
    return {"seconds": seconds, "peak_mib": (peak - baseline) / 2**20, "result": result}


def process_peak_mib() -> float:
    """Resident-set high-water mark of this process since it started, in MiB (Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_isolated(module: str, case: dict, timeout: float = 3600, python: str | None = None) -> dict:
    """Run ``python -m <module> --case '<json>'`` and parse the JSON line it prints last.

    ``python`` is the interpreter (default: this one), e.g. a peer library's own virtual
    environment. The result gains ``process_seconds``: the wall time of the whole process
    (start-up, imports and compilation included).
    """
    start = time.perf_counter()
    try:
        completed = subprocess.run(
            [python or sys.executable, "-m", module, "--case", json.dumps(case)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"error": [f"timed out after {timeout:g} s"]}
    seconds = time.perf_counter() - start
    if completed.returncode != 0:
        return {"error": completed.stderr.strip().splitlines()[-1:] or ["failed"]}
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    result.setdefault("process_seconds", seconds)
    return result


def print_table(rows: list[dict], columns: list[str]) -> None:
    """Print rows as a fixed-width table."""
    widths = {c: max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    print("  ".join("-" * widths[c] for c in columns))
    for row in rows:
        print("  ".join(_fmt(row.get(c)).ljust(widths[c]) for c in columns))


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.6g}"
    return "" if value is None else str(value)
