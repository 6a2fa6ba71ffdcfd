"""The report of the spend check (:mod:`experiments.spend_check`): CSV tables, figures, text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from experiments._report import Report
from experiments._spend_model import INTERVAL, PURCHASE_MODELS
from models._units import unit_ratio


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
