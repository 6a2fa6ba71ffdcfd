"""Transactions -> per-customer summary: this toolkit (DuckDB) against ``lifetimes``.

Synthetic transaction logs of 1M and 10M rows (one customer per 10 rows on average, three
years of daily dates, gamma-distributed amounts; seeded). Three cases per size, each in a
fresh process: ``models.rfm_summary`` on the pandas frame, ``models.rfm_summary`` on the same
log written as Parquet (DuckDB streams it from disk), and
``lifetimes.utils.summary_data_from_transaction_data`` on the pandas frame. Peak memory is the
largest RSS increase during the call (the input frame is already in memory for the pandas
cases). The summaries are checked to agree. With ``--repeat N`` every case runs N times (the
cases taking turns, each run in its own process) and the medians are printed: timings on a
shared machine are noisy.

Run: ``python -m benchmarks.bench_summary`` (``--sizes 1e6`` for a quick run).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks._measure import measure, print_table, run_isolated

OBSERVATION_END = "2022-12-31"


def synthetic_log(n_rows: int, seed: int = 20261124) -> pd.DataFrame:
    """A reproducible transaction log: customer_id, date, amount."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": rng.integers(0, max(n_rows // 10, 1), n_rows),
            "date": pd.Timestamp("2020-01-01")
            + pd.to_timedelta(rng.integers(0, 1096, n_rows), unit="D"),
            "amount": np.round(rng.gamma(2.0, 20.0, n_rows), 2),
        }
    )


def run_case(case: dict) -> dict:
    """Build one summary; return time, memory and a checksum of the result."""
    import models

    if case["library"] == "ours (parquet)":
        source = case["parquet"]
        out = measure(
            lambda: models.rfm_summary(source, observation_end=OBSERVATION_END, time_unit="D")
        )
    else:
        log = synthetic_log(case["rows"])
        if case["library"] == "ours (pandas)":
            out = measure(
                lambda: models.rfm_summary(log, observation_end=OBSERVATION_END, time_unit="D")
            )
        else:
            from lifetimes.utils import summary_data_from_transaction_data

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = measure(
                    lambda: summary_data_from_transaction_data(
                        log,
                        "customer_id",
                        "date",
                        "amount",
                        observation_period_end=OBSERVATION_END,
                        freq="D",
                    )
                )
    summary = out.pop("result").sort_index()
    out["customers"] = len(summary)
    out["checksum"] = [float(summary[c].sum()) for c in ("frequency", "recency", "T")]
    return out


LIBRARIES = ("ours (pandas)", "ours (parquet)", "lifetimes")


def _median(runs: list[dict]) -> dict:
    """Median time and memory of a case's runs; the first error if any run failed."""
    failed = [run for run in runs if "error" in run]
    if failed:
        return failed[0]
    return {
        **runs[0],
        "seconds": float(np.median([run["seconds"] for run in runs])),
        "peak_mib": float(np.median([run["peak_mib"] for run in runs])),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--sizes", default="1e6,1e7", help="numbers of transaction rows")
    parser.add_argument("--repeat", type=int, default=1, help="runs per case (median shown)")
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(json.loads(args.case))))
        return
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for size in (int(float(s)) for s in args.sizes.split(",")):
            parquet = Path(folder) / f"log_{size}.parquet"
            synthetic_log(size).to_parquet(parquet)
            runs = {library: [] for library in LIBRARIES}
            for _ in range(args.repeat):
                for library in LIBRARIES:
                    case = {"library": library, "rows": size, "parquet": str(parquet)}
                    runs[library].append(run_isolated("benchmarks.bench_summary", case))
                    print(f"done: {size:,} rows, {library}", flush=True)
            results = {library: _median(done) for library, done in runs.items()}
            theirs = results["lifetimes"]
            for library, result in results.items():
                row = {"rows": f"{size:,}", "library": library}
                if "error" in result:
                    row["seconds"] = f"error: {result['error']}"
                    rows.append(row)
                    continue
                row.update(
                    seconds=result["seconds"],
                    peak_MiB=result["peak_mib"],
                    customers=result["customers"],
                )
                if "seconds" in theirs:
                    row["vs lifetimes"] = f"{theirs['seconds'] / result['seconds']:.1f}x faster"
                    row["same summary"] = bool(
                        np.allclose(result["checksum"], theirs["checksum"], rtol=1e-9)
                    )
                rows.append(row)
    print_table(
        rows,
        ["rows", "library", "seconds", "peak_MiB", "customers", "vs lifetimes", "same summary"],
    )


if __name__ == "__main__":
    main()
