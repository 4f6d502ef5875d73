"""Fixtures shared across the suite: the CDNOW log and small samples of it, and the scores store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from crmid.customerbase.datasets import load_cdnow

from .stores import store  # noqa: F401 - the scores store fixture (SQLite and PostgreSQL) of tests/serving and tests/ui

DATA = Path(__file__).parent / "models" / "data"


@pytest.fixture(scope="session")
def cdnow():
    return load_cdnow()


@pytest.fixture(scope="session")
def cdnow_sample_ids():
    """The 2,357 customers of the published 1/10 CDNOW sample (Fader, Hardie & Lee 2005).

    Ids taken from ``CDNOW_sample.txt`` of the MIT-licensed ``lifetimes`` package (column 1 =
    the master-file customer id).
    """
    return (DATA / "cdnow_sample_ids.txt").read_text().split()


def sample_customers(tx, n, seed):
    ids = tx["customer_id"].unique()
    pick = np.random.default_rng(seed).choice(ids, n, replace=False)
    return tx[tx["customer_id"].isin(pick)].reset_index(drop=True)


@pytest.fixture(scope="session")
def cdnow_3k(cdnow):
    return sample_customers(cdnow, 3000, seed=7)


@pytest.fixture(scope="session")
def sampler():
    """``sampler(tx, n, seed)``: the transactions of ``n`` customers drawn at random."""
    return sample_customers
