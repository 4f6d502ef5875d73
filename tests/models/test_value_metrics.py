"""Value metrics on examples small enough to compute by hand (issue 21, "Definitions")."""

from __future__ import annotations

import numpy as np
import pytest

from crmid.models.value_metrics import (
    decile_error,
    normalized_gini,
    spearman,
    top10_share,
    total_ratio,
    value_metrics,
)


def test_normalized_gini_by_hand():
    actual = np.array([0.0, 10.0, 30.0, 60.0])  # total 100
    # ordered by actual, largest first: cumulative shares .6 .9 1 1, customer shares .25 .5 .75 1
    best = np.mean([0.6 - 0.25, 0.9 - 0.5, 1.0 - 0.75, 1.0 - 1.0])  # 0.25
    # a forecast that swaps the two largest: cumulative .3 .9 1 1
    swapped = np.mean([0.3 - 0.25, 0.9 - 0.5, 1.0 - 0.75, 1.0 - 1.0])  # 0.175
    assert normalized_gini([1, 2, 4, 3], actual) == pytest.approx(swapped / best)  # 0.7
    assert normalized_gini(actual, actual) == pytest.approx(1.0)
    assert normalized_gini(-actual, actual) < 0  # the worst order is below chance
    # a constant forecast orders nobody: exactly chance, whatever the row order
    assert normalized_gini([5, 5, 5, 5], actual) == pytest.approx(0.0)
    assert normalized_gini([5, 5, 5, 5], actual[::-1]) == pytest.approx(0.0)


def test_ties_count_with_their_mean():
    actual = np.array([0.0, 100.0, 0.0, 0.0])
    # the tied top pair shares 100: cumulative .5 1 1 1 -> (.25 + .5 + .25 + 0) / 4; best .75 .5 .25 0
    tied = np.mean([0.5 - 0.25, 1 - 0.5, 1 - 0.75, 0])
    best = np.mean([1 - 0.25, 1 - 0.5, 1 - 0.75, 0])
    assert normalized_gini([2, 2, 1, 0], actual) == pytest.approx(tied / best)
    assert normalized_gini([2, 2, 1, 0], actual) == pytest.approx(normalized_gini([2, 2, 1, 0], actual[[1, 0, 2, 3]]))


def test_top10_share_total_and_decile_error_by_hand():
    # 20 customers: the top 10% are 2 customers
    forecast = np.arange(20, 0, -1, dtype=float)  # 20, 19, ..., 1
    actual = np.zeros(20)
    actual[[0, 5]] = [30.0, 70.0]  # total 100
    assert top10_share(forecast, actual) == pytest.approx(0.3)
    assert total_ratio(forecast, actual) == pytest.approx(210 / 100)
    # deciles of the forecast are pairs: sums 39, 35, 31, 27, 23, 19, 15, 11, 7, 3 against actual
    # 30, 0, 70, 0, ... -> errors 9, 35, 39, 27, 23, 19, 15, 11, 7, 3 (sum 188), over 100 / 10
    assert decile_error(forecast, actual) == pytest.approx((188 / 10) / 10)
    # a perfect forecast has no calibration error
    assert decile_error(actual, actual) == pytest.approx(0.0)


def test_spearman_and_the_bundle():
    actual = np.array([0.0, 10.0, 30.0, 60.0])
    assert spearman([1, 2, 3, 4], actual) == pytest.approx(1.0)
    assert spearman([4, 3, 2, 1], actual) == pytest.approx(-1.0)
    # ranks 1 2 4 3 against 1 2 3 4: 1 - 6 * 2 / (4 * 15) = 0.8
    assert spearman([1, 2, 4, 3], actual) == pytest.approx(0.8)
    m = value_metrics([1, 2, 4, 3], actual)
    assert m["n"] == 4 and m["total_actual"] == 100 and m["total_forecast"] == 10
    assert m["normalized_gini"] == pytest.approx(0.7)


def test_inputs_are_checked():
    with pytest.raises(ValueError, match="one length"):
        normalized_gini([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="finite"):
        decile_error([1, np.nan], [1, 2])
    assert np.isnan(normalized_gini([1, 2], [0, 0]))  # nobody spent: nothing to order


def test_win_probability_is_the_share_of_resamples_won():
    from crmid.models.value_metrics import win_probability

    rng = np.random.default_rng(0)
    actual = np.where(rng.random(2000) < 0.2, rng.gamma(2.0, 30.0, 2000), 0.0)
    hindsight, noise = actual + rng.random(2000), rng.random(2000)
    for metric in ("normalized_gini", "spearman"):
        assert win_probability(metric, hindsight, noise, actual, n_boot=50) == 1.0
        assert win_probability(metric, noise, hindsight, actual, n_boot=50) == 0.0
        # a tie is not a win: the same forecast never ranks higher than itself
        assert win_probability(metric, noise, noise, actual, n_boot=50) == 0.0
    # two forecasts about as good: each wins some resamples, and the same resamples decide both ways
    first, second = actual + rng.normal(0, 40, 2000), actual + rng.normal(0, 40, 2000)
    p = win_probability("normalized_gini", first, second, actual, n_boot=100)
    assert 0.0 < p < 1.0
    assert p + win_probability("normalized_gini", second, first, actual, n_boot=100) == pytest.approx(1.0)
    assert win_probability("spearman", hindsight, noise, actual, n_boot=20, max_customers=300) == 1.0
    with pytest.raises(ValueError, match="metric must be one of"):
        win_probability("auc", hindsight, noise, actual)
