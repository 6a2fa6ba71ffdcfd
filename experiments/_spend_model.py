"""The computations of the spend check (:mod:`experiments.spend_check`): fits and LTV tables.

Every function takes the summary the models are fitted on (``data``: a pandas frame, or a
Spark DataFrame with ``--engine spark``) and, where customers are listed one by one for the
report, its pandas copy (``summary``). With Spark, fitting (unique patterns) and per-customer
scoring run in Spark (:mod:`experiments._spend_spark`); the rule of thumb, the new-customer
simulation and the tables run on the driver, as in :mod:`experiments.compare_ltv`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import models
from experiments import _simulate_ltv as sim
from experiments import _spend_spark
from experiments._common import Progress, is_spark, load_split
from experiments._common import load_summary as load_rfm_summary
from models import baseline, bgnbd, clv, evaluate, mbgnbd, pareto_nbd
from models._units import unit_ratio

PURCHASE_MODELS = {
    "bgnbd": ("BG/NBD", models.BetaGeo, bgnbd),
    "pareto": ("Pareto/NBD", models.ParetoNBD, pareto_nbd),
    "mbgnbd": ("MBG/NBD", models.ModifiedBetaGeo, mbgnbd),
}
SEGMENTS = ("all", "one_time", "repeat", "top_decile", "lapsed")
INTERVAL = 0.9


def load_summary(args, progress: Progress):
    """The summary the models are fitted on, with ``cohort`` and ``first_spend`` columns.

    ``cohort`` is the first-purchase month. A pandas frame, or a Spark DataFrame with
    ``--engine spark``.
    """
    if args.fit_on == "calibration":
        summary = load_split(args, progress).calibration
    else:
        summary = load_rfm_summary(args, progress, args.holdout_end)
    if is_spark(summary):
        return _spend_spark.with_cohort(summary)
    summary = summary.copy()
    summary["cohort"] = summary["first_purchase"].dt.strftime("%Y-%m")
    summary["first_spend"] = summary["total_value"] - summary["frequency"] * summary[
        "monetary_value"
    ].where(summary["frequency"] > 0, 0.0)
    return summary


def fit(data, args, seed: int):
    """Fitted (purchase model, spend model) with paired parameter draws.

    A Spark summary is compressed to unique patterns in Spark (``Model().fit`` dispatches).
    """
    _, model_class, _ = PURCHASE_MODELS[args.model]
    if args.bayes == "none":
        purchase = model_class().fit(data).sample_laplace(args.draws, random_seed=seed)
        spend = models.GammaGamma().fit(data).sample_laplace(args.draws, random_seed=seed + 1)
    else:
        options = {"draws": args.draws, "random_seed": seed, "progressbar": not args.quiet}
        if args.bayes == "nuts":
            options["chains"] = args.chains
        purchase = model_class().fit(data, method=args.bayes, **options)
        spend = models.GammaGamma().fit(data, method=args.bayes, **options)
    return purchase, spend


def flat_draws(model) -> dict[str, np.ndarray]:
    """``name -> (n_draws,)``."""
    return {k: np.asarray(v, dtype=float).reshape(-1) for k, v in model.draws.items()}


def analyse_group(data, summary: pd.DataFrame, label: str, args, seed: int, grid_costs) -> dict:
    """Rule, expected and simulated new-customer LTV, payback, for one group of customers.

    ``data`` is what the models are fitted on (pandas or Spark); ``summary`` the same
    customers as a pandas frame (first-purchase spends, rule of thumb).
    """
    _, _, module = PURCHASE_MODELS[args.model]
    unit = summary.attrs["time_unit"]
    delta = np.log1p(args.discount_rate) / unit_ratio("Y", unit)
    rng = np.random.default_rng([seed, 1])
    purchase, spend = fit(data, args, seed)
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
        "data": data,
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
    """Per customer rule value vs model CLV over the horizon; the by-segment table.

    The model's CLV over parameter draws: per customer its mean and 90 % interval, per
    segment the interval of the segment mean (the mean over customers, draw by draw). With
    Spark both are computed in Spark; only per-customer summaries and per-draw segment sums
    reach the driver.
    """
    summary, data = result["summary"], result["data"]
    segments = evaluate.segment_customers(summary)
    segments.insert(0, "all", True)
    customers = summary.drop(columns=["first_purchase"]).join(segments)
    for variant in ("classic", "per_segment"):
        rule = baseline.rule_of_thumb(summary, variant=variant, margin=args.margin)
        customers[f"rule_{variant}"] = rule.predict(summary, args.horizon)["predicted_value"]
    options = {"horizon": args.horizon, "step": args.horizon, "margin": args.margin}
    purchase, spend = result["purchase"], result["spend"]
    if is_spark(data):
        scored = _spend_spark.customer_clv(purchase, spend, data, INTERVAL, **options)
        scored = scored.loc[customers.index]
        customers["model_clv"] = scored["mean"]
        customers["model_clv_lower"] = scored["lower"]
        customers["model_clv_upper"] = scored["upper"]
        flags = _spend_spark.segment_flags(summary, segments)
        per_draw = _spend_spark.segment_draw_means(purchase, spend, data, flags, **options)
        for segment, (count, _) in per_draw.items():
            if count != int(segments[segment].sum()):  # pragma: no cover - a rule mismatch
                raise RuntimeError(f"segment {segment}: Spark and pandas disagree on members")
        per_draw = {segment: means for segment, (_, means) in per_draw.items()}
    else:
        draws = np.asarray(
            clv.customer_lifetime_value(purchase, spend, summary, return_draws=True, **options)
        ).reshape(-1, len(summary))
        customers["model_clv"] = draws.mean(axis=0)
        customers["model_clv_lower"], customers["model_clv_upper"] = np.quantile(
            draws, [(1 - INTERVAL) / 2, (1 + INTERVAL) / 2], axis=0
        )
        per_draw = {
            segment: draws[:, customers[segment].to_numpy(dtype=bool)].mean(axis=1)
            for segment in SEGMENTS
        }
    rows = {}
    for segment in SEGMENTS:
        mask = customers[segment].to_numpy(dtype=bool)
        lo, hi = np.quantile(per_draw[segment], [(1 - INTERVAL) / 2, (1 + INTERVAL) / 2])
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
