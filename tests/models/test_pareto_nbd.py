"""Pareto/NBD: published CDNOW parameters, agreement with lifetimes, the likelihood-ratio forecast."""

from __future__ import annotations

import json

import numpy as np
import pytest

from crmid.customerbase.snapshot import TransactionLog
from crmid.models.bgnbd import rfm_arrays
from crmid.models.pareto_nbd import ParetoNBDFitError, ParetoNBDModel

lifetimes = pytest.importorskip("lifetimes")  # the peer, a reference for tests only


@pytest.fixture(scope="module")
def cdnow_calibration(cdnow, cdnow_sample_ids):
    # Fader, Hardie & Lee (2005): the 2,357-customer 1/10 sample, calibration 1997-01-01..1997-09-30
    sample = cdnow[cdnow["customer_id"].isin(cdnow_sample_ids)].reset_index(drop=True)
    snap = TransactionLog(sample).snapshot("1997-09-30")
    assert len(snap) == 2357
    return rfm_arrays(snap)


@pytest.fixture(scope="module")
def weekly(cdnow_calibration):
    return ParetoNBDModel(time_unit=7.0).fit(*cdnow_calibration)


def test_reproduces_published_cdnow_parameters(weekly):
    # "Counting your customers the easy way" (2005), Pareto/NBD column: r 0.55, alpha 10.58,
    # s 0.61, beta 11.67 (weeks), log-likelihood -9595.0
    assert weekly.r_ == pytest.approx(0.553, abs=0.0015)
    assert weekly.alpha_ == pytest.approx(10.578, abs=0.01)
    assert weekly.s_ == pytest.approx(0.606, abs=0.0015)
    assert weekly.beta_ == pytest.approx(11.669, abs=0.02)
    assert weekly.log_likelihood_ * 2357 == pytest.approx(-9595.0, abs=0.5)


def test_agrees_with_lifetimes_on_alive_and_expected_purchases(weekly, cdnow_calibration):
    x, t_x, T = cdnow_calibration
    peer = lifetimes.ParetoNBDFitter()
    # the peer at our parameters: the comparison is of the formulas, not of two optimisers
    peer.params_ = {"r": weekly.r_, "alpha": weekly.alpha_, "s": weekly.s_, "beta": weekly.beta_}
    peer._unload_params = lambda *names: [peer.params_[n] for n in names]
    idx = np.random.default_rng(0).choice(x.size, 300, replace=False)
    xs, ts, Ts = x[idx], t_x[idx], T[idx]
    np.testing.assert_allclose(weekly.p_alive(xs, ts, Ts),
                               peer.conditional_probability_alive(xs, ts / 7, Ts / 7), rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(
        weekly.expected_purchases(39 * 7, xs, ts, Ts),
        peer.conditional_expected_number_of_purchases_up_to_time(39, xs, ts / 7, Ts / 7), rtol=1e-6, atol=1e-10)
    # and the fitted parameters agree with lifetimes' own fit
    fitted = lifetimes.ParetoNBDFitter().fit(x, t_x / 7, T / 7)
    for name in ("r", "alpha", "s", "beta"):
        assert getattr(weekly, f"{name}_") == pytest.approx(fitted.params_[name], rel=2e-3)


def test_no_purchase_probability_is_the_likelihood_ratio_and_falls_with_h(weekly, cdnow_calibration):
    x, t_x, T = cdnow_calibration
    params = [weekly.r_, weekly.alpha_, weekly.s_, weekly.beta_]
    ll = lifetimes.ParetoNBDFitter._conditional_log_likelihood
    hs = (7, 30, 90, 180, 365, 2000)
    previous = np.ones_like(x)
    alive, joint = weekly.alive_and_purchase(hs, x, t_x, T)
    for h in hs:
        none = weekly.p_no_purchase_within(h, x, t_x, T)
        ratio = np.exp(ll(params, x, t_x / 7, (T + h) / 7) - ll(params, x, t_x / 7, T / 7))
        np.testing.assert_allclose(none, ratio, rtol=1e-7, atol=1e-12)
        np.testing.assert_allclose(joint[h], 1.0 - none, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(weekly.p_purchase_within(h, x, t_x, T), 1.0 - none, rtol=1e-9, atol=1e-12)
        assert np.all(none <= previous + 1e-12)
        assert np.all(1.0 - none <= alive + 1e-12)  # only an alive customer can buy
        previous = none
    # the inverse in t: the day P(no purchase) reaches a level, back to that level
    days = weekly.days_until_no_purchase_probability(0.9, x, t_x, T)
    finite = np.isfinite(days) & (days > 0)
    assert finite.sum() > 100
    np.testing.assert_allclose(weekly.p_no_purchase_within(days[finite], x[finite], t_x[finite], T[finite]), 0.9,
                               rtol=1e-6)
    # a level below the chance of never buying again is never reached
    assert np.isinf(weekly.days_until_no_purchase_probability(1e-9, x[:50], t_x[:50], T[:50])).all()


def test_state_round_trip_through_json(weekly, cdnow_calibration):
    x, t_x, T = cdnow_calibration
    again = ParetoNBDModel.from_state(json.loads(json.dumps(weekly.get_state())))
    np.testing.assert_array_equal(again.p_purchase_within(90, x, t_x, T), weekly.p_purchase_within(90, x, t_x, T))
    np.testing.assert_array_equal(again.p_alive(x, t_x, T), weekly.p_alive(x, t_x, T))
    assert again.get_state() == weekly.get_state()


def test_days_and_weeks_give_the_same_forecast(cdnow_calibration, weekly):
    x, t_x, T = cdnow_calibration
    daily = ParetoNBDModel().fit(x, t_x, T)
    assert daily.r_ == pytest.approx(weekly.r_, rel=1e-3)
    assert daily.alpha_ == pytest.approx(weekly.alpha_ * 7, rel=1e-3)
    # a warm start from another unit's fit lands on the same optimum
    warm = ParetoNBDModel().fit(x, t_x, T, init=weekly)
    for name in ("r_", "alpha_", "s_", "beta_"):
        assert getattr(warm, name) == pytest.approx(getattr(daily, name), rel=1e-3)
    np.testing.assert_allclose(daily.p_purchase_within(90, x, t_x, T), weekly.p_purchase_within(90, x, t_x, T),
                               atol=1e-4)


def test_fits_aggregated_rows_and_many_customers(cdnow_calibration, weekly, monkeypatch):
    from crmid.models.defaults import PARETO_NBD_PARAMS

    x, t_x, T = cdnow_calibration
    # 40 copies of each customer: the fit sees the same distinct rows, weighted, and (with the
    # race threshold lowered below their number) the starts race on a sample of customers
    # before the winner is polished on all of them
    monkeypatch.setitem(PARETO_NBD_PARAMS, "race_rows", 300)
    big = ParetoNBDModel(time_unit=7.0).fit(np.tile(x, 40), np.tile(t_x, 40), np.tile(T, 40))
    assert big.n_customers_ == 40 * x.size
    for name in ("r_", "alpha_", "s_", "beta_"):
        assert getattr(big, name) == pytest.approx(getattr(weekly, name), rel=2e-3)


def test_rejects_data_it_cannot_fit():
    with pytest.raises(ValueError, match="all 3 customers have frequency 0"):
        ParetoNBDModel().fit([0, 0, 0], [0, 0, 0], [5, 6, 7])
    with pytest.raises(ValueError, match="t_x <= T"):
        ParetoNBDModel().fit([1, 2], [10, 50], [20, 30])
    with pytest.raises(RuntimeError, match="not fitted"):
        ParetoNBDModel().p_alive([1], [1], [2])
    assert issubclass(ParetoNBDFitError, RuntimeError)


def test_fit_failure_names_the_data(monkeypatch):
    from crmid.models import pareto_nbd

    # an optimiser that never reaches a finite optimum: the error describes the data it was given
    monkeypatch.setattr(pareto_nbd, "_neg_ll", lambda *args: 1e100)
    with pytest.raises(ParetoNBDFitError, match=r"3 starting points on 4 customers \(2 with repeat purchases"):
        ParetoNBDModel().fit([0, 1, 3, 0], [0, 5, 20, 0], [10, 30, 40, 50])
