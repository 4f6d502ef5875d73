"""Survival curve assembly, censoring handling and the concordance index."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmid.customerbase.snapshot import TransactionLog
from crmid.models.horizon import usable_rows
from crmid.models.metrics import concordance_index
from crmid.models.next_purchase import NextPurchaseModel, curve_median, curve_probability, curve_rmst
from crmid.training.stacking import point_in_time, snapshot_dates, stack


def test_curve_is_monotone_and_median_is_capped_and_flagged():
    knots = [30, 90, 180]
    F = np.array([[0.1, 0.3, 0.45], [0.4, 0.6, 0.8], [0.7, 0.8, 0.9], [0.0, 0.0, 0.0]])
    ts = np.arange(0, 200, 5)
    P = np.column_stack([curve_probability(knots, F, t) for t in ts])
    assert (np.diff(P, axis=1) >= -1e-12).all()
    np.testing.assert_allclose(P[:, ts.tolist().index(90)], F[:, 1])
    median, beyond = curve_median(knots, F)
    assert beyond.tolist() == [True, False, False, True]
    assert median[0] == 180 and median[3] == 180
    assert 30 < median[1] < 90 and 0 < median[2] < 30
    # S at the median is one half
    assert curve_probability(knots, F[1:2], median[1])[0] == pytest.approx(0.5)
    assert (np.diff(curve_rmst(knots, F[[3, 0, 1, 2]])) < 0).all()


def test_censored_rows_are_not_counted_as_outcomes():
    # a snapshot followed 30 days: its purchase on day 10 says nothing about the 90-day rate of
    # its cohort unless the non-buyers are also followed 90 days
    duration = np.array([10, 30, 20, 200, 95])
    event = np.array([True, False, True, False, True])
    followup = np.array([30, 30, 120, 200, 120])
    mask, label = usable_rows(duration, event, followup, 90)
    assert mask.tolist() == [False, False, True, True, True]
    assert label.tolist() == [True, False, False]


def test_censoring_changes_the_answer_and_ours_matches_the_observed_rate(cdnow_3k):
    log = TransactionLog(cdnow_3k)
    cutoff = pd.Timestamp("1997-12-31")
    dates = snapshot_dates(log.data_start, cutoff)
    points = [p for p in (point_in_time(log, d, [30, 90], observed_until=cutoff) for d in dates) if p]
    data = stack(points)
    mask, y = usable_rows(data.duration, data.event, data.followup, 90)
    observed_rate = y.mean()
    ours = NextPurchaseModel([90]).fit(data.X, data.duration, data.event, data.followup)
    # treating every censored row as a purchase at its censoring time
    naive = NextPurchaseModel([90]).fit(data.X, data.duration, np.ones_like(data.event), np.full(len(data), 10_000.0))
    p_ours = ours.predict_proba(data.X[mask], 90).mean()
    p_naive = naive.predict_proba(data.X[mask], 90).mean()
    assert p_ours == pytest.approx(observed_rate, abs=0.01)
    assert p_naive - observed_rate > 0.1


def _brute_c(d, e, s):
    num = den = 0.0
    for i in range(d.size):
        if not e[i]:
            continue
        for j in range(d.size):
            if d[i] < d[j]:
                den += 1
                num += 1.0 if s[i] < s[j] else 0.5 if s[i] == s[j] else 0.0
    return num / den


def test_concordance_index_matches_brute_force():
    rng = np.random.default_rng(3)
    d = rng.integers(1, 40, 300).astype(float)
    e = rng.random(300) < 0.6
    s = np.round(d + rng.normal(0, 8, 300))  # ties in predictions too
    assert concordance_index(d, e, s) == pytest.approx(_brute_c(d, e, s))
    assert concordance_index(d, e, d) == pytest.approx(1.0)
