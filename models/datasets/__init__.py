"""Bundled real data sets (see ``PROVENANCE.md`` beside this file for sources and licences)."""

from __future__ import annotations

import hashlib
from importlib import resources

import pandas as pd

__all__ = [
    "SHA256",
    "load_cdnow_master",
    "load_cdnow_sample",
    "load_cdnow_summary",
    "load_donations",
    "path",
    "verify_checksums",
]

#: sha256 of every bundled file (also listed in ``PROVENANCE.md``); identical to the files
#: shipped by ``lifetimes`` 0.11.3.
SHA256: dict[str, str] = {
    "CDNOW_master.txt": "eff6889ed364c5199d6eacbbeb7a6d559971df4406ac876f322c373f00a072ef",
    "CDNOW_sample.txt": "6fae10155c0b0ba363c2c386e30f77990d22328220efd862a5edd1443420d94a",
    "cdnow_customers_summary.csv": (
        "09d92ca80daaabe8be0f997d4c539f9c9606106baa5b199081fe01cbce5fa9f6"
    ),
    "cdnow_customers_summary_with_transactions.csv": (
        "7ddd11b55be3227edfc1d58675154e96971b0de3ad37ddd9280d1dba154b8b2f"
    ),
    "donations.csv": "82c25f26a201ff047e1cd5fe3d7967a45db92a025ecedee72ff8940e50104544",
}


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


def _read_cdnow(name: str, names: list[str], header) -> pd.DataFrame:
    raw = pd.read_csv(path(name), sep=r"\s+", header=header, names=names, dtype={"date": str})
    return pd.DataFrame(
        {
            "customer_id": raw["customer_id"].astype("int64"),
            "date": pd.to_datetime(raw["date"], format="%Y%m%d"),
            "amount": raw["amount"].astype("float64"),
            "quantity": raw["quantity"].astype("int64"),
        }
    )


def load_cdnow_sample() -> pd.DataFrame:
    """CDNOW sample transactions: 2,357 customers, 6,919 rows, 1997-01-01 to 1998-06-30.

    Columns ``customer_id`` (the sample id 1..2357, the ``ID`` of
    :func:`load_cdnow_summary`), ``date`` (datetime64), ``amount`` (dollars) and
    ``quantity`` (number of CDs); one row per transaction, in file order. Customers first
    bought in the first quarter of 1997.

    Examples
    --------
    >>> tx = load_cdnow_sample()
    >>> len(tx), tx["customer_id"].nunique()
    (6919, 2357)
    """
    names = ["master_id", "customer_id", "date", "quantity", "amount"]
    return _read_cdnow("CDNOW_sample.txt", names, header=None)


def load_cdnow_master() -> pd.DataFrame:
    """Full CDNOW transactions: 23,570 customers, 69,659 rows, 1997-01-01 to 1998-06-30.

    Same columns as :func:`load_cdnow_sample`; ``customer_id`` is the master id.

    Examples
    --------
    >>> tx = load_cdnow_master()
    >>> len(tx), tx["customer_id"].nunique()
    (69659, 23570)
    """
    names = ["customer_id", "date", "quantity", "amount"]
    return _read_cdnow("CDNOW_master.txt", names, header=0)


def verify_checksums() -> dict[str, str]:
    """Check every bundled file against :data:`SHA256`; return the computed digests.

    Raises
    ------
    ValueError
        Naming each file whose content differs from its recorded digest.
    """
    digests = {name: hashlib.sha256(path(name).read_bytes()).hexdigest() for name in SHA256}
    changed = [name for name, digest in digests.items() if digest != SHA256[name]]
    if changed:
        raise ValueError(
            f"bundled data file(s) {changed} differ from their recorded sha256 "
            "(see models/datasets/PROVENANCE.md); reinstall the package."
        )
    return digests
