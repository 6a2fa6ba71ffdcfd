"""The pymc-marketing side of ``benchmarks.bench_bayes``: one case per fresh process.

Runs under the peers' own interpreter (``.venv-peers``, made by ``benchmarks/setup_peers.sh``),
so it imports nothing from ``models``: the CDNOW summary arrives as a CSV written by the
driver, and posteriors are exchanged as ``.npz`` files of ``(chain, draw)`` arrays.

Cases (``--case '<json>'``, printed result: one JSON line):

- ``{"kind": "fit", "model": "bgnbd" | "gg", "sampler": "pymc" | "nutpie", ...}``: build and
  fit ``BetaGeoModel`` / ``GammaGammaModel`` by NUTS (``fit(method="mcmc", nuts_sampler=...)``,
  which pymc-marketing passes to ``pm.sample``), then the diagnostics, then save the posterior;
- ``{"kind": "predict", ...}``: load the posteriors and time expected purchases, P(alive) and
  CLV over every draw and customer, each followed by its per-customer summary (mean, sd and
  a central interval over the draws), the same output ``models`` returns with ``interval=``;
  ``call_seconds`` is the prediction call alone (its full array, before the summary).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
import pandas as pd

from benchmarks._measure import measure, process_peak_mib

#: Posterior variables each model's predictions read.
POSTERIOR = {"bgnbd": ("r", "alpha", "a", "b"), "gg": ("p", "q", "v")}


def _model(kind: str):
    from pymc_marketing.clv import BetaGeoModel, GammaGammaModel

    return BetaGeoModel() if kind == "bgnbd" else GammaGammaModel()


def _fit_data(case: dict) -> pd.DataFrame:
    data = pd.read_csv(case["data"])
    if case["model"] == "gg":  # the Gamma-Gamma model is fitted on repeat customers only
        data = data[data["frequency"] > 0]
    return data


def fit_case(case: dict) -> dict:
    """Fit one model by NUTS with one sampler; time the fit call (build and compile included)."""
    import arviz as az

    data = _fit_data(case)
    model = _model(case["model"])
    options = {
        "chains": case["chains"],
        "draws": case["draws"],
        "tune": case["tune"],
        "random_seed": case["seed"],
        "nuts_sampler": case["sampler"],
        "progressbar": False,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = measure(lambda: model.fit(data, method="mcmc", **options))
    idata = out.pop("result")
    names = list(POSTERIOR[case["model"]])
    table = az.summary(idata, var_names=names, kind="diagnostics")
    out["r_hat_max"] = float(table["r_hat"].max())
    out["ess_bulk_min"] = float(table["ess_bulk"].min())
    out["divergences"] = int(idata.sample_stats["diverging"].values.sum())
    posterior = {n: np.asarray(idata.posterior[n].values, dtype=float) for n in names}
    out["means"] = {n: round(float(v.mean()), 4) for n, v in posterior.items()}
    np.savez(case["out"], **posterior)
    out["process_peak_mib"] = process_peak_mib()
    return out


def _load(kind: str, path: str, data: pd.DataFrame):
    """A model built on ``data`` whose posterior is the saved draws."""
    import arviz as az

    model = _model(kind)
    model.build_model(data)
    with np.load(path) as saved:
        model.idata = az.from_dict(posterior={n: saved[n] for n in POSTERIOR[kind]})
    return model


def _summary(values, interval: float) -> dict:
    """Per-customer mean, sd and central interval of a ``(chain, draw, customer)`` DataArray."""
    low, high = (1 - interval) / 2, (1 + interval) / 2
    draws = ("chain", "draw")
    return {
        "mean": values.mean(draws).values,
        "sd": values.std(draws, ddof=1).values,
        "bounds": values.quantile([low, high], dim=draws).values,
    }


def predict_case(case: dict) -> dict:
    """Time the posterior predictions for every customer, each with its summary."""
    data = pd.read_csv(case["data"])
    bg = _load("bgnbd", case["bgnbd"], data)
    gg = _load("gg", case["gg"], data[data["frequency"] > 0])
    interval = case["interval"]
    clv = case["clv"]
    calls = {
        "expected_purchases": lambda: bg.expected_purchases(data, future_t=case["t"]),
        "p_alive": lambda: bg.expected_probability_alive(data),
        "clv": lambda: gg.expected_customer_lifetime_value(
            bg,
            data.copy(),
            future_t=clv["months"],
            discount_rate=clv["monthly_discount"],
            time_unit="W",
        ),
    }
    out: dict = {}
    for name, call in calls.items():
        marks: dict = {}

        def run(call=call, marks=marks):
            start = time.perf_counter()
            values = call()  # the (chain, draw, customer) array pymc-marketing returns
            marks["call"] = time.perf_counter() - start
            return _summary(values, interval)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = measure(run)
        summary = result.pop("result")
        out[name] = {
            "seconds": result["seconds"],
            "call_seconds": marks["call"],
            "peak_mib": result["peak_mib"],
            "total_of_means": float(np.sum(summary["mean"])),
        }
    out["draws"] = int(np.prod(bg.idata.posterior["r"].shape))
    out["customers"] = len(data)
    out["process_peak_mib"] = process_peak_mib()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", required=True)
    case = json.loads(parser.parse_args().case)
    result = fit_case(case) if case["kind"] == "fit" else predict_case(case)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
