"""Feature families (issue 19): the behaviour families and the profiles, each kept only where it validates better.

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


def test_every_offered_family_is_judged_and_only_the_kept_ones_are_computed(base):
    from crmid.models.features import OFFERED_FAMILIES, family_features

    clean, _, _ = base
    scorer = fit_scorer(clean, cutoff=CUTOFF, horizon=90, max_snapshots=6, num_boost_round=40)
    verdicts = scorer.info["feature_families"]
    assert set(verdicts) == set(OFFERED_FAMILIES)
    assert all(v["reason"].startswith(("kept", "not used")) for v in verdicts.values())
    assert scorer.families == [f for f in OFFERED_FAMILIES if verdicts[f]["kept"]]
    offered = {c for f in OFFERED_FAMILIES for c in family_features(f, scorer.feature_horizons)}
    kept = {c for f in scorer.families for c in family_features(f, scorer.feature_horizons)}
    assert offered & set(scorer.feature_names_) == kept


def test_a_family_is_kept_when_it_validates_better_and_not_when_it_is_noise(base):
    from crmid.models.features import model_features
    from crmid.training.feature_selection import validate_families
    from crmid.training.spend import training_points

    clean, _, _ = base
    log = TransactionLog(clean[clean["date"] <= CUTOFF].reset_index(drop=True))
    points = training_points(log, CUTOFF, 90)
    rng = np.random.default_rng(3)
    for p in points:  # a column that knows the next 90 days, and one that knows nothing
        bought = (p.labels["days_to_next_purchase"].to_numpy() <= 90) & p.labels["next_purchase_observed"].to_numpy()
        p.X = p.X.assign(knows=np.where(bought, 1.0, 0.0) + rng.normal(0, 0.3, len(p.X)),
                         guesses=rng.normal(size=len(p.X)))
    base_cols = model_features(points[0].X.filter(like="bg_p_purchase_").columns.str[14:-1].astype(int),
                               families=())
    verdicts = validate_families(points, 90, {"knows": ["knows"], "guesses": ["guesses"]}, base_cols,
                                 num_boost_round=40)
    assert verdicts["knows"]["kept"] and verdicts["knows"]["with"]["auc"] > verdicts["knows"]["without"]["auc"]
    assert not verdicts["guesses"]["kept"]
    assert verdicts["knows"]["without"] == verdicts["guesses"]["without"]  # one base fit for both


def test_evaluate_offers_the_profiles_and_judges_the_models_that_read_them(cdnow_3k, tmp_path):
    """`crmid evaluate --customers`: fitted on the log cut at as-of with the profiles, judged after it."""
    from crmid.training.evaluation import evaluate

    clean, _ = validate_transactions(cdnow_3k)
    as_of = pd.Timestamp("1997-12-31")
    ids = pd.Series(sorted(clean["customer_id"].astype(str).unique()))
    autumn = clean[(clean["date"] > "1997-10-01") & (clean["date"] <= as_of)]["customer_id"].astype(str).unique()
    profiles = validate_profiles(pd.DataFrame({"customer_id": ids,
                                               "autumn_buyer": np.where(ids.isin(autumn), "yes", "no")}))
    plain = evaluate(clean, as_of=as_of, horizon=90, report_dir=tmp_path / "a")
    with_profiles = evaluate(clean, as_of=as_of, horizon=90, report_dir=tmp_path / "b", profiles=profiles)
    assert with_profiles["feature_families"]["profile"]["kept"]
    assert with_profiles["horizons"]["90"]["served"]["auc"] != plain["horizons"]["90"]["served"]["auc"]
