"""Evaluation metrics: discrimination, calibration and the censoring-aware concordance index."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

__all__ = ["binary_metrics", "calibration_table", "concordance_index"]


def binary_metrics(y_true, p) -> dict:
    """AUC, Brier score, log loss, mean prediction and base rate of one probability forecast."""
    y = np.asarray(y_true, dtype=bool)
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-7, 1 - 1e-7)
    both = 0 < y.sum() < y.size
    return {
        "auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "brier": float(brier_score_loss(y, p)),
        "log_loss": float(log_loss(y, p, labels=[False, True])),
        "mean_prediction": float(p.mean()),
        "base_rate": float(y.mean()),
        "n": int(y.size),
    }


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
