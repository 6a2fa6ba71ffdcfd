"""Command-line options and data loading shared by the experiments."""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

import models


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """Options naming the transaction file, its columns and the calibration/holdout split."""
    group = parser.add_argument_group("data")
    group.add_argument(
        "--transactions",
        default=None,
        help="CSV or Parquet file of transactions (default: the bundled CDNOW sample)",
    )
    group.add_argument("--customer-id", default="customer_id", help="customer id column")
    group.add_argument("--date", default="date", help="transaction date column")
    group.add_argument("--amount", default="amount", help="transaction amount column")
    group.add_argument(
        "--calibration-end", default="1997-09-30", help="last day of the calibration period"
    )
    group.add_argument("--holdout-end", default="1998-06-30", help="last day of the holdout period")
    group.add_argument(
        "--time-unit", default="W", choices=["D", "W", "M", "Y"], help="unit of T and horizons"
    )
    add_engine_arguments(group)
    group.add_argument(
        "--negative-amounts",
        default="error",
        choices=["error", "drop", "net"],
        help="rule for negative amounts (returns); see models.rfm_summary",
    )


#: Help of ``--engine`` for experiments that read a transaction file.
ENGINE_HELP = (
    "aggregation and scoring engine: in-process DuckDB, or Apache Spark (the active "
    "session, else local mode on --spark-cores cores); --transactions may then also name "
    "a Spark table"
)


def add_engine_arguments(parser, help: str = ENGINE_HELP) -> None:
    """``--engine duckdb|spark`` and ``--spark-cores``, on a parser or an argument group."""
    parser.add_argument("--engine", default="duckdb", choices=["duckdb", "spark"], help=help)
    parser.add_argument(
        "--spark-cores",
        type=int,
        default=2,
        help="cores of the local Spark session (--engine spark)",
    )


def spark_session(args: argparse.Namespace, progress: Progress):
    """The active SparkSession, else a local one on ``args.spark_cores`` cores."""
    from models import _spark

    session = _spark.active_session_or_none() or models.data.spark_session(args.spark_cores)
    progress(f"Spark {session.version}, master {session.sparkContext.master}")
    return session


def read_transactions(args: argparse.Namespace, progress: Progress):
    """The transactions named by ``args``: a path or pandas frame, or a Spark DataFrame.

    With ``--engine spark`` the file (or table, or the bundled sample) is read by Spark, so
    every later aggregation of it runs in Spark.
    """
    source = args.transactions or models.datasets.load_cdnow_sample()
    name = args.transactions or "bundled CDNOW sample (2,357 customers)"
    progress(f"reading transactions from {name}")
    if getattr(args, "engine", "duckdb") == "spark":
        from models import _spark

        source = _spark.read_transactions(source, spark_session(args, progress))
    return source


def load_summary(args: argparse.Namespace, progress: Progress, observation_end):
    """The :func:`models.rfm_summary` of the transactions named by ``args``, to ``observation_end``.

    A pandas frame (DuckDB), or a Spark DataFrame with ``--engine spark``.
    """
    source = read_transactions(args, progress)
    summary = models.rfm_summary(
        source,
        observation_end=observation_end,
        customer_id=args.customer_id,
        date=args.date,
        amount=args.amount,
        time_unit=args.time_unit,
        negative_amounts=args.negative_amounts,
    )
    if is_spark(summary):
        progress("summarised in Spark")
    else:
        progress(f"{len(summary):,} customers")
    return summary


def is_spark(data) -> bool:
    """Whether ``data`` is a Spark DataFrame (without importing pyspark)."""
    from models import _spark

    return _spark.is_spark_dataframe(data)


@dataclass(frozen=True)
class Split:
    """The calibration/holdout split, and the transactions when they are in memory."""

    calibration: pd.DataFrame
    holdout: pd.DataFrame
    metadata: dict
    transactions: pd.DataFrame | None


def load_split(args: argparse.Namespace, progress: Progress) -> Split:
    """Read the transactions named by ``args`` and split them into calibration and holdout."""
    source = read_transactions(args, progress)
    split = models.calibration_holdout(
        source,
        calibration_end=args.calibration_end,
        holdout_end=args.holdout_end,
        customer_id=args.customer_id,
        date=args.date,
        amount=args.amount,
        time_unit=args.time_unit,
        negative_amounts=args.negative_amounts,
    )
    progress(
        f"{split.metadata['n_customers']:,} customers; holdout of "
        f"{split.metadata['holdout_length']:.4g} "
        f"{args.time_unit}; {split.metadata['n_new_in_holdout']:,} first seen in the holdout "
        "(excluded)"
    )
    in_memory = source if isinstance(source, pd.DataFrame) else None
    if in_memory is not None:
        in_memory = in_memory.rename(
            columns={args.customer_id: "customer_id", args.date: "date", args.amount: "amount"}
        )
    return Split(split.calibration, split.holdout, split.metadata, in_memory)


def collect(result):
    """A Spark per-customer result as pandas, indexed by customer id (else unchanged).

    For reports only: the experiments write one row per customer anyway. The library itself
    never collects customer-level data.
    """
    from models import _spark

    if not _spark.is_spark_dataframe(result):
        return result
    id_name = _spark.customer_id_column(result)
    frame = result.toArrow().to_pandas().set_index(id_name).sort_index()
    frame.attrs.update(_spark.summary_attrs(result))
    if len(frame.columns) == 1:
        return frame.iloc[:, 0]
    return frame


def output_folder(path: str | None, default: str) -> Path:
    """The report folder, created if needed."""
    folder = Path(path or default)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Progress:
    """Prints numbered, timed progress lines (quiet=True prints nothing)."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.start = time.perf_counter()
        self.step = 0

    def __call__(self, message: str) -> None:
        self.step += 1
        if not self.quiet:
            elapsed = time.perf_counter() - self.start
            print(f"[{self.step:>2}] {elapsed:6.1f}s  {message}", flush=True)
