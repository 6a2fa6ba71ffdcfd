"""Parameter recovery and interval coverage on data simulated from known parameters.

Do the fits find the parameters that generated the data, and do their intervals cover them
as often as they claim?

For each model, size and seed: simulate customers from known ("true") parameters with the
model's own simulator, fit by maximum likelihood, and record the estimate, its standard error
and whether the 90 % Wald interval (``summary(interval=0.9)``: normal on the log scale, so
``estimate * exp(+-1.645 se_log)``) covers the truth. Optionally (``--bayes advi|nuts``) fit
the small sizes by a Bayesian method too and record whether the 90 % highest-density interval
covers the truth (with the default weakly informative prior).

True parameters are published fits (so the simulated data look like real data):

- BG/NBD: CDNOW, Fader, Hardie & Lee (2005), Marketing Science 24(2), p. 279.
- Pareto/NBD: CDNOW, Fader, Hardie & Lee (2005), "A Note on Implementing the Pareto/NBD".
- MBG/NBD: CDNOW maximum-likelihood fit of this toolkit (``models.ModifiedBetaGeo``).
- Gamma-Gamma: CDNOW, Fader & Hardie (2013), note 025; spend is simulated for the repeat
  frequencies of the BG/NBD sample of the same size and seed.
- BG/BB: donations, Fader, Hardie & Shang (2010), Marketing Science 29(6); 6 periods.

Customers of the continuous-time models are acquired uniformly over 12 weeks and observed
to week 39 (``T ~ 39 - U(0, 12)`` weeks), the CDNOW calibration design.

Each simulated data set then goes the way real data go: it is written as a transaction log
(customer, timestamp, amount; :func:`transaction_log`) and summarised by the chosen engine
(``--engine duckdb``, the default, or ``spark``) with :func:`models.rfm_summary`, and the
models are fitted on that summary (with Spark: unique patterns grouped in Spark). The summary
equals the simulated one up to the microsecond rounding of timestamps.

Writes ``report.md`` / ``report.html``, ``fits.csv`` (one row per model x size x seed x
method x parameter), ``summary.csv`` (bias, RMSE, coverage per model x size x method x
parameter) and ``metrics.json``. The summary is recomputed from ``fits.csv`` by
:func:`summarize_fits`.

Run: ``python -m experiments.simulation_study --help``.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

import models
from experiments import _simulated_logs as logs
from experiments._common import (
    Progress,
    add_engine_arguments,
    exit_on_input_error,
    output_folder,
    spark_session,
)
from experiments._report import Report
from models import bgbb, bgnbd, gamma_gamma, mbgnbd, pareto_nbd

INTERVAL = 0.9
#: key -> (label, model class, simulator module, true parameters)
MODELS = {
    "bgnbd": (
        "BG/NBD",
        models.BetaGeo,
        bgnbd,
        {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
    ),
    "pareto": (
        "Pareto/NBD",
        models.ParetoNBD,
        pareto_nbd,
        {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669},
    ),
    "mbgnbd": (
        "MBG/NBD",
        models.ModifiedBetaGeo,
        mbgnbd,
        {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614},
    ),
    "gg": ("Gamma-Gamma", models.GammaGamma, gamma_gamma, {"p": 6.25, "q": 3.74, "gamma": 15.44}),
    "bgbb": (
        "BG/BB",
        models.BetaGeoBetaBinom,
        bgbb,
        {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783},
    ),
}
#: Observation design: acquisition spread over 12 weeks, observation to week 39; 6 periods (BG/BB).
OBSERVED_WEEKS, ACQUISITION_WEEKS, BGBB_PERIODS = 39.0, 12.0, 6
ENGINE_HELP = (
    "engine that summarises each simulated data set, written as a transaction log, before "
    "it is fitted: in-process DuckDB, or Apache Spark (the active session, else local mode "
    "on --spark-cores cores; a few seconds per data set, so use small --sizes and "
    "--seeds; the Spark cache is cleared after each data set). The study scores no "
    "customer, so only the aggregation and the pattern grouping of the fit run in the "
    "engine; maximum-likelihood and Bayesian fits run on the driver either way. BG/BB "
    "periods become days; Gamma-Gamma spend is split over each customer's repeat "
    "purchases (first purchases, which it does not model, carry its mean spend)"
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (``--help`` lists them)."""
    parser = argparse.ArgumentParser(
        prog="python -m experiments.simulation_study", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--models",
        default="bgnbd,pareto,mbgnbd,gg,bgbb",
        help="models to study (comma separated: " + ", ".join(MODELS) + ")",
    )
    parser.add_argument(
        "--sizes", default="500,2000,10000", help="customers per simulated data set (comma list)"
    )
    parser.add_argument("--seeds", type=int, default=20, help="simulated data sets per size")
    parser.add_argument(
        "--bayes",
        choices=["none", "advi", "nuts"],
        default="none",
        help="also fit with this Bayesian method (slow: use at small sizes)",
    )
    parser.add_argument(
        "--bayes-max-size",
        type=int,
        default=500,
        help="largest size fitted by the Bayesian method",
    )
    parser.add_argument(
        "--bayes-seeds", type=int, default=10, help="seeds fitted by the Bayesian method"
    )
    parser.add_argument("--draws", type=int, default=500, help="Bayesian draws (per chain)")
    parser.add_argument("--chains", type=int, default=2, help="NUTS chains")
    parser.add_argument("--seed", type=int, default=20261124, help="base random seed")
    add_engine_arguments(parser, help=ENGINE_HELP)
    parser.add_argument("--out", default="reports/simulation_study", help="report folder")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    args.model_keys = [k.strip() for k in args.models.split(",") if k.strip()]
    unknown = sorted(set(args.model_keys) - set(MODELS))
    if unknown:
        parser.error(f"unknown model(s) {unknown}; choose from {list(MODELS)}")
    args.size_list = [int(s) for s in args.sizes.split(",")]
    if min(args.size_list) < 50 or args.seeds < 2:
        parser.error("sizes must be >= 50 customers and --seeds >= 2")
    return args


def simulate_data(key: str, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """One simulated data set of ``n`` customers from the true parameters of model ``key``."""
    _, _, module, truth = MODELS[key]
    if key == "bgbb":
        return module.simulate(truth, np.full(n, BGBB_PERIODS), rng)
    T = OBSERVED_WEEKS - rng.uniform(0.0, ACQUISITION_WEEKS, size=n)
    if key == "gg":
        purchases = bgnbd.simulate(MODELS["bgnbd"][3], T, rng)
        data = module.simulate(truth, purchases["frequency"].to_numpy(), rng)
        data[["recency", "T"]] = purchases[["recency", "T"]]  # for the transaction log
    else:
        data = module.simulate(truth, T, rng)
    data.attrs["time_unit"] = "W"
    return data


def transaction_log(key: str, data: pd.DataFrame, rng: np.random.Generator) -> tuple:
    """A transaction log with the simulated summary ``data``: ``(log, observation_end, unit)``.

    See :mod:`experiments._simulated_logs`: continuous-time customers (and the Gamma-Gamma's,
    with their spend) over 39 weeks, BG/BB periods as days.
    """
    if key == "bgbb":
        log, end = logs.discrete_log(data, BGBB_PERIODS, rng)
        return log, end, "D"
    spend = MODELS["gg"][3] if key == "gg" else None
    log, end = logs.continuous_log(data, OBSERVED_WEEKS, rng, spend)
    return log, end, "W"


def summarise(key: str, data: pd.DataFrame, rng: np.random.Generator, args, session=None):
    """The summary of ``data``'s transaction log by ``args.engine`` (pandas, or Spark)."""
    log, end, unit = transaction_log(key, data, rng)
    summary = logs.summarise(log, end, unit, session if args.engine == "spark" else None)
    if key != "bgbb":
        return summary
    if args.engine == "spark":
        return summary.withColumnRenamed("T", "periods")
    return summary.rename(columns={"T": "periods"})


def fit_one(key: str, data: pd.DataFrame, method: str, args) -> pd.DataFrame:
    """Fit model ``key``; a table with estimate, std_err, lower, upper per parameter."""
    model_class = MODELS[key][1]
    if method == "mle":
        table = model_class().fit(data).summary(interval=INTERVAL)
        return table[["estimate", "std_err", "lower", "upper"]]
    options = {"draws": args.draws, "random_seed": args.seed, "progressbar": False}
    if method == "nuts":
        options["chains"] = args.chains
    with warnings.catch_warnings():  # sampler diagnostics are recorded, not raised
        warnings.simplefilter("ignore")
        table = model_class().fit(data, method=method, **options).summary(interval=INTERVAL)
    return table.rename(columns={"mean": "estimate", "sd": "std_err"})[
        ["estimate", "std_err", "lower", "upper"]
    ]


def run_fits(args, progress: Progress) -> pd.DataFrame:
    """Every fit of the study, one row per model x size x seed x method x parameter."""
    session = spark_session(args, progress) if args.engine == "spark" else None
    rows = []
    for key in args.model_keys:
        label, _, _, truth = MODELS[key]
        for size in args.size_list:
            methods = ["mle"]
            if args.bayes != "none" and size <= args.bayes_max_size:
                methods.append(args.bayes)
            progress(f"{label}, n = {size:,}: {args.seeds} data sets ({', '.join(methods)})")
            for seed in range(args.seeds):
                # one independent stream per (model, size, seed)
                rng = np.random.default_rng([args.seed, list(MODELS).index(key), size, seed])
                data = summarise(key, simulate_data(key, size, rng), rng, args, session)
                for method in methods:
                    if method != "mle" and seed >= args.bayes_seeds:
                        continue
                    start = time.perf_counter()
                    try:
                        table = fit_one(key, data, method, args)
                        error = ""
                    except Exception as exc:  # a failed fit is a result of the study
                        table = pd.DataFrame(
                            np.nan,
                            index=list(truth),
                            columns=["estimate", "std_err", "lower", "upper"],
                        )
                        error = f"{type(exc).__name__}: {exc}"[:200]
                    seconds = time.perf_counter() - start
                    for name, row in table.iterrows():
                        rows.append(
                            {
                                "model": label,
                                "size": size,
                                "seed": seed,
                                "method": method,
                                "parameter": name,
                                "truth": truth[name],
                                **row.to_dict(),
                                "seconds": seconds,
                                "error": error,
                            }
                        )
                if session is not None:  # release the persisted summary
                    session.catalog.clearCache()
    return pd.DataFrame(rows)


def summarize_fits(fits: pd.DataFrame) -> pd.DataFrame:
    """Bias, RMSE and interval coverage per model x size x method x parameter.

    Recomputes everything from the per-fit file: ``bias`` = mean(estimate - truth),
    ``relative_bias`` = bias / truth, ``rmse``, ``relative_rmse`` = rmse / truth,
    ``empirical_sd`` (of the estimates), ``mean_std_err`` (reported), ``coverage`` (share of
    fits whose interval contains the truth), ``n_fits`` (converged) and ``n_failed``.
    """
    fits = fits.copy()
    fits["ok"] = fits["estimate"].notna()
    fits["error_"] = fits["estimate"] - fits["truth"]
    fits["covered"] = (fits["lower"] <= fits["truth"]) & (fits["truth"] <= fits["upper"])
    keys = ["model", "method", "size", "parameter"]
    rows = []
    for key, group in fits.groupby(keys, sort=False):
        ok = group[group["ok"]]
        truth = group["truth"].iloc[0]
        bias = ok["error_"].mean()
        rmse = float(np.sqrt(np.mean(ok["error_"] ** 2))) if len(ok) else np.nan
        rows.append(
            dict(
                zip(keys, key, strict=True),
                truth=truth,
                n_fits=len(ok),
                n_failed=int((~group["ok"]).sum()),
                mean_estimate=ok["estimate"].mean(),
                median_estimate=ok["estimate"].median(),
                bias=bias,
                relative_bias=bias / truth,
                rmse=rmse,
                relative_rmse=rmse / truth,
                empirical_sd=ok["estimate"].std(ddof=1),
                mean_std_err=ok["std_err"].mean(),
                coverage=ok["covered"].mean() if len(ok) else np.nan,
            )
        )
    return pd.DataFrame(rows)


def coverage_band(n_fits: int, nominal: float = INTERVAL, level: float = 0.99) -> tuple:
    """Central ``level`` range of the coverage share under Binomial(n_fits, nominal)."""
    lo, hi = stats.binom.interval(level, n_fits, nominal)
    return lo / n_fits, hi / n_fits


def run(args: argparse.Namespace) -> dict:
    """Run the study; return the folder, metrics and tables."""
    progress = Progress(args.quiet)
    start = time.perf_counter()
    fits = run_fits(args, progress)
    summary = summarize_fits(fits)
    folder = output_folder(args.out, "reports/simulation_study")
    progress(f"writing the report to {folder}/")
    fits.to_csv(folder / "fits.csv", index=False)
    summary.to_csv(folder / "summary.csv", index=False)
    metrics = {
        "settings": {
            k: v for k, v in vars(args).items() if k not in ("quiet", "model_keys", "size_list")
        },
        "interval": INTERVAL,
        "truth": {MODELS[k][0]: MODELS[k][3] for k in args.model_keys},
        "design": {
            "observed_weeks": OBSERVED_WEEKS,
            "acquisition_weeks": ACQUISITION_WEEKS,
            "bgbb_periods": BGBB_PERIODS,
        },
        "n_fits": int(fits.groupby(["model", "size", "seed", "method"]).ngroups),
        "n_failed_fits": int(
            fits[fits["estimate"].isna()].groupby(["model", "size", "seed", "method"]).ngroups
        ),
        "seconds": time.perf_counter() - start,
        "summary": json.loads(summary.to_json(orient="records")),
    }
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=1))
    md, page = write_report(folder, fits, summary, args)
    progress(f"done: {md} and {page}")
    return {"folder": folder, "metrics": metrics, "summary": summary, "fits": fits}


def write_report(folder: Path, fits: pd.DataFrame, summary: pd.DataFrame, args) -> tuple:
    """The Markdown and HTML report."""
    report = Report("Parameter recovery and interval coverage on simulated data")
    report.text(
        f"{args.seeds} simulated data sets per model and size (sizes "
        f"{', '.join(f'{s:,}' for s in args.size_list)}), base seed {args.seed}. Each data set "
        f"is fitted by maximum likelihood; the {INTERVAL:.0%} interval is the Wald interval on "
        "the log scale reported by `summary(interval=0.9)`. True parameters are published fits "
        "(see the module docstring); continuous-time customers are observed for "
        f"{OBSERVED_WEEKS:g} weeks minus U(0, {ACQUISITION_WEEKS:g}) weeks, BG/BB customers for "
        f"{BGBB_PERIODS} periods. Each data set is written as a transaction log and "
        f"summarised by {'Spark' if args.engine == 'spark' else 'DuckDB'} "
        "(`models.rfm_summary`) before it is fitted."
    )
    mle = summary[summary["method"] == "mle"]
    n_fits = int(mle["n_fits"].min()) if len(mle) else 0
    if n_fits:
        lo, hi = coverage_band(n_fits)
        report.text(
            f"With {n_fits} fits per cell, the observed coverage of a correct {INTERVAL:.0%} "
            f"interval falls in [{lo:.0%}, {hi:.0%}] with 99 % probability (binomial); cells "
            "outside that band are evidence of mis-calibrated intervals."
        )
    if len(mle):
        pooled = (mle["coverage"] * mle["n_fits"]).sum() / mle["n_fits"].sum()
        report.text(
            f"Pooled over every model, size and parameter, the maximum-likelihood intervals "
            f"covered the truth in {pooled:.1%} of {int(mle['n_fits'].sum()):,} "
            f"(fit, parameter) cases (nominal {INTERVAL:.0%})."
        )
    failed = fits[fits["error"].fillna("") != ""].drop_duplicates(
        ["model", "size", "seed", "method"]
    )
    report.text(
        f"Fits that failed: {len(failed)}"
        + (
            " ("
            + "; ".join(
                f"{r.model} n={r.size} seed {r.seed}: {r.error}"
                for r in failed.head(5).itertuples()
            )
            + ")"
            if len(failed)
            else "."
        )
    )
    columns = ["truth", "mean_estimate", "relative_bias", "relative_rmse", "coverage", "n_fits"]
    for method in summary["method"].unique():
        part = summary[summary["method"] == method]
        name = "maximum likelihood" if method == "mle" else f"Bayesian ({method.upper()})"
        report.heading(f"Recovery and coverage: {name}")
        for model in part["model"].unique():
            table = part[part["model"] == model]
            table = table.set_index(
                table["parameter"] + " (n = " + table["size"].map("{:,}".format) + ")"
            )[columns]
            table.index.name = "parameter"
            report.table(
                table,
                f"{model}: relative bias and RMSE (÷ truth), {INTERVAL:.0%} interval coverage",
            )
    report.heading("Standard errors against the spread of the estimates")
    pivot = mle.assign(se_ratio=mle["mean_std_err"] / mle["empirical_sd"]).pivot_table(
        index=["model", "parameter"], columns="size", values="se_ratio", sort=False
    )
    pivot.columns = [f"n = {c:,}" for c in pivot.columns]
    pivot.index = [f"{model}: {parameter}" for model, parameter in pivot.index]
    report.table(
        pivot,
        "Mean reported standard error ÷ standard deviation of the estimates across seeds "
        "(1 = honest standard errors)",
    )
    timing = fits.drop_duplicates(["model", "size", "seed", "method"]).pivot_table(
        index=["model", "method"], columns="size", values="seconds", aggfunc="mean", sort=False
    )
    timing.columns = [f"n = {c:,}" for c in timing.columns]
    timing.index = [f"{model} ({method})" for model, method in timing.index]
    report.heading("Time per fit (seconds)")
    report.table(timing, "Mean wall-clock seconds per fit")
    if args.bayes == "none":
        report.text(
            "Bayesian fits were not run (use --bayes advi or --bayes nuts). ADVI is mean-field, "
            "so its intervals are expected to be too narrow; NUTS took ~20 s per BG/NBD fit "
            "at n = 500 here."
        )
    return report.write(folder)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point; bad input ends it with a one-line error (status 2)."""
    exit_on_input_error(run, parse_args(argv))


if __name__ == "__main__":
    main()
