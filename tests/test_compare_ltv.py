"""The main experiment, run end to end from its command line on the bundled CDNOW data."""

import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import models
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
    text = " ".join(result.stdout.split())
    assert "split in half" in text and "1997-09-30" in text and "last transaction date" in text
    assert "--zero-amounts {keep,drop}" in text and "--negative-amounts {error,drop,net}" in text


# --- any transaction file: id column names, split defaults, zero amounts, errors -------------


def _cdnow_as_csv(path, names=("cust", "day", "spend"), shift_days=0, zero_repeat_of=None):
    """The bundled sample as a CSV with columns ``names`` (id, date, amount), its dates moved
    by ``shift_days`` days, and the repeat purchase of customer ``zero_repeat_of`` (who must
    have bought exactly twice in calibration) made worth 0."""
    tx = models.datasets.load_cdnow_sample()
    days = tx["date"] + pd.Timedelta(days=shift_days)
    columns = (tx["customer_id"], days.dt.strftime("%Y-%m-%d"), tx["amount"])
    out = pd.DataFrame(dict(zip(names, columns, strict=True)))
    if zero_repeat_of is not None:
        rows = out.index[out[names[0]] == zero_repeat_of]
        out.loc[rows[1], names[2]] = 0.0
    out.to_csv(path, index=False)
    return path


def _run(argv):
    return compare_ltv.run(compare_ltv.parse_args(["--quiet", *argv]))


def test_baseline_predictions_with_any_id_name():
    tx = models.datasets.load_cdnow_sample()
    cal = models.calibration_holdout(tx, calibration_end="1997-09-30").calibration
    expected = compare_ltv.baseline_predictions(cal, 39.0, 1.0)
    for name in ("cust", None, "variant"):
        got = compare_ltv.baseline_predictions(cal.rename_axis(name), 39.0, 1.0)
        assert got.index.name == name
        np.testing.assert_array_equal(got.to_numpy(), expected.to_numpy())


def test_any_file_and_column_names_split_in_half_like_cdnow(report, tmp_path):
    # The bundled sample 1,000 days later, with its own column names and no split dates: the
    # halfway split is the published one moved by 1,000 days, so every prediction is the same.
    path = _cdnow_as_csv(tmp_path / "shifted.csv", shift_days=1000)
    out = _run(
        [
            "--transactions",
            str(path),
            "--customer-id",
            "cust",
            "--date",
            "day",
            "--amount",
            "spend",
            "--draws",
            "200",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    settings, data = out["metrics"]["settings"], out["metrics"]["data"]
    shift = pd.Timedelta(days=1000)
    assert settings["calibration_end"] == f"{pd.Timestamp('1997-09-30') + shift:%Y-%m-%d}"
    assert settings["holdout_end"] == f"{pd.Timestamp('1998-06-30') + shift:%Y-%m-%d}"
    assert data["holdout_length"] == 39.0
    predictions = pd.read_csv(tmp_path / "out" / "predictions.csv", index_col=0)
    assert predictions.index.name == "cust"
    bundled = pd.read_csv(report / "predictions.csv", index_col=0)
    pd.testing.assert_frame_equal(
        predictions.rename_axis("customer_id"), bundled, check_exact=False, rtol=1e-9
    )


def test_zero_amount_repeat_purchase_does_not_abort(tmp_path):
    # customer 2 bought twice in calibration; its repeat purchase is made worth 0
    path = _cdnow_as_csv(tmp_path / "zero.csv", zero_repeat_of=2)
    columns = ["--customer-id", "cust", "--date", "day", "--amount", "spend"]
    common = ["--transactions", str(path), *columns, "--models", "bgnbd", "--draws", "50"]
    kept = _run([*common, "--out", str(tmp_path / "keep")])
    assert kept["metrics"]["data"]["n_zero_spend_excluded"] == 1
    assert 2 not in kept["predictions"].index and len(kept["predictions"]) == 2356
    markdown = (tmp_path / "keep" / "report.md").read_text()
    assert "1 customer(s) whose calibration repeat purchases are all worth 0 (first: cust=2)" in (
        markdown
    )
    dropped = _run([*common, "--zero-amounts", "drop", "--out", str(tmp_path / "drop")])
    assert dropped["metrics"]["data"]["n_zero_spend_excluded"] == 0
    # customer 2 stays, without the zero-amount purchase; the sample's 8 customers whose only
    # purchase is worth 0 have no purchase left
    assert dropped["predictions"].loc[2, "frequency"] == 0
    assert len(dropped["predictions"]) == 2357 - 8
    assert "worth 0" not in (tmp_path / "drop" / "report.md").read_text()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--transactions", "{tmp}/missing.csv"], "does not exist"),
        (["--customer-id", "cust"], "missing column"),
        (["--calibration-end", "1998-01-01", "--holdout-end", "1997-12-01"], "must be after"),
        (["--holdout-end", "soon"], "holdout_end must be a date"),
        (["--holdout-end", "1998-01-01"], "on or before holdout_end 1998-01-01"),
    ],
)
def test_bad_input_is_one_line_on_stderr_with_status_2(tmp_path, capsys, extra, message):
    path = _cdnow_as_csv(tmp_path / "data.csv", names=("customer_id", "date", "amount"))
    argv = ["--quiet", "--transactions", str(path), "--out", str(tmp_path / "out")]
    with pytest.raises(SystemExit) as exit_info:
        compare_ltv.main(argv + [x.format(tmp=tmp_path) for x in extra])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err
    assert "Traceback" not in err


def test_too_short_data_asks_for_the_ends(tmp_path, capsys):
    path = tmp_path / "short.csv"
    pd.DataFrame(
        {"customer_id": [1, 1, 2], "date": ["2020-01-01", "2020-01-02", "2020-01-02"], "amount": 1}
    ).to_csv(path, index=False)
    with pytest.raises(SystemExit) as exit_info:
        compare_ltv.main(["--quiet", "--transactions", str(path)])
    assert exit_info.value.code == 2
    assert "too short to split" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv", [["--margin", "0"], ["--margin", "1.5"], ["--models", "bgnbd,x"], ["--draws", "0"]]
)
def test_bad_options_are_refused_by_the_parser(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        compare_ltv.parse_args(argv)
    assert exit_info.value.code == 2
    assert "error: argument" in capsys.readouterr().err
