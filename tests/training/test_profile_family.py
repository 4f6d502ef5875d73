"""Profiles as model features (issue 19): offered as a family, kept only where it validates better.

A column that tells who will buy (here made from the purchases after the validation snapshot,
which a real file must not hold) is kept and moves the predictions; random columns are not kept.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmid.customerbase import TransactionLog, validate_profiles, validate_transactions
from crmid.models import load_scorer
from crmid.training.card import model_card, render_card
from crmid.training.fitting import fit_scorer

CUTOFF = pd.Timestamp("1998-03-31")


@pytest.fixture(scope="module")
def base(cdnow_3k):
    clean, _ = validate_transactions(cdnow_3k)
    ids = pd.Series(sorted(clean["customer_id"].astype(str).unique()))
    late = clean[(clean["date"] > "1997-11-01") & (clean["date"] <= CUTOFF)]["customer_id"].astype(str).unique()
    rng = np.random.default_rng(0)
    noise = pd.DataFrame({"customer_id": ids, "score": rng.normal(size=len(ids)),
                          "colour": rng.choice(["red", "green", "blue"], len(ids)),
                          "note": [f"text {i}" for i in range(len(ids))]})
    telling = noise.assign(active_late=np.where(ids.isin(late), "yes", "no"))
    return clean, validate_profiles(telling), validate_profiles(noise)


def _fit(clean, profiles):
    return fit_scorer(clean, cutoff=CUTOFF, horizon=90, max_snapshots=6, num_boost_round=40, profiles=profiles)


def test_a_telling_profile_column_is_kept_and_used(base, tmp_path):
    clean, telling, _ = base
    scorer = _fit(clean, telling)
    verdict = scorer.info["feature_families"]["profile"]
    assert verdict["kept"] and verdict["with"]["auc"] > verdict["without"]["auc"]
    assert verdict["p_better_brier"] >= 0.9 and verdict["reason"].startswith("kept: at 90 days")
    assert "note" in verdict["skipped_columns"]  # one distinct text per customer: not a category
    assert {"profile_active_late", "profile_score", "profile_colour"} <= set(scorer.feature_names_)
    snap = TransactionLog(clean[clean["date"] <= CUTOFF]).snapshot(CUTOFF).head(200)
    with_profiles = scorer.predict(snap, profiles=telling, drivers=True)
    without = scorer.predict(snap)  # no profiles: the features are missing, the predictions change
    assert np.abs(with_profiles["churn_probability"] - without["churn_probability"]).max() > 0.05
    assert "profile: active late (0=no, 1=yes)" in " ".join(with_profiles["drivers"])
    # saved and read back (JSON, no pickle): the same encoding and predictions
    scorer.save(tmp_path / "s")
    again = load_scorer(str(tmp_path / "s"))
    np.testing.assert_array_equal(again.predict(snap, profiles=telling)["churn_probability"],
                                  with_profiles["churn_probability"])
    card = render_card(model_card(scorer))
    assert "- profile features (profile_score, profile_colour, profile_active_late): kept" in card


def test_random_profile_columns_are_not_kept(base):
    clean, _, noise = base
    scorer = _fit(clean, noise)
    verdict = scorer.info["feature_families"]["profile"]
    assert not verdict["kept"] and verdict["reason"].startswith("not used")
    assert scorer.profile_features is None and not scorer.uses_profiles
    assert not any(f.startswith("profile_") for f in scorer.feature_names_)
    plain = fit_scorer(clean, cutoff=CUTOFF, horizon=90, max_snapshots=6, num_boost_round=40)
    assert plain.feature_names_ == scorer.feature_names_ and "feature_families" in plain.info
    snap = TransactionLog(clean[clean["date"] <= CUTOFF]).snapshot(CUTOFF).head(100)
    np.testing.assert_array_equal(plain.predict(snap)["churn_probability"],
                                  scorer.predict(snap, profiles=noise)["churn_probability"])
