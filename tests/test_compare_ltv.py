"""The main experiment, run end to end from its command line on the bundled CDNOW data."""

import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from experiments import compare_ltv
from experiments._report import format_number
from models import baseline


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("compare_ltv")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "experiments.compare_ltv",
            "--quiet",
            "--draws",
            "200",
            "--out",
            str(folder),
        ],
        check=True,
    )
    return folder


def test_writes_every_output(report):
    for name in (
        "report.md",
        "report.html",
        "predictions.csv",
        "predictions.parquet",
        "metrics.json",
    ):
        assert (report / name).stat().st_size > 0, name
    page = (report / "report.html").read_text()
    assert not re.search(r'src="(?!data:)', page), "the HTML must be self-contained"


def test_every_reported_score_is_recomputed_from_the_per_customer_file(report):
    predictions = pd.read_csv(report / "predictions.csv", index_col=0)
    metrics = json.loads((report / "metrics.json").read_text())
    margin = metrics["settings"]["margin"]
    recomputed = compare_ltv.score_predictions(predictions, margin)
    markdown = (report / "report.md").read_text()
    for target, table in recomputed.items():
        stored = pd.DataFrame(metrics["scores"][target]).set_index(["method", "segment"])
        pd.testing.assert_frame_equal(
            stored[table.columns].astype(float),
            table.astype(float),
            check_exact=False,
            rtol=1e-9,
        )
    overall = recomputed["value"].xs("all", level="segment")
    value_table = markdown.split("*All customers, holdout value*")[1].split("## ")[0]
    for method, row in overall.iterrows():
        line = next(x for x in value_table.splitlines() if x.startswith(f"| {method} |"))
        cells = [cell.strip() for cell in line.split("|")]
        for column in ("predicted_total", "actual_total", "mae", "rmse", "spearman"):
            if np.isfinite(row[column]):
                assert format_number(float(row[column])) in cells, (method, column)


def test_published_cdnow_totals_reach_the_report(report):
    predictions = pd.read_csv(report / "predictions.csv", index_col=0)
    assert len(predictions) == 2357  # FHL (2005) CDNOW cohort
    assert predictions["frequency"].sum() == 2457  # calibration repeat purchases
    assert predictions["actual_purchases"].sum() == 1882  # holdout repeat purchases


def test_bgnbd_with_gamma_gamma_beats_every_rule_variant_on_mae(report):
    predictions = pd.read_csv(report / "predictions.csv", index_col=0)
    scores = compare_ltv.score_predictions(predictions, 1.0)["value"].xs("all", level="segment")
    rules = [m for m in scores.index if m.startswith("rule:")]
    assert len(rules) == len(baseline.ALL_VARIANTS)
    assert (scores.loc["BG/NBD MLE", "mae"] < scores.loc[rules, "mae"]).all()
    # On total holdout value the models under-forecast CDNOW by ~15 %; the classic rule misses
    # by more, but the per-segment rule variants overshoot by less (reported as it is).
    classic = abs(scores.loc["rule: classic", "aggregate_error_rel"])
    assert abs(scores.loc["BG/NBD MLE", "aggregate_error_rel"]) < classic


def test_help_runs():
    result = subprocess.run(
        [sys.executable, "-m", "experiments.compare_ltv", "--help"],
        check=True,
        capture_output=True,
        text=True,
    )
    assert "--transactions" in result.stdout and "--margin" in result.stdout
