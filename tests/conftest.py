"""Shared fixtures and the hypothesis profiles of the test suite.

Profiles: ``ci`` (default: 50 examples, no deadline, derandomized so a run is reproducible)
and ``dev`` (500 random examples, for hunting). Choose with ``HYPOTHESIS_PROFILE=dev``.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import settings

import models

settings.register_profile("ci", max_examples=50, deadline=None, derandomize=True)
settings.register_profile("dev", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

#: Seed of the ``rng`` fixture (any test may ask for its own generator instead).
SEED = 20050401


@pytest.fixture
def cdnow_summary() -> pd.DataFrame:
    """The CDNOW calibration summary (2,357 customers, weeks), a fresh copy for each test."""
    return models.datasets.load_cdnow_summary()


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator, new for each test."""
    return np.random.default_rng(SEED)


@pytest.fixture(scope="session")
def spark():
    """One local[2] Spark session for the whole run (one JVM start), stopped with its JVM."""
    pytest.importorskip("pyspark")
    from pyspark import SparkContext

    from models import _spark

    session = _spark.local_session(cores=2, shuffle_partitions=4)
    process = SparkContext._gateway.proc
    yield session
    _spark.stop_session(session)
    assert process.poll() is not None, "the JVM is still running"
    assert SparkContext._active_spark_context is None
