"""Fit time and peak memory of BG/NBD and Pareto/NBD: this toolkit against ``lifetimes``.

Data: the CDNOW calibration summary, and populations simulated from the BG/NBD at CDNOW-like
parameters with 10k, 100k and 1M customers, either at daily resolution (T and recency in whole
days expressed in weeks, so patterns repeat as in real data) or continuous (no two customers
share a pattern). Each case runs in a fresh process. The log-likelihood column is evaluated with
this toolkit's likelihood at each library's estimates, so the two are directly comparable.

Run: ``python -m benchmarks.bench_fit`` (``--help`` for options).
"""

from __future__ import annotations

import argparse
import json
import warnings

import numpy as np

from benchmarks._measure import measure, print_table, run_isolated

SIM_PARAMS = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
MODELS = {"bgnbd": ("BetaGeo", "BetaGeoFitter"), "pareto": ("ParetoNBD", "ParetoNBDFitter")}


def load_data(dataset: str, resolution: str):
    """CDNOW or a simulated population (seeded)."""
    import models
    from models import bgnbd

    if dataset == "cdnow":
        return models.datasets.load_cdnow_summary()
    n = int(float(dataset.removeprefix("sim")))
    rng = np.random.default_rng(20261124)
    days = rng.integers(1, 365, size=n)  # first purchases spread over a year
    data = bgnbd.simulate(SIM_PARAMS, days / 7.0, rng)
    if resolution == "daily":
        data["recency"] = np.floor(data["recency"] * 7) / 7
    else:
        data["T"] = data["T"] + rng.uniform(0, 1 / 7, size=n)
    return data


def run_case(case: dict) -> dict:
    """Fit one model with one library on one data set; return the measurements."""
    import models

    data = load_data(case["dataset"], case["resolution"])
    ours_name, theirs_name = MODELS[case["model"]]
    if case["library"] == "ours":
        model_class = getattr(models, ours_name)
        out = measure(lambda: model_class().fit(data))
        params = out.pop("result").params.to_dict()
    else:
        import lifetimes

        fitter = getattr(lifetimes, theirs_name)()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = measure(
                lambda: fitter.fit(
                    data["frequency"].to_numpy(), data["recency"].to_numpy(), data["T"].to_numpy()
                )
            )
        out.pop("result")
        params = fitter.params_.to_dict()
    model = getattr(models, ours_name)()
    model._set_point(params, None)
    model.method_ = "mle"
    arrays = model._fit_arrays(data)
    total = model._total_loglik(arrays, np.ones(len(data)))
    theta = np.array([[params[name] for name in model.PARAMS]])
    out["log_likelihood"] = float(total(theta)[0])
    out["params"] = {k: round(v, 4) for k, v in params.items()}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument(
        "--sizes", default="1e4,1e5,1e6", help="simulated population sizes ('' for CDNOW only)"
    )
    parser.add_argument(
        "--lifetimes-max", type=float, default=1e6, help="largest size lifetimes is run on"
    )
    parser.add_argument("--models", default="bgnbd,pareto")
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(json.loads(args.case))))
        return
    datasets = [("cdnow", "days/7 (2 dp)")]
    for size in filter(None, args.sizes.split(",")):
        datasets += [(f"sim{int(float(size))}", "daily"), (f"sim{int(float(size))}", "continuous")]
    rows = []
    for model in args.models.split(","):
        for dataset, resolution in datasets:
            row = {"model": model, "data": dataset, "T": resolution}
            n = 2357 if dataset == "cdnow" else int(dataset.removeprefix("sim"))
            for library in ("ours", "lifetimes"):
                if library == "lifetimes" and n > args.lifetimes_max:
                    continue
                case = {
                    "model": model,
                    "dataset": dataset,
                    "resolution": resolution,
                    "library": library,
                }
                result = run_isolated("benchmarks.bench_fit", case)
                if "error" in result:
                    row[f"{library} s"] = f"error: {result['error']}"
                    continue
                row[f"{library} s"] = result["seconds"]
                row[f"{library} MiB"] = result["peak_mib"]
                row[f"{library} LL"] = result["log_likelihood"]
            if isinstance(row.get("lifetimes s"), float):
                row["speed-up"] = row["lifetimes s"] / row["ours s"]
                row["LL rel diff"] = abs(row["ours LL"] - row["lifetimes LL"]) / abs(row["ours LL"])
            rows.append(row)
            print(json.dumps(row), flush=True)  # each result as soon as it is known
    columns = [
        "model",
        "data",
        "T",
        "ours s",
        "lifetimes s",
        "speed-up",
        "ours MiB",
        "lifetimes MiB",
        "ours LL",
        "LL rel diff",
    ]
    print_table(rows, columns)


if __name__ == "__main__":
    main()
