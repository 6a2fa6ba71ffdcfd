"""Figures: each test checks what was drawn against numbers computed independently."""

import matplotlib

matplotlib.use("Agg")  # headless; set before pyplot is imported

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.container import BarContainer  # noqa: E402

import models  # noqa: E402
from models import plots  # noqa: E402
from models._validation import ValidationError  # noqa: E402
from models.baseline import rule_of_thumb  # noqa: E402
from models.clv import customer_lifetime_value  # noqa: E402
from models.data import calibration_holdout  # noqa: E402
from models.evaluate import pit_coverage  # noqa: E402
from models.gamma_gamma import GammaGamma  # noqa: E402

CAL_END, HOLD_END = "1997-09-30", "1998-06-30"


@pytest.fixture(scope="module")
def transactions():
    return models.datasets.load_cdnow_sample()


@pytest.fixture(scope="module")
def split(transactions):
    return calibration_holdout(
        transactions, calibration_end=CAL_END, holdout_end=HOLD_END, time_unit="W"
    )


@pytest.fixture(scope="module")
def bg(split):
    return models.BetaGeo().fit(split.calibration)


@pytest.fixture(scope="module")
def bg_draws(split):
    return models.BetaGeo().fit(split.calibration).sample_laplace(400, random_seed=7)


@pytest.fixture
def save(tmp_path):
    """Write the figure of ``ax`` to a PNG, close it, and return the path."""
    figures = []

    def write(ax, name):
        fig = ax.figure if hasattr(ax, "figure") else ax
        path = tmp_path / f"{name}.png"
        fig.savefig(path, dpi=80)
        figures.append(fig)
        assert path.stat().st_size > 5_000
        return path

    yield write
    for fig in figures:
        plt.close(fig)
    plt.close("all")


def _line(ax, label):
    (line,) = [ln for ln in ax.get_lines() if ln.get_label() == label]
    return line


# ---------------------------------------------------------------------------- tracking
def test_cumulative_tracking_ends_at_published_totals(transactions, bg, split, save):
    ax = plots.plot_cumulative_transactions(
        transactions, bg, calibration_end=CAL_END, holdout_end=HOLD_END
    )
    actual = _line(ax, "actual").get_ydata()
    expected = _line(ax, "model").get_ydata()
    # REFERENCE.md (FHL 2005 CDNOW): sum x = 2,457 calibration repeat transactions, 1,882 holdout
    assert actual[-1] == 2457 + 1882
    assert split.holdout["holdout_purchases"].sum() == 1882
    assert np.all(np.diff(expected) > 0)
    # at the end of calibration the model's cumulative count is sum_i E[X(T_i)], T_i from the
    # calibration summary (an independent path through models.data)
    table = plots.tracking_table(transactions, bg, calibration_end=CAL_END, holdout_end=HOLD_END)
    at_end = table.loc[pd.Timestamp(CAL_END)]
    assert at_end["actual_cumulative"] == 2457
    T = split.calibration["T"].to_numpy()
    independent = bg.expected_purchases_new_customer(T).to_numpy().sum()
    np.testing.assert_allclose(at_end["expected_cumulative"], independent, rtol=1e-10)
    (vline,) = [ln for ln in ax.get_lines() if ln.get_label() == "end of calibration"]
    assert pd.Timestamp(vline.get_xdata()[0]) == pd.Timestamp(CAL_END)
    save(ax, "cumulative_tracking")


def test_weekly_tracking_sums_to_cumulative_and_has_bands(transactions, bg_draws, save):
    table = plots.tracking_table(
        transactions, bg_draws, calibration_end=CAL_END, holdout_end=HOLD_END
    )
    # weeks end on the calibration end, so the holdout is exactly 39 whole weeks
    assert (table.index > pd.Timestamp(CAL_END)).sum() == 39
    np.testing.assert_allclose(table["actual"].cumsum(), table["actual_cumulative"])
    np.testing.assert_allclose(table["expected"].cumsum(), table["expected_cumulative"])
    assert (table["lower"] < table["expected"]).iloc[1:].all()
    assert (table["cumulative_upper"] > table["expected_cumulative"]).all()
    # independent weekly count of repeat purchase days in the holdout week ending 1998-06-30
    days = transactions.assign(day=transactions["date"].dt.normalize())
    days = days.drop_duplicates(["customer_id", "day"])
    first = days.groupby("customer_id")["day"].transform("min")
    repeats = days[days["day"] > first]
    last_week = repeats["day"].between(pd.Timestamp("1998-06-24"), pd.Timestamp(HOLD_END))
    assert table["actual"].iloc[-1] == last_week.sum()

    ax = plots.plot_incremental_transactions(
        transactions, bg_draws, calibration_end=CAL_END, holdout_end=HOLD_END
    )
    np.testing.assert_array_equal(_line(ax, "actual").get_ydata(), table["actual"].to_numpy())
    assert len(ax.collections) == 1  # the band
    save(ax, "weekly_tracking")


def test_tracking_refuses_a_discrete_time_model(transactions):
    from models.bgbb import BetaGeoBetaBinom

    donors = models.datasets.load_donations()
    bb = BetaGeoBetaBinom().fit(donors, weights="weights")
    with pytest.raises(ValidationError, match="continuous-time"):
        plots.tracking_table(transactions, bb, calibration_end=CAL_END, time_unit="W")


# --------------------------------------------------------------- conditional expectations
def test_conditional_expectations_match_group_means(bg_draws, split, save):
    cal, hold = split.calibration, split.holdout
    ax = plots.plot_conditional_expectations(bg_draws, cal, hold)
    groups = np.minimum(cal["frequency"], 7)
    actual = hold["holdout_purchases"].groupby(groups).mean()
    predicted = bg_draws.expected_purchases(39, cal).groupby(groups).mean()
    np.testing.assert_allclose(_line(ax, "actual").get_ydata(), actual.to_numpy())
    np.testing.assert_allclose(_line(ax, "model").get_ydata(), predicted.to_numpy(), rtol=1e-10)
    # group means of holdout purchases sum back to the 1,882 holdout transactions (REFERENCE.md)
    sizes = groups.value_counts().sort_index().to_numpy()
    assert np.dot(_line(ax, "actual").get_ydata(), sizes) == pytest.approx(1882)
    assert len(ax.collections) == 1
    save(ax, "conditional_expectations")


def test_conditional_expectations_needs_a_horizon(bg, split):
    with pytest.raises(ValidationError, match="horizon"):
        plots.plot_conditional_expectations(
            bg, split.calibration, split.holdout["holdout_purchases"]
        )
    plt.close("all")


# -------------------------------------------------------------------------------- matrices
def test_p_alive_matrix_is_a_probability_and_matches_the_model(bg, save):
    ax = plots.plot_p_alive_matrix(bg, T=38.86, max_frequency=15, n_recency=30)
    grid = ax.collections[0].get_array()
    assert grid.shape == (16, 30)
    assert grid.min() >= 0 and grid.max() <= 1
    # FHL 2008 note 021: P(alive) = 1 when x = 0; the other cells of that row are impossible
    assert grid[0, 0] == 1 and grid.mask[0, 1:].all()
    recency = np.linspace(0, 38.86, 30)
    row = pd.DataFrame({"frequency": 5.0, "recency": recency[1:], "T": 38.86})
    np.testing.assert_allclose(grid[5, 1:], bg.p_alive(row).to_numpy(), rtol=1e-12)
    # more recent buyers are more likely alive
    assert np.all(np.diff(grid[5, 1:]) > 0)
    save(ax, "p_alive_matrix")


def test_expected_purchases_matrix(bg, save):
    recency = [0.0, 10.0, 20.0, 30.43, 38.86]
    ax = plots.plot_expected_purchases_matrix(
        bg, T=38.86, horizon=39, max_frequency=10, recency=recency
    )
    grid = ax.collections[0].get_array()
    assert grid.shape == (11, 5)
    # REFERENCE.md (FHL 2005 / Hardie note 004): E[Y(39) | x=2, t_x=30.43, T=38.86] = 1.226
    assert grid[2, 3] == pytest.approx(1.226, abs=1e-3)
    frame = pd.DataFrame({"frequency": 7.0, "recency": recency[1:], "T": 38.86})
    np.testing.assert_allclose(grid[7, 1:], bg.expected_purchases(39, frame), rtol=1e-12)
    assert grid.min() >= 0 and grid.max() > 1
    save(ax, "expected_purchases_matrix")


# ---------------------------------------------------------------------------------- value
def test_value_deciles_bars_are_group_means(bg, split, save):
    predicted = bg.expected_purchases(39, split.calibration)
    actual = split.holdout["holdout_purchases"]
    ax = plots.plot_value_deciles(predicted, actual, value_name="holdout purchases")
    pred_bars = [b.get_height() for b in ax.containers[0]]
    act_bars = [b.get_height() for b in ax.containers[1]]
    order = predicted.rank(method="first")
    decile = ((order - 1) * 10 // len(order)).astype(int)
    np.testing.assert_allclose(pred_bars, predicted.groupby(decile).mean().to_numpy())
    np.testing.assert_allclose(act_bars, actual.groupby(decile).mean().to_numpy())
    # the ten equal groups together hold every holdout purchase (REFERENCE.md: 1,882)
    sizes = decile.value_counts().sort_index().to_numpy()
    assert np.dot(act_bars, sizes) == pytest.approx(1882)
    assert act_bars[-1] > 5 * act_bars[0]
    save(ax, "value_deciles")


@pytest.fixture(scope="module")
def values(split, bg_draws):
    cal = split.calibration
    gg = GammaGamma().fit(cal).sample_laplace(400, random_seed=8)
    draws = customer_lifetime_value(
        bg_draws, gg, cal, horizon=52, step=4, margin=0.3, return_draws=True
    )
    rule = rule_of_thumb(cal, margin=0.3)
    return draws, rule


def test_ltv_distribution_marks_baseline_and_model_mean(values, save):
    draws, rule = values
    ax = plots.plot_ltv_distribution(draws, rule)
    per_customer = np.asarray(draws).reshape(-1, draws.shape[-1]).mean(axis=0)
    (base,) = [ln for ln in ax.get_lines() if ln.get_label().startswith("rule of thumb")]
    (mean,) = [ln for ln in ax.get_lines() if ln.get_label().startswith("model mean")]
    assert base.get_xdata()[0] == pytest.approx(rule.ltv)
    assert mean.get_xdata()[0] == pytest.approx(per_customer.mean())
    (histogram,) = [c for c in ax.containers if isinstance(c, BarContainer)]
    heights = sum(bar.get_height() for bar in histogram)
    shown = (per_customer <= ax.get_xlim()[1]).sum()
    assert heights == shown  # histogram bars count the customers within the x-range
    save(ax, "ltv_distribution")


def test_ltv_distribution_accepts_a_series_and_a_float(values):
    draws, _ = values
    series = pd.Series(np.asarray(draws).mean(axis=(0, 1)))
    ax = plots.plot_ltv_distribution(series, 123.0)
    assert any(ln.get_xdata()[0] == 123.0 for ln in ax.get_lines())
    plt.close(ax.figure)
    with pytest.raises(ValidationError, match="single number"):
        plots.plot_ltv_distribution(series, pd.Series([1.0, 2.0]))
    plt.close("all")


# ------------------------------------------------------------------------------- coverage
def test_interval_coverage_plots_the_given_points(save):
    rng = np.random.default_rng(2024)
    pit = rng.uniform(size=2000)
    coverage = pit_coverage(pit, levels=(0.5, 0.8, 0.9))
    ax = plots.plot_interval_coverage({"uniform PIT": coverage}, n_customers=2000)
    line = _line(ax, "uniform PIT")
    np.testing.assert_allclose(line.get_xdata(), [0.5, 0.8, 0.9])
    np.testing.assert_allclose(line.get_ydata(), coverage.to_numpy())
    diagonal = _line(ax, "nominal = empirical")
    np.testing.assert_array_equal(diagonal.get_xdata(), diagonal.get_ydata())
    save(ax, "coverage")


# ------------------------------------------------------------------ posterior predictive
def test_purchase_count_check(bg_draws, split, save):
    cal = split.calibration
    ax = plots.plot_purchase_count_check(bg_draws, cal, max_count=7)
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    observed, model = ([b.get_height() for b in c] for c in bars)
    # REFERENCE.md: 1,411 CDNOW customers with x = 0
    assert observed[0] == 1411 and sum(observed) == 2357
    assert sum(model) == pytest.approx(2357)
    T = cal["T"].to_numpy()
    expected_zero = bg_draws.probability_of_purchases(0, T).to_numpy().sum()
    assert model[0] == pytest.approx(expected_zero, rel=1e-10)
    assert abs(model[0] - 1411) < 50
    save(ax, "purchase_count_check")


# ------------------------------------------------------------------------------- ArviZ
def test_arviz_helpers_use_the_draws(bg_draws, bg, save):
    axes = plots.plot_posterior(bg_draws)
    assert [a.get_title() for a in axes.ravel()] == ["r", "alpha", "a", "b"]
    save(axes.ravel()[0].figure, "posterior")
    axes = plots.plot_trace(bg_draws)
    assert axes.shape == (4, 2)
    with pytest.raises(ValidationError, match="draws"):
        plots.plot_pair(bg)


# -------------------------------------------------------------------------- contract
def _all_figures(transactions, split, model, values):
    draws, rule = values
    cal, hold = split.calibration, split.holdout
    kw = {"calibration_end": CAL_END, "holdout_end": HOLD_END}
    return {
        "cumulative": lambda ax: plots.plot_cumulative_transactions(
            transactions, model, ax=ax, **kw
        ),
        "weekly": lambda ax: plots.plot_incremental_transactions(transactions, model, ax=ax, **kw),
        "conditional": lambda ax: plots.plot_conditional_expectations(model, cal, hold, ax=ax),
        "p_alive": lambda ax: plots.plot_p_alive_matrix(model, 30.0, ax=ax),
        "purchases": lambda ax: plots.plot_expected_purchases_matrix(model, 30.0, ax=ax),
        "deciles": lambda ax: plots.plot_value_deciles(
            model.expected_purchases(39, cal), hold["holdout_purchases"], ax=ax
        ),
        "ltv": lambda ax: plots.plot_ltv_distribution(draws, rule, log_x=True, ax=ax),
        "coverage": lambda ax: plots.plot_interval_coverage({0.5: 0.4, 0.9: 0.85}, ax=ax),
        "counts": lambda ax: plots.plot_purchase_count_check(model, cal, ax=ax),
    }


def test_every_figure_draws_on_the_given_axes_and_leaves_rcparams(transactions, split, bg, values):
    before = dict(matplotlib.rcParams)
    for name, draw in _all_figures(transactions, split, bg, values).items():
        fig, ax = plt.subplots()
        n_figures = len(plt.get_fignums())
        assert draw(ax) is ax, name
        assert len(plt.get_fignums()) == n_figures, name
        assert ax.has_data(), name
        plt.close(fig)
    assert dict(matplotlib.rcParams) == before


def test_point_fit_draws_no_band(transactions, split, bg):
    ax = plots.plot_cumulative_transactions(
        transactions, bg, calibration_end=CAL_END, holdout_end=HOLD_END
    )
    assert not ax.collections
    table = plots.tracking_table(transactions, bg, calibration_end=CAL_END, holdout_end=HOLD_END)
    assert "lower" not in table
    plt.close(ax.figure)


def test_four_week_periods_still_end_at_calibration_and_holdout_ends(transactions, bg):
    table = plots.tracking_table(
        transactions, bg, calibration_end=CAL_END, holdout_end=HOLD_END, period=4
    )
    assert pd.Timestamp(CAL_END) in table.index and table.index[-1] == pd.Timestamp(HOLD_END)
    assert table["actual"].sum() == 2457 + 1882  # REFERENCE.md totals
    assert (np.diff(table["time"]) <= 4 + 1e-9).all()


def test_conditional_expectations_refuses_misaligned_holdout(bg, split):
    holdout = split.holdout.iloc[:-5]
    with pytest.raises(ValidationError, match="5 of 2357"):
        plots.plot_conditional_expectations(bg, split.calibration, holdout)
    plt.close("all")


def test_pair_plot_of_laplace_draws(bg_draws):
    axes = plots.plot_pair(bg_draws, var_names=["r", "alpha"])
    points = axes.collections[0].get_offsets()
    np.testing.assert_allclose(points[:, 0], bg_draws.draws["r"].ravel())
    plt.close("all")


def test_purchase_count_check_of_bgbb_on_weighted_patterns(save):
    from models.bgbb import BetaGeoBetaBinom

    donors = models.datasets.load_donations()
    bb = BetaGeoBetaBinom().fit(donors, weights="weights")
    ax = plots.plot_purchase_count_check(bb, donors, weights="weights", max_count=6)
    bars = [c for c in ax.containers if isinstance(c, BarContainer)]
    observed, model = ([b.get_height() for b in c] for c in bars)
    # REFERENCE.md: 11,104 first-time donors (Fader, Hardie & Shang 2010)
    assert sum(observed) == 11104 and sum(model) == pytest.approx(11104)
    by_x = donors.groupby("frequency")["weights"].sum()
    np.testing.assert_array_equal(observed, by_x.to_numpy())
    # the model's expected donors with x = k over 6 opportunities (BG/BB eq. for P(X(n) = x))
    for k in range(6):
        assert model[k] == pytest.approx(11104 * bb.probability_of_purchases(k, 6), rel=1e-10)
    save(ax, "purchase_count_check_bgbb")


# ------------------------------------------------------------------------- input errors
def _plain_fit(split):
    """A BetaGeo fitted on a frame without attrs, so its time unit is unknown."""
    cal = split.calibration[["frequency", "recency", "T"]]
    return models.BetaGeo().fit(pd.DataFrame(cal.to_numpy(), columns=cal.columns, index=cal.index))


#: (what is wrong, the call, the message it must raise)
INPUT_ERRORS = [
    (
        "time unit",
        lambda tx, split, bg: plots.tracking_table(tx, _plain_fit(split), calibration_end=CAL_END),
        r"time unit is unknown: pass time_unit='W'",
    ),
    (
        "period",
        lambda tx, split, bg: plots.tracking_table(tx, bg, calibration_end=CAL_END, period=0),
        r"period must be > 0 time units, got 0\.",
    ),
    (
        "holdout end",
        lambda tx, split, bg: plots.tracking_table(
            tx, bg, calibration_end=CAL_END, holdout_end="1997-06-30"
        ),
        r"holdout_end \(1997-06-30\) must not be before calibration_end \(1997-09-30\)\.",
    ),
    (
        "empty cohort",
        lambda tx, split, bg: plots.tracking_table(tx, bg, calibration_end="1990-01-01"),
        r"no customer made a first purchase on or before 1990-01-01\.",
    ),
    (
        "holdout type",
        lambda tx, split, bg: plots.plot_conditional_expectations(bg, split.calibration, [1]),
        r"holdout must be a pandas Series or DataFrame .* got list\.",
    ),
    (
        "quantity",
        lambda tx, split, bg: plots.plot_frequency_recency_matrix(bg, 30.0, quantity="x"),
        r"quantity must be 'p_alive' or 'expected_purchases', got 'x'\.",
    ),
    (
        "age",
        lambda tx, split, bg: plots.plot_p_alive_matrix(bg, 0.0),
        r"T must be > 0, got 0\.0\.",
    ),
    (
        "recency",
        lambda tx, split, bg: plots.plot_p_alive_matrix(bg, 30.0, recency=[3.0, 1.0]),
        r"recency must be increasing values in \[0, T=30\]\.",
    ),
    (
        "values type",
        lambda tx, split, bg: plots.plot_value_deciles([1.0], pd.Series([1.0])),
        r"predicted must be a pandas Series \(or a frame with a 'mean' column\).* got list\.",
    ),
    (
        "actual missing",
        lambda tx, split, bg: plots.plot_value_deciles(
            pd.Series(np.arange(20.0)), pd.Series(np.arange(17.0))
        ),
        r"actual is missing 3 of the 20 predicted customers",
    ),
    (
        "groups",
        lambda tx, split, bg: plots.plot_value_deciles(
            pd.Series(np.arange(5.0)), pd.Series(np.arange(5.0))
        ),
        r"need at least n_groups=10 customers, got 5\.",
    ),
    (
        "clv shape",
        lambda tx, split, bg: plots.plot_ltv_distribution(np.ones((3, 4))),
        r"\(chain, draw, customer\) array; got an array of shape \(3, 4\)\.",
    ),
    (
        "clv finite",
        lambda tx, split, bg: plots.plot_ltv_distribution(pd.Series([1.0, np.nan])),
        r"clv has NaN or infinite values\.",
    ),
    (
        "log x",
        lambda tx, split, bg: plots.plot_ltv_distribution(pd.Series([0.0, 1.0]), log_x=True),
        r"log_x needs every CLV > 0",
    ),
    (
        "coverage",
        lambda tx, split, bg: plots.plot_interval_coverage({0.5: 1.5}),
        r"coverage levels and values must lie in \[0, 1\] \(empirical\)\.",
    ),
]


@pytest.mark.parametrize(
    ("call", "match"), [pytest.param(call, match, id=name) for name, call, match in INPUT_ERRORS]
)
def test_input_errors_name_the_rule(transactions, split, bg, call, match):
    with pytest.raises(ValidationError, match=match):
        call(transactions, split, bg)
    plt.close("all")


def test_package_reexports_every_submodule_function():
    from models.plots import coverage, diagnostics, fit, matrices, tracking, value

    modules = (coverage, diagnostics, fit, matrices, tracking, value)
    names = sorted(n for m in modules for n in m.__all__)
    assert names == sorted(plots.__all__)
    assert all(getattr(plots, n) is getattr(m, n) for m in modules for n in m.__all__)
