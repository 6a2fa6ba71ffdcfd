"""Bundled data sets: loaders, provenance and checksums (models/datasets)."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from models import datasets


def test_checksums_match_the_bundled_files():
    digests = datasets.verify_checksums()
    assert digests == datasets.SHA256
    for name, digest in datasets.SHA256.items():
        assert hashlib.sha256(datasets.path(name).read_bytes()).hexdigest() == digest


def test_every_bundled_data_file_has_a_checksum():
    files = {
        entry.name
        for entry in datasets.path("").iterdir()
        if entry.name.endswith((".txt", ".csv", ".parquet", ".json"))
    }
    assert files == set(datasets.SHA256)


def test_provenance_lists_every_file_and_digest():
    text = datasets.path("PROVENANCE.md").read_text()
    for name, digest in datasets.SHA256.items():
        assert f"| `{name}` | `{digest}` |" in text
    for word in ("lifetimes", "0.11.3", "MIT", "Hardie", "Fader", "Shang"):
        assert word in text


def test_a_changed_file_is_reported(monkeypatch):
    wrong = dict(datasets.SHA256, **{"donations.csv": "0" * 64})
    monkeypatch.setattr(datasets, "SHA256", wrong)
    with pytest.raises(ValueError, match=r"\['donations.csv'\] differ"):
        datasets.verify_checksums()


def test_load_cdnow_sample():
    tx = datasets.load_cdnow_sample()
    assert list(tx.columns) == ["customer_id", "date", "amount", "quantity"]
    # REFERENCE.md: 2,357 customers, 6,919 transactions to 1998-06-30.
    assert len(tx) == 6919
    assert tx["customer_id"].nunique() == 2357
    assert (tx["customer_id"].min(), tx["customer_id"].max()) == (1, 2357)
    assert pd.api.types.is_datetime64_dtype(tx["date"])
    assert tx["date"].min() == pd.Timestamp("1997-01-01")
    assert tx["date"].max() == pd.Timestamp("1998-06-30")
    assert tx["amount"].dtype == np.float64 and tx["quantity"].dtype == np.int64
    assert (tx["amount"] >= 0).all() and (tx["quantity"] > 0).all()
    # first row of CDNOW_sample.txt: " 00004 0001 19970101  2   29.33"
    assert tx.iloc[0].tolist() == [1, pd.Timestamp("1997-01-01"), 29.33, 2]
    # ids are those of the summary files
    summary = datasets.load_cdnow_summary()
    assert set(tx["customer_id"]) == set(summary.index)


def test_load_cdnow_master():
    tx = datasets.load_cdnow_master()
    assert list(tx.columns) == ["customer_id", "date", "amount", "quantity"]
    # REFERENCE.md: 23,570 customers, 69,659 transactions.
    assert len(tx) == 69659
    assert tx["customer_id"].nunique() == 23570
    assert tx["date"].min() == pd.Timestamp("1997-01-01")
    assert tx["date"].max() == pd.Timestamp("1998-06-30")
    # first row of CDNOW_master.txt after the header: " 00001 19970101  1   11.77"
    assert tx.iloc[0].tolist() == [1, pd.Timestamp("1997-01-01"), 11.77, 1]


def test_sample_rows_are_master_rows():
    raw = pd.read_csv(datasets.path("CDNOW_sample.txt"), sep=r"\s+", header=None)
    master = datasets.load_cdnow_master()
    sample = datasets.load_cdnow_sample().assign(customer_id=raw[0].to_numpy())
    keys = ["customer_id", "date", "amount", "quantity"]
    merged = sample.merge(master, on=keys, how="left", indicator=True)
    assert (merged["_merge"] == "both").all()


def test_existing_loaders_still_work():
    summary = datasets.load_cdnow_summary()
    assert summary.shape == (2357, 3) and summary.index.name == "customer_id"
    assert summary["frequency"].sum() == 2457  # FHL 2005 CDNOW calibration summary
    assert summary.attrs["time_unit"] == "W"
    donations = datasets.load_donations()
    assert len(donations) == 22
    assert donations["weights"].sum() == 11104  # Fader, Hardie & Shang (2010): 11,104 donors
