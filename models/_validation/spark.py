"""Messages of the Spark engine (:mod:`models._spark`).

What to do when pyspark, a Java runtime or a SparkSession is missing, when a request cannot
run on a Spark DataFrame (the full draw array, an unknown id column, an untranslatable date
format), and :func:`recount_rows`, which restates a one-row error for the counts of rows
checked as unique patterns.
"""

from __future__ import annotations

from models._validation._core import ValidationError

SPARK_INSTALL = 'pip install "clv-models[spark]" (or: pip install pyspark)'


def spark_not_installed() -> ImportError:
    """Error for a Spark entry point used without pyspark installed."""
    return ImportError(
        f"the Spark engine needs pyspark, which is not installed: {SPARK_INSTALL}. The pandas / "
        "DuckDB path works without it."
    )


def java_not_found() -> RuntimeError:
    """Error for starting Spark without a Java runtime."""
    return RuntimeError(
        "the Spark engine needs a Java runtime (17 or 21) and none was found (no JAVA_HOME, no "
        "`java` on PATH): install one, e.g. `apt-get install openjdk-17-jre-headless` or "
        "`conda install -c conda-forge openjdk=17`, and set JAVA_HOME. "
        f"pyspark itself comes with {SPARK_INSTALL}."
    )


def no_spark_session() -> RuntimeError:
    """Error for a Spark entry point with no active SparkSession."""
    return RuntimeError(
        "there is no active SparkSession to run on. Start one, e.g. "
        "`spark = models.data.spark_session(cores=2)` for local mode, or "
        "`SparkSession.builder.master('local[2]').getOrCreate()` / your cluster's usual "
        "session; the library then uses it."
    )


def spark_return_draws() -> ValidationError:
    """Error for asking a Spark prediction for the full draw array."""
    return ValidationError(
        "return_draws=True is not available on a Spark DataFrame: the (chain, draw, customer) "
        "array of millions of customers would not fit on the driver. Ask for interval=0.9 "
        "(mean, sd, lower, upper per customer), or collect a sample of customers to pandas."
    )


def spark_customer_id_unknown(columns) -> ValidationError:
    """Error for a Spark summary whose customer id column cannot be found."""
    return ValidationError(
        f"cannot tell which column of the Spark summary is the customer id: it has "
        f"{list(columns)} and none is marked as the id or named 'customer_id'. Build it with "
        "models.rfm_summary / calibration_holdout, or rename the id column to 'customer_id'."
    )


def spark_date_format(directive: str, date_format: str) -> ValidationError:
    """Error for a strptime directive the Spark engine cannot translate."""
    return ValidationError(
        f"date_format {date_format!r} uses {directive}, which the Spark engine cannot "
        "translate; use %Y %m %d %H %M %S %f %y %b %B %j %I %p %z, or parse the dates in Spark "
        "first (to_timestamp)."
    )


def recount_rows(single_row_error: ValidationError, n_bad: int, n_rows: int) -> ValidationError:
    """Restate a one-row :func:`rule_error` for ``n_bad`` of ``n_rows`` rows.

    Used when rows were checked as unique patterns with counts: the rule, the first offender
    and the hint come from the one-row check of the first offending pattern.
    """
    message = str(single_row_error).replace(
        "; 1 of 1 rows break this", f"; {n_bad} of {n_rows} rows break this", 1
    )
    return ValidationError(message)
