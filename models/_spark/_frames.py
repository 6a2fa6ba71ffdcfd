"""Spark summary frames (metadata, customer id) and their unique patterns with counts.

Part of :mod:`models._spark`; pyspark is imported inside the functions only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from models import _validation as v
from models._spark._engine import SparkEngine, _quote

#: Column-metadata key under which summaries keep their attributes.
METADATA_KEY = "clv_models"
_COUNT = "clv_n_customers"
_FIRST = "clv_first_id"


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


def collect_patterns(data, columns: Sequence[str], *, copy: bool = True) -> pd.DataFrame:
    """Unique rows of ``columns`` with customer counts and first (smallest) id, from Spark.

    The group-by runs in Spark; only the unique patterns reach the driver (through Arrow).
    The result is indexed by each pattern's first customer id, sorted by it (the order in
    which the pandas path meets patterns in an id-sorted summary), with the count in
    ``clv_n_customers`` and the summary's attrs. Summaries made by this library remember
    their patterns (:func:`summary_frame`); other frames are grouped on every call.

    The caller owns the result (a deep copy of remembered patterns, whatever pandas'
    copy-on-write), unless ``copy=False``: then remembered patterns come as they are, and
    the caller must only read them (the fit and the prediction checks do, so the driver
    holds one copy of the patterns, not two).
    """
    v.require_columns(data, columns)
    keys = tuple(dict.fromkeys(columns))
    known = getattr(data, "_clv_patterns", None)
    if known is None:  # grouped for this call only; still read-only Arrow memory
        patterns = _group_patterns(data, keys)
        return patterns.copy() if copy else patterns
    if keys not in known:
        known[keys] = _group_patterns(data, keys)
    return known[keys].copy() if copy else known[keys]


def _group_patterns(data, keys: tuple[str, ...]) -> pd.DataFrame:
    """Group in Spark, collect through Arrow, sort by first id: one copy of the patterns kept.

    The sort runs in Arrow and the pandas frame is a zero-copy view of the sorted table
    (``split_blocks``), so the driver peaks at two copies (collected and sorted) for an
    instant and keeps one; ``DataFrame.set_index`` would add another.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    from pyspark.sql import functions as F

    id_name = customer_id_column(data)
    grouped = data.groupBy(*[F.col(_quote(c)) for c in keys]).agg(
        F.count(F.lit(1)).alias(_COUNT), F.min(F.col(_quote(id_name))).alias(_FIRST)
    )
    table = grouped.toArrow()
    table = table.take(pc.sort_indices(table[_FIRST]))  # first ids are unique
    pa.default_memory_pool().release_unused()  # the sort's temporaries, back to the system
    index = pd.Index(table[_FIRST].to_pandas(), name=id_name)
    frame = table.drop_columns([_FIRST]).to_pandas(split_blocks=True)
    frame.index = index
    frame.attrs.update(summary_attrs(data))
    return frame


def check_patterns(patterns: pd.DataFrame, counts: np.ndarray | None, check: Callable):
    """Run the pandas check ``check(frame)`` on patterns and restate errors per customer.

    Rules are row-wise, so the patterns pass exactly when every customer does; the result
    of ``check`` is then returned. When one is broken, the error names how many *customers*
    break it, and the first of them (smallest id), with the same wording as the pandas path:
    the rule's row mask comes with the error (``rows``), and the first offending pattern
    (patterns are sorted by first id) is checked alone for the message, so a broken rule
    costs two checks whatever the number of patterns. ``counts`` are the customers of each
    pattern (``None``: the ``clv_n_customers`` column, read only on that error path).
    """
    try:
        return check(patterns)
    except v.ValidationError as error:
        bad = getattr(error, "rows", None)
        if bad is None or len(bad) != len(patterns):
            raise
        if counts is None:
            counts = patterns[_COUNT].to_numpy(dtype=float)
        try:
            check(patterns.iloc[[int(np.flatnonzero(bad)[0])]])
        except v.ValidationError as single:
            # The first offender of the first broken rule breaks no earlier rule.
            raise v.recount_rows(single, int(counts[bad].sum()), int(counts.sum())) from None
        raise  # pragma: no cover - a rule that is not row-wise
