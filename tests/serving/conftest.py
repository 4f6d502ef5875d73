"""Shared fixtures for serving tests: a real model trained once on a CDNOW sample, the real rules."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from crmid.customerbase import TransactionLog, load_cdnow, validate_transactions

#: the scoring date used across serving tests and the horizon the test model is trained for
AS_OF = pd.Timestamp("1998-03-31")
HORIZON = 90


@pytest.fixture(scope="session")
def cdnow_sample() -> pd.DataFrame:
    """Every transaction of 4,000 CDNOW customers (a fixed, seeded sample)."""
    tx = load_cdnow()
    ids = tx["customer_id"].unique()
    keep = np.random.default_rng(0).choice(ids, 4000, replace=False)
    return tx[tx["customer_id"].isin(keep)].reset_index(drop=True)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> str:
    """A real scorer trained on CDNOW up to AS_OF, saved in its on-disk form (no MLflow needed)."""
    from crmid.training.fitting import fit_scorer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clean, _ = validate_transactions(load_cdnow())
    # few snapshots and rounds: these tests check serving, not model quality (tests/training does)
    scorer = fit_scorer(TransactionLog(clean), cutoff=AS_OF, horizon=HORIZON, max_snapshots=4, num_boost_round=60)
    path = tmp_path_factory.mktemp("model") / "scorer"
    scorer.save(path)
    return str(path)


@pytest.fixture(scope="session")
def scorer(model_dir):
    from crmid.models import load_scorer

    return load_scorer(model_dir)


@pytest.fixture(scope="session")
def engine():
    from crmid.rules import RulesEngine

    return RulesEngine.from_path(None)


@pytest.fixture(scope="session")
def profiled(cdnow_sample, tmp_path_factory):
    """A scorer trained with profile features that training kept, its saved directory and the profiles.

    The telling column ``active_late`` (made from purchases in the months before AS_OF) makes the
    ``profile`` family validate better, so the served models read it.
    """
    from crmid.customerbase import validate_profiles
    from crmid.training.fitting import fit_scorer

    clean, _ = validate_transactions(cdnow_sample)
    ids = pd.Series(sorted(clean["customer_id"].astype(str).unique()))
    late = clean[(clean["date"] > "1997-11-01") & (clean["date"] <= AS_OF)]["customer_id"].astype(str).unique()
    profiles = validate_profiles(pd.DataFrame({
        "customer_id": ids, "active_late": np.where(ids.isin(late), "yes", "no"),
        "segment": np.where(np.arange(len(ids)) % 3 == 0, "business", "consumer")}))
    scorer = fit_scorer(TransactionLog(clean), cutoff=AS_OF, horizon=HORIZON, max_snapshots=4, num_boost_round=40,
                        profiles=profiles)
    assert scorer.uses_profiles, scorer.info["feature_families"]
    path = tmp_path_factory.mktemp("profiled") / "scorer"
    scorer.save(path)
    return {"scorer": scorer, "model_dir": str(path), "profiles": profiles, "clean": clean}
