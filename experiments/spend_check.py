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

Writes ``report.md`` / ``report.html``, ``metrics.json`` and one CSV per table (plus the
draws and simulated customers they are computed from).

Run: ``python -m experiments.spend_check --help``.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

import models
from experiments import _simulate_ltv as sim
from experiments._common import Progress, add_data_arguments, load_split, output_folder
from experiments._report import Report
from models import baseline, bgnbd, clv, evaluate, mbgnbd, pareto_nbd
from models._units import unit_ratio

PURCHASE_MODELS = {
    "bgnbd": ("BG/NBD", models.BetaGeo, bgnbd),
    "pareto": ("Pareto/NBD", models.ParetoNBD, pareto_nbd),
    "mbgnbd": ("MBG/NBD", models.ModifiedBetaGeo, mbgnbd),
}
SEGMENTS = ("all", "one_time", "repeat", "top_decile", "lapsed")
INTERVAL = 0.9


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (``--help`` lists them)."""
    parser = argparse.ArgumentParser(
        prog="python -m experiments.spend_check",
        description="\n\n".join(__doc__.split("\n\n")[:2]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Times (--horizon, payback) are in the data's time unit (--time-unit, weeks by "
        "default): 156 weeks = 3 years.",
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
        "--margin", type=float, default=0.3, help="profit margin as a share of revenue (0.3)"
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


def load_summary(args, progress: Progress) -> pd.DataFrame:
    """The summary the models are fitted on, with a ``cohort`` column (first-purchase month)."""
    if args.fit_on == "calibration":
        summary = load_split(args, progress).calibration
    else:
        source = args.transactions or models.datasets.load_cdnow_sample()
        progress(f"reading transactions from {args.transactions or 'bundled CDNOW sample'}")
        summary = models.rfm_summary(
            source,
            observation_end=args.holdout_end,
            customer_id=args.customer_id,
            date=args.date,
            amount=args.amount,
            time_unit=args.time_unit,
            negative_amounts=args.negative_amounts,
        )
    summary = summary.copy()
    summary["cohort"] = summary["first_purchase"].dt.strftime("%Y-%m")
    summary["first_spend"] = summary["total_value"] - summary["frequency"] * summary[
        "monetary_value"
    ].where(summary["frequency"] > 0, 0.0)
    return summary


def fit(summary: pd.DataFrame, args, seed: int):
    """Fitted (purchase model, spend model) with paired parameter draws."""
    _, model_class, _ = PURCHASE_MODELS[args.model]
    if args.bayes == "none":
        purchase = model_class().fit(summary).sample_laplace(args.draws, random_seed=seed)
        spend = models.GammaGamma().fit(summary).sample_laplace(args.draws, random_seed=seed + 1)
    else:
        options = {"draws": args.draws, "random_seed": seed, "progressbar": not args.quiet}
        if args.bayes == "nuts":
            options["chains"] = args.chains
        purchase = model_class().fit(summary, method=args.bayes, **options)
        spend = models.GammaGamma().fit(summary, method=args.bayes, **options)
    return purchase, spend


def flat_draws(model) -> dict[str, np.ndarray]:
    """``name -> (n_draws,)``."""
    return {k: np.asarray(v, dtype=float).reshape(-1) for k, v in model.draws.items()}


def analyse_group(summary: pd.DataFrame, label: str, args, seed: int, grid_costs) -> dict:
    """Rule, expected and simulated new-customer LTV, payback, for one group of customers."""
    _, _, module = PURCHASE_MODELS[args.model]
    unit = summary.attrs["time_unit"]
    delta = np.log1p(args.discount_rate) / unit_ratio("Y", unit)
    rng = np.random.default_rng([seed, 1])
    purchase, spend = fit(summary, args, seed)
    p_draws, s_draws = flat_draws(purchase), flat_draws(spend)
    n = min(len(next(iter(p_draws.values()))), len(next(iter(s_draws.values()))))
    p_draws = {k: v[:n] for k, v in p_draws.items()}
    s_draws = {k: v[:n] for k, v in s_draws.items()}
    first = summary["first_spend"].to_numpy()
    # uncertainty of the mean first-purchase spend: its sampling distribution (normal)
    spread = first.std(ddof=1) / np.sqrt(first.size) if first.size > 1 else 0.0
    first_mean = first.mean() + spread * rng.standard_normal(n)
    times = sim.time_grid(args.horizon)
    curve = sim.expected_value_curve(
        module, p_draws, s_draws, first_mean, times, delta, args.margin
    )
    simulated = sim.simulate_new_customers(
        module, p_draws, s_draws, first, args.horizon, delta, args.margin, args.customers, rng
    )
    return {
        "label": label,
        "summary": summary,
        "purchase": purchase,
        "spend": spend,
        "times": times,
        "curve": curve,
        "expected_ltv": curve[:, -1],
        "simulated": simulated,
        "rules": rule_table(summary, args),
        "grid": cac_grid(curve, times, simulated["ltv"], grid_costs),
    }


def rule_table(summary: pd.DataFrame, args) -> pd.DataFrame:
    """S, C, t, P and LTV = S x C x P x t of every rule variant (per segment: one row each)."""
    rows = {}
    specs = {
        "classic": {"variant": "classic"},
        "retention": {"variant": "retention"},
        "per_segment": {"variant": "per_segment"},
        "basket_x_frequency": {"variant": "basket_x_frequency", "horizon": args.horizon},
    }
    for name, kwargs in specs.items():
        rule = baseline.rule_of_thumb(summary, margin=args.margin, **kwargs)
        if isinstance(rule.S, pd.Series):
            for segment in rule.S.index:
                rows[f"{name}: {segment}"] = {
                    "S": rule.S[segment],
                    "C": rule.C[segment],
                    "P": rule.P,
                    "t_months": rule.t[segment],
                    "ltv": rule.ltv[segment],
                }
        else:
            rows[name] = {
                "S": rule.S,
                "C": rule.C,
                "P": rule.P,
                "t_months": rule.t,
                "ltv": rule.ltv,
            }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "rule"
    return table


def cac_grid(curve, times, individual, costs) -> pd.DataFrame:
    """Coverage probabilities and payback at each cost of ``costs``."""
    rows = []
    mean_curve = curve.mean(axis=0)
    for cost in costs:
        payback = sim.payback_times(curve, times, cost)
        rows.append(
            {
                "cac": cost,
                "p_individual_ltv_above": float(np.mean(individual > cost)),
                "p_expected_ltv_covers": float(np.mean(curve[:, -1] >= cost)),
                "payback": float(sim.payback_times(mean_curve, times, cost)[0]),
                "payback_lower": float(np.quantile(payback, 0.05, method="lower")),
                "payback_upper": float(np.quantile(payback, 0.95, method="higher")),
                "share_not_paid_back": float(np.mean(~np.isfinite(payback))),
            }
        )
    return pd.DataFrame(rows)


def headline(result: dict, cac: float, args) -> dict:
    """One row of the new-customer table for a group at its CAC."""
    expected, individual = result["expected_ltv"], result["simulated"]["ltv"]
    q = args.probability
    at = cac_grid(result["curve"], result["times"], individual, [cac]).iloc[0]
    lower, upper = np.quantile(expected, [(1 - INTERVAL) / 2, (1 + INTERVAL) / 2])
    rules = result["rules"]["ltv"]
    return {
        "customers": len(result["summary"]),
        "cac": cac,
        "rule_ltv_classic": rules["classic"],
        "rule_ltv_basket_x_frequency": rules["basket_x_frequency"],
        "expected_ltv": expected.mean(),
        "expected_ltv_lower": lower,
        "expected_ltv_upper": upper,
        "individual_ltv_mean": individual.mean(),
        "individual_ltv_median": float(np.median(individual)),
        "p_individual_ltv_above_cac": at["p_individual_ltv_above"],
        "p_expected_ltv_covers_cac": at["p_expected_ltv_covers"],
        "largest_cac_expected": float(np.quantile(expected, 1 - q)),
        "largest_cac_individual": float(np.quantile(individual, 1 - q)),
        "p_expected_ltv_covers_rule": float(np.mean(expected >= rules["classic"])),
        "p_individual_ltv_above_rule": float(np.mean(individual > rules["classic"])),
        "payback": at["payback"],
        "payback_lower": at["payback_lower"],
        "payback_upper": at["payback_upper"],
        "share_not_paid_back": at["share_not_paid_back"],
    }


def existing_customers(result: dict, args) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per customer rule value vs model CLV over the horizon; the by-segment table."""
    summary = result["summary"]
    draws = np.asarray(
        clv.customer_lifetime_value(
            result["purchase"],
            result["spend"],
            summary,
            horizon=args.horizon,
            step=args.horizon,
            margin=args.margin,
            return_draws=True,
        )
    ).reshape(-1, len(summary))
    segments = evaluate.segment_customers(summary)
    segments.insert(0, "all", True)
    customers = summary.drop(columns=["first_purchase"]).join(segments)
    for variant in ("classic", "per_segment"):
        rule = baseline.rule_of_thumb(summary, variant=variant, margin=args.margin)
        customers[f"rule_{variant}"] = rule.predict(summary, args.horizon)["predicted_value"]
    customers["model_clv"] = draws.mean(axis=0)
    customers["model_clv_lower"], customers["model_clv_upper"] = np.quantile(
        draws, [(1 - INTERVAL) / 2, (1 + INTERVAL) / 2], axis=0
    )
    rows = {}
    for segment in SEGMENTS:
        mask = customers[segment].to_numpy(dtype=bool)
        per_draw = draws[:, mask].mean(axis=1)
        lo, hi = np.quantile(per_draw, [(1 - INTERVAL) / 2, (1 + INTERVAL) / 2])
        model = customers.loc[mask, "model_clv"].mean()
        row = {"customers": int(mask.sum())}
        for variant in ("classic", "per_segment"):
            row[f"rule_{variant}"] = customers.loc[mask, f"rule_{variant}"].mean()
        row |= {"model_clv": model, "model_clv_lower": lo, "model_clv_upper": hi}
        for variant in ("classic", "per_segment"):
            rule = row[f"rule_{variant}"]
            row[f"{variant}_over_model"] = rule / model
            row[f"{variant}_verdict"] = _verdict(rule, lo, hi)
        rows[segment] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "segment"
    return customers, table


def _verdict(rule: float, lower: float, upper: float) -> str:
    """How a rule's segment mean sits against the model's interval of it."""
    return "overstates" if rule > upper else "understates" if rule < lower else "agrees"


def run(args: argparse.Namespace) -> dict:
    """Run the experiment; return the folder, metrics and tables."""
    progress = Progress(args.quiet)
    summary = load_summary(args, progress)
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
        progress(
            f"{group}: fitting {label} + Gamma-Gamma on {len(part):,} customers, simulating "
            f"{args.customers:,} new customers"
        )
        groups[group] = analyse_group(part, group, args, args.seed + 10 * i, grid_costs)
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


def write_tables(folder: Path, groups, new, customers, segments) -> dict[str, pd.DataFrame]:
    """One CSV per table, and the draws / simulated customers behind them."""
    grid = pd.concat([r["grid"].assign(group=g) for g, r in groups.items()], ignore_index=True)
    rules = pd.concat([r["rules"].assign(group=g) for g, r in groups.items()])
    draws = pd.concat(
        [
            pd.DataFrame(
                {
                    "group": g,
                    "draw": np.arange(r["curve"].shape[0]),
                    "expected_ltv": r["expected_ltv"],
                }
            )
            for g, r in groups.items()
        ],
        ignore_index=True,
    )
    simulated = pd.concat(
        [pd.DataFrame(r["simulated"]).assign(group=g) for g, r in groups.items()],
        ignore_index=True,
    )
    curves = pd.concat(
        [
            pd.DataFrame(
                {
                    "group": g,
                    "time": r["times"],
                    "mean": r["curve"].mean(axis=0),
                    "lower": np.quantile(r["curve"], (1 - INTERVAL) / 2, axis=0),
                    "upper": np.quantile(r["curve"], (1 + INTERVAL) / 2, axis=0),
                }
            )
            for g, r in groups.items()
        ],
        ignore_index=True,
    )
    tables = {
        "new_customer": new,
        "cac_grid": grid,
        "rules": rules,
        "segments": segments,
        "expected_ltv_draws": draws,
        "simulated_customers": simulated,
        "payback_curve": curves,
        "customers": customers,
    }
    for name, table in tables.items():
        index = name in ("new_customer", "rules", "segments", "customers")
        table.to_csv(folder / f"{name}.csv", index=index)
    return tables


def _figures(groups, new, args):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    result, cac = groups["all"], new.loc["all", "cac"]
    fig1, ax = plt.subplots(figsize=(7, 4))
    curve = result["curve"]
    ax.fill_between(
        result["times"],
        np.quantile(curve, 0.05, axis=0),
        np.quantile(curve, 0.95, axis=0),
        alpha=0.3,
        label="90 % interval over parameter draws",
    )
    ax.plot(result["times"], curve.mean(axis=0), label="expected cumulative discounted margin")
    ax.axhline(cac, color="k", linestyle="--", label=f"CAC = {cac:g}")
    ax.set_xlabel(f"time since acquisition ({result['summary'].attrs['time_unit']})")
    ax.set_ylabel("margin")
    ax.legend()
    fig2, ax = plt.subplots(figsize=(7, 4))
    grid = result["grid"]
    ax.plot(grid["cac"], grid["p_individual_ltv_above"], label="P(individual LTV > CAC)")
    ax.plot(grid["cac"], grid["p_expected_ltv_covers"], label="P(expected LTV ≥ CAC)")
    ax.axhline(args.probability, color="grey", linestyle=":")
    ax.axvline(cac, color="k", linestyle="--")
    ax.set_xlabel("CAC")
    ax.set_ylabel("probability")
    ax.legend()
    return fig1, fig2


def write_report(folder, groups, new, segments, tables, summary, args) -> tuple:
    """The Markdown and HTML report."""
    unit = summary.attrs["time_unit"]
    years = args.horizon / unit_ratio("Y", unit)
    q = args.probability
    row = new.loc["all"]
    method = (
        f"maximum likelihood, {args.draws} Laplace draws"
        if args.bayes == "none"
        else args.bayes.upper()
    )
    report = Report("Does the lifetime value justify the acquisition cost?")
    report.text(
        f"{len(summary):,} customers observed to {summary.attrs['observation_end']:%Y-%m-%d} "
        f"(fitted on the {'whole history' if args.fit_on == 'all' else 'calibration period'}); "
        f"model {PURCHASE_MODELS[args.model][0]} + Gamma-Gamma "
        f"({method}). "
        f"Margin {args.margin:g}; horizon {args.horizon:g} {unit} ({years:.3g} years); discount "
        f"rate {args.discount_rate:.0%} a year, continuous from each purchase date; the first "
        f"purchase counts (mean first-purchase spend {summary['first_spend'].mean():.2f})."
    )
    if set(args.cac_by_group) != {"all"}:
        pooled = (
            "given" if "all" in args.cac_by_group else "the customer-weighted mean of the cohorts'"
        )
        report.text(
            "CAC by cohort: "
            + ", ".join(f"{g} {c:g}" for g, c in new["cac"].items() if g != "all")
            + f"; pooled CAC {new.loc['all', 'cac']:.2f} ({pooled})."
        )
    skipped = sorted(set(summary["cohort"]) - set(new.index))
    if skipped:
        report.text(
            f"Cohorts not analysed on their own (fewer than {args.min_cohort} customers, or no "
            f"CAC given): {', '.join(skipped)}."
        )
    report.heading("Headline")
    report.text(
        f"At CAC = {row['cac']:.2f}: the classic rule of thumb values a customer at "
        f"{row['rule_ltv_classic']:.2f}; the model's expected value of a new customer over the "
        f"horizon is {row['expected_ltv']:.2f} (90 % interval {row['expected_ltv_lower']:.2f}–"
        f"{row['expected_ltv_upper']:.2f}). P(expected LTV ≥ CAC) = "
        f"{row['p_expected_ltv_covers_cac']:.3f}; a random new customer's LTV exceeds the CAC "
        f"with probability {row['p_individual_ltv_above_cac']:.3f}. The largest CAC covered "
        f"with probability {q:g} is {row['largest_cac_expected']:.2f} on average (the "
        f"{1 - q:.0%} quantile of the expected LTV) and {row['largest_cac_individual']:.2f} for "
        f"an individual customer. Payback: {_time(row['payback'], unit)} (90 % interval "
        f"{_time(row['payback_lower'], unit)} – {_time(row['payback_upper'], unit)})."
    )
    columns = [
        "customers",
        "cac",
        "rule_ltv_classic",
        "expected_ltv",
        "expected_ltv_lower",
        "expected_ltv_upper",
        "p_expected_ltv_covers_cac",
        "p_individual_ltv_above_cac",
        "largest_cac_expected",
        "largest_cac_individual",
        "payback",
        "payback_lower",
        "payback_upper",
    ]
    report.table(
        new[columns],
        f"New customers, pooled and by cohort (each cohort fitted on its own); payback in "
        f"{unit} (inf: not within the horizon)",
    )
    report.heading("(a) What the rule of thumb justifies")
    rules = groups["all"]["rules"].copy()
    expected, individual = groups["all"]["expected_ltv"], groups["all"]["simulated"]["ltv"]
    rules["p_expected_ltv_covers"] = [float(np.mean(expected >= v)) for v in rules["ltv"]]
    rules["p_individual_ltv_above"] = [float(np.mean(individual > v)) for v in rules["ltv"]]
    report.table(
        rules,
        "LTV = S × C × P × t (S: revenue per order, C: orders per month, t: months; "
        "basket × frequency uses the horizon as t); the CAC each justifies is its LTV, and "
        "the model's probability of covering it",
    )
    report.heading("(b–d) Coverage probability and payback against the CAC")
    grid = groups["all"]["grid"]
    standard_error = individual.std(ddof=1) / np.sqrt(individual.size)
    report.text(
        f"Check of the simulation against the closed form: the {individual.size:,} simulated "
        f"new customers' mean LTV is {individual.mean():.2f} (Monte Carlo s.e. "
        f"{standard_error:.2f}); the expected LTV averaged over parameter draws is "
        f"{expected.mean():.2f}. P(expected LTV ≥ CAC) carries parameter uncertainty only; "
        "P(individual LTV > CAC) also carries the customer-to-customer spread (most "
        "customers are worth little, a few a lot)."
    )
    report.table(grid.iloc[:: max(1, len(grid) // 12)].set_index("cac"), "Pooled fit")
    try:
        fig1, fig2 = _figures(groups, new, args)
        report.figure(fig1, "payback", "Expected cumulative discounted margin of a new customer")
        report.figure(fig2, "coverage", "Probability that the lifetime value covers the CAC")
    except ImportError:  # matplotlib is optional
        report.text("(figures skipped: matplotlib is not installed)")
    report.heading("(e) Existing customers: where the rule over- or under-states value")
    report.table(
        segments,
        f"Mean value per customer over the next {args.horizon:g} {unit}, undiscounted: the "
        "rule's window prediction (every customer treated as at the start of an average "
        "relationship) against the model's CLV (90 % interval of the segment mean over "
        "parameter draws)",
    )
    report.text(
        "Assumptions: Gamma-Gamma spend is independent of purchase frequency; a new "
        "customer's first-purchase value is drawn from the observed first purchases and is "
        "independent of its later spend; parameter uncertainty comes from the Laplace "
        "approximation (or the posterior with --bayes)."
    )
    return report.write(folder)


def _time(value: float, unit: str) -> str:
    return "> horizon" if not np.isfinite(value) else f"{value:.1f} {unit}"


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    run(parse_args(argv))


if __name__ == "__main__":
    main()
