"""Transaction logs for simulated customer summaries, and their summary by an engine.

The simulation study (:mod:`experiments.simulation_study`) simulates summaries; to let its
data go the way real data go, each is written as a transaction log (``customer_id``,
``date``, ``amount``) whose summary is the simulated one, and summarised again by DuckDB or
Spark with :func:`models.rfm_summary` (instants, ``merge_period=None``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

import models
from models._purchase import transactions_from_summary

#: Calendar origin of the simulated logs (acquisition starts here; BG/BB: everyone's day 0).
ORIGIN = pd.Timestamp("2000-01-03")
_MICROSECONDS_PER_WEEK = 7 * 86_400 * 1_000_000


def continuous_log(
    data: pd.DataFrame,
    observed_weeks: float,
    rng: np.random.Generator,
    spend: Mapping[str, float] | None = None,
) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Log of continuous-time summaries (``frequency``, ``recency``, ``T`` in weeks).

    Customers buy first at ``ORIGIN + observed_weeks - T`` weeks, then as
    :func:`models._purchase.transactions_from_summary` draws (exact given ``x`` and ``t_x``);
    times are kept to the microsecond. The log ends at ``ORIGIN + observed_weeks`` weeks
    (returned). Amounts are 1; with ``spend`` (Gamma-Gamma ``p``, ``q``, ``gamma``) and a
    ``monetary_value`` column, a customer's ``x`` repeat purchases share ``x * zbar`` in
    Dirichlet(p, ..., p) proportions (the law of ``x`` Gamma(p, nu) values given their mean
    ``zbar``), and first purchases, which the Gamma-Gamma does not model, carry its mean
    spend ``p gamma / (q - 1)``. Customer ids must be 0..n-1.
    """
    log = transactions_from_summary(data, rng)
    owner = log["customer_id"].to_numpy()
    weeks = observed_weeks - data["T"].to_numpy()[owner] + log["t"].to_numpy()
    micros = np.round(weeks * _MICROSECONDS_PER_WEEK).astype(np.int64)
    log["date"] = ORIGIN + pd.to_timedelta(micros, unit="us")
    log["amount"] = 1.0
    if spend is not None:
        repeat = log["t"].to_numpy() > 0
        x = data["frequency"].to_numpy()[owner[repeat]]
        zbar = data["monetary_value"].to_numpy()[owner[repeat]]
        share = rng.gamma(spend["p"], 1.0, size=int(repeat.sum()))
        totals = np.bincount(owner[repeat], weights=share, minlength=len(data))
        amounts = np.full(len(log), spend["p"] * spend["gamma"] / (spend["q"] - 1))
        amounts[repeat] = share / totals[owner[repeat]] * x * zbar
        log["amount"] = amounts
    end = ORIGIN + pd.Timedelta(microseconds=round(observed_weeks * _MICROSECONDS_PER_WEEK))
    return log[["customer_id", "date", "amount"]], end


def discrete_log(
    data: pd.DataFrame, n_periods: int, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.Timestamp]:
    """Log of discrete-time summaries (``frequency``, ``recency``; periods 1..n_periods).

    Period ``k`` is day ``k`` after ``ORIGIN``; every customer buys on day 0, in period
    ``t_x`` and in ``x - 1`` of the periods before it, chosen uniformly (given ``x`` and
    ``t_x`` the purchase periods before ``t_x`` are exchangeable). The log ends on day
    ``n_periods`` (returned), so the summary's ``T`` in days is the number of periods.
    """
    x = data["frequency"].to_numpy(dtype=int)
    t_x = data["recency"].to_numpy(dtype=int)
    periods = np.arange(1, n_periods + 1)
    earlier = periods < t_x[:, None]
    keys = np.where(earlier, rng.random((x.size, periods.size)), np.inf)
    rank = keys.argsort(axis=1).argsort(axis=1)
    last = (periods == t_x[:, None]) & (x > 0)[:, None]
    bought = (earlier & (rank < (x - 1)[:, None])) | last
    who, day = np.nonzero(np.c_[np.ones(x.size, dtype=bool), bought])
    log = pd.DataFrame(
        {
            "customer_id": data.index.to_numpy()[who],
            "date": ORIGIN + pd.to_timedelta(day, unit="D"),
            "amount": 1.0,
        }
    )
    return log, ORIGIN + pd.Timedelta(days=n_periods)


def summarise(log: pd.DataFrame, end: pd.Timestamp, time_unit: str, session=None):
    """:func:`models.rfm_summary` of ``log`` to the instant ``end``, by DuckDB or Spark.

    With a SparkSession the log is sent to Spark through Arrow and the result is a Spark
    DataFrame; without, DuckDB summarises it in process.
    """
    if session is not None:
        from models import _spark

        log = _spark.read_transactions(log, session)
    return models.rfm_summary(log, observation_end=end, time_unit=time_unit, merge_period=None)
