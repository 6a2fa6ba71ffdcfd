"""The simulation study, run end to end from its command line at small sizes."""

import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from experiments import simulation_study
from experiments._report import format_number

SEEDS = 40
SMALL, LARGE = 500, 5000


def _run(folder, *options):
    subprocess.run(
        [sys.executable, "-m", "experiments.simulation_study", "--quiet", "--out", str(folder)]
        + list(options),
        check=True,
    )
    return folder


@pytest.fixture(scope="module")
def bgnbd_study(tmp_path_factory):
    """BG/NBD at two sizes, 40 seeds: enough fits to test coverage (about 25 s)."""
    return _run(
        tmp_path_factory.mktemp("simulation_bgnbd"),
        "--models",
        "bgnbd",
        "--sizes",
        f"{SMALL},{LARGE}",
        "--seeds",
        str(SEEDS),
        "--seed",
        "11",
    )


@pytest.fixture(scope="module")
def every_model(tmp_path_factory):
    """Every model, tiny: the whole pipeline runs for each (a few seconds)."""
    return _run(
        tmp_path_factory.mktemp("simulation_all"), "--sizes", "400", "--seeds", "3", "--seed", "3"
    )


def test_writes_every_output(every_model):
    for name in ("report.md", "report.html", "fits.csv", "summary.csv", "metrics.json"):
        assert (every_model / name).stat().st_size > 0, name
    page = (every_model / "report.html").read_text()
    assert not re.search(r'src="(?!data:)', page), "the HTML must be self-contained"
    fits = pd.read_csv(every_model / "fits.csv")
    expected = {label: truth for label, _, _, truth in simulation_study.MODELS.values()}
    assert set(fits["model"]) == set(expected)
    for model, part in fits.groupby("model"):
        assert sorted(part["parameter"].unique()) == sorted(expected[model])
        assert part.groupby("parameter")["seed"].nunique().eq(3).all()
        truth = part.drop_duplicates("parameter").set_index("parameter")["truth"]
        assert truth.to_dict() == pytest.approx(expected[model])


def test_summary_is_recomputed_from_the_fits_file(every_model, bgnbd_study):
    for folder in (every_model, bgnbd_study):
        fits = pd.read_csv(folder / "fits.csv")
        stored = pd.read_csv(folder / "summary.csv")
        recomputed = simulation_study.summarize_fits(fits)
        pd.testing.assert_frame_equal(
            stored, recomputed, check_exact=False, rtol=1e-9, check_dtype=False
        )
        metrics = json.loads((folder / "metrics.json").read_text())
        pd.testing.assert_frame_equal(
            pd.DataFrame(metrics["summary"]),
            recomputed,
            check_exact=False,
            rtol=1e-9,
            check_dtype=False,
        )
        markdown = (folder / "report.md").read_text()
        for row in recomputed.itertuples():
            for value in (row.relative_bias, row.relative_rmse, row.coverage):
                assert f"| {format_number(float(value))} |" in markdown, row


def test_by_hand_bias_rmse_and_coverage(bgnbd_study):
    fits = pd.read_csv(bgnbd_study / "fits.csv")
    summary = pd.read_csv(bgnbd_study / "summary.csv").set_index(["size", "parameter"])
    part = fits[(fits["size"] == LARGE) & (fits["parameter"] == "r")]
    error = part["estimate"] - part["truth"]
    row = summary.loc[(LARGE, "r")]
    assert row["bias"] == pytest.approx(error.mean(), rel=1e-12)
    assert row["rmse"] == pytest.approx(np.sqrt((error**2).mean()), rel=1e-12)
    inside = (part["lower"] <= part["truth"]) & (part["truth"] <= part["upper"])
    assert row["coverage"] == inside.mean()
    # the 90 % Wald interval on the log scale: estimate * exp(+-z se / estimate)
    z = stats.norm.ppf(0.95)
    se_log = part["std_err"] / part["estimate"]
    assert np.allclose(part["lower"], part["estimate"] * np.exp(-z * se_log), rtol=1e-9)


def test_wald_coverage_is_near_nominal_at_5000_customers(bgnbd_study):
    summary = pd.read_csv(bgnbd_study / "summary.csv")
    large = summary[(summary["size"] == LARGE) & (summary["method"] == "mle")]
    assert len(large) == 4 and (large["n_fits"] == SEEDS).all()
    # With correct intervals the covered count is Binomial(40, 0.9) per parameter; accept the
    # central 99.9 % / 4 range (Bonferroni over the 4 parameters): 28 to 40 of 40.
    lo, hi = stats.binom.interval(1 - 0.001 / 4, SEEDS, 0.9)
    covered = large["coverage"] * SEEDS
    assert covered.between(lo, hi).all(), large[["parameter", "coverage"]]
    # 40 seeds cannot detect over-coverage through the count, so also check the standard
    # errors against the spread of the estimates: for normal estimates the sample sd s of 40
    # values has 39 s^2 / sd^2 ~ chi2(39), so sd / s lies in this range with probability
    # 99.9 % / 4 per parameter.
    chi2_lo, chi2_hi = stats.chi2.ppf([0.001 / 8, 1 - 0.001 / 8], SEEDS - 1)
    lo, hi = np.sqrt((SEEDS - 1) / chi2_hi), np.sqrt((SEEDS - 1) / chi2_lo)
    ratio = large["mean_std_err"] / large["empirical_sd"]
    assert ratio.between(lo, hi).all(), (lo, hi, ratio)


def test_estimates_converge_as_the_size_grows(bgnbd_study):
    summary = pd.read_csv(bgnbd_study / "summary.csv").set_index(["parameter", "size"])
    for parameter in ("r", "alpha", "a", "b"):
        small, large = summary.loc[(parameter, SMALL)], summary.loc[(parameter, LARGE)]
        assert large["rmse"] < small["rmse"], parameter
        # no detectable bias at 5,000 customers: within 4 Monte Carlo standard errors
        assert abs(large["bias"]) < 4 * large["empirical_sd"] / np.sqrt(SEEDS), parameter
    relative = summary["relative_bias"].abs().groupby(level="size").mean()
    assert relative[LARGE] < relative[SMALL]


def test_help_runs():
    result = subprocess.run(
        [sys.executable, "-m", "experiments.simulation_study", "--help"],
        check=True,
        capture_output=True,
        text=True,
    )
    for option in ("--sizes", "--seeds", "--models", "--bayes", "--seed"):
        assert option in result.stdout


# --- the simulated logs summarised by Spark ----------------------------------------------------

SPARK_MODELS = "gg,bgbb"  # gg: BG/NBD purchase times with spend; bgbb: periods


@pytest.mark.parametrize("key", list(simulation_study.MODELS))
def test_the_transaction_log_has_the_simulated_summary(key):
    rng = np.random.default_rng([8, len(key)])
    data = simulation_study.simulate_data(key, 300, rng)
    args = simulation_study.parse_args(["--models", key])
    summary = simulation_study.summarise(key, data, rng, args)
    assert summary.index.tolist() == data.index.tolist()
    np.testing.assert_array_equal(summary["frequency"], data["frequency"])
    for column in ("recency", "T", "periods"):
        if column in data:
            # timestamps to the microsecond: 1e-6 s is 1.7e-12 weeks
            np.testing.assert_allclose(summary[column], data[column], rtol=0, atol=1e-11)
    if "monetary_value" in data:
        # the summary rounds each amount to a millionth (half a millionth at most, and so their
        # mean), plus the float rounding of the mean
        np.testing.assert_allclose(
            summary["monetary_value"], data["monetary_value"], rtol=0, atol=0.5e-6 + 1e-12
        )


@pytest.mark.spark
def test_spark_engine_gives_the_duckdb_fits(spark, tmp_path, monkeypatch):
    from models import _spark

    read, seen = _spark.read_transactions, []

    def counted(*args, **kwargs):
        seen.append(1)
        return read(*args, **kwargs)

    monkeypatch.setattr(_spark, "read_transactions", counted)
    options = ["--models", SPARK_MODELS, "--sizes", "200", "--seeds", "2", "--seed", "4"]
    fits = {}
    for engine in ("duckdb", "spark"):
        args = simulation_study.parse_args(
            ["--quiet", *options, "--engine", engine, "--out", str(tmp_path / engine)]
        )
        fits[engine] = simulation_study.run(args)["fits"]
    assert len(seen) == 2 * 2  # every data set went through Spark
    duck, spark_fits = fits["duckdb"], fits["spark"]
    keys = ["model", "size", "seed", "method", "parameter", "truth", "error"]
    pd.testing.assert_frame_equal(spark_fits[keys], duck[keys])
    assert (duck["error"] == "").all()
    # The two engines give identical summaries (amounts summed as DECIMAL(38, 9) by the same
    # SQL) and the patterns reach the fit in the same order, so the fits agree exactly.
    columns = ["estimate", "std_err", "lower", "upper"]
    pd.testing.assert_frame_equal(spark_fits[columns], duck[columns], check_exact=True)


def test_help_names_the_engines():
    result = subprocess.run(
        [sys.executable, "-m", "experiments.simulation_study", "--help"],
        check=True,
        capture_output=True,
        text=True,
    )
    text = " ".join(result.stdout.split())
    assert "--engine {duckdb,spark}" in text and "scores no customer" in text
