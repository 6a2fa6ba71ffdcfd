"""The Spark engine (the models._spark package): same calls, same numbers, work kept in Spark.

One local[2] session for the whole module (UI off, 4 shuffle partitions, workers on this
interpreter); it is stopped, JVM included, when the module ends.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import models
from models import _spark, datasets
from models._validation import ValidationError
from models.data import HOLDOUT_COLUMNS, SUMMARY_COLUMNS, calibration_holdout, rfm_summary

CAL_END, HOLD_END = "1997-09-30", "1998-06-30"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --- without Spark -----------------------------------------------------------------------------


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )


def test_pandas_path_never_imports_pyspark():
    done = _python(
        """
        import sys, models
        tx = models.datasets.load_cdnow_sample()
        split = models.calibration_holdout(tx, calibration_end="1997-09-30")
        bg = models.BetaGeo().fit(split.calibration)
        bg.expected_purchases(39, split.calibration)
        models.customer_lifetime_value(bg, models.GammaGamma().fit(split.calibration),
                                       split.calibration, horizon=39)
        assert "pyspark" not in sys.modules, "pyspark imported"
        print("ok")
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_missing_pyspark_names_the_package_and_the_command():
    done = _python(
        """
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name == "pyspark" or name.startswith("pyspark."):
                    raise ImportError("No module named 'pyspark'")
        sys.meta_path.insert(0, Block())
        from models.data import spark_session
        try:
            spark_session()
        except ImportError as error:
            print(error)
        """
    )
    assert done.returncode == 0, done.stderr
    assert "needs pyspark" in done.stdout
    assert 'pip install "clv-models[spark]"' in done.stdout


def test_missing_java_names_java_and_how_to_install(monkeypatch):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", "")
    with pytest.raises(RuntimeError, match=r"needs a Java runtime .*JAVA_HOME"):
        _spark.require_java()


def test_engine_detection_does_not_import_pyspark():
    done = _python(
        """
        import sys, pandas as pd
        from models import _spark
        assert not _spark.is_spark_dataframe(pd.DataFrame({"a": [1]}))
        assert "pyspark" not in sys.modules
        print("ok")
        """
    )
    assert done.stdout.strip() == "ok", done.stderr


def test_strptime_formats_translate_to_spark_patterns():
    assert _spark.java_pattern("%d/%m/%y %H:%M:%S.%f") == "dd/MM/yy HH:mm:ss.SSSSSS"
    with pytest.raises(ValidationError, match="%Z"):
        _spark.java_pattern("%Y %Z")


def test_driver_java_options_keep_the_users_and_never_name_two_collectors():
    from models._spark._session import driver_java_options

    assert driver_java_options("") == "-XX:+UseParallelGC"
    assert driver_java_options("-Dlog=x -Xss4m") == "-XX:+UseParallelGC -Dlog=x -Xss4m"
    assert driver_java_options("-XX:+UseG1GC -Dlog=x") == "-XX:+UseG1GC -Dlog=x"
    assert driver_java_options("-XX:+UseZGC") == "-XX:+UseZGC"


def test_a_broken_rule_on_patterns_is_recounted_per_customer_in_two_checks():
    # Patterns as collect_patterns gives them: unique (frequency, recency, T), indexed by
    # their first (smallest) customer id, sorted by it, with customer counts.
    rng = np.random.default_rng(20261124)
    n = 50_000
    T = rng.integers(1, 40, n).astype(float)
    recency = np.floor(rng.uniform(0, 1, n) * T)
    frequency = np.where(recency > 0, rng.integers(1, 5, n), 0).astype(float)
    recency[rng.uniform(size=n) < 0.05] += 100.0  # breaks recency <= T
    customers = pd.DataFrame(
        {"frequency": frequency, "recency": recency, "T": T},
        index=pd.Index(rng.permutation(n) + 1000, name="customer_id"),
    ).sort_index()  # the pandas path names the first offending row; in id order, the smallest id
    grouped = customers.reset_index().groupby(["frequency", "recency", "T"], as_index=False)
    patterns = grouped.agg(first=("customer_id", "min"), clv_n_customers=("customer_id", "size"))
    patterns = patterns.set_index("first").sort_index().rename_axis("customer_id")
    assert len(patterns) > 2_000
    calls = []

    def check(frame):
        calls.append(len(frame))
        return models.BetaGeo()._fit_arrays(frame)

    with pytest.raises(ValidationError) as on_customers:
        models.BetaGeo().fit(customers)
    with pytest.raises(ValidationError) as on_patterns:
        _spark.check_patterns(patterns, None, check)
    assert str(on_patterns.value) == str(on_customers.value)
    assert f"of {n} rows break this" in str(on_patterns.value)
    assert calls == [len(patterns), 1]


def _to_spark(spark, frame: pd.DataFrame):
    """Send a pandas frame to Spark through Arrow; text columns stay text (NaN is null)."""
    arrays = {}
    for name, column in frame.items():
        if column.dtype == object:
            values = [None if pd.isna(x) else str(x) for x in column]
            arrays[name] = pa.array(values, pa.string())
        else:
            arrays[name] = pa.array(column)
    return _from_table(spark, pa.table(arrays))


def _from_table(spark, table: pa.Table):
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type) and field.type.tz is None:
            table = table.set_column(
                i, field.name, table.column(i).cast(pa.timestamp("us", tz="UTC"))
            )
    return spark.createDataFrame(table)


def _collect(frame, id_name="customer_id") -> pd.DataFrame:
    """A small Spark frame as pandas, sorted by id (tests only: through Arrow)."""
    out = frame.toArrow().to_pandas()
    return out.set_index(id_name).sort_index()


@pytest.fixture(scope="module")
def cdnow_sample():
    return datasets.load_cdnow_sample()


@pytest.fixture(scope="module")
def cdnow_master():
    return datasets.load_cdnow_master()


@pytest.fixture(scope="module")
def spark_split(spark, cdnow_sample):
    return calibration_holdout(
        _spark.read_transactions(cdnow_sample, spark), calibration_end=CAL_END, holdout_end=HOLD_END
    )


@pytest.mark.spark
def test_the_local_session_jvm_runs_the_parallel_collector(spark):
    # local_session starts the JVM with -XX:+UseParallelGC (throughput collector): its two
    # collectors are "PS Scavenge" and "PS MarkSweep"; the default G1 names start with "G1".
    management = spark.sparkContext._jvm.java.lang.management.ManagementFactory
    beans = management.getGarbageCollectorMXBeans()
    names = {beans.get(i).getName() for i in range(beans.size())}
    assert names == {"PS Scavenge", "PS MarkSweep"}


@pytest.fixture(scope="module")
def duck_split(cdnow_sample):
    return calibration_holdout(cdnow_sample, calibration_end=CAL_END, holdout_end=HOLD_END)


# --- summaries: identical to DuckDB -------------------------------------------------------------


def _assert_same_summary(spark_frame, pandas_frame, columns):
    got = _collect(spark_frame, pandas_frame.index.name)
    assert list(got.columns) == list(columns)
    assert got.index.tolist() == pandas_frame.index.tolist()
    for column in columns:
        left, right = got[column].to_numpy(), pandas_frame[column].to_numpy()
        if column == "first_purchase":
            left, right = pd.to_datetime(left), pd.to_datetime(right)
        np.testing.assert_array_equal(left, right, err_msg=column)


@pytest.mark.spark
@pytest.mark.parametrize("data", ["sample", "master"])
def test_spark_split_equals_duckdb_for_every_customer(spark, data, request):
    tx = request.getfixturevalue(f"cdnow_{data}")
    duck = calibration_holdout(tx, calibration_end=CAL_END, holdout_end=HOLD_END)
    split = calibration_holdout(
        _spark.read_transactions(tx, spark), calibration_end=CAL_END, holdout_end=HOLD_END
    )
    assert _spark.is_spark_dataframe(split.calibration)
    _assert_same_summary(split.calibration, duck.calibration, SUMMARY_COLUMNS)
    _assert_same_summary(split.holdout, duck.holdout, HOLDOUT_COLUMNS)
    assert split.metadata == duck.metadata
    assert _spark.summary_attrs(split.calibration)["time_unit"] == "W"


@pytest.mark.spark
def test_spark_summary_equals_duckdb_under_every_rule(spark):
    rng = np.random.default_rng(11)
    n = 5_000
    tx = pd.DataFrame(
        {
            "shopper": rng.integers(0, 400, n).astype(str),
            "when": pd.Timestamp("2021-01-01")
            + pd.to_timedelta(rng.integers(0, 400 * 86_400_000, n), unit="ms"),
            "paid": np.round(rng.normal(20, 15, n), 2),
        }
    )
    tx.loc[rng.choice(n, 50, replace=False), "paid"] = 0.0
    names = {"customer_id": "shopper", "date": "when", "amount": "paid"}
    sdf = _to_spark(spark, tx)
    for options in (
        {"negative_amounts": "net", "zero_amounts": "drop", "time_unit": "M"},
        {"negative_amounts": "drop", "merge_period": None, "time_unit": "D"},
        {"negative_amounts": "net", "merge_period": None, "observation_end": "2022-03-01"},
    ):
        duck = rfm_summary(tx, **names, **options)
        got = rfm_summary(sdf, **names, **options)
        _assert_same_summary(got, duck, SUMMARY_COLUMNS)
        assert _spark.summary_attrs(got)["time_unit"] == duck.attrs["time_unit"]


@pytest.mark.spark
def test_spark_reads_parquet_and_csv_files_like_duckdb(spark, cdnow_sample, tmp_path):
    parquet, csv = tmp_path / "tx.parquet", tmp_path / "tx.csv"
    cdnow_sample.to_parquet(parquet)
    cdnow_sample.assign(date=cdnow_sample["date"].dt.strftime("%Y%m%d")).to_csv(csv, index=False)
    expected = calibration_holdout(parquet, calibration_end=CAL_END)
    for path, options in ((parquet, {}), (csv, {"date_format": "%Y%m%d"})):
        got = calibration_holdout(
            _spark.read_transactions(str(path), spark), calibration_end=CAL_END, **options
        )
        _assert_same_summary(got.calibration, expected.calibration, SUMMARY_COLUMNS)
    with pytest.raises(ValidationError, match="does not exist"):
        _spark.read_transactions(str(tmp_path / "missing.parquet"), spark)


# --- bad input: the same rules and messages -----------------------------------------------------

GOOD = pd.DataFrame(
    {
        "customer_id": [1, 2, 3, 2],
        "date": pd.to_datetime(["2020-01-01", "2020-01-02", "2020-01-03", "2020-01-04"]),
        "amount": [10.0, 5.0, 7.0, 3.0],
    }
)


def _with(column, position, value, dtype=None):
    frame = GOOD.copy()
    if dtype is not None:
        frame[column] = frame[column].astype(dtype)
    frame.loc[position, column] = value
    return frame


BAD_INPUTS = {
    "missing column": (GOOD.drop(columns="amount"), {}),
    "unparsable date": (_with("date", 2, "not a date", object), {}),
    "missing date": (_with("date", 1, pd.NaT), {}),
    "missing id": (_with("customer_id", 3, None, "Int64"), {}),
    "non-numeric amount": (_with("amount", 1, "ten", object), {}),
    "NaN amount": (_with("amount", 2, np.nan), {}),
    "inf amount": (_with("amount", 0, np.inf), {}),
    "huge amount": (_with("amount", 1, -1e13), {"negative_amounts": "net"}),
    "negative amount": (_with("amount", 3, -2.0), {}),
    "after observation end": (GOOD, {"observation_end": "2020-01-02"}),
    "end before all data": (GOOD, {"observation_end": "2019-12-31"}),
    "bad end": (GOOD, {"observation_end": "someday"}),
    "empty": (GOOD.iloc[:0], {}),
    "bad time unit": (GOOD, {"time_unit": "month"}),
    "bad merge period": (GOOD, {"merge_period": "H"}),
    "bad zero rule": (GOOD, {"zero_amounts": "ignore"}),
    "bad negative rule": (GOOD, {"negative_amounts": "abs"}),
    "all dropped": (_with("amount", [0, 1, 2, 3], 0.0), {"zero_amounts": "drop"}),
}

SPLIT_CASES = [
    {"calibration_end": "2020-01-02", "holdout_end": "2020-01-03"},
    {"calibration_end": "2019-06-01"},
    {"calibration_end": "2020-01-03", "holdout_end": "2020-01-02"},
    {"calibration_end": "2020-01-05"},
    {"calibration_end": None},
]


def _message(call) -> str:
    with pytest.raises(ValidationError) as info:
        call()
    return str(info.value)


@pytest.mark.spark
def test_bad_transactions_get_the_same_message_in_spark(spark):
    for case, (frame, kwargs) in BAD_INPUTS.items():
        duck = _message(lambda frame=frame, kwargs=kwargs: rfm_summary(frame, **kwargs))
        sdf = _to_spark(spark, frame)
        got = _message(lambda sdf=sdf, kwargs=kwargs: rfm_summary(sdf, **kwargs))
        assert got == duck, case
    sdf = _to_spark(spark, GOOD)
    for kwargs in SPLIT_CASES:
        duck = _message(lambda kwargs=kwargs: calibration_holdout(GOOD, **kwargs))
        assert _message(lambda kwargs=kwargs: calibration_holdout(sdf, **kwargs)) == duck


@pytest.mark.spark
def test_first_offender_is_first_in_input_order_across_partitions(spark):
    rng = np.random.default_rng(5)
    n = 20_000
    tx = pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "date": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 365, n), "D"),
            "amount": rng.uniform(1, 10, n),
        }
    )
    tx.loc[[12_345, 15_000, 19_999], "amount"] = -1.0
    # four ordered slices: several partitions whatever Spark's default split, input order kept
    slices = [_to_spark(spark, tx.iloc[i : i + 5_000]) for i in range(0, n, 5_000)]
    sdf = functools.reduce(lambda left, right: left.union(right), slices)
    assert sdf.rdd.getNumPartitions() >= 4
    expected = _message(lambda: rfm_summary(tx))
    assert "3 of 20000 rows" in expected and "customer_id=12345" in expected
    assert _message(lambda: rfm_summary(sdf)) == expected


@pytest.mark.spark
def test_bad_summaries_get_the_same_message_in_spark(spark, duck_split):
    cal = duck_split.calibration.copy()
    cal.loc[[5, 9], "recency"] = cal.loc[[5, 9], "T"] + 1
    sdf = _to_spark(spark, cal.reset_index())
    expected = _message(lambda: models.BetaGeo().fit(cal))
    assert "2 of 2357 rows" in expected
    assert _message(lambda: models.BetaGeo().fit(sdf)) == expected
    fitted = models.BetaGeo().fit(duck_split.calibration)
    assert _message(lambda: fitted.p_alive(sdf)) == _message(lambda: fitted.p_alive(cal))
    with pytest.raises(ValidationError, match="return_draws=True is not available"):
        fitted.p_alive(_to_spark(spark, duck_split.calibration.reset_index()), return_draws=True)


# --- fit: patterns compressed in Spark ----------------------------------------------------------


@pytest.mark.spark
@pytest.mark.parametrize("model_class", [models.BetaGeo, models.ParetoNBD, models.ModifiedBetaGeo])
def test_fit_on_a_spark_summary_equals_the_pandas_fit(spark_split, duck_split, model_class):
    expected = model_class().fit(duck_split.calibration)
    fitted = model_class().fit(spark_split.calibration)
    np.testing.assert_allclose(fitted.params, expected.params, rtol=1e-8, atol=0)
    assert fitted.n_customers_ == expected.n_customers_ == 2357
    assert fitted.n_patterns_ == expected.n_patterns_
    assert fitted.time_unit_ == "W"
    np.testing.assert_allclose(fitted.log_likelihood_, expected.log_likelihood_, rtol=1e-12)


@pytest.mark.spark
def test_a_summary_is_grouped_into_patterns_once(spark_split, monkeypatch):
    cal = spark_split.calibration
    columns = ("frequency", "recency", "T")
    first = _spark.collect_patterns(cal, columns)

    def no_second_group_by(*args):
        raise AssertionError("grouped again")

    monkeypatch.setattr(cal, "groupBy", no_second_group_by)
    again = _spark.collect_patterns(cal, columns)
    pd.testing.assert_frame_equal(again, first)
    assert again.attrs == first.attrs
    again.iloc[0, 0] = -1  # a copy: the remembered patterns stay as collected
    pd.testing.assert_frame_equal(_spark.collect_patterns(cal, columns), first)
    derived = cal.where("frequency >= 0")  # any other frame is grouped on every call
    assert len(_spark.collect_patterns(derived, columns)) == len(first)


@pytest.mark.spark
def test_fit_skips_the_second_compression_and_equals_the_compressing_fit(spark_split, monkeypatch):
    # Spark's group-by already made CDNOW's (x, t_x, T) rows unique, so the fit uses them as
    # they are; fitting the same patterns through the pandas path (which compresses them
    # again) gives the same numbers, and the fit leaves the remembered patterns as collected.
    from models import _base

    cal = spark_split.calibration
    columns = ("frequency", "recency", "T")
    before = _spark.collect_patterns(cal, columns)
    expected = models.BetaGeo().fit(before, weights="clv_n_customers")

    def no_compression(*args):
        raise AssertionError("compressed again")

    monkeypatch.setattr(_base, "compress_patterns", no_compression)
    fitted = models.BetaGeo().fit(cal)
    np.testing.assert_allclose(fitted.params, expected.params, rtol=1e-12, atol=0)
    np.testing.assert_allclose(fitted.log_likelihood_, expected.log_likelihood_, rtol=1e-12)
    assert (fitted.n_patterns_, fitted.n_customers_) == (expected.n_patterns_, 2357)
    assert fitted.time_unit_ == expected.time_unit_ == "W"
    fitted.p_alive(cal).count()  # the prediction checks read them too
    pd.testing.assert_frame_equal(_spark.collect_patterns(cal, columns), before)
    shared = _spark.collect_patterns(cal, columns, copy=False)
    assert shared is _spark.collect_patterns(cal, columns, copy=False)
    assert _spark.collect_patterns(cal, columns) is not shared


@pytest.mark.spark
def test_a_weights_column_makes_the_fit_compress_again(spark, duck_split):
    # Rows unique in (frequency, recency, T, n) may repeat (frequency, recency, T): the fit
    # compresses them, and equals the pandas fit of the same weighted rows.
    cal = duck_split.calibration[["frequency", "recency", "T"]].copy()
    cal["n"] = np.where(np.arange(len(cal)) % 3 == 0, 2, 1)
    expected = models.BetaGeo().fit(cal, weights="n")
    fitted = models.BetaGeo().fit(_to_spark(spark, cal.reset_index()), weights="n")
    np.testing.assert_allclose(fitted.params, expected.params, rtol=1e-8, atol=0)
    assert fitted.n_patterns_ == expected.n_patterns_
    assert fitted.n_customers_ == expected.n_customers_ == cal["n"].sum()


def test_rows_count_as_unique_only_when_every_grouped_column_reaches_the_fit():
    from models._spark._scoring import _unique_by_grouping

    patterns = pd.DataFrame(
        {"frequency": [0, 1, 1], "recency": [0.0, 2.0, 3.0], "T": [4.0, 3.0, 3.0]}
    )
    columns = ("frequency", "recency", "T")
    arrays = {
        k: patterns[c].to_numpy(dtype=float)
        for k, c in zip(("x", "t_x", "T"), columns, strict=True)
    }
    assert _unique_by_grouping(arrays, patterns, columns)
    clipped = {**arrays, "t_x": np.minimum(arrays["t_x"], 2.5)}  # recency clipped to T
    assert not _unique_by_grouping(clipped, patterns, columns)
    weighted = patterns.assign(n=[1, 2, 3])  # a grouped column the fit does not see
    assert not _unique_by_grouping(arrays, weighted, (*columns, "n"))
    kept = {k: v[1:] for k, v in arrays.items()}  # rows left out (Gamma-Gamma)
    assert not _unique_by_grouping(kept, patterns, columns)
    huge = patterns.assign(frequency=np.array([0, 2**53 + 1, 2**53], dtype=np.int64))
    assert not _unique_by_grouping(  # int64 -> float64 could merge them
        {**arrays, "x": huge["frequency"].to_numpy(dtype=float)}, huge, columns
    )


@pytest.mark.spark
def test_gamma_gamma_fit_on_a_spark_summary_equals_the_pandas_fit(spark_split, duck_split):
    expected = models.GammaGamma().fit(duck_split.calibration)
    fitted = _spark.fit(models.GammaGamma(), spark_split.calibration)
    np.testing.assert_allclose(fitted.params, expected.params, rtol=1e-8, atol=0)
    assert fitted.n_excluded_ == expected.n_excluded_ == 1411


# --- predictions: mapInPandas over the library's own code ----------------------------------------


@pytest.fixture(scope="module")
def fitted(duck_split):
    cal = duck_split.calibration
    bg = models.BetaGeo().fit(cal).sample_laplace(200, random_seed=3)
    gg = models.GammaGamma().fit(cal).sample_laplace(200, random_seed=4)
    return bg, gg


def _assert_same(spark_result, pandas_result):
    got = _collect(spark_result)
    expected = pandas_result.to_frame() if isinstance(pandas_result, pd.Series) else pandas_result
    assert got.index.tolist() == expected.index.tolist()
    assert list(got.columns) == list(expected.columns)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.spark
def test_point_predictions_in_spark_equal_pandas(spark_split, duck_split, fitted):
    cal, scal = duck_split.calibration, spark_split.calibration
    bg = models.BetaGeo().fit(cal)
    _assert_same(bg.expected_purchases(39, scal), bg.expected_purchases(39, cal))
    _assert_same(bg.p_alive(scal), bg.p_alive(cal))
    _assert_same(
        bg.conditional_probability_of_purchases(2, 39, scal),
        bg.conditional_probability_of_purchases(2, 39, cal),
    )
    gg = fitted[1]
    _assert_same(
        gg.conditional_expected_average_spend(scal), gg.conditional_expected_average_spend(cal)
    )


@pytest.mark.spark
def test_scoring_runs_the_kernels_on_one_thread_per_task(spark_split, duck_split):
    # Executors run one task per core: inside a batch, the kernels' thread limit is 1.
    from models import _threads
    from models._spark import _scoring

    def threads_here(model, frame):
        return pd.Series(float(_threads.available()), index=frame.index)

    bg = models.BetaGeo().fit(duck_split.calibration)
    scored = _scoring.score(
        spark_split.calibration, ("frequency", "recency", "T"), [bg], threads_here, "threads"
    )
    values = _collect(scored)["threads"]
    assert len(values) == len(duck_split.calibration)
    assert set(values) == {1.0}


@pytest.mark.spark
def test_posterior_summaries_and_clv_in_spark_equal_pandas(spark_split, duck_split, fitted):
    cal, scal = duck_split.calibration, spark_split.calibration
    bg, gg = fitted
    _assert_same(
        bg.expected_purchases(39, scal, interval=0.9), bg.expected_purchases(39, cal, interval=0.9)
    )
    options = {"horizon": 52, "step": 13, "discount_rate": 0.1, "margin": 0.3, "interval": 0.8}
    _assert_same(
        models.customer_lifetime_value(bg, gg, scal, **options),
        models.customer_lifetime_value(bg, gg, cal, **options),
    )
    point_bg, point_gg = models.BetaGeo().fit(cal), models.GammaGamma().fit(cal)
    _assert_same(
        models.residual_lifetime_value(point_bg, point_gg, scal, discount_rate=0.1, n_nodes=16),
        models.residual_lifetime_value(point_bg, point_gg, cal, discount_rate=0.1, n_nodes=16),
    )
    with pytest.raises(ValidationError, match="margin must be"):
        models.customer_lifetime_value(bg, gg, scal, horizon=52, margin=-1)
