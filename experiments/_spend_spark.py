"""The Spark side of the spend check (``--engine spark``): columns, scoring, segment sums.

pyspark is imported only inside these functions, which are called only on Spark summaries.
What reaches the driver: the pandas copy of the summary (the report lists every customer,
as :mod:`experiments.compare_ltv` does), each customer's CLV mean and interval, and one
per-draw sum of CLV per segment and Spark partition.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from experiments._common import collect
from models import _spark, clv

#: pyspark 4 warns about pandas 3 when it builds a pandas UDF (as models._spark notes).
_PANDAS3_WARNING = "PySpark does not yet fully support pandas"
_CLV_COLUMNS = ("frequency", "recency", "T", "monetary_value")


def with_cohort(data):
    """Add ``cohort`` (first-purchase month, ``YYYY-MM``) and ``first_spend`` in Spark.

    ``first_spend`` is the total value less the repeat purchases' (``frequency`` x
    ``monetary_value``), the same arithmetic as the pandas path.
    """
    from pyspark.sql import functions as F

    frequency = F.col("frequency")
    repeat = frequency * F.when(frequency > 0, F.col("monetary_value")).otherwise(F.lit(0.0))
    return data.withColumn("cohort", F.date_format("first_purchase", "yyyy-MM")).withColumn(
        "first_spend", F.col("total_value") - repeat
    )


def local_copy(data) -> pd.DataFrame:
    """The Spark summary as pandas (for the report), with its attrs as the pandas path has them."""
    frame = collect(data)
    for key in ("observation_end", "calibration_end", "holdout_end"):
        if isinstance(frame.attrs.get(key), str):  # ISO text in the Spark column metadata
            frame.attrs[key] = pd.Timestamp(frame.attrs[key])
    return frame


def cohort(data, name: str):
    """The customers of one cohort (a filter, kept in Spark)."""
    from pyspark.sql import functions as F

    return data.where(F.col("cohort") == name)


def customer_clv(purchase, spend, data, interval: float, **options) -> pd.DataFrame:
    """Each customer's CLV mean, sd and interval over draws, scored in Spark, as pandas."""
    return collect(clv.customer_lifetime_value(purchase, spend, data, interval=interval, **options))


def segment_flags(summary: pd.DataFrame, segments: pd.DataFrame) -> dict:
    """Spark column expressions reproducing :func:`models.evaluate.segment_customers`.

    The two data-dependent cut-offs come from the pandas segments: the smallest total value
    in the top decile, and the lapse gap (``attrs["lapsed_after"]``).
    """
    from pyspark.sql import functions as F

    x, t_x, T = F.col("frequency"), F.col("recency"), F.col("T")
    threshold = float(summary.loc[segments["top_decile"], "total_value"].min())
    gap = float(segments.attrs["lapsed_after"])
    return {
        "all": F.lit(True),
        "one_time": x == 0,
        "repeat": x > 0,
        "top_decile": F.col("total_value") >= F.lit(threshold),
        "lapsed": (x > 0) & ((T - t_x) > F.lit(gap)),
    }


def segment_draw_means(purchase, spend, data, flags: dict, **options) -> dict:
    """Per segment: (customers, mean CLV over its customers for each parameter draw).

    Each Spark partition computes its customers' CLV draws with the pandas code (the models
    broadcast) and adds them up per segment; the driver adds the partitions' sums. The
    customer-level draws never leave the workers.
    """
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    id_name = _spark.customer_id_column(data)
    attrs = _spark.summary_attrs(data)
    names = list(flags)
    selected = data.select(
        F.col(id_name),
        *_CLV_COLUMNS,
        *[flag.alias(f"in_{i}") for i, flag in enumerate(flags.values())],
    )
    copies = tuple(type(model).from_dict(model.to_dict()) for model in (purchase, spend))
    shared = data.sparkSession.sparkContext.broadcast(copies)
    schema = T.StructType(
        [
            T.StructField("segment", T.StringType()),
            T.StructField("customers", T.LongType()),
            T.StructField("sums", T.ArrayType(T.DoubleType())),
        ]
    )

    def on_partition(batches):
        p_model, s_model = shared.value
        counts, sums = np.zeros(len(names), dtype=np.int64), None
        for batch in batches:
            if batch.empty:
                continue
            frame = batch.set_index(id_name)
            frame.attrs.update(attrs)
            draws = np.asarray(
                clv.customer_lifetime_value(
                    p_model, s_model, frame[list(_CLV_COLUMNS)], return_draws=True, **options
                )
            ).reshape(-1, len(frame))
            if sums is None:
                sums = np.zeros((len(names), draws.shape[0]))
            for i in range(len(names)):
                mask = frame[f"in_{i}"].to_numpy(dtype=bool)
                counts[i] += int(mask.sum())
                sums[i] += draws[:, mask].sum(axis=1)
        if sums is not None:
            yield pd.DataFrame({"segment": names, "customers": counts, "sums": list(sums)})

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=_PANDAS3_WARNING, category=FutureWarning)
        rows = selected.mapInPandas(on_partition, schema).toArrow().to_pandas()
    out = {}
    for name in names:
        part = rows[rows["segment"] == name]
        count = int(part["customers"].sum())
        total = np.sum([np.asarray(s, dtype=float) for s in part["sums"]], axis=0)
        out[name] = (count, total / count if count else np.full(np.shape(total), np.nan))
    return out
