"""The spend-check experiment, run end to end from its command line on the bundled CDNOW data."""

import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from experiments import _simulate_ltv, spend_check
from experiments._report import format_number
from models import baseline

COSTS = {"all": 30.0, "1997-01": 20.0, "1997-02": 25.0, "1997-03": 35.0}
PROBABILITY = 0.8


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("spend_check")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "experiments.spend_check",
            "--quiet",
            "--draws",
            "400",
            "--customers",
            "20000",
            "--probability",
            str(PROBABILITY),
            "--cac",
            ",".join(f"{k}={v:g}" for k, v in COSTS.items()),
            "--seed",
            "7",
            "--out",
            str(folder),
        ],
        check=True,
    )
    return folder


def _read(folder, name, **kwargs):
    return pd.read_csv(folder / f"{name}.csv", **kwargs)


def test_writes_every_output(report):
    names = [
        "report.md",
        "report.html",
        "metrics.json",
        "new_customer.csv",
        "cac_grid.csv",
        "rules.csv",
        "segments.csv",
        "expected_ltv_draws.csv",
        "simulated_customers.csv",
        "payback_curve.csv",
        "customers.csv",
    ]
    for name in names:
        assert (report / name).stat().st_size > 0, name
    page = (report / "report.html").read_text()
    assert not re.search(r'src="(?!data:)', page), "the HTML must be self-contained"
    new = _read(report, "new_customer", index_col=0)
    assert new.index.tolist() == list(COSTS)
    assert new["cac"].to_dict() == COSTS


def test_headline_numbers_are_recomputed_from_the_draws_and_simulated_customers(report):
    new = _read(report, "new_customer", index_col=0)
    draws = _read(report, "expected_ltv_draws")
    simulated = _read(report, "simulated_customers")
    metrics = json.loads((report / "metrics.json").read_text())
    markdown = (report / "report.md").read_text()
    for group, row in new.iterrows():
        expected = draws.loc[draws["group"] == group, "expected_ltv"].to_numpy()
        individual = simulated.loc[simulated["group"] == group, "ltv"].to_numpy()
        cac = COSTS[group]
        recomputed = {
            "expected_ltv": expected.mean(),
            "expected_ltv_lower": np.quantile(expected, 0.05),
            "expected_ltv_upper": np.quantile(expected, 0.95),
            "p_expected_ltv_covers_cac": np.mean(expected >= cac),
            "p_individual_ltv_above_cac": np.mean(individual > cac),
            "largest_cac_expected": np.quantile(expected, 1 - PROBABILITY),
            "largest_cac_individual": np.quantile(individual, 1 - PROBABILITY),
        }
        for column, value in recomputed.items():
            assert row[column] == pytest.approx(value, rel=1e-9, abs=1e-12), (group, column)
            stored = metrics["new_customer"][group][column]
            assert stored == pytest.approx(value, rel=1e-9, abs=1e-12), (group, column)
            assert f" {format_number(float(value))} |" in markdown, (group, column)
    pooled = new.loc["all"]
    assert f"is {pooled['expected_ltv']:.2f} (90 % interval" in markdown


def test_probability_of_covering_falls_and_payback_rises_with_the_cac(report):
    grid = _read(report, "cac_grid")
    for group, part in grid.groupby("group"):
        part = part.sort_values("cac")
        assert part["cac"].is_unique
        for column in ("p_individual_ltv_above", "p_expected_ltv_covers"):
            steps = np.diff(part[column].to_numpy())
            assert (steps <= 0).all() and steps.sum() < -0.5, (group, column)
        for column in ("payback", "payback_lower", "payback_upper"):
            # inf (not paid back within the horizon) compares as the largest time
            values = np.minimum(part[column].to_numpy(), np.finfo(float).max)
            assert (np.diff(values) >= 0).all(), (group, column)
        finite = part.loc[np.isfinite(part["payback"]) & (part["payback"] > 0), "payback"]
        assert finite.is_monotonic_increasing and np.diff(finite.to_numpy()).min() > 0


def test_largest_covered_cac_is_covered_with_the_chosen_probability(report):
    new = _read(report, "new_customer", index_col=0)
    draws = _read(report, "expected_ltv_draws")
    simulated = _read(report, "simulated_customers")
    for group, row in new.iterrows():
        expected = draws.loc[draws["group"] == group, "expected_ltv"].to_numpy()
        individual = simulated.loc[simulated["group"] == group, "ltv"].to_numpy()
        for values, largest in (
            (expected, row["largest_cac_expected"]),
            (individual, row["largest_cac_individual"]),
        ):
            # the 1 - q quantile: at least q of the values reach it, at most q + 1/n exceed
            # it (one value's worth of interpolation slack; ties, e.g. customers who never
            # buy again, can sit exactly on it)
            assert np.mean(values >= largest) >= PROBABILITY, group
            assert np.mean(values > largest) <= PROBABILITY + 1 / values.size + 1e-12, group
        assert np.mean(expected >= row["largest_cac_expected"]) == pytest.approx(
            PROBABILITY, abs=1 / expected.size + 1e-12
        )


def test_payback_is_where_the_expected_curve_reaches_the_cac(report):
    new = _read(report, "new_customer", index_col=0)
    curves = _read(report, "payback_curve")
    for group, row in new.iterrows():
        curve = curves[curves["group"] == group]
        assert row["payback"] == pytest.approx(
            _simulate_ltv.payback_times(
                curve["mean"].to_numpy(), curve["time"].to_numpy(), row["cac"]
            )[0],
            rel=1e-9,
        )
        if np.isfinite(row["payback"]) and row["payback"] > 0:
            value_then = np.interp(row["payback"], curve["time"], curve["mean"])
            assert value_then == pytest.approx(row["cac"], rel=1e-9)
        # the curve starts at the margin on the first purchase and never falls
        assert np.diff(curve["mean"].to_numpy()).min() >= 0
        assert curve["mean"].iloc[0] > 0


def test_simulated_customers_agree_with_the_expected_value(report):
    new = _read(report, "new_customer", index_col=0)
    simulated = _read(report, "simulated_customers")
    for group, row in new.iterrows():
        individual = simulated.loc[simulated["group"] == group, "ltv"].to_numpy()
        standard_error = individual.std(ddof=1) / np.sqrt(individual.size)
        # both estimate the mean LTV of a new customer; 4 Monte Carlo standard errors
        assert abs(individual.mean() - row["expected_ltv"]) < 4 * standard_error, group


def test_rule_ltv_is_s_c_p_t_from_the_baseline(report):
    metrics = json.loads((report / "metrics.json").read_text())
    customers = _read(report, "customers", index_col=0)
    customers.attrs["time_unit"] = metrics["data"]["time_unit"]
    rules = _read(report, "rules", index_col=0)
    margin = metrics["settings"]["margin"]
    assert (rules["ltv"] == rules["S"] * rules["C"] * rules["P"] * rules["t_months"]).all()
    for group, cal in [("all", customers), *customers.groupby("cohort")]:
        cal.attrs["time_unit"] = metrics["data"]["time_unit"]
        table = rules[rules["group"] == group]
        classic = baseline.rule_of_thumb(cal, margin=margin)
        assert table.loc["classic", "ltv"] == pytest.approx(
            baseline.ltv(classic.S, classic.C, margin, classic.t), rel=1e-12
        )
        segmented = baseline.rule_of_thumb(cal, variant="per_segment", margin=margin)
        for segment, value in segmented.ltv.items():
            assert table.loc[f"per_segment: {segment}", "ltv"] == pytest.approx(value, rel=1e-12)
    assert len(customers) == 2357  # FHL (2005) CDNOW cohort


def test_segment_table_is_recomputed_from_the_customer_file(report):
    customers = _read(report, "customers", index_col=0)
    segments = _read(report, "segments", index_col=0)
    for segment, row in segments.iterrows():
        members = customers[customers[segment].astype(bool)]
        assert row["customers"] == len(members)
        for column in ("rule_classic", "rule_per_segment", "model_clv"):
            assert row[column] == pytest.approx(members[column].mean(), rel=1e-9), segment
        assert row["model_clv_lower"] <= row["model_clv"] <= row["model_clv_upper"]
    # a one-time buyer is worth less to the model than the classic rule says; a top-decile
    # customer is worth more (the rule gives every customer the same value)
    assert segments.loc["one_time", "classic_verdict"] == "overstates"
    assert segments.loc["top_decile", "classic_verdict"] == "understates"


def test_bad_cac_is_refused():
    with pytest.raises(SystemExit):
        spend_check.parse_args(["--cac", "1997-1=20"])
    assert spend_check.parse_cac("1997-01=20, 1997-02=25") == {"1997-01": 20.0, "1997-02": 25.0}
    assert spend_check.parse_cac("30") == {"all": 30.0}


def test_help_runs():
    result = subprocess.run(
        [sys.executable, "-m", "experiments.spend_check", "--help"],
        check=True,
        capture_output=True,
        text=True,
    )
    for option in (
        "--cac",
        "--margin",
        "--horizon",
        "--discount-rate",
        "--probability",
        "--engine",
    ):
        assert option in result.stdout


# --- the same experiment with --engine spark -----------------------------------------------------

SPARK_OPTIONS = [
    "--quiet",
    "--draws",
    "100",
    "--customers",
    "2000",
    "--min-cohort",
    "800",
    "--seed",
    "5",
]


@pytest.mark.spark
def test_spark_engine_gives_the_duckdb_numbers(spark, tmp_path, monkeypatch):
    from experiments import _spend_spark
    from models import _spark
    from models._spark import _scoring

    calls = {"patterns": 0, "segment_sums": 0}
    collect_patterns, segment_draw_means = (
        _spark.collect_patterns,
        _spend_spark.segment_draw_means,
    )

    def counted(name, function):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return function(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(_scoring, "collect_patterns", counted("patterns", collect_patterns))
    monkeypatch.setattr(
        _spend_spark, "segment_draw_means", counted("segment_sums", segment_draw_means)
    )
    out = {}
    for engine in ("duckdb", "spark"):
        argv = [*SPARK_OPTIONS, "--engine", engine, "--out", str(tmp_path / engine)]
        out[engine] = spend_check.run(spend_check.parse_args(argv))["folder"]
    # Spark did the work: patterns grouped in Spark for each fit (2 groups x 2 models, plus
    # the checks of 2 scoring calls) and the segment sums computed by mapInPandas
    assert calls["patterns"] >= 4 and calls["segment_sums"] == 1
    new = _read(out["duckdb"], "new_customer", index_col=0)
    assert new.index.tolist() == ["all", "1997-02"]  # the only cohort of >= 800 customers
    # Same summaries and fitted patterns, so the same draws and simulations: the numbers agree
    # to rounding (sums over customers in another order; 3e-15 seen), 1e-12 relative.
    for name in ("new_customer", "segments", "customers", "rules", "cac_grid", "payback_curve"):
        duck = _read(out["duckdb"], name, index_col=0)
        spark_table = _read(out["spark"], name, index_col=0)
        pd.testing.assert_frame_equal(
            spark_table, duck, check_exact=False, rtol=1e-12, atol=1e-12, obj=name
        )
    assert (out["spark"] / "report.md").read_text() == (out["duckdb"] / "report.md").read_text()
