"""Facts for the rules: textbook CLV, value percentile against a reference, loyalty."""

import numpy as np
import pandas as pd
import pytest

from crmid.serving.customer_facts import clv, clv_reference, loyalty, value_percentile

POLICY = {
    "clv_max_lifetime_days": 1095,
    "spend_trend_window_days": 90,
    "loyalty": {"weights": {"tenure": 0.3, "regularity": 0.3, "retention": 0.4},
                "full_tenure_days": 730, "regularity_when_unknown": 0.5},
}


def test_clv_is_s_over_t_times_T_with_cap():
    pred = pd.DataFrame({"expected_spend_per_purchase": [30.0, 30.0, 10.0],
                         "expected_purchase_cycle_days": [60.0, 60.0, 0.0],
                         "expected_lifetime_days": [365.0, 5000.0, 100.0]})
    out = clv(pred, POLICY)
    assert out[0] == pytest.approx(30 / 60 * 365)
    # the expected lifetime is capped by the configuration
    assert out[1] == pytest.approx(30 / 60 * 1095)
    # a zero cycle gives no finite CLV: unknown, not infinite
    assert np.isnan(out[2])


def test_value_percentile_is_share_with_lower_value_and_monotone():
    population = np.arange(1000, dtype=float)
    ref = clv_reference(population)
    pct = value_percentile(np.array([-1.0, 0.0, 500.0, 999.0, 5000.0, np.nan]), ref)
    assert pct[0] == 0.0 and pct[1] == 0.0
    assert pct[2] == pytest.approx(0.5, abs=0.002)
    assert pct[3] == pytest.approx(1.0, abs=0.002)
    assert pct[4] == 1.0 and np.isnan(pct[5])
    values = np.sort(np.random.default_rng(1).gamma(1.0, 100.0, 5000))
    assert np.all(np.diff(value_percentile(values, clv_reference(values))) >= 0)


def test_ties_share_one_percentile():
    population = np.r_[np.zeros(600), np.arange(1, 401, dtype=float)]
    pct = value_percentile(np.array([0.0, 0.0]), clv_reference(population))
    assert pct[0] == pct[1] == 0.0
    assert value_percentile(np.array([1.0]), clv_reference(population))[0] == pytest.approx(0.6, abs=0.002)


def test_value_percentile_without_reference_is_unknown():
    assert np.isnan(value_percentile(np.array([10.0]), np.zeros(0))).all()


def test_loyalty_bounds_and_direction():
    feats = pd.DataFrame({"tenure_days": [10.0, 800.0, 800.0], "ipt_mean_days": [np.nan, 30.0, 30.0],
                          "ipt_std_days": [np.nan, 0.0, 30.0]})
    out = loyalty(feats, np.array([0.9, 0.1, 0.1]), POLICY)
    assert ((out >= 0) & (out <= 1)).all()
    # long tenure, perfectly regular, low churn: tenure 0.3 + regularity 0.3 + retention 0.4 * 0.9
    assert out[1] == pytest.approx(0.3 + 0.3 + 0.36)
    # less regular -> less loyal
    assert out[2] < out[1]
    # newcomer with unknown regularity and high churn risk
    assert out[0] == pytest.approx(0.3 * 10 / 730 + 0.3 * 0.5 + 0.4 * 0.1)
