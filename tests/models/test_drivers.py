"""Per-customer drivers: exact tree contributions, apportioned to probability points, never empty."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import special

from crmid.customerbase.snapshot import TransactionLog
from crmid.models import CustomerScorer
from crmid.models.calibration import logit
from crmid.models.drivers import (
    _TABLES_FROM,
    _splits,
    apportion,
    classifier_contributions,
    driver_phrases,
    tree_contributions,
)
from crmid.models.features import feature_matrix
from crmid.training import fit_scorer

RECENCY = {"recency_days", "recency_over_ipt", "recency_over_tenure", "ipt_last_days"}


@pytest.fixture(scope="module")
def cdnow_scorer(cdnow):
    # the protocol: the whole CDNOW log cut at 1998-03-31, horizon 90
    return fit_scorer(cdnow, cutoff="1998-03-31", horizon=90)


@pytest.fixture(scope="module")
def cdnow_scored(cdnow_scorer, cdnow):
    snap = TransactionLog(cdnow[cdnow["date"] <= "1998-03-31"]).snapshot("1998-03-31")
    return snap, cdnow_scorer.predict(snap, drivers=True)


def _features(scorer, snap):
    return feature_matrix(scorer.model_inputs(snap), scorer.feature_names_)


def test_contributions_plus_base_equal_the_raw_score(cdnow_scorer, cdnow_scored):
    snap, out = cdnow_scored
    clf = cdnow_scorer.churn.classifier_
    contrib, base = classifier_contributions(clf, _features(cdnow_scorer, snap))
    churn_logit = -(clf.raw_score(_features(cdnow_scorer, snap)) + clf.calibrator_.shift_)
    np.testing.assert_allclose(contrib.sum(axis=1) + base, churn_logit, atol=1e-6)
    if cdnow_scorer.sources["churn"] == "model":
        np.testing.assert_allclose(special.expit(churn_logit), out["churn_probability"], atol=1e-6)


def test_effects_add_up_to_the_change_from_the_base_probability():
    rng = np.random.default_rng(0)
    contrib = rng.normal(size=(500, 6))
    contrib[0] = [1.0, -1.0, 0, 0, 0, 0]  # terms that cancel: the slope falls back to p(1-p)
    base = rng.normal(size=500)
    p = special.expit(base + contrib.sum(axis=1))
    effects = apportion(contrib, base, p)
    np.testing.assert_allclose(effects.sum(axis=1), p - special.expit(base), atol=1e-12)
    assert (np.sign(effects) == np.sign(contrib)).all()  # each term keeps its direction


def test_drivers_assembled_in_blocks_on_several_threads_are_the_same_texts(monkeypatch):
    # a million rows are assembled 125,000 at a time on every core; blocks of 9 here
    import crmid.models.drivers as module

    rng = np.random.default_rng(3)
    effects = rng.normal(size=(100, 12)) * 0.1
    values = rng.gamma(2.0, 30.0, size=(100, 12)).round(3)
    values[rng.random(values.shape) < 0.1] = np.nan  # a missing value reads as null
    names = [f"feature_{i}" for i in range(12)]
    whole = module.top_drivers(effects, values, names)
    monkeypatch.setattr(module, "_TEXT_BLOCK", 9)
    blocks = module.top_drivers(effects, values, names)
    assert list(blocks) == list(whole)
    first = json.loads(whole[0])
    assert [d["feature"] for d in first] == [names[i] for i in np.argsort(-np.abs(effects[0]))[:5]]


def test_each_row_reads_its_own_features_values_and_effects_alone_or_among_others():
    # one customer online and a block of many in a batch get the same text, and every number in
    # it is that row's own (the columns' numbers are formatted together, then cut back per column)
    import crmid.models.drivers as module

    rng = np.random.default_rng(5)
    effects = rng.normal(size=(40, 9)) * rng.choice([1e-4, 0.01, 0.3], size=(40, 9))
    values = rng.normal(size=(40, 9)) * 100
    values[rng.random(values.shape) < 0.1] = np.nan
    values[0, :] = np.inf  # not a finite number: null, like a missing one
    names = [f"feature_{i}" for i in range(9)]
    together = list(module.top_drivers(effects, values, names, top=4))
    alone = [module.top_drivers(effects[i:i + 1], values[i:i + 1], names, top=4)[0] for i in range(40)]
    assert alone == together
    for i, text in enumerate(together):
        drivers = json.loads(text)
        picked = np.argsort(-np.abs(effects[i]), kind="stable")[:4]
        assert [d["feature"] for d in drivers] == [names[j] for j in picked]
        for d, j in zip(drivers, picked, strict=True):
            assert d["effect"] == pytest.approx(round(effects[i, j] * 100.0, 2), abs=1e-9)
            expected = None if not np.isfinite(values[i, j]) else pytest.approx(round(values[i, j], 4), abs=1e-9)
            assert d["value"] == expected


def test_every_customer_has_well_formed_drivers_ordered_by_effect(cdnow_scored):
    _, out = cdnow_scored
    assert out["drivers"].notna().all()
    for text in out["drivers"].sample(2000, random_state=0):
        drivers = json.loads(text)
        assert 1 <= len(drivers) <= 5
        assert all(set(d) == {"feature", "label", "value", "effect"} and d["label"] for d in drivers)
        effects = [abs(d["effect"]) for d in drivers]
        assert effects == sorted(effects, reverse=True)


def test_recency_raises_churn_in_the_most_silent_decile(cdnow_scored):
    snap, out = cdnow_scored
    silent = snap["recency_days"] >= snap["recency_days"].quantile(0.9)
    raised = [any(d["feature"] in RECENCY and d["effect"] > 0 for d in json.loads(t))
              for t in out.loc[silent, "drivers"]]
    assert np.mean(raised) >= 0.5


def test_the_top_driver_varies_across_customers(cdnow_scored):
    _, out = cdnow_scored
    top = {json.loads(t)[0]["feature"] for t in out["drivers"]}
    assert len(top) >= 3


def test_baseline_served_churn_is_explained_by_a_surrogate(cdnow_3k):
    """When BG/NBD serves churn, the drivers come from a LightGBM surrogate of the served churn."""
    scorer = fit_scorer(cdnow_3k, cutoff="1997-12-31", horizon=90, gate=False)
    args = dict(horizon_days=90, bgnbd=scorer.bgnbd, gamma_gamma=scorer.gamma_gamma, churn=scorer.churn,
                next_purchase=scorer.next_purchase, knots=scorer.knots, feature_horizons=scorer.feature_horizons,
                sources={**scorer.sources, "churn": "baseline"}, info={}, families=scorer.families)
    snap = TransactionLog(cdnow_3k).snapshot("1997-12-31")
    with pytest.raises(Exception, match="surrogate"):
        CustomerScorer(**args).predict(snap, drivers=True)

    from crmid.training.fitting import _explained
    from crmid.training.stacking import point_in_time

    ref = point_in_time(TransactionLog(cdnow_3k), "1997-12-31", scorer.feature_horizons, families=scorer.families)
    explained = _explained(args, ref, 0)
    assert explained.info["driver_surrogate_r2"] > 0.9
    out = explained.predict(snap, drivers=True)
    assert all(json.loads(t) for t in out["drivers"])
    # the surrogate explains the served (BG/NBD) churn: its effects point the way BG/NBD moves
    churn = out["churn_probability"].to_numpy()
    base = np.median(churn)
    top_effect = np.array([sum(d["effect"] for d in json.loads(t)) for t in out["drivers"]])
    assert np.corrcoef(top_effect, logit(churn) - logit(base))[0, 1] > 0.8


def test_drivers_read_as_a_sentence():
    text = json.dumps([
        {"feature": "recency_days", "label": "days since last purchase", "value": 210.0, "effect": 12.04},
        {"feature": "recency_over_ipt", "label": "silence over usual gap", "value": 3.0, "effect": 8.1},
        {"feature": "spend_90d", "label": "spend in the last 90 days", "value": None, "effect": -1.0},
    ])
    assert driver_phrases(text) == ("silent 210 days (+12.0 pts of churn vs the average customer); "
                                    "3.0x their usual gap between purchases (+8.1 pts)")
    lowering_first = json.dumps(list(reversed(json.loads(text))))
    assert driver_phrases(lowering_first, 1, raising_first=True).startswith("3.0x their usual gap")
    assert driver_phrases(text, 3).endswith("spend in the last 90 days unknown (-1.0 pts)")
    assert driver_phrases(None) == "" and driver_phrases("[]") == ""


def test_scorer_round_trip_keeps_the_surrogate(cdnow_3k, tmp_path):
    scorer = fit_scorer(cdnow_3k, cutoff="1997-12-31", horizon=90)
    snap = TransactionLog(cdnow_3k).snapshot("1997-12-31").head(300)
    scorer.save(tmp_path / "s")
    again = CustomerScorer.load(tmp_path / "s")
    pd.testing.assert_frame_equal(again.predict(snap, drivers=True), scorer.predict(snap, drivers=True))


def _booster(X, y, categorical=False, **params):
    import lightgbm as lgb

    base = {"objective": "regression", "max_depth": 3, "num_leaves": 8, "learning_rate": 0.3, "verbose": -1,
            "min_child_samples": 20, "deterministic": True, "seed": 1}
    data = lgb.Dataset(X, label=y, categorical_feature=[0] if categorical else "auto")
    return lgb.train({**base, **params}, data, num_boost_round=25)


def _rows(n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6)).astype(np.float32)
    X[rng.random(n) < 0.1, 1] = np.nan
    X[rng.random(n) < 0.2, 2] = 0.0
    y = X[:, 0] * 2 + np.nan_to_num(X[:, 1]) - (X[:, 2] == 0) + rng.normal(size=n) * 0.1
    return X, y


@pytest.mark.parametrize("params", [{}, {"zero_as_missing": True}, {"use_missing": False}],
                         ids=["nan-missing", "zero-missing", "no-missing"])
def test_tabled_contributions_equal_lightgbms_own(params):
    """Many rows: the per-tree tables give pred_contrib's numbers exactly, whatever the missing-value
    handling of the splits, for NaN and zero cells and for cells exactly at a split's threshold."""
    X, y = _rows(4000)
    booster = _booster(X, y, **params)
    assert _splits(booster) is not None  # the tables serve this booster
    rows, _ = _rows(_TABLES_FROM + 1000, seed=1)
    thresholds = [(f, t) for tree in _splits(booster) for f, t, _, _ in tree]
    for i, (feature, threshold) in enumerate(thresholds):  # values on the split points themselves
        rows[i, feature] = np.float32(threshold)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the check against pred_contrib must not have fired
        got = tree_contributions(booster, rows)
    np.testing.assert_allclose(got, booster.predict(rows, pred_contrib=True), rtol=0, atol=1e-12)


@pytest.mark.parametrize("params", [{"max_depth": -1, "num_leaves": 31}, {"categorical": True}],
                         ids=["large-trees", "categorical-split"])
def test_boosters_the_tables_do_not_serve_go_through_pred_contrib(params):
    X, y = _rows(4000)
    X[:, 0] = np.floor(np.abs(X[:, 0]) * 3)  # small integers: a categorical feature when asked
    booster = _booster(X, y, **params)
    assert _splits(booster) is None
    rows, _ = _rows(_TABLES_FROM + 10, seed=2)
    rows[:, 0] = np.floor(np.abs(rows[:, 0]) * 3)
    np.testing.assert_allclose(tree_contributions(booster, rows), booster.predict(rows, pred_contrib=True),
                               rtol=0, atol=1e-12)


def test_a_scorers_drivers_are_the_same_by_table_as_by_pred_contrib(cdnow_scorer, cdnow_scored):
    """The CDNOW scorer's churn classifier and surrogate, on enough customers for the tables."""
    snap, _ = cdnow_scored
    arr = _features(cdnow_scorer, snap)
    arr = np.tile(arr, (int(np.ceil(_TABLES_FROM / len(arr))) + 1, 1))
    boosters = [cdnow_scorer.churn.classifier_.booster_]
    if cdnow_scorer.driver_surrogate is not None:
        surrogate = cdnow_scorer.driver_surrogate
        boosters.append(surrogate.booster_)
    for booster in boosters:
        assert _splits(booster) is not None
        sub = arr[:, [cdnow_scorer.feature_names_.index(f) for f in booster.feature_name()]]
        np.testing.assert_allclose(tree_contributions(booster, sub), booster.predict(sub, pred_contrib=True),
                                   rtol=0, atol=1e-12)
