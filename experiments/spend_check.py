"""Validating marketing spend assumptions: whether a new customer pays back its acquisition cost.

Given an acquisition cost per customer (CAC; one number, or one per cohort of first-purchase
month) and a margin, compare what the S x C x P x t rule of thumb justifies against the
model's lifetime-value distribution: P(LTV > CAC), the largest CAC covered with a chosen
probability, the payback period, and where the rule over- or under-states value.

Fits a purchase model (BG/NBD by default) and the Gamma-Gamma spend model by maximum
likelihood with Laplace draws (or a Bayesian method) on the **whole history** by default
(transactions up to ``--holdout-end``; ``--fit-on calibration`` stops at
``--calibration-end``): no holdout is scored here, so all the data inform the parameters.
Each cohort with at least ``--min-cohort`` customers is also fitted on its own.

Quantities (value = margin x spend, each purchase discounted from the day it is made at
``--discount-rate`` a year; the first purchase counts, undiscounted):

a. the rule of thumb's LTV (classic, retention, per segment, basket x frequency over the
   horizon): the CAC each justifies;
b. the *expected* LTV of a new customer over ``--horizon`` (first-purchase spend + expected
   repeat purchases x mean spend, discounted), one value per parameter draw: its ``1 - q``
   quantile is the largest CAC covered with probability ``q`` (``--probability``);
c. an *individual* new customer's LTV by simulation (:mod:`experiments._simulate_ltv`):
   P(LTV > CAC) for a random new customer;
d. the payback period: when the expected cumulative discounted margin reaches the CAC (and
   its interval across parameter draws);
e. for existing customers, the rule's per-customer value against the model's CLV over the
   horizon by segment (both undiscounted there, as the rule is applied).

With ``--engine spark`` the transactions are read and summarised by Spark, the models are
fitted on unique patterns grouped in Spark, and the existing customers' CLV (each customer's
mean and interval, each segment's per-draw mean) is scored in Spark; the rule of thumb, the
new-customer simulation and the report run on the driver from the collected summary, as in
:mod:`experiments.compare_ltv`. Both engines give the same numbers.

Writes ``report.md`` / ``report.html``, ``metrics.json`` and one CSV per table (plus the
draws and simulated customers they are computed from).

Run: ``python -m experiments.spend_check --help``.
"""

from __future__ import annotations

import argparse
import json
import re

import numpy as np
import pandas as pd

from experiments import _spend_spark
from experiments._common import (
    Progress,
    add_data_arguments,
    exit_on_input_error,
    is_spark,
    margin_fraction,
    output_folder,
)
from experiments._spend_model import (
    INTERVAL,
    PURCHASE_MODELS,
    SEGMENTS,
    analyse_group,
    existing_customers,
    headline,
    load_summary,
)
from experiments._spend_report import write_report, write_tables

__all__ = ["INTERVAL", "PURCHASE_MODELS", "SEGMENTS", "main", "parse_args", "parse_cac", "run"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (``--help`` lists them)."""
    parser = argparse.ArgumentParser(
        prog="python -m experiments.spend_check",
        description="\n\n".join(__doc__.split("\n\n")[:2]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Times (--horizon, payback) are in the data's time unit (--time-unit, weeks by "
        "default): 156 weeks = 3 years. With --engine spark, Spark summarises the "
        "transactions, groups the fit's patterns and scores the existing customers' CLV; the "
        "new-customer simulation (which resamples observed first-purchase spends), the rule "
        "of thumb and the report run on the driver from the collected summary (one row per "
        "customer), as in compare_ltv.",
    )
    add_data_arguments(parser)
    parser.add_argument(
        "--cac",
        default="30",
        help="acquisition cost per customer: a number, or per cohort (first-purchase month) "
        "like 1997-01=20,1997-02=25 (add all=... for the pooled row; default: the "
        "customer-weighted mean). Default 30",
    )
    parser.add_argument(
        "--margin",
        type=margin_fraction,
        default=0.3,
        help="profit margin as a share of revenue (0.3)",
    )
    parser.add_argument(
        "--horizon",
        type=float,
        default=156.0,
        help="horizon in the data's time unit (default 156 weeks = 3 years)",
    )
    parser.add_argument(
        "--discount-rate", type=float, default=0.10, help="annual discount rate (default 0.10)"
    )
    parser.add_argument(
        "--probability",
        type=float,
        default=0.9,
        help="required probability of covering the CAC (default 0.9)",
    )
    parser.add_argument(
        "--model", choices=list(PURCHASE_MODELS), default="bgnbd", help="purchase model"
    )
    parser.add_argument(
        "--bayes",
        choices=["none", "nuts", "advi"],
        default="none",
        help="fit by this Bayesian method instead of maximum likelihood + Laplace draws",
    )
    parser.add_argument("--chains", type=int, default=2, help="MCMC chains (with --bayes nuts)")
    parser.add_argument("--draws", type=int, default=1000, help="parameter draws (per chain)")
    parser.add_argument(
        "--customers", type=int, default=20000, help="simulated new customers per group"
    )
    parser.add_argument(
        "--fit-on",
        choices=["all", "calibration"],
        default="all",
        help="fit on the whole history (to --holdout-end, default) or the calibration period",
    )
    parser.add_argument(
        "--min-cohort", type=int, default=200, help="smallest cohort fitted on its own"
    )
    parser.add_argument("--seed", type=int, default=20261124, help="random seed")
    parser.add_argument("--out", default="reports/spend_check", help="report folder")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    try:
        args.cac_by_group = parse_cac(args.cac)
    except ValueError as exc:
        parser.error(str(exc))
    if not 0 < args.probability < 1:
        parser.error("--probability must be in (0, 1)")
    if args.margin <= 0 or args.horizon <= 0 or args.discount_rate < 0:
        parser.error("--margin and --horizon must be > 0 and --discount-rate >= 0")
    return args


def parse_cac(text: str) -> dict[str, float]:
    """``"30"`` -> ``{"all": 30.0}``; ``"1997-01=20,1997-02=25"`` -> per-cohort costs."""
    text = text.strip()
    if "=" not in text:
        return {"all": _cost(text)}
    out = {}
    for item in text.split(","):
        key, _, value = item.partition("=")
        key = key.strip()
        if key != "all" and not re.fullmatch(r"\d{4}-\d{2}", key):
            raise ValueError(f"--cac cohort {key!r} must be a month YYYY-MM (or 'all')")
        out[key] = _cost(value)
    return out


def _cost(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"--cac value {text!r} is not a number") from None
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"--cac value {text!r} must be a finite number >= 0")
    return value


def run(args: argparse.Namespace) -> dict:
    """Run the experiment; return the folder, metrics and tables."""
    progress = Progress(args.quiet)
    data = load_summary(args, progress)
    summary = _spend_spark.local_copy(data) if is_spark(data) else data
    label = PURCHASE_MODELS[args.model][0]
    counts = summary["cohort"].value_counts().sort_index()
    cohorts = [c for c in counts.index if counts[c] >= args.min_cohort]
    per_cohort = set(args.cac_by_group) - {"all"}
    unknown = sorted(per_cohort - set(counts.index))
    if unknown:
        raise SystemExit(f"--cac names cohorts with no customers: {unknown}")
    if per_cohort:
        cohorts = [c for c in cohorts if c in per_cohort]
    cac = dict(args.cac_by_group)
    if "all" not in cac:
        weights = counts.reindex(sorted(per_cohort))
        cac["all"] = float(np.average([cac[c] for c in weights.index], weights=weights))
    for cohort in cohorts:
        cac.setdefault(cohort, cac["all"])
    grid_top = 2.5 * max(cac.values()) if max(cac.values()) > 0 else 100.0
    grid_costs = np.unique(np.r_[np.linspace(0.0, grid_top, 51), list(cac.values())])
    groups = {}
    for i, group in enumerate(["all", *cohorts]):
        part = summary if group == "all" else summary[summary["cohort"] == group]
        fitted_on = part
        if is_spark(data):
            fitted_on = data if group == "all" else _spend_spark.cohort(data, group)
        progress(
            f"{group}: fitting {label} + Gamma-Gamma on {len(part):,} customers, simulating "
            f"{args.customers:,} new customers"
        )
        groups[group] = analyse_group(fitted_on, part, group, args, args.seed + 10 * i, grid_costs)
    progress("existing customers: rule vs model CLV by segment")
    customers, segments = existing_customers(groups["all"], args)
    new = pd.DataFrame.from_dict(
        {g: headline(r, cac[g], args) for g, r in groups.items()}, orient="index"
    )
    new.index.name = "group"
    folder = output_folder(args.out, "reports/spend_check")
    progress(f"writing the report to {folder}/")
    tables = write_tables(folder, groups, new, customers, segments)
    metrics = {
        "settings": {k: v for k, v in vars(args).items() if k not in ("quiet", "cac_by_group")}
        | {"cac_by_group": cac},
        "data": {
            "customers": len(summary),
            "time_unit": summary.attrs["time_unit"],
            "observation_end": str(summary.attrs["observation_end"].date()),
            "cohorts": counts.to_dict(),
            "mean_first_spend": float(summary["first_spend"].mean()),
        },
        "parameters": {
            g: {
                "purchase": r["purchase"].params.to_dict(),
                "spend": r["spend"].params.to_dict(),
            }
            for g, r in groups.items()
        },
        "new_customer": json.loads(new.to_json(orient="index")),
        "rules": json.loads(groups["all"]["rules"].to_json(orient="index")),
        "segments": json.loads(segments.to_json(orient="index")),
    }
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=1, default=str))
    md, page = write_report(folder, groups, new, segments, tables, summary, args)
    progress(f"done: {md} and {page}")
    return {"folder": folder, "metrics": metrics, "new_customer": new, "segments": segments}


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point; bad input ends it with a one-line error (status 2)."""
    exit_on_input_error(run, parse_args(argv))


if __name__ == "__main__":
    main()
