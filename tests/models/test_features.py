"""Model features: families, the optional Pareto/NBD outputs, readable labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmid.customerbase.snapshot import TransactionLog
from crmid.models.bgnbd import BetaGeoModel, rfm_arrays
from crmid.models.features import (
    FAMILIES,
    FEATURE_LABELS,
    KEPT_FAMILIES,
    add_model_features,
    feature_label,
    model_features,
)
from crmid.models.pareto_nbd import ParetoNBDModel

AS_OF = pd.Timestamp("1998-01-31")


@pytest.fixture(scope="module")
def fitted(cdnow_3k):
    snap = TransactionLog(cdnow_3k).snapshot(AS_OF)
    return snap, BetaGeoModel().fit_features(snap), ParetoNBDModel().fit_features(snap)


@pytest.mark.parametrize("pareto", [False, True])
@pytest.mark.parametrize("families", [None, (), tuple(FAMILIES)])
def test_every_model_feature_has_a_readable_label(pareto, families):
    for name in model_features([30, 90, 180, 45, 365], pareto=pareto, families=families):
        label = FEATURE_LABELS.get(name)
        assert label and "{" not in label and "_" not in label, name
        assert name in FEATURE_LABELS
        assert FEATURE_LABELS[name] == label == feature_label(name)
    assert FEATURE_LABELS["bg_p_purchase_45d"] == "BG/NBD chance of a purchase within 45 days"
    assert FEATURE_LABELS.get("no_such_feature") is None
    assert feature_label("no_such_feature") == "no such feature"


def test_current_callers_get_the_same_frame_without_pareto(fitted):
    snap, bg, _ = fitted
    X = add_model_features(snap, bg, [30, 90])
    assert list(X.columns) == model_features([30, 90])
    assert not any(c.startswith("pnbd_") for c in X.columns)
    assert (X.dtypes == np.float32).all()
    assert X.index.equals(snap.index)


def test_pareto_outputs_are_the_models(fitted):
    snap, bg, pn = fitted
    cache = {}
    X = add_model_features(snap, bg, [30, 90], pareto=pn, cache=cache)
    assert list(X.columns) == model_features([30, 90], pareto=True)
    x, t_x, T = rfm_arrays(snap)
    np.testing.assert_allclose(X["pnbd_p_purchase_90d"], pn.p_purchase_within(90, x, t_x, T), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(X["pnbd_p_alive"], pn.p_alive(x, t_x, T), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(cache["pnbd_p_purchase"][30], pn.p_purchase_within(30, x, t_x, T))
    if "pnbd" in KEPT_FAMILIES:
        assert "pnbd_p_alive" in model_features([30, 90], pareto=True)


def test_every_family_computes_what_it_says(fitted, cdnow_3k):
    snap, bg, pn = fitted
    X = add_model_features(snap, bg, [30, 90], pareto=pn, families=FAMILIES)
    assert list(X.columns) == model_features([30, 90], pareto=True, families=FAMILIES)
    mean, std, rec = snap["ipt_mean_days"], snap["ipt_std_days"], snap["recency_days"]
    ok = std > 0
    np.testing.assert_allclose(X["ipt_cv"][ok], (std / mean)[ok], rtol=1e-5)
    np.testing.assert_allclose(X["recency_z"][ok], ((rec - mean) / std)[ok], rtol=1e-4)
    assert X["ipt_cv"][snap["n_purchases"] < 3].isna().all()  # no spread below three purchases

    # recency-weighted counts against the exact sum of 2^(-age/h) over purchase days
    tx = cdnow_3k[(cdnow_3k["date"] <= AS_OF) & (cdnow_3k["amount"] >= 0)]
    days = tx.groupby(["customer_id", "date"], observed=True).size().reset_index()
    age = (AS_OF - days["date"]).dt.days.to_numpy()
    ids = snap["customer_id"].astype(str).to_numpy()
    for h in (30, 365):
        exact = (pd.Series(2.0 ** (-age / h)).groupby(days["customer_id"].astype(str).to_numpy()).sum()
                 .reindex(ids).to_numpy())
        ours = X[f"decayed_purchases_{h}d"].to_numpy(dtype=np.float64)
        few = snap["n_purchases"].to_numpy() <= 2  # first and last purchase only: exact
        np.testing.assert_allclose(ours[few], exact[few], rtol=1e-5)
        assert np.corrcoef(ours, exact)[0, 1] > 0.99
        assert np.all(np.abs(ours - exact) <= 0.1 * snap["n_purchases"].to_numpy() + 1e-6)

    # recent basket against the customer's usual one
    n90, s90 = snap["n_purchases_90d"], snap["spend_90d"]
    ok = (n90 > 0) & (snap["monetary_mean"] > 0)
    np.testing.assert_allclose(X["basket_trend_90d"][ok], ((s90 / n90) / snap["monetary_mean"])[ok], rtol=1e-5)


def test_returns_share_with_returns():
    tx = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
                       "date": pd.to_datetime(["2020-01-01", "2020-02-01", "2020-02-10", "2020-01-05"]),
                       "amount": [100.0, 50.0, -30.0, 20.0]})
    snap = TransactionLog(tx).snapshot("2020-03-01")
    bg = BetaGeoModel().fit([1, 0, 2, 3, 0], [31, 0, 40, 50, 0], [60, 55, 70, 80, 20])
    X = add_model_features(snap, bg, [30], families=["returns"])
    assert X["returns_share"].tolist() == pytest.approx([30 / 180, 0.0])
    assert X["returns_per_purchase"].tolist() == pytest.approx([0.5, 0.0])


def test_unknown_family_is_refused(fitted):
    snap, bg, _ = fitted
    with pytest.raises(ValueError, match="unknown feature families"):
        add_model_features(snap, bg, [30], families=["astrology"])
