"""Bundled real data sets (see ``PROVENANCE.md`` beside this file for sources and licences)."""

from __future__ import annotations

from importlib import resources

import pandas as pd

__all__ = ["load_cdnow_summary", "load_donations", "path"]


def path(name: str):
    """Filesystem path of a bundled file."""
    return resources.files(__name__).joinpath(name)


def load_cdnow_summary() -> pd.DataFrame:
    """CDNOW calibration summary of Fader, Hardie & Lee (2005), as shipped by ``lifetimes``.

    2,357 customers; calibration ends 1997-09-30; ``frequency`` (x), ``recency`` (t_x) and
    ``T`` in weeks (rounded to 2 decimals), indexed by ``customer_id``.
    """
    frame = pd.read_csv(path("cdnow_customers_summary.csv"), index_col=0)
    frame.index.name = "customer_id"
    frame.attrs["time_unit"] = "W"
    return frame


def load_donations() -> pd.DataFrame:
    """Donations data of Fader, Hardie & Shang (2010): 11,104 donors, 6 annual opportunities.

    22 patterns: ``frequency``, ``recency``, ``periods`` (opportunities) and ``weights``
    (number of donors with that pattern).
    """
    frame = pd.read_csv(path("donations.csv"))
    frame.index.name = "pattern"
    frame.attrs["time_unit"] = "Y"
    return frame
