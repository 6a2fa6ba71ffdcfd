"""Fitting on a Spark summary, and per-customer predictions by ``mapInPandas``.

Part of :mod:`models._spark`; pyspark is imported inside the functions only.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from models import _threads
from models import _validation as v
from models._spark._engine import _quote
from models._spark._frames import (
    _COUNT,
    check_patterns,
    collect_patterns,
    customer_id_column,
    model_columns,
    summary_attrs,
)

_PANDAS3_WARNING = "PySpark does not yet fully support pandas"


def fit(model, data, method: str = "mle", *, weights: str | None = None, **kwargs):
    """Fit ``model`` to a Spark summary: compress in Spark, fit the patterns on the driver.

    The same checks and fit as ``model.fit(patterns, weights=...)`` on the collected
    patterns (:meth:`models._base.BaseModel._fit_rows`), without its copies: the patterns
    are read where they are remembered, checked once, and not compressed again when the
    group-by already made the model's rows unique (:func:`_unique_by_grouping`).
    """
    columns = model_columns(model) + ((weights,) if weights else ())
    patterns = collect_patterns(data, columns, copy=False)  # read only: never modified here
    counts = patterns[_COUNT].to_numpy(dtype=float)

    def check(frame):
        arrays = model._fit_arrays(frame)
        return arrays, (v.validate_positive_integer_weights(frame, weights) if weights else 1.0)

    arrays, extra = check_patterns(patterns, counts, check)
    return model._fit_rows(
        arrays,
        counts * extra if weights else counts,
        patterns.attrs.get("time_unit"),
        method,
        rows_unique=lambda selected: _unique_by_grouping(selected, patterns, columns),
        **kwargs,
    )


def _unique_by_grouping(arrays, patterns: pd.DataFrame, columns: Sequence[str]) -> bool:
    """Whether the fit's rows are the group-by's rows, hence unique: nothing to compress.

    True when every grouped column reaches the fit unchanged, as one of its float64 arrays,
    value for value (so two rows equal in the arrays are equal in every grouped column).
    Otherwise (a weights column, recency clipped to ``T``, rows left out by the model, a
    conversion that could merge values) :func:`models._patterns.compress_patterns` decides.
    """
    if any(
        not isinstance(a, np.ndarray) or a.dtype != np.float64 or a.shape != (len(patterns),)
        for a in arrays.values()
    ):
        return False
    for column in dict.fromkeys(columns):
        values = patterns[column].to_numpy()
        if values.dtype.kind in "iu" and values.size:  # float64 holds them one to one
            exact = -(2**53) <= values.min() and values.max() <= 2**53
        else:
            exact = values.dtype.kind in "fiu"
        if not exact:
            return False
        if not any(np.array_equal(a, values) for a in arrays.values()):
            return False
    return True


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
    patterns = collect_patterns(data, columns, copy=False)  # read only: never modified here

    def check(frame):
        for model in fitted:
            model._prediction_arrays(frame)

    check_patterns(patterns, None, check)
    copies = tuple(_light_copy(model) for model in fitted)
    trial = call(*copies, patterns.iloc[:1].drop(columns=_COUNT))  # a copy, as the workers get
    del patterns
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
            with _threads.limited(1):  # Spark already runs one task per core
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
