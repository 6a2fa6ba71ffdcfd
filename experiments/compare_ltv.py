"""Compare predicted lifetime value with the S x C x P x t rule of thumb on held-out data.

How far is the rule of thumb from the models, and from what customers actually did?

Splits transactions at a calibration date; fits BG/NBD, Pareto/NBD and MBG/NBD with
Gamma-Gamma spend on the calibration period (maximum likelihood with Laplace draws, and
optionally Bayesian); computes every variant of the rule of thumb; predicts each customer's
holdout purchases and holdout value; scores everything against what customers actually did.

Writes a report folder: ``report.md`` and a self-contained ``report.html`` (tables, figures),
``predictions.csv`` / ``predictions.parquet`` (one row per customer: calibration summary,
actual holdout outcomes, segment flags, every method's predictions) and ``metrics.json``.
Every number in the report can be recomputed from ``predictions.csv`` (see
:func:`score_predictions`).

Any transaction file works (``--transactions``, ``--customer-id``, ``--date``, ``--amount``):
without ``--calibration-end`` / ``--holdout-end`` it is split in half (the holdout ends on the
last transaction, the calibration period halfway from the first purchase to that day), the
bundled CDNOW sample at its published dates. Customers whose calibration repeat purchases are
all worth 0 (kept by the default ``--zero-amounts keep``) have no positive spend for the
Gamma-Gamma model: they are left out of every comparison, and the report says how many
(``--zero-amounts drop`` counts zero-amount purchases as no purchase instead). Bad input ends
the run with a one-line ``error: ...`` on stderr and exit status 2.

Run: ``python -m experiments.compare_ltv --help``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json

import numpy as np
import pandas as pd

import models
from experiments._common import (
    Progress,
    Split,
    add_data_arguments,
    collect,
    exit_on_input_error,
    is_spark,
    load_split,
    margin_fraction,
    output_folder,
    positive_int,
)
from experiments._report import Report
from models import baseline, clv, evaluate, plots

PURCHASE_MODELS = {
    "bgnbd": ("BG/NBD", models.BetaGeo),
    "pareto": ("Pareto/NBD", models.ParetoNBD),
    "mbgnbd": ("MBG/NBD", models.ModifiedBetaGeo),
}
INTERVAL = 0.9
SEGMENTS = ("one_time", "repeat", "top_decile", "lapsed")

#: Report sentence on the customers left out for want of positive repeat spend.
ZERO_SPEND_NOTE = (
    "{n:,} customer(s) whose calibration repeat purchases are all worth 0 (first: {id_name}="
    "{first}) are left out of every comparison: the Gamma-Gamma spend model needs positive "
    "mean repeat spend. Pass --zero-amounts drop to count zero-amount purchases as no "
    "purchase instead."
)
#: With Spark the summary is not filtered on the driver: the run stops and says what to do.
ZERO_SPEND_SPARK = (
    "{n:,} customer(s) have repeat purchases in calibration all worth 0, and the Gamma-Gamma "
    "spend model needs positive mean repeat spend; pass --zero-amounts drop (zero-amount "
    "purchases then do not count as purchases)."
)


def _model_list(text: str) -> str:
    """``--models``: comma-separated keys of ``PURCHASE_MODELS`` (kept as given)."""
    unknown = [key for key in text.split(",") if key not in PURCHASE_MODELS]
    if unknown or not text:
        raise argparse.ArgumentTypeError(
            f"unknown model(s) {unknown}; choose from {', '.join(PURCHASE_MODELS)}"
        )
    return text


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (``--help`` lists them)."""
    parser = argparse.ArgumentParser(
        prog="python -m experiments.compare_ltv",
        description=__doc__.split("\n\n")[0],
        epilog="Customers whose calibration repeat purchases are all worth 0 (kept as purchases "
        "by --zero-amounts keep) are left out of every comparison, since the Gamma-Gamma spend "
        "model needs positive spend; the report says how many (with --engine spark the run "
        "stops instead and asks for --zero-amounts drop). Bad input (a missing file or column, "
        "dates out of order, ...) prints one 'error: ...' line and exits with status 2.",
    )
    add_data_arguments(parser)
    parser.add_argument(
        "--margin",
        type=margin_fraction,
        default=1.0,
        help="profit margin P as a fraction of revenue (default 1.0: revenue)",
    )
    parser.add_argument(
        "--models",
        type=_model_list,
        default="bgnbd,pareto,mbgnbd",
        help="purchase models to fit (comma separated: bgnbd, pareto, mbgnbd)",
    )
    parser.add_argument(
        "--bayes",
        choices=["none", "nuts", "advi"],
        default="none",
        help="also fit every model with this Bayesian method",
    )
    parser.add_argument(
        "--chains", type=positive_int, default=2, help="MCMC chains (with --bayes nuts)"
    )
    parser.add_argument(
        "--draws",
        type=positive_int,
        default=500,
        help="parameter draws per chain (Laplace, NUTS or ADVI)",
    )
    parser.add_argument("--seed", type=int, default=20261124, help="random seed")
    parser.add_argument("--out", default="reports/compare_ltv", help="report folder")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    return parser.parse_args(argv)


def fit_models(cal: pd.DataFrame, args, progress: Progress) -> dict[str, tuple]:
    """Fitted (purchase model, spend model) pairs by method label."""
    fitted = {}
    spend = _fit(models.GammaGamma(), cal)
    spend_draws = models.GammaGamma.from_dict(spend.to_dict()).sample_laplace(
        args.draws, random_seed=args.seed
    )
    for key in args.models.split(","):  # checked by parse_args
        label, model_class = PURCHASE_MODELS[key]
        progress(f"fitting {label} by maximum likelihood (+ {args.draws} Laplace draws)")
        model = model_class().fit(cal).sample_laplace(args.draws, random_seed=args.seed + 1)
        fitted[f"{label} MLE"] = (model, spend_draws)
        if args.bayes != "none":
            progress(f"fitting {label} and Gamma-Gamma with {args.bayes}")
            options = {"draws": args.draws, "random_seed": args.seed}
            if args.bayes == "nuts":
                options["chains"] = args.chains
            purchase = model_class().fit(cal, method=args.bayes, **options)
            spend_bayes = _fit(models.GammaGamma(), cal, method=args.bayes, **options)
            fitted[f"{label} {args.bayes.upper()}"] = (purchase, spend_bayes)
    return fitted


def _fit(model, cal, **options):
    """``model.fit(cal)``; a Spark summary goes through the Spark fit (patterns in Spark).

    ``GammaGamma.fit`` validates its input before the shared fit, so a Spark summary is
    handed to :func:`models._spark.fit` directly (the purchase models dispatch by
    themselves).
    """
    from models import _spark

    if _spark.is_spark_dataframe(cal):
        return _spark.fit(model, cal, **options)
    return model.fit(cal, **options)


def predict(cal, fitted: dict, horizon: float, margin: float) -> pd.DataFrame:
    """Per-customer predicted holdout purchases, value (with intervals) and P(alive).

    A Spark summary is scored in Spark; only the scored columns are collected, for the report.
    """
    columns = {}
    for label, (purchase, spend) in fitted.items():
        purchases = collect(purchase.expected_purchases(horizon, cal, interval=INTERVAL))
        value = collect(
            clv.customer_lifetime_value(
                purchase,
                spend,
                cal,
                horizon=horizon,
                step=horizon,
                margin=margin,
                interval=INTERVAL,
            )
        )
        columns[f"{label}|purchases"] = purchases["mean"]
        columns[f"{label}|value"] = value["mean"]
        columns[f"{label}|value_lower"] = value["lower"]
        columns[f"{label}|value_upper"] = value["upper"]
        columns[f"{label}|p_alive"] = collect(purchase.p_alive(cal))
    return pd.DataFrame(columns)


def baseline_predictions(cal: pd.DataFrame, horizon: float, margin: float) -> pd.DataFrame:
    """Every rule-of-thumb variant's predicted holdout purchases and value, per customer."""
    # An unnamed index comes back as column "customer_id", whatever the caller's id is named.
    tidy = baseline.all_variants(cal.rename_axis(None), horizon=horizon, margin=margin)
    wide = tidy.pivot(
        index="customer_id", columns="variant", values=["predicted_purchases", "predicted_value"]
    )
    out = {}
    for variant in tidy["variant"].unique():
        label = f"rule: {variant}"
        out[f"{label}|purchases"] = wide[("predicted_purchases", variant)]
        out[f"{label}|value"] = wide[("predicted_value", variant)]
    frame = pd.DataFrame(out)
    frame.index.name = cal.index.name
    return frame.loc[cal.index]


def methods(predictions: pd.DataFrame) -> list[str]:
    """Method labels present in a predictions frame, in column order."""
    return list(dict.fromkeys(c.split("|")[0] for c in predictions.columns if "|" in c))


def score_predictions(predictions: pd.DataFrame, margin: float) -> dict[str, pd.DataFrame]:
    """Scorecards of every method, recomputed from the per-customer predictions file alone.

    Returns ``{"value": ..., "purchases": ...}``: one row per (method, segment).
    """
    segments = predictions[list(SEGMENTS)].astype(bool)
    actual = {
        "value": margin * predictions["actual_value"],
        "purchases": predictions["actual_purchases"],
    }
    tables = {}
    for target in ("value", "purchases"):
        rows = []
        for method in methods(predictions):
            kwargs = {"segments": segments}
            if f"{method}|p_alive" in predictions:
                kwargs["p_alive"] = predictions[f"{method}|p_alive"]
            if target == "value" and f"{method}|value_lower" in predictions:
                kwargs["intervals"] = {
                    f"{INTERVAL:.0%}": (
                        predictions[f"{method}|value_lower"],
                        predictions[f"{method}|value_upper"],
                    )
                }
            card = evaluate.scorecard(predictions[f"{method}|{target}"], actual[target], **kwargs)
            rows.append(card.assign(method=method).set_index("method", append=True))
        table = pd.concat(rows).reorder_levels(["method", "segment"])
        tables[target] = table
    return tables


def model_comparison(fitted: dict) -> pd.DataFrame:
    """Log-likelihood, AIC and BIC of each purchase model (maximum-likelihood fits)."""
    rows = {}
    for label, (purchase, _) in fitted.items():
        if label.endswith("MLE"):
            rows[label] = {
                "parameters": len(purchase.PARAMS),
                "log_likelihood": purchase.log_likelihood_,
                "aic": purchase.aic_,
                "bic": purchase.bic_,
                **purchase.params.round(4).to_dict(),
            }
    return pd.DataFrame.from_dict(rows, orient="index")


def without_zero_spend(split: Split, progress: Progress) -> Split:
    """The split without customers whose calibration repeat purchases are all worth 0.

    The Gamma-Gamma model needs positive mean repeat spend (``monetary_value > 0`` when
    ``frequency > 0``); such customers (possible with ``--zero-amounts keep``) are removed
    from the calibration summary, the holdout and the transactions, so every method is
    scored on the same customers. ``metadata["n_zero_spend_excluded"]`` counts them and
    ``metadata["zero_spend_first"]`` names the first. A Spark summary with such customers is
    refused (ValidationError) instead.
    """
    cal = split.calibration
    if is_spark(cal):
        n = cal.filter("frequency > 0 AND NOT (monetary_value > 0)").count()
        if n:
            raise models.ValidationError(ZERO_SPEND_SPARK.format(n=n))
        return dataclasses.replace(split, metadata={**split.metadata, "n_zero_spend_excluded": 0})
    zero = ((cal["frequency"] > 0) & ~(cal["monetary_value"] > 0)).to_numpy()
    metadata = {**split.metadata, "n_zero_spend_excluded": int(zero.sum())}
    if not zero.any():
        return dataclasses.replace(split, metadata=metadata)
    dropped = cal.index[zero]
    metadata["zero_spend_first"] = dropped[0]
    progress(
        f"{zero.sum():,} customer(s) with repeat purchases all worth 0 left out (Gamma-Gamma "
        "needs positive spend)"
    )
    transactions = split.transactions
    if transactions is not None:
        transactions = transactions[~transactions["customer_id"].isin(dropped)]
    return Split(cal[~zero], split.holdout[~zero], metadata, transactions)


def run(args: argparse.Namespace) -> dict:
    """Run the experiment; return the paths written and the headline metrics."""
    progress = Progress(args.quiet)
    split = without_zero_spend(load_split(args, progress), progress)
    cal, hold = split.calibration, split.holdout
    horizon = float(split.metadata["holdout_length"])
    fitted = fit_models(cal, args, progress)
    progress("predicting holdout purchases and value")
    scored = predict(cal, fitted, horizon, args.margin)
    if args.engine == "spark":  # scored in Spark; the report is one row per customer
        cal, hold = collect(cal), collect(hold)
        split = dataclasses.replace(split, calibration=cal, holdout=hold)
    predictions = pd.concat(
        [
            cal[["frequency", "recency", "T", "monetary_value", "total_value"]],
            hold[["holdout_purchases", "holdout_value"]].rename(
                columns={"holdout_purchases": "actual_purchases", "holdout_value": "actual_value"}
            ),
            evaluate.segment_customers(cal)[list(SEGMENTS)],
            scored.loc[cal.index],
            baseline_predictions(cal, horizon, args.margin),
        ],
        axis=1,
    )
    progress("scoring every method on the holdout")
    scores = score_predictions(predictions, args.margin)
    comparison = model_comparison(fitted)
    folder = output_folder(args.out, "reports/compare_ltv")
    progress(f"writing the report to {folder}/")
    predictions.to_csv(folder / "predictions.csv")
    predictions.to_parquet(folder / "predictions.parquet")
    metrics = {
        "settings": {k: v for k, v in vars(args).items() if k not in ("quiet",)},
        "data": {
            k: str(v) if isinstance(v, pd.Timestamp) else v for k, v in split.metadata.items()
        },
        "model_comparison": json.loads(comparison.to_json(orient="index")),
        "scores": {target: _records(table) for target, table in scores.items()},
    }
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=1, default=_json))
    report = write_report(predictions, scores, comparison, split, args)
    progress("drawing figures")
    add_figures(report, fitted, split, predictions, args)
    md, page = report.write(folder)
    progress(f"done: {md} and {page}")
    return {"folder": folder, "metrics": metrics, "predictions": predictions}


def _records(table: pd.DataFrame) -> list[dict]:
    return json.loads(table.reset_index().to_json(orient="records"))


def _json(value):
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def write_report(predictions, scores, comparison, split, args) -> Report:
    """The report's tables and the sentences stating what they show."""
    value = scores["value"]
    overall = value.xs("all", level="segment")
    best = overall["mae"].idxmin()
    rules = [m for m in overall.index if m.startswith("rule:")]
    best_rule = overall.loc[rules, "mae"].idxmin()
    actual_total = overall["actual_total"].iloc[0]
    report = Report("Predicted lifetime value against the S × C × P × t rule of thumb")
    report.text(
        f"Calibration to {split.metadata['calibration_end']:%Y-%m-%d}, holdout to "
        f"{split.metadata['holdout_end']:%Y-%m-%d} ({split.metadata['holdout_length']:.4g} "
        f"{split.metadata['time_unit']}); {len(predictions):,} customers. Value is revenue × "
        f"margin with margin = {args.margin:g}"
        + (" (the default: revenue, no margin given)." if args.margin == 1.0 else ".")
    )
    if split.metadata.get("n_zero_spend_excluded"):
        report.text(
            ZERO_SPEND_NOTE.format(
                n=split.metadata["n_zero_spend_excluded"],
                id_name=predictions.index.name or "customer_id",
                first=split.metadata["zero_spend_first"],
            )
        )
    report.heading("Holdout value: who predicts best")
    report.text(
        f"Actual holdout value: {actual_total:,.2f}. Lowest mean absolute error per customer: "
        f"{best} (MAE {overall.loc[best, 'mae']:.3f}); the best rule-of-thumb variant is "
        f"{best_rule} (MAE {overall.loc[best_rule, 'mae']:.3f}). Aggregate error is predicted "
        "minus actual total."
    )
    columns = [
        "predicted_total",
        "actual_total",
        "aggregate_error_rel",
        "mae",
        "rmse",
        "bias",
        "spearman",
        "top_decile_share",
        "gini",
    ]
    report.table(overall[columns], "All customers, holdout value")
    report.heading("Where the rule goes wrong: by segment")
    by_segment = value.reset_index().pivot(index="method", columns="segment", values="bias")
    report.table(
        by_segment[[s for s in ("all",) + SEGMENTS if s in by_segment]],
        "Mean error (predicted − actual value) per customer, by segment: positive means "
        "the method overstates the segment's value",
    )
    report.heading("Holdout purchases")
    purchases = scores["purchases"].xs("all", level="segment")
    report.table(
        purchases[
            ["predicted_total", "actual_total", "aggregate_error_rel", "mae", "rmse", "spearman"]
            + (["brier"] if "brier" in purchases else [])
        ],
        "All customers, holdout purchase counts",
    )
    report.heading("Model comparison (calibration fit)")
    report.table(comparison, "Maximum-likelihood fits on the calibration period")
    return report


def add_figures(report: Report, fitted: dict, split, predictions: pd.DataFrame, args) -> None:
    """Tracking, conditional expectations, value deciles and LTV against the rule."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    label = next(iter(fitted))
    purchase, spend = fitted[label]
    report.heading("Figures")
    if split.transactions is not None:
        figure, ax = plt.subplots(figsize=(8, 4.5))
        plots.plot_cumulative_transactions(
            split.transactions,
            purchase,
            calibration_end=split.metadata["calibration_end"],
            holdout_end=split.metadata["holdout_end"],
            ax=ax,
        )
        report.figure(figure, "tracking", f"Cumulative repeat transactions, actual vs {label}")
        plt.close(figure)
    figure, ax = plt.subplots(figsize=(7, 4.5))
    plots.plot_conditional_expectations(purchase, split.calibration, split.holdout, ax=ax)
    report.figure(
        figure,
        "conditional_expectations",
        f"Holdout purchases by calibration frequency, actual vs {label}",
    )
    plt.close(figure)
    figure, ax = plt.subplots(figsize=(7, 4.5))
    plots.plot_value_deciles(
        predictions[f"{label}|value"], predictions["actual_value"] * args.margin, label=label, ax=ax
    )
    report.figure(figure, "value_deciles", f"Holdout value by decile of {label}'s prediction")
    plt.close(figure)
    rule = baseline.rule_of_thumb(split.calibration, margin=args.margin)
    horizon = rule.t / baseline.months_per_unit(split.metadata["time_unit"])  # months -> units
    lifetime = clv.customer_lifetime_value(
        purchase, spend, split.calibration, horizon=horizon, step=horizon / 12, margin=args.margin
    )
    figure, ax = plt.subplots(figsize=(7, 4.5))
    plots.plot_ltv_distribution(lifetime, baseline=rule, ax=ax)
    report.figure(
        figure,
        "ltv_distribution",
        f"{label} value of each customer over the rule's lifetime t = {rule.t:.3g} months, "
        "against the rule's single S × C × P × t number",
    )
    plt.close(figure)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point: bad input prints ``error: ...`` and exits with status 2."""
    exit_on_input_error(run, parse_args(argv))


if __name__ == "__main__":
    main()
