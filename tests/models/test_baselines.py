"""BG/NBD and Gamma-Gamma: published CDNOW parameters and basic properties."""

from __future__ import annotations

import numpy as np
import pytest

from crmid.customerbase.snapshot import TransactionLog
from crmid.models.bgnbd import BetaGeoModel, rfm_arrays
from crmid.models.gamma_gamma import GammaGammaModel


def test_bgnbd_reproduces_published_cdnow_parameters(cdnow, cdnow_sample_ids):
    # Fader, Hardie & Lee (2005): 2,357 customers, weeks, calibration 1997-01-01..1997-09-30
    sample = cdnow[cdnow["customer_id"].isin(cdnow_sample_ids)].reset_index(drop=True)
    snap = TransactionLog(sample).snapshot("1997-09-30")
    assert len(snap) == 2357
    m = BetaGeoModel(time_unit=7.0).fit(*rfm_arrays(snap))
    assert m.r_ == pytest.approx(0.243, abs=0.0015)
    assert m.alpha_ == pytest.approx(4.414, abs=0.005)
    assert m.a_ == pytest.approx(0.793, abs=0.0015)
    assert m.b_ == pytest.approx(2.426, abs=0.005)
    # the log-likelihood of the paper: -9582.4 in total
    assert m.log_likelihood_ * 2357 == pytest.approx(-9582.4, abs=0.5)


def test_gamma_gamma_reproduces_published_cdnow_parameters(cdnow, cdnow_sample_ids):
    # Fader & Hardie (2013), "The Gamma-Gamma model of monetary value": 946 repeat buyers,
    # average value of their repeat transactions in the calibration period
    sample = cdnow[cdnow["customer_id"].isin(cdnow_sample_ids) & (cdnow["date"] <= "1997-09-30")]
    occ = sample.groupby(["customer_id", "date"], as_index=False)["amount"].sum().sort_values(["customer_id", "date"])
    repeat = occ[occ.groupby("customer_id").cumcount() > 0]
    stats = repeat.groupby("customer_id")["amount"].agg(["count", "mean"])
    assert len(stats) == 946
    gg = GammaGammaModel().fit(stats["count"], stats["mean"])
    assert gg.p_ == pytest.approx(6.25, abs=0.01)
    assert gg.q_ == pytest.approx(3.74, abs=0.01)
    assert gg.gamma_ == pytest.approx(15.44, abs=0.02)
    spend = gg.conditional_expected_spend([0, 1, 10, np.nan], [0.0, 20.0, 50.0, np.nan])
    assert np.isfinite(spend).all()
    assert spend[0] == pytest.approx(gg.population_mean())


def test_bgnbd_probabilities_are_consistent(cdnow_3k):
    snap = TransactionLog(cdnow_3k).snapshot("1997-12-31")
    m = BetaGeoModel().fit_features(snap)
    x, t, T = rfm_arrays(snap)
    alive = m.p_alive(x, t, T)
    p30, p90, p365 = (m.p_purchase_within(w, x, t, T) for w in (30, 90, 365))
    assert ((p30 >= 0) & (p30 <= p90) & (p90 <= p365) & (p365 <= alive) & (alive <= 1)).all()
    # saved state reproduces the model
    again = BetaGeoModel.from_state(m.get_state())
    np.testing.assert_array_equal(again.p_purchase_within(90, x, t, T), p90)


def test_bgnbd_rejects_inputs_it_cannot_fit():
    with pytest.raises(ValueError, match="all 3 customers have frequency 0"):
        BetaGeoModel().fit([0, 0, 0], [0, 0, 0], [5, 6, 7])
    with pytest.raises(ValueError, match="t_x <= T"):
        BetaGeoModel().fit([1, 2], [10, 50], [20, 30])
