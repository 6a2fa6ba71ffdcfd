"""Command-line options and data loading shared by the experiments."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

import models
from models import _validation

#: The split of the bundled CDNOW sample (Fader, Hardie & Lee 2005): 39 weeks calibration
#: (1997-01-01 to 1997-09-30), 39 weeks holdout.
CDNOW_ENDS = ("1997-09-30", "1998-06-30")

ENDS_HELP = (
    "Split of the data: without --calibration-end/--holdout-end the bundled CDNOW sample is "
    f"split at {CDNOW_ENDS[0]} / {CDNOW_ENDS[1]} (the published split), and a --transactions "
    "file is split in half: the holdout ends on the last transaction date (or --holdout-end), "
    "and the calibration period on the day halfway from the first purchase to the holdout end "
    "(rounded down), which gives exactly the published split on CDNOW."
)


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """Options naming the transaction file, its columns and the calibration/holdout split."""
    group = parser.add_argument_group("data", ENDS_HELP)
    group.add_argument(
        "--transactions",
        default=None,
        help="CSV or Parquet file of transactions (default: the bundled CDNOW sample)",
    )
    group.add_argument("--customer-id", default="customer_id", help="customer id column")
    group.add_argument("--date", default="date", help="transaction date column")
    group.add_argument("--amount", default="amount", help="transaction amount column")
    group.add_argument(
        "--calibration-end",
        default=None,
        help=f"last day of the calibration period (default: {CDNOW_ENDS[0]} for the bundled "
        "data, else halfway from the first purchase to the holdout end)",
    )
    group.add_argument(
        "--holdout-end",
        default=None,
        help=f"last day of the holdout period (default: {CDNOW_ENDS[1]} for the bundled data, "
        "else the last transaction date)",
    )
    group.add_argument(
        "--time-unit", default="W", choices=["D", "W", "M", "Y"], help="unit of T and horizons"
    )
    add_engine_arguments(group)
    group.add_argument(
        "--zero-amounts",
        default="keep",
        choices=list(models.data.ZERO_RULES),
        help="whether a purchase worth exactly 0 counts as a purchase (default keep); see "
        "models.rfm_summary",
    )
    group.add_argument(
        "--negative-amounts",
        default="error",
        choices=list(models.data.NEGATIVE_RULES),
        help="rule for negative amounts (returns): refuse them (error, the default), drop "
        "them, or net them within the day; see models.rfm_summary",
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
    every later aggregation of it runs in Spark. For the bundled sample, missing
    ``--calibration-end`` / ``--holdout-end`` are set to :data:`CDNOW_ENDS` in ``args``.
    """
    if args.transactions is None:
        cal_end, hold_end = CDNOW_ENDS
        if getattr(args, "calibration_end", None) is None:
            args.calibration_end = cal_end
        if getattr(args, "holdout_end", None) is None:
            args.holdout_end = hold_end
    source = args.transactions or models.datasets.load_cdnow_sample()
    name = args.transactions or "bundled CDNOW sample (2,357 customers)"
    progress(f"reading transactions from {name}")
    if getattr(args, "engine", "duckdb") == "spark":
        from models import _spark

        source = _spark.read_transactions(source, spark_session(args, progress))
    return source


def _summary(source, args: argparse.Namespace, observation_end):
    return models.rfm_summary(
        source,
        observation_end=observation_end,
        customer_id=args.customer_id,
        date=args.date,
        amount=args.amount,
        time_unit=args.time_unit,
        zero_amounts=getattr(args, "zero_amounts", "keep"),
        negative_amounts=args.negative_amounts,
    )


def load_summary(args: argparse.Namespace, progress: Progress, observation_end=None):
    """The :func:`models.rfm_summary` of the transactions named by ``args``, to ``observation_end``.

    ``observation_end`` defaults to ``args.holdout_end`` (the last transaction when that is
    not set either). A pandas frame (DuckDB), or a Spark DataFrame with ``--engine spark``.
    """
    source = read_transactions(args, progress)
    if observation_end is None:
        observation_end = args.holdout_end
    summary = _summary(source, args, observation_end)
    if is_spark(summary):
        progress("summarised in Spark")
    else:
        progress(f"{len(summary):,} customers")
    return summary


#: Refusal of data too short to split in half (an experiment's message, not the library's).
SPAN_TOO_SHORT = (
    "the purchases span {first} to {last}, too short to split into a calibration and a "
    "holdout period; pass --calibration-end and --holdout-end."
)


def default_calibration_end(source, args: argparse.Namespace, progress: Progress) -> str:
    """The day halfway from the first purchase to the holdout end, rounded down (ISO date).

    The holdout end is ``args.holdout_end``, else the last transaction date. One extra pass
    over the data (an :func:`models.rfm_summary`, in the engine of ``source``). On the CDNOW
    sample (1997-01-01 to 1998-06-30, 545 days) it gives 1997-09-30, the published split.
    """
    hold_end = None
    if args.holdout_end is not None:
        try:
            hold_end = pd.Timestamp(args.holdout_end)
        except ValueError:
            hold_end = pd.NaT
        if hold_end is pd.NaT:
            raise _validation.bad_end_date("holdout_end", args.holdout_end)
    summary = _summary(source, args, None)  # a later --holdout-end is refused by the split
    if is_spark(summary):
        from pyspark.sql import functions as F

        from models import _spark

        first = summary.agg(F.min("first_purchase")).first()[0]
        last = _spark.summary_attrs(summary)["observation_end"]
    else:
        first, last = summary["first_purchase"].min(), summary.attrs["observation_end"]
    if hold_end is not None:
        last = hold_end if hold_end.tzinfo is None else hold_end.tz_convert("UTC").tz_localize(None)
    first, last = pd.Timestamp(first).normalize(), pd.Timestamp(last).normalize()
    days = (last - first).days
    if days < 2:
        raise models.ValidationError(
            SPAN_TOO_SHORT.format(first=f"{first:%Y-%m-%d}", last=f"{last:%Y-%m-%d}")
        )
    end = first + pd.Timedelta(days=days // 2)
    progress(
        f"calibration to {end:%Y-%m-%d}, halfway from the first purchase ({first:%Y-%m-%d}) to "
        f"the holdout end ({last:%Y-%m-%d}); set --calibration-end to choose"
    )
    return f"{end:%Y-%m-%d}"


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
    """Read the transactions named by ``args`` and split them into calibration and holdout.

    Missing ends are chosen as :data:`ENDS_HELP` says and written into ``args``.
    """
    source = read_transactions(args, progress)
    if args.calibration_end is None:
        args.calibration_end = default_calibration_end(source, args, progress)
    split = models.calibration_holdout(
        source,
        calibration_end=args.calibration_end,
        holdout_end=args.holdout_end,
        customer_id=args.customer_id,
        date=args.date,
        amount=args.amount,
        time_unit=args.time_unit,
        zero_amounts=getattr(args, "zero_amounts", "keep"),
        negative_amounts=args.negative_amounts,
    )
    if args.holdout_end is None:  # recorded, so the settings written show the split used
        args.holdout_end = f"{split.metadata['holdout_end']:%Y-%m-%d}"
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


def margin_fraction(text: str) -> float:
    """``--margin``: a fraction of revenue in (0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(
            f"must be a fraction of revenue in (0, 1] (e.g. 0.3), got {text}"
        )
    return value


def positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def exit_on_input_error(function, *args):
    """``function(*args)``; bad input ends the program with a one-line message, status 2.

    A :class:`models.ValidationError` (the library's refusal of its input, a ValueError)
    prints ``error: <message>`` on stderr and exits with status 2, like an argparse error.
    Any other exception is a bug and keeps its traceback.
    """
    try:
        return function(*args)
    except models.ValidationError as error:
        print(f"error: {' '.join(str(error).split())}", file=sys.stderr)
        raise SystemExit(2) from None


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
