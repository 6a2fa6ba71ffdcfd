"""Bayesian fits and posterior predictions: this toolkit against pymc-marketing.

Three parts, printed as one table each:

- **fit**: CDNOW (calibration to 1997-09-30, weekly), NUTS with 4 chains x 1000 draws after
  1000 tuning steps, BG/NBD and Gamma-Gamma, each fit in a fresh process so model building
  and compilation are included. This toolkit (``fit(method="nuts")``, its default sampler)
  against pymc-marketing's ``BetaGeoModel`` / ``GammaGammaModel`` with PyMC's own NUTS and
  with nutpie (``fit(nuts_sampler=...)``). Each library keeps its default priors. ``fit s``
  times the fit call after the imports; ``process s`` is the whole process (start-up,
  imports, fit, diagnostics). On a shared machine, ``--repeat 2`` or more keeps each case's
  fastest round (rounds interleave the libraries).
- **predict**: with the posteriors just drawn (4,000 draws), expected purchases in the
  39-week holdout, P(alive) and a 12-month CLV (monthly steps, 1 % a month discount) for all
  2,357 customers, each with its per-customer summary (mean, sd, 90 % interval over draws).
  ``total`` (sum of the per-customer means) checks that both compute the same quantity.
  Both CLVs evaluate expected purchases at the 12 month ends; pymc-marketing multiplies them
  by the posterior-mean spend, this toolkit by the Gamma-Gamma draw paired with each draw.
  ``ours full array s`` returns the ``(chain, draw, customer)`` array instead of a summary;
  ``pymc-marketing call s`` is its prediction call alone (that array), before the summary.
- **scale** (this toolkit only): 1M customers simulated from the BG/NBD with daily-resolution
  T and recency (as ``benchmarks.bench_fit``), 4,000 Laplace draws of the maximum-likelihood
  fit; per-customer summaries of expected purchases and P(alive). ``peak MiB`` is the RSS
  increase during the call, ``process MiB`` the process's RSS high-water mark.

pymc-marketing runs under its own interpreter (``.venv-peers``, made by
``benchmarks/setup_peers.sh``), since it pins its own PyMC.

Run: ``bash benchmarks/setup_peers.sh && .venv/bin/python -m benchmarks.bench_bayes``
(``--help`` for options, e.g. ``--parts scale``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import warnings
from pathlib import Path

from benchmarks._measure import measure, print_table, process_peak_mib, run_isolated

ROOT = Path(__file__).resolve().parent.parent
PEER_PYTHON = ROOT / ".venv-peers" / "bin" / "python"
PEER_MODULE = "benchmarks._peer_pymc_marketing"
SEED = 20261124
#: Holdout length of the CDNOW split (weeks), and the CLV settings both libraries use.
HOLDOUT_WEEKS = 39.0
CLV = {"months": 12, "monthly_discount": 0.01, "weeks_per_month": 4.345}
INTERVAL = 0.9
NAMES = {"bgnbd": "BG/NBD", "gg": "Gamma-Gamma"}


def cdnow():
    """The CDNOW calibration summary (weekly, to 1997-09-30)."""
    import models

    split = models.calibration_holdout(
        models.datasets.load_cdnow_sample(),
        calibration_end="1997-09-30",
        holdout_end="1998-06-30",
        time_unit="W",
    )
    return split.calibration


# ---------------------------------------------------------------------- our cases
def fit_case(case: dict) -> dict:
    """Fit one model by NUTS; time the call (model building and compilation included)."""
    import pymc  # noqa: F401  imported before timing, as pymc-marketing's side does

    import models

    data = cdnow()
    model = models.BetaGeo() if case["model"] == "bgnbd" else models.GammaGamma()
    options = {k: case[k] for k in ("chains", "draws", "tune")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = measure(lambda: model.fit(data, method="nuts", random_seed=case["seed"], **options))
    out.pop("result")
    import arviz as az

    table = az.summary(model.idata, var_names=list(model.PARAMS), kind="diagnostics")
    out["sampler"] = model.fit_info_["sampler"]
    out["r_hat_max"] = float(table["r_hat"].max())
    out["ess_bulk_min"] = float(table["ess_bulk"].min())
    out["divergences"] = int(model.idata.sample_stats["diverging"].values.sum())
    out["means"] = {k: round(v, 4) for k, v in model.params.to_dict().items()}
    model.save(case["out"])
    out["process_peak_mib"] = process_peak_mib()
    return out


def predict_case(case: dict) -> dict:
    """Time expected purchases, P(alive) and CLV summaries over every draw and customer."""
    import models

    data = cdnow()
    bg = models.BetaGeo.load(case["bgnbd"])
    gg = models.GammaGamma.load(case["gg"])
    step = CLV["weeks_per_month"]
    calls = {
        "expected_purchases": lambda: bg.expected_purchases(
            case["t"], data, interval=case["interval"]
        ),
        "p_alive": lambda: bg.p_alive(data, interval=case["interval"]),
        "clv": lambda: models.customer_lifetime_value(
            bg,
            gg,
            data,
            horizon=CLV["months"] * step,
            discount_rate=CLV["monthly_discount"],
            discount_period="M",
            step=step,
            time_unit="W",
            interval=case["interval"],
        ),
    }
    out: dict = {}
    for name, call in calls.items():
        result = measure(call)
        summary = result.pop("result")
        out[name] = {**result, "total_of_means": float(summary["mean"].sum())}
    # the full (chain, draw, customer) array, which is what pymc-marketing's call returns
    full = measure(lambda: bg.expected_purchases(case["t"], data, return_draws=True))
    out["expected_purchases"]["draws_seconds"] = full["seconds"]
    out["draws"] = bg.n_draws
    out["customers"] = len(data)
    out["process_peak_mib"] = process_peak_mib()
    return out


def scale_case(case: dict) -> dict:
    """Per-customer summaries for a large simulated population with many Laplace draws."""
    import models
    from benchmarks.bench_fit import load_data

    data = load_data(f"sim{case['customers']}", case["resolution"])
    model = models.BetaGeo().fit(data).sample_laplace(draws=case["draws"], random_seed=SEED)
    out: dict = {"customers": len(data), "patterns": model.n_patterns_, "draws": model.n_draws}
    for name in ("expected_purchases", "p_alive"):
        if name == "expected_purchases":
            result = measure(lambda: model.expected_purchases(case["t"], data, interval=INTERVAL))
        else:
            result = measure(lambda: model.p_alive(data, interval=INTERVAL))
        summary = result.pop("result")
        out[name] = {**result, "total_of_means": float(summary["mean"].sum())}
    out["process_peak_mib"] = process_peak_mib()
    return out


def run_case(case: dict) -> dict:
    return {"fit": fit_case, "predict": predict_case, "scale": scale_case}[case["kind"]](case)


# ---------------------------------------------------------------------- driver
def _run(case: dict, library: str, timeout: float) -> dict:
    if library == "ours":
        result = run_isolated("benchmarks.bench_bayes", case, timeout)
    else:
        result = run_isolated(PEER_MODULE, case, timeout, python=str(PEER_PYTHON))
    print(json.dumps({"library": library, **case, "result": result}), flush=True)
    return result


def fit_rows(args, workdir: Path, data_csv: Path) -> tuple[list[dict], dict]:
    """Run every fit (``--repeat`` rounds, keeping each case's fastest); return the table
    rows and where each posterior was saved.

    Rounds interleave the libraries, so a change of load on a shared machine hits both.
    """
    saved: dict = {}
    common = {"kind": "fit", "chains": 4, "draws": args.draws, "tune": args.tune, "seed": SEED}
    runs = [("ours", None)] + [("pymc-marketing", s) for s in args.peer_samplers.split(",")]
    best: dict = {}
    for _ in range(args.repeat):
        for model in ("bgnbd", "gg"):
            for library, sampler in runs:
                if library == "ours":
                    out = workdir / f"ours_{model}.json"
                    case = {**common, "model": model, "out": str(out)}
                else:
                    out = workdir / f"peer_{model}_{sampler}.npz"
                    case = {**common, "model": model, "sampler": sampler, "out": str(out)}
                    case["data"] = str(data_csv)
                result = _run(case, library, args.timeout)
                key = (model, library, sampler)
                if "error" in result:
                    best.setdefault(key, result)
                    continue
                saved.setdefault((library, model), str(out))  # ours / the peer's first sampler
                if (
                    "error" in best.get(key, {"error": 1})
                    or result["seconds"] < best[key]["seconds"]
                ):
                    best[key] = result
    rows = []
    for model in ("bgnbd", "gg"):
        ours = best.get((model, "ours", None), {})
        for library, sampler in runs:
            result = best[(model, library, sampler)]
            row = {"model": NAMES[model], "library": library, "sampler": sampler}
            if "error" in result:
                row["fit s"] = f"error: {result['error']}"
                rows.append(row)
                continue
            row.update(
                {
                    "sampler": result.get("sampler", sampler),
                    "fit s": result["seconds"],
                    "process s": result["process_seconds"],
                    "r_hat max": result["r_hat_max"],
                    "ess_bulk min": result["ess_bulk_min"],
                    "divergent": result["divergences"],
                    "posterior means": " ".join(f"{k}={v:.3g}" for k, v in result["means"].items()),
                }
            )
            if library != "ours" and "seconds" in ours:
                row["ours faster x"] = result["seconds"] / ours["seconds"]
            rows.append(row)
    return rows, saved


def predict_rows(args, saved: dict, data_csv: Path) -> list[dict]:
    """Run the prediction cases on the saved posteriors; one row per quantity and library."""
    common = {"kind": "predict", "t": HOLDOUT_WEEKS, "interval": INTERVAL, "clv": CLV}
    results = {}
    for library in ("ours", "pymc-marketing"):
        paths = {m: saved.get((library, m)) for m in ("bgnbd", "gg")}
        if None in paths.values():
            results[library] = {"error": ["no posterior (its fit failed)"]}
            continue
        case = {**common, **paths, "data": str(data_csv)}
        results[library] = _run(case, library, args.timeout)
    rows = []
    for quantity in ("expected_purchases", "p_alive", "clv"):
        row = {"quantity": quantity}
        for library, result in results.items():
            if "error" in result:
                row[f"{library} s"] = f"error: {result['error']}"
                continue
            row["draws x customers"] = f"{result['draws']} x {result['customers']}"
            row[f"{library} s"] = result[quantity]["seconds"]
            row[f"{library} MiB"] = result[quantity]["peak_mib"]
            row[f"{library} total"] = result[quantity]["total_of_means"]
            if library == "ours" and "draws_seconds" in result[quantity]:
                row["ours full array s"] = result[quantity]["draws_seconds"]
            if library != "ours":
                row[f"{library} call s"] = result[quantity]["call_seconds"]
        if isinstance(row.get("ours s"), float) and isinstance(row.get("pymc-marketing s"), float):
            row["ours faster x"] = row["pymc-marketing s"] / row["ours s"]
        rows.append(row)
    return rows


def scale_rows(args) -> list[dict]:
    rows = []
    for resolution in args.scale_resolutions.split(","):
        case = {
            "kind": "scale",
            "customers": int(float(args.scale_customers)),
            "resolution": resolution,
            "draws": args.scale_draws,
            "t": HOLDOUT_WEEKS,
        }
        result = _run(case, "ours", args.timeout)
        for quantity in ("expected_purchases", "p_alive"):
            row = {"quantity": quantity, "T": resolution}
            if "error" in result:
                row["seconds"] = f"error: {result['error']}"
            else:
                row.update(
                    {
                        "customers": result["customers"],
                        "patterns": result["patterns"],
                        "draws": result["draws"],
                        "seconds": result[quantity]["seconds"],
                        "peak MiB": result[quantity]["peak_mib"],
                        "process MiB": result["process_peak_mib"],
                    }
                )
            rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--parts", default="fit,predict,scale", help="any of fit,predict,scale")
    parser.add_argument("--peer-samplers", default="nutpie,pymc", help="pymc-marketing samplers")
    parser.add_argument("--draws", type=int, default=1000, help="draws per chain (4 chains)")
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument(
        "--repeat", type=int, default=1, help="rounds of fits; each case keeps its fastest"
    )
    parser.add_argument("--scale-customers", default="1e6")
    parser.add_argument("--scale-draws", type=int, default=4000)
    parser.add_argument(
        "--scale-resolutions", default="daily", help="daily and/or continuous (every T unique)"
    )
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per case")
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(json.loads(args.case))))
        return
    parts = set(args.parts.split(","))
    if "predict" in parts and "fit" not in parts:
        parser.error("predict uses the posteriors of the fit part: add fit to --parts")
    needs_peers = parts & {"fit", "predict"}
    if needs_peers and not PEER_PYTHON.exists():
        parser.error(f"{PEER_PYTHON} is missing: run `bash benchmarks/setup_peers.sh` first")
    tables = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if needs_peers:
            data_csv = workdir / "cdnow.csv"
            columns = ["frequency", "recency", "T", "monetary_value"]
            cdnow()[columns].reset_index().to_csv(data_csv, index=False)
        if "fit" in parts:
            rows, saved = fit_rows(args, workdir, data_csv)
            columns = ["model", "library", "sampler", "fit s", "process s", "ours faster x"]
            columns += ["r_hat max", "ess_bulk min", "divergent", "posterior means"]
            title = f"(a) NUTS fit, CDNOW, 4 chains x {args.draws} draws, fresh process"
            tables.append((title, rows, columns))
        if "predict" in parts:
            rows = predict_rows(args, saved, data_csv)
            columns = ["quantity", "draws x customers", "ours s", "pymc-marketing s"]
            columns += ["ours faster x", "ours full array s", "pymc-marketing call s"]
            columns += ["ours MiB", "pymc-marketing MiB", "ours total", "pymc-marketing total"]
            tables.append(("(b) posterior predictions with summaries, CDNOW", rows, columns))
    if "scale" in parts:
        rows = scale_rows(args)
        columns = ["quantity", "T", "customers", "patterns", "draws", "seconds", "peak MiB"]
        columns += ["process MiB"]
        tables.append(("(c) per-customer summaries at scale (ours)", rows, columns))
    for title, rows, columns in tables:
        print(f"\n{title}")
        print_table(rows, columns)


if __name__ == "__main__":
    main()
