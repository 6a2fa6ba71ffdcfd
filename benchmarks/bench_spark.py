"""Scale benchmark: DuckDB path, Spark local path and the lifetimes + pandas recipe, side by side.

Writes a synthetic transaction log as Parquet (``--customers`` customers, about
``--per-customer`` transactions each, over two years), then runs each path in a fresh process,
timing every stage on the same data:

- ``aggregate``: transactions -> calibration summary + holdout (``calibration_holdout``;
  lifetimes: read Parquet with pandas + ``calibration_and_holdout_data``);
- ``compress``: summary -> unique (x, t_x, T) patterns with counts (Spark: a group-by in Spark,
  only patterns collected, remembered by the summary; lifetimes has no such step);
- ``fit``: BG/NBD maximum likelihood (on patterns; Spark: ``fit`` on the Spark summary, as a
  user calls it, reading the remembered patterns; lifetimes on every customer);
- ``score``: expected purchases over the holdout for every customer (Spark: mapInPandas,
  written to Parquet so nothing is collected).

Spark's fixed start-up cost (session start, first import of the library in the Python workers)
is timed apart as ``warmup`` (a first run on a 2,000-customer log), not in the total. The DuckDB
and Spark pipelines then run ``--runs`` times (default 2) in the same process, one table row per
run: the first run still pays for the JVM compiling Spark's hot loops as it meets real volume,
the second shows the steady state a long-lived session (a notebook, a cluster) sees.

Peak memory: ``driver_mib`` is the largest resident set of the Python process running the
case; ``workers_mib`` the largest total resident set of its child processes (Spark local
mode: the JVM that runs the executors, and the Python workers of mapInPandas), sampled every
20 ms.

Run (README): ``python -m benchmarks.bench_spark --customers 1000000`` (add 10000000 with
``--customers 1000000 10000000`` where disk and time allow).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks._measure import print_table, run_isolated

START, END = np.datetime64("2020-01-01"), np.datetime64("2021-12-31")
CAL_END, HOLD_END = "2021-06-30", "2021-12-31"
PATHS = ("duckdb", "spark", "lifetimes")


def write_log(path: Path, customers: int, per_customer: float, seed: int = 1) -> int:
    """Synthetic BG/NBD-like log: Poisson purchases at a gamma rate until a beta dropout.

    Each customer arrives on a day of the first year, buys again at rate ``lambda ~ Gamma``
    (scaled so a customer who never dropped out would make about ``2 x per_customer``
    purchases) and, after each repeat purchase, drops out with probability ``p ~ Beta(2, 20)``.
    """
    rng = np.random.default_rng(seed)
    days = int((END - START).astype(int))
    writer, rows, chunk = None, 0, 500_000
    for start in range(0, customers, chunk):
        ids = np.arange(start, min(start + chunk, customers), dtype=np.int64)
        first = rng.integers(0, days // 2, ids.size)
        span = days - first
        rate = rng.gamma(1.5, 2 * per_customer / 1.5 / (0.75 * days), ids.size)
        potential = rng.poisson(rate * span)
        survived = rng.geometric(rng.beta(2.0, 20.0, ids.size))
        owner = np.repeat(ids, potential)
        day = np.repeat(first, potential) + (rng.random(owner.size) * np.repeat(span, potential))
        order = np.lexsort((day, owner))
        owner, day = owner[order], day[order].astype(np.int64)
        rank = np.arange(owner.size) - np.repeat(np.cumsum(potential) - potential, potential)
        keep = rank < np.repeat(survived, potential)
        owner = np.concatenate([ids, owner[keep]])
        day = np.concatenate([first, day[keep]])
        amount = np.round(rng.lognormal(3.0, 0.8, owner.size), 2)
        table = pa.table(
            {
                "customer_id": owner,
                "date": (START + day.astype("timedelta64[D]")).astype("datetime64[us]"),
                "amount": amount,
            }
        )
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
        rows += owner.size
    writer.close()
    return rows


class Peaks:
    """Background sampler of this process's and its children's resident memory."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.driver = self.workers = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()

    def _poll(self) -> None:
        while not self.done.is_set():
            self.driver = max(self.driver, self.process.memory_info().rss)
            total = 0
            for child in self.process.children(recursive=True):
                try:
                    total += child.memory_info().rss
                except psutil.Error:
                    pass
            self.workers = max(self.workers, total)
            time.sleep(0.02)

    def stop(self) -> dict:
        self.done.set()
        self.thread.join()
        return {"driver_mib": self.driver / 2**20, "workers_mib": self.workers / 2**20}


def _timed(stages: dict, name: str, function):
    start = time.perf_counter()
    result = function()
    stages[name] = time.perf_counter() - start
    return result


def _duckdb_pipeline(path: str, horizon: float) -> dict:
    import pandas as pd

    import models
    from models._patterns import compress_patterns

    stages: dict = {}
    split = _timed(
        stages, "aggregate", lambda: models.calibration_holdout(path, calibration_end=CAL_END)
    )
    cal = split.calibration
    bg = models.BetaGeo()

    def compress():
        patterns, counts = compress_patterns(bg._fit_arrays(cal))
        frame = {"frequency": patterns["x"], "recency": patterns["t_x"], "T": patterns["T"]}
        return pd.DataFrame({**frame, "n": counts})

    patterns = _timed(stages, "compress", compress)
    _timed(stages, "fit", lambda: bg.fit(patterns, weights="n"))
    stages["patterns"] = len(patterns)
    _timed(stages, "score", lambda: bg.expected_purchases(horizon, cal))
    return stages


def _spark_pipeline(session, path: str, horizon: float, scratch: str) -> dict:
    import models
    from models import _spark

    stages: dict = {}
    split = _timed(
        stages,
        "aggregate",
        lambda: models.calibration_holdout(session.read.parquet(path), calibration_end=CAL_END),
    )
    cal = split.calibration
    bg = models.BetaGeo()
    # The group-by alone (the summary remembers its patterns; not copied: only read here),
    # then the fit a user calls, on the Spark summary, which reads the remembered patterns.
    _timed(
        stages,
        "compress",
        lambda: _spark.collect_patterns(cal, ("frequency", "recency", "T"), copy=False),
    )
    _timed(stages, "fit", lambda: bg.fit(cal))
    stages["patterns"] = bg.n_patterns_
    _timed(
        stages,
        "score",
        lambda: bg.expected_purchases(horizon, cal).write.mode("overwrite").parquet(scratch),
    )
    session.catalog.clearCache()
    return stages


def _lifetimes_pipeline(path: str, horizon: float) -> dict:
    import pandas as pd
    from lifetimes import BetaGeoFitter
    from lifetimes.utils import calibration_and_holdout_data

    stages: dict = {}

    def aggregate():
        tx = pd.read_parquet(path)
        return calibration_and_holdout_data(
            tx,
            "customer_id",
            "date",
            calibration_period_end=CAL_END,
            observation_period_end=HOLD_END,
            freq="W",
            monetary_value_col="amount",
        )

    summary = _timed(stages, "aggregate", aggregate)
    stages["compress"] = None
    bgf = BetaGeoFitter()
    x, t_x, T = summary["frequency_cal"], summary["recency_cal"], summary["T_cal"]
    _timed(stages, "fit", lambda: bgf.fit(x, t_x, T, verbose=False))
    _timed(
        stages,
        "score",
        lambda: bgf.conditional_expected_number_of_purchases_up_to_time(horizon, x, t_x, T),
    )
    return stages


def run_case(case: dict) -> dict:
    """Run one path ``case["runs"]`` times on one file: stage seconds per run, memory peaks.

    The first run in a process pays the warm-up of the engine's code (Spark: the JVM compiling
    its hot loops while it runs); later runs show the steady state.
    """
    peaks = Peaks()
    path, horizon = case["file"], (np.datetime64(HOLD_END) - np.datetime64(CAL_END)).astype(int) / 7
    runs, extra = [], {}
    if case["path"] == "spark":
        import models
        from models import _spark

        def warm_up():  # session start and a first run on a tiny log (worker imports)
            session = models.data.spark_session(
                case.get("cores", 2), driver_memory=case.get("driver_memory", "4g")
            )
            small = models.calibration_holdout(
                session.read.parquet(case["warmup_file"]), calibration_end=CAL_END
            )
            models.BetaGeo().fit(small.calibration).p_alive(small.calibration).count()
            session.catalog.clearCache()
            return session

        session = _timed(extra, "warmup", warm_up)
        for _ in range(case["runs"]):
            runs.append(_spark_pipeline(session, path, horizon, case["scratch"]))
        _spark.stop_session(session)
    else:
        pipeline = _duckdb_pipeline if case["path"] == "duckdb" else _lifetimes_pipeline
        runs = [pipeline(path, horizon) for _ in range(case["runs"])]
    return {"runs": runs, **extra, **peaks.stop()}


def _rows(result: dict, customers: int, n_rows: int, name: str) -> list[dict]:
    """One table row per run of a case (memory and warm-up on each)."""
    if "runs" not in result:  # the case failed: one row with its error
        return [{"customers": customers, "transactions": n_rows, "path": name, **result}]
    shared = {k: val for k, val in result.items() if k != "runs"}
    rows = []
    for number, stages in enumerate(result["runs"], start=1):
        total = sum(stages.get(s) or 0 for s in ("aggregate", "compress", "fit", "score"))
        head = {"customers": customers, "transactions": n_rows, "path": name, "run": number}
        rows.append({**head, **stages, "total": total, **shared})
    return rows


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_spark")
    parser.add_argument("--customers", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--per-customer", type=float, default=10.0, help="mean transactions")
    parser.add_argument(
        "--paths", default=",".join(PATHS), help="comma separated: " + ",".join(PATHS)
    )
    parser.add_argument("--folder", default="/tmp/clv_bench_spark", help="where the logs go")
    parser.add_argument(
        "--runs", type=int, default=2, help="pipeline runs per process (DuckDB and Spark)"
    )
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case:
        print(json.dumps(run_case(json.loads(args.case))))
        return
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for customers in args.customers:
        path = folder / f"tx_{customers}.parquet"
        if not path.exists():
            started = time.perf_counter()
            n = write_log(path, customers, args.per_customer)
            print(f"wrote {n:,} transactions in {time.perf_counter() - started:.0f}s: {path}")
        n_rows = pq.ParquetFile(path).metadata.num_rows
        warmup = folder / "tx_warmup.parquet"
        if not warmup.exists():
            write_log(warmup, 2_000, args.per_customer, seed=2)
        for name in args.paths.split(","):
            case = {
                "path": name,
                "file": str(path),
                "warmup_file": str(warmup),
                "scratch": str(folder / "scores.parquet"),
            }
            case["runs"] = 1 if name == "lifetimes" else args.runs
            result = run_isolated("benchmarks.bench_spark", case, timeout=4 * 3600)
            added = _rows(result, customers, n_rows, name)
            rows += added
            print_table(added, list(added[0]))
    print()
    columns = ["customers", "transactions", "path", "run", "aggregate", "compress", "fit"]
    columns += ["score"]
    columns += ["total", "warmup", "patterns", "driver_mib", "workers_mib", "error"]
    print_table(rows, columns)
    print(
        "seconds per stage; total = aggregate + compress + fit + score; run = the pipeline's "
        "run in its process (run 1 pays the engine's warm-up: Spark's JVM compiles its hot loops "
        "while it runs); Spark's warmup = session start + one run on a 2,000-customer log, not "
        "in any total; patterns = unique (x, t_x, T) the fit runs on (all that reaches Spark's "
        "driver); memory = peak resident MiB over all runs of the driver process and of its "
        "child processes (Spark's JVM and Python workers)"
    )


if __name__ == "__main__":
    main()
