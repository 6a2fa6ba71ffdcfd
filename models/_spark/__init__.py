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
  customer counts, and the unique patterns with their counts (far fewer than customers and
  bounded by the time resolution: ~1,000 for CDNOW in weeks; 2.07M for 10M customers in days
  over 1.5 years). The driver keeps one copy of them (40 bytes each: three values, a count,
  a first id) and peaks at about 125 bytes each while collecting, checking and fitting
  (measured from 657k to 2.07M patterns). Never a customer-level frame.
- *Workers*: everything else. On a cluster the same code runs unchanged, provided this package
  is installed on the workers (predictions import it there).

pyspark is optional (``pip install "clv-models[spark]"``) and imported only here, only when a
Spark object is given or a session is asked for: the pandas path never imports it.

Spark summaries carry their metadata (time unit, ends, rules) in the column metadata of the
schema, and mark the customer id column, since a Spark DataFrame has no index and no attrs.
The aggregation is persisted (memory, then disk) so fitting and scoring do not redo it;
``spark.catalog.clearCache()`` (or stopping the session) releases it.

The code lives in private submodules; import from here (``from models import _spark``), and
keep every ``pyspark`` import inside a function:

- :mod:`models._spark._session`: engine detection, sessions and :func:`read_transactions`;
- :mod:`models._spark._engine`: :class:`SparkEngine` (transactions -> summaries) and
  :func:`java_pattern`;
- :mod:`models._spark._frames`: summary frames and their metadata, and the unique patterns
  (:func:`collect_patterns`, :func:`check_patterns`);
- :mod:`models._spark._scoring`: :func:`fit` and the predictions by ``mapInPandas``
  (:func:`score`, :func:`per_customer`, :func:`lifetime_value`).
"""

from models._spark._engine import SparkEngine, java_pattern
from models._spark._frames import (
    METADATA_KEY,
    check_patterns,
    collect_patterns,
    customer_id_column,
    finish_summaries,
    model_columns,
    summary_attrs,
    summary_frame,
)
from models._spark._scoring import fit, lifetime_value, per_customer, score
from models._spark._session import (
    active_session,
    active_session_or_none,
    is_spark_dataframe,
    local_session,
    read_transactions,
    require_java,
    require_pyspark,
    stop_session,
)

__all__ = [
    "METADATA_KEY",
    "SparkEngine",
    "active_session",
    "active_session_or_none",
    "check_patterns",
    "collect_patterns",
    "customer_id_column",
    "finish_summaries",
    "fit",
    "is_spark_dataframe",
    "java_pattern",
    "lifetime_value",
    "local_session",
    "model_columns",
    "per_customer",
    "read_transactions",
    "require_java",
    "require_pyspark",
    "score",
    "stop_session",
    "summary_attrs",
    "summary_frame",
]
