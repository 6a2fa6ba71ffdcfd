"""The Apache Spark engine: the same calls on Spark DataFrames, with the work kept in Spark.

The input picks the engine. Given a Spark DataFrame, :func:`models.rfm_summary` and
:func:`models.calibration_holdout` run the shared SQL of :mod:`models._data_sql` in Spark and
return Spark DataFrames; ``Model().fit(spark_summary)`` groups customers into unique
``(x, t_x, T)`` patterns with counts in Spark and collects only those; every per-customer
prediction on a Spark summary is a Spark DataFrame computed by ``mapInPandas`` with the
library's own pandas code, on each batch of customers, with the fitted draws broadcast.

What moves where:

- *Shuffled*: the transactions, once, by customer (``DISTRIBUTE BY customer_id``); both
  aggregations (merge periods, then customers) then run inside each partition.
- *Reaches the driver*: one row of rule counts, the first offending row of a broken rule, two
  customer counts, and the unique patterns with their counts (thousands, however many
  customers). Never a customer-level frame.
- *Workers*: everything else. On a cluster the same code runs unchanged, provided this package
  is installed on the workers (predictions import it there).

pyspark is optional (``pip install "clv-models[spark]"``) and imported only here, only when a
Spark object is given or a session is asked for: the pandas path never imports it.

Spark summaries carry their metadata (time unit, ends, rules) in the column metadata of the
schema, and mark the customer id column, since a Spark DataFrame has no index and no attrs.
The aggregation is persisted (memory, then disk) so fitting and scoring do not redo it;
``spark.catalog.clearCache()`` (or stopping the session) releases it.
"""

from __future__ import annotations

import os
import shutil
import sys
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from models import _data_sql as sql
from models import _validation as v

#: Column-metadata key under which summaries keep their attributes.
METADATA_KEY = "clv_models"
_COUNT = "clv_n_customers"
_FIRST = "clv_first_id"
_WEIGHT = "clv_weight"
_EPOCH_NTZ = "TIMESTAMP_NTZ '1970-01-01 00:00:00'"
_PANDAS3_WARNING = "PySpark does not yet fully support pandas"
#: strptime directives and their Java (Spark) datetime patterns.
_JAVA_PATTERNS = {
    "Y": "yyyy",
    "m": "MM",
    "d": "dd",
    "H": "HH",
    "M": "mm",
    "S": "ss",
    "f": "SSSSSS",
    "y": "yy",
    "b": "MMM",
    "B": "MMMM",
    "j": "DDD",
    "I": "hh",
    "p": "a",
}


# --- engine detection and sessions ------------------------------------------------------------


def is_spark_dataframe(obj) -> bool:
    """Whether ``obj`` is a Spark DataFrame (classic or Connect), without importing pyspark.

    A Spark DataFrame can only exist once pyspark is imported, so when it is not in
    ``sys.modules`` the answer is no and nothing is imported.
    """
    module = sys.modules.get("pyspark.sql")
    if module is None:
        return False
    classes = [module.DataFrame]
    connect = sys.modules.get("pyspark.sql.connect.dataframe")
    if connect is not None:
        classes.append(connect.DataFrame)
    return isinstance(obj, tuple(classes))


def require_pyspark() -> None:
    """Raise an ImportError naming pyspark and the install command when it is missing."""
    try:
        import pyspark  # noqa: F401
    except ImportError as error:
        raise v.spark_not_installed() from error


def require_java() -> None:
    """Raise when no Java runtime is found (JAVA_HOME or ``java`` on PATH)."""
    home = os.environ.get("JAVA_HOME")
    if home and os.path.exists(os.path.join(home, "bin", "java")):
        return
    if shutil.which("java") is None:
        raise v.java_not_found()


def active_session():
    """The active SparkSession, or an error saying how to start one."""
    require_pyspark()
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is None:
        raise v.no_spark_session()
    return session


def active_session_or_none():
    """The active SparkSession, or None (pyspark must be installed)."""
    require_pyspark()
    from pyspark.sql import SparkSession

    return SparkSession.getActiveSession()


def local_session(
    cores: int = 2,
    *,
    shuffle_partitions: int | None = None,
    driver_memory: str | None = None,
    config: Mapping[str, str] | None = None,
    app_name: str = "clv-models",
):
    """Start (or return the running) local-mode SparkSession, set up for this library.

    Workers run the current interpreter (``PYSPARK_PYTHON``, unless already set), the web UI
    and console progress bars are off, shuffles use ``shuffle_partitions`` partitions
    (default ``2 x cores``), the session time zone is UTC and Arrow transfers are on.
    """
    require_pyspark()
    require_java()
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    settings = {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.shuffle.partitions": str(shuffle_partitions or 2 * cores),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        **({"spark.driver.memory": driver_memory} if driver_memory else {}),
        **dict(config or {}),
    }
    builder = SparkSession.builder.master(f"local[{cores}]").appName(app_name)
    for key, value in settings.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def stop_session(session) -> None:
    """Stop ``session`` and shut its JVM down (local mode), leaving no process behind."""
    from pyspark import SparkContext

    session.stop()
    gateway = SparkContext._gateway
    if gateway is None:
        return
    process = getattr(gateway, "proc", None)
    gateway.shutdown()
    if process is not None:  # the JVM exits when its stdin closes
        process.stdin.close()
        process.wait(timeout=120)
    SparkContext._gateway = None
    SparkContext._jvm = None


def read_transactions(source, session=None, *, date_column: str | None = None):
    """A Spark DataFrame of transactions from a Parquet/CSV path, a table name or a pandas frame.

    CSV columns are typed by Spark's inference (one extra pass), so unparsable dates or
    amounts stay text and are reported as rows by the checks. A pandas frame is sent through
    Arrow, its naive timestamps taken as UTC (as DuckDB does).
    """
    session = session or active_session()
    if isinstance(source, pd.DataFrame):
        table = pa.Table.from_pandas(source, preserve_index=False)
        for i, field in enumerate(table.schema):
            if pa.types.is_timestamp(field.type) and field.type.tz is None:
                table = table.set_column(
                    i, field.name, table.column(i).cast(pa.timestamp("us", tz="UTC"))
                )
        return session.createDataFrame(table)
    if not isinstance(source, str | os.PathLike):
        raise v.unsupported_transactions(source)
    path = os.fspath(source)
    lower = path.lower()
    if not lower.endswith((".parquet", ".pq", ".csv", ".csv.gz", ".tsv", ".txt")):
        if os.sep not in path and session.catalog.tableExists(path):
            return session.table(path)
        if not os.path.isdir(path):
            raise v.unsupported_transactions(source)
    elif "*" not in path and not os.path.exists(path):
        raise v.missing_file(path)
    if lower.endswith((".csv", ".csv.gz", ".tsv", ".txt")):
        separator = "\t" if lower.endswith(".tsv") else ","
        return session.read.csv(path, header=True, inferSchema=True, sep=separator)
    return session.read.parquet(path)


# --- transactions -> summaries ---------------------------------------------------------------


def _quote(name: str) -> str:
    return "`" + str(name).replace("`", "``") + "`"


def _string_literal(text: str) -> str:
    return "'" + str(text).replace("\\", "\\\\").replace("'", "\\'") + "'"


def java_pattern(date_format: str) -> str:
    """Translate a ``strptime`` format to a Spark (Java) datetime pattern.

    >>> java_pattern("%Y%m%d")
    'yyyyMMdd'
    >>> java_pattern("%Y-%m-%dT%H:%M")
    "yyyy-MM-dd'T'HH:mm"
    """
    out, i = [], 0
    while i < len(date_format):
        char = date_format[i]
        if char == "%" and i + 1 < len(date_format):
            code = date_format[i + 1]
            if code == "%":
                out.append("%")
            elif code in _JAVA_PATTERNS:
                out.append(_JAVA_PATTERNS[code])
            else:
                raise v.spark_date_format("%" + code, date_format)
            i += 2
            continue
        out.append(f"'{char}'" if char.isalpha() else ("''" if char == "'" else char))
        i += 1
    return "".join(out)


class SparkEngine:
    """The caller's Spark DataFrame of transactions, checked and summarised in Spark.

    Same interface as the DuckDB engine of :mod:`models.data` (``validate``, ``summary``,
    ``n_rows``, ``first_period``); queries come from :mod:`models._data_sql` with
    ``dialect="spark"``.
    """

    dialect = "spark"
    source = "{raw}"

    def __init__(self, data, columns: Mapping[str, str], merge_period, date_format) -> None:
        require_pyspark()
        from pyspark.sql import types as T

        self.data = data
        self.session = data.sparkSession
        self.columns = dict(columns)
        self.merge_period = merge_period
        types = {field.name: field.dataType for field in data.schema.fields}
        missing = [c for c in self.columns.values() if c not in types]
        if missing:
            raise v.transactions_missing_columns(missing, list(types))
        id_, date, amount = (_quote(self.columns[k]) for k in ("customer_id", "date", "amount"))
        kind = types[self.columns["date"]]
        if isinstance(kind, T.TimestampType):  # an instant: its UTC wall-clock time
            ts = f"timestampadd(MICROSECOND, unix_micros({date}), {_EPOCH_NTZ})"
        elif isinstance(kind, T.TimestampNTZType):
            ts = date
        elif isinstance(kind, T.DateType):
            ts = f"CAST({date} AS TIMESTAMP_NTZ)"
        elif date_format is not None:
            pattern = _string_literal(java_pattern(date_format))
            ts = f"CAST(try_to_timestamp(CAST({date} AS STRING), {pattern}) AS TIMESTAMP_NTZ)"
        else:
            ts = f"try_cast(CAST({date} AS STRING) AS TIMESTAMP_NTZ)"
        self.expressions = {
            "id": id_,
            "date": date,
            "ts": ts,
            "amount": f"try_cast({amount} AS DOUBLE)",
        }
        self.id_field = data.schema[self.columns["customer_id"]]
        self.clean = data.selectExpr(
            f"{id_} AS customer_id", f"{ts} AS ts", f"{self.expressions['amount']} AS amount"
        )

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        return None

    def quote(self, name: str) -> str:
        """Quote a column name for Spark SQL."""
        return _quote(name)

    def one_row(self, query: str) -> dict[str, Any]:
        """Run ``query`` over the raw input; its only row as a dict (one small collect)."""
        row = self.session.sql(query, raw=self.data).first()
        return {} if row is None else row.asDict()

    def summary(
        self, end_period, time_unit, merge_period, zero_amounts, negative_amounts, *, holdout=True
    ):
        """The shared summary SQL, one shuffle by customer; a lazy Spark DataFrame."""
        from models._units import TIME_UNITS

        query = sql.summary_sql(
            "(SELECT * FROM {tx} DISTRIBUTE BY customer_id)",
            end=end_period,
            unit_days=TIME_UNITS[time_unit],
            merge_period=merge_period,
            zero_amounts=zero_amounts,
            negative_amounts=negative_amounts,
            dialect="spark",
            order_by_id=False,
            holdout=holdout,
            **self.settings,
        )
        return self.session.sql(query, tx=self.clean)


def _json_ready(attrs: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in attrs.items():
        if isinstance(value, pd.Timestamp):
            value = value.isoformat()
        elif isinstance(value, np.generic):
            value = value.item()
        out[key] = value
    return out


def _with_metadata(frame, id_name: str, columns: Sequence[str], attrs: Mapping[str, Any]):
    """Select ``customer_id`` (renamed ``id_name``) and ``columns``, attrs in the metadata."""
    from pyspark.sql import functions as F

    meta = _json_ready(attrs)
    selected = [
        F.col("customer_id").alias(id_name, metadata={METADATA_KEY: {**meta, "role": "id"}})
    ]
    selected += [F.col(c).alias(c, metadata={METADATA_KEY: meta}) for c in columns]
    return frame.select(*selected)


def finish_summaries(frame):
    """Persist the summary, count its customers (one aggregation) and split its columns.

    Returns ``(customers, n_customers, n_new)`` where ``customers`` is the persisted frame of
    customers with a calibration purchase (internal column names).
    """
    from pyspark import StorageLevel

    frame = frame.persist(StorageLevel.MEMORY_AND_DISK)
    counts = frame.selectExpr(
        "count_if(n_transactions > 0) AS known", "count_if(n_transactions = 0) AS new"
    ).first()
    return frame.where("n_transactions > 0"), int(counts["known"] or 0), int(counts["new"] or 0)


def summary_frame(customers, engine: SparkEngine, columns, attrs):
    """The public Spark summary: the caller's id column, then ``columns``, attrs attached.

    The frame keeps the patterns :func:`collect_patterns` collects from it (its rows are
    persisted, so they do not change), so a fit and the predictions that follow on the same
    summary group its customers once.
    """
    frame = _with_metadata(customers, engine.columns["customer_id"], columns, attrs)
    frame._clv_patterns = {}
    return frame


# --- Spark summaries -> patterns ---------------------------------------------------------------


def summary_attrs(data) -> dict[str, Any]:
    """The attributes a Spark summary carries in its column metadata (empty if none)."""
    for field in data.schema.fields:
        meta = field.metadata.get(METADATA_KEY)
        if meta:
            return {k: v_ for k, v_ in meta.items() if k != "role"}
    return {}


def customer_id_column(data) -> str:
    """The customer id column of a Spark summary: the marked one, else ``customer_id``."""
    for field in data.schema.fields:
        if field.metadata.get(METADATA_KEY, {}).get("role") == "id":
            return field.name
    if "customer_id" in data.columns:
        return "customer_id"
    raise v.spark_customer_id_unknown(data.columns)


def model_columns(model) -> tuple[str, ...]:
    """Summary columns a model's fit and predictions read."""
    from models.bgbb import BetaGeoBetaBinom
    from models.gamma_gamma import GammaGamma

    if isinstance(model, GammaGamma):
        return ("frequency", "monetary_value")
    if isinstance(model, BetaGeoBetaBinom):
        return ("frequency", "recency", "periods")
    return ("frequency", "recency", "T")


def collect_patterns(data, columns: Sequence[str]) -> pd.DataFrame:
    """Unique rows of ``columns`` with customer counts and first (smallest) id, from Spark.

    The group-by runs in Spark; only the unique patterns reach the driver (through Arrow).
    The result is indexed by each pattern's first customer id, sorted by it (the order in
    which the pandas path meets patterns in an id-sorted summary), with the count in
    ``clv_n_customers`` and the summary's attrs. Summaries made by this library remember
    their patterns (:func:`summary_frame`); other frames are grouped on every call.
    """
    from pyspark.sql import functions as F

    v.require_columns(data, columns)
    id_name = customer_id_column(data)
    keys = tuple(dict.fromkeys(columns))
    known = getattr(data, "_clv_patterns", None)
    if known is not None and keys in known:
        return known[keys].copy(deep=False)  # callers drop or add columns, never edit values
    grouped = data.groupBy(*[F.col(_quote(c)) for c in keys]).agg(
        F.count(F.lit(1)).alias(_COUNT), F.min(F.col(_quote(id_name))).alias(_FIRST)
    )
    frame = grouped.toArrow().to_pandas()
    frame = frame.sort_values(_FIRST, kind="stable").set_index(_FIRST)
    frame.index.name = id_name
    frame.attrs.update(summary_attrs(data))
    if known is not None:
        known[keys] = frame
        return frame.copy(deep=False)
    return frame


def check_patterns(patterns: pd.DataFrame, counts: np.ndarray, check: Callable) -> None:
    """Run the pandas check ``check(frame)`` on patterns and restate errors per customer.

    Rules are row-wise, so the patterns pass exactly when every customer does. When one is
    broken, the error names how many *customers* break it, and the first of them (smallest
    id), with the same wording as the pandas path.
    """
    try:
        check(patterns)
    except v.ValidationError as error:
        message = str(error)
        if "rows break this" not in message:
            raise
        prefix = message.split("; ", 1)[0]
        bad = np.zeros(len(patterns), dtype=bool)
        first = None
        for i in range(len(patterns)):
            try:
                check(patterns.iloc[[i]])
            except v.ValidationError as single:
                if str(single).split("; ", 1)[0] == prefix:
                    bad[i] = True
                    first = single if first is None else first
        if first is None:  # pragma: no cover - a rule that is not row-wise
            raise
        raise v.recount_rows(first, int(counts[bad].sum()), int(counts.sum())) from None


def fit(model, data, method: str = "mle", *, weights: str | None = None, **kwargs):
    """Fit ``model`` to a Spark summary: compress in Spark, fit the patterns on the driver."""
    columns = model_columns(model) + ((weights,) if weights else ())
    patterns = collect_patterns(data, columns)
    counts = patterns.pop(_COUNT).to_numpy(dtype=float)

    def check(frame):
        model._fit_arrays(frame)
        v.validate_positive_integer_weights(frame, weights)

    check_patterns(patterns, counts, check)
    extra = patterns[weights].to_numpy(dtype=float) if weights else 1.0
    patterns[_WEIGHT] = counts * extra
    return model.fit(patterns, method, weights=_WEIGHT, **kwargs)


# --- predictions -------------------------------------------------------------------------------


def _light_copy(model):
    """The fitted model without its training artefacts (draws and settings only)."""
    return type(model).from_dict(model.to_dict())


def score(data, columns: Sequence[str], fitted: Sequence, call: Callable, name: str):
    """Per-customer results of ``call(*models, pandas_batch)`` as a Spark DataFrame.

    ``data`` is checked first (unique patterns, in Spark) with every model's prediction
    checks, and ``call`` is tried once on the driver on one pattern (so argument errors are
    raised here, not in a worker). Then each worker batch of customers becomes a pandas frame
    indexed by id, with the summary's attrs, and goes through exactly the pandas code path.
    """
    from pyspark.sql import types as T

    id_name = customer_id_column(data)
    patterns = collect_patterns(data, columns)
    counts = patterns.pop(_COUNT).to_numpy(dtype=float)

    def check(frame):
        for model in fitted:
            model._prediction_arrays(frame)

    check_patterns(patterns, counts, check)
    copies = tuple(_light_copy(model) for model in fitted)
    trial = call(*copies, patterns.iloc[:1])
    names = [name] if isinstance(trial, pd.Series) else [str(c) for c in trial.columns]
    schema = T.StructType(
        [data.schema[id_name]] + [T.StructField(n, T.DoubleType(), True) for n in names]
    )
    shared = data.sparkSession.sparkContext.broadcast(copies)
    attrs = summary_attrs(data)

    def on_batches(batches):
        models = shared.value
        for batch in batches:
            if batch.empty:
                continue
            frame = batch.set_index(id_name)
            frame.attrs.update(attrs)
            result = call(*models, frame)
            result = result.to_frame(name) if isinstance(result, pd.Series) else result
            result.columns = names
            yield result.astype(float).reset_index()

    selected = data.select(*[_quote(c) for c in dict.fromkeys([id_name, *columns])])
    with warnings.catch_warnings():  # pyspark 4 warns about pandas 3 when building the UDF
        warnings.filterwarnings("ignore", message=_PANDAS3_WARNING, category=FutureWarning)
        return selected.mapInPandas(on_batches, schema)


def per_customer(
    model,
    function: Callable,
    data,
    name: str,
    *,
    interval: float | None = None,
    return_draws: bool = False,
    arrays=None,
    **kwargs,
):
    """Spark version of :meth:`models._base.BaseModel._per_customer`."""
    model._require_fitted()
    model._require_interval_draws(interval)
    if return_draws:
        raise v.spark_return_draws()

    def call(copy, frame):
        return copy._per_customer(function, frame, name, interval=interval, **kwargs)

    return score(data, model_columns(model), [model], call, name)


def lifetime_value(function: Callable, purchase_model, spend_model, data, name: str, **kwargs):
    """Spark version of :func:`models.clv.customer_lifetime_value` and its sibling."""
    if kwargs.get("return_draws"):
        raise v.spark_return_draws()
    columns = model_columns(purchase_model) + model_columns(spend_model)

    def call(purchase, spend, frame):
        return function(purchase, spend, frame, **kwargs)

    return score(data, columns, [purchase_model, spend_model], call, name)
