"""Evaluation metrics: discrimination, calibration and the censoring-aware concordance index."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

__all__ = [
    "binary_metrics",
    "calibration_slope",
    "calibration_table",
    "concordance_index",
    "integrated_brier_score",
    "restricted_mean",
    "top_decile_lift",
]


def binary_metrics(y_true, p) -> dict:
    """AUC, Brier score, log loss, calibration slope, top-decile lift, mean prediction and base rate."""
    y = np.asarray(y_true, dtype=bool)
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-7, 1 - 1e-7)
    both = 0 < y.sum() < y.size
    return {
        "auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "brier": float(brier_score_loss(y, p)),
        "log_loss": float(log_loss(y, p, labels=[False, True])),
        "calibration_slope": calibration_slope(y, p) if both else float("nan"),
        "top_decile_lift": top_decile_lift(y, p) if both else float("nan"),
        "mean_prediction": float(p.mean()),
        "base_rate": float(y.mean()),
        "n": int(y.size),
    }


def calibration_slope(y_true, p, iterations: int = 25) -> float:
    """Slope b of the logistic recalibration ``logit P(y) = a + b logit(p)`` (1 = well spread).

    Below 1 the forecast is too extreme, above 1 too timid. Fitted by Newton's method (two
    parameters: no solver needed).
    """
    y = np.asarray(y_true, dtype=np.float64)
    z = np.log(p) - np.log1p(-np.asarray(p, dtype=np.float64))
    X = np.column_stack([np.ones_like(z), z])
    beta = np.array([0.0, 1.0])
    for _ in range(iterations):
        mu = 1.0 / (1.0 + np.exp(-(X @ beta)))
        w = np.maximum(mu * (1.0 - mu), 1e-12)
        step = np.linalg.solve(X.T @ (X * w[:, None]), X.T @ (y - mu))
        beta += step
        if np.max(np.abs(step)) < 1e-8:
            break
    return float(beta[1])


def top_decile_lift(y_true, p) -> float:
    """Rate of positives among the 10% highest forecasts, over the overall rate."""
    y = np.asarray(y_true, dtype=np.float64)
    k = max(1, int(np.ceil(0.1 * y.size)))
    top = np.argsort(-np.asarray(p, dtype=np.float64), kind="stable")[:k]
    return float(y[top].mean() / y.mean())


def calibration_table(y_true, p, n_bins: int = 10) -> dict:
    """Observed rate against mean prediction in quantile bins of the prediction."""
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    edges = np.unique(np.quantile(p, np.linspace(0, 1, n_bins + 1)))
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, max(edges.size - 2, 0))
    rows = {"mean_prediction": [], "observed_rate": [], "count": []}
    for b in range(max(edges.size - 1, 1)):
        m = idx == b
        if m.any():
            rows["mean_prediction"].append(float(p[m].mean()))
            rows["observed_rate"].append(float(y[m].mean()))
            rows["count"].append(int(m.sum()))
    return rows


def integrated_brier_score(duration, event, survival, days) -> float:
    """Mean Brier score of S(t) over ``days`` (trapezoid rule, divided by the span).

    Every customer is followed to the same end of the window (administrative censoring), so at
    each ``t`` within it the status "no purchase yet" is known for all: no censoring weights are
    needed. ``days`` must not go past the window.

    Parameters
    ----------
    duration, event : array-like
        Days to the next purchase (or to the window's end) and whether it was seen.
    survival : numpy.ndarray
        Predicted S(t), rows x ``days``.
    days : sequence of float
        Increasing times, the first > 0.
    """
    d = np.asarray(duration, dtype=np.float64)
    e = np.asarray(event, dtype=bool)
    t = np.asarray(days, dtype=np.float64)
    alive = ~(e[:, None] & (d[:, None] <= t[None, :]))
    brier = np.mean((alive.astype(np.float64) - survival) ** 2, axis=0)
    if t.size == 1:
        return float(brier[0])
    return float(np.trapezoid(brier, t) / (t[-1] - t[0]))


def restricted_mean(survival, days) -> np.ndarray:
    """Area under S(t) from 0 to the last of ``days`` (trapezoid, S(0) = 1): a time to rank by."""
    t = np.r_[0.0, np.asarray(days, dtype=np.float64)]
    S = np.hstack([np.ones((survival.shape[0], 1)), survival])
    return np.trapezoid(S, t, axis=1)


def concordance_index(duration, event, predicted_time) -> float:
    """Harrell's C over all customers, censoring respected.

    A pair (i, j) is comparable when the earlier duration is an observed event
    (``duration_i < duration_j`` and ``event_i``); it is concordant when the model also predicts
    the shorter time for i. Ties in the prediction count one half. Computed in O(n log n) by
    sorting and counting ranks, so it handles every customer of a data set.

    Parameters
    ----------
    duration : array-like
        Days to the next purchase, or to censoring.
    event : array-like of bool
        True when the purchase was observed.
    predicted_time : array-like
        Predicted time to the next purchase (larger = later); any monotone score works.
    """
    d = np.asarray(duration, dtype=np.float64)
    e = np.asarray(event, dtype=bool)
    s = np.asarray(predicted_time, dtype=np.float64)
    if not (d.shape == e.shape == s.shape):
        raise ValueError("duration, event and predicted_time must have one length")
    # rank predictions; for each event i count later rows j (d_j > d_i) with s_j > s_i, == s_i
    order = np.argsort(d, kind="stable")
    d, e, s = d[order], e[order], s[order]
    s_rank = np.unique(s, return_inverse=True)[1]
    n_ranks = int(s_rank.max()) + 1 if s.size else 0
    tree = _Fenwick(n_ranks)
    concordant = 0.0
    comparable = 0.0
    i = s.size
    # walk from the longest duration down; rows with equal duration are not comparable
    while i > 0:
        j = i
        while j > 0 and d[j - 1] == d[i - 1]:
            j -= 1
        total = tree.total()
        for k in range(j, i):
            if e[k]:
                greater = total - tree.prefix(s_rank[k])
                equal = tree.prefix(s_rank[k]) - tree.prefix(s_rank[k] - 1)
                concordant += greater + 0.5 * equal
                comparable += total
        for k in range(j, i):
            tree.add(s_rank[k])
        i = j
    return float(concordant / comparable) if comparable else float("nan")


class _Fenwick:
    def __init__(self, n):
        self.n = n
        self.tree = np.zeros(n + 1, dtype=np.int64)
        self._total = 0

    def add(self, i):
        self._total += 1
        i += 1
        while i <= self.n:
            self.tree[i] += 1
            i += i & -i

    def prefix(self, i):
        """Count of ranks <= i."""
        s = 0
        i += 1
        while i > 0:
            s += self.tree[i]
            i -= i & -i
        return int(s)

    def total(self):
        return self._total
