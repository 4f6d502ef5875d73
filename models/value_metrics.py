"""Metrics of a per-customer spend forecast against the spend that followed (issue 21, "Definitions").

For an as-of date t and a horizon h, ``actual`` is each customer's spend in (t, t + h] (negative
totals clipped at 0) and ``forecast`` the forecast made at t, over the same customers (those with
a transaction on or before t; customers who then bought nothing count with 0).

``spearman``
    Spearman rank correlation of forecast and actual (average ranks for ties).
``normalized_gini``
    Customers ordered by the forecast, largest first: the mean over customers of (cumulative
    share of actual spend minus share of customers), divided by the same with customers ordered
    by actual spend. 1 = the forecast orders customers as well as hindsight, 0 = no better than
    chance.
``top10_share``
    Share of the actual spend made by the 10% of customers with the largest forecast.
``total_ratio``
    Total forecast / total actual.
``decile_error``
    Customers ordered by the forecast and cut into 10 groups of equal size: the mean over the
    groups of |sum of forecast - sum of actual|, divided by (total actual / 10).

Ties in the forecast are resolved by the expectation over every order of the tied customers
(each tied customer counts with the group's mean actual spend), so a metric does not depend on
the row order of the input: a forecast that is constant has a normalized Gini of exactly 0.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = [
    "VALUE_METRICS",
    "decile_error",
    "normalized_gini",
    "spearman",
    "top10_share",
    "total_ratio",
    "value_metrics",
    "win_probability",
]

VALUE_METRICS = ("spearman", "normalized_gini", "top10_share", "total_ratio", "decile_error")


def _check(forecast, actual) -> tuple[np.ndarray, np.ndarray]:
    f = np.asarray(forecast, dtype=np.float64).ravel()
    a = np.asarray(actual, dtype=np.float64).ravel()
    if f.shape != a.shape:
        raise ValueError(f"forecast and actual must have one length, got {f.size} and {a.size}")
    if f.size == 0:
        raise ValueError("no customers to evaluate")
    if not (np.isfinite(f).all() and np.isfinite(a).all()):
        raise ValueError("forecast and actual must be finite")
    return f, a


def _ordered_actual(forecast: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """Actual spend with customers ordered by forecast (largest first), ties replaced by their mean."""
    order = np.argsort(-forecast, kind="stable")
    f, a = forecast[order], actual[order]
    starts = np.flatnonzero(np.r_[True, f[1:] != f[:-1]])
    sizes = np.diff(np.r_[starts, f.size])
    means = np.add.reduceat(a, starts) / sizes
    return np.repeat(means, sizes)


def _gini_raw(forecast: np.ndarray, actual: np.ndarray) -> float:
    a = _ordered_actual(forecast, actual)
    n = a.size
    cum_share = np.cumsum(a) / a.sum()
    return float(np.mean(cum_share - np.arange(1, n + 1) / n))


def spearman(forecast, actual) -> float:
    """Spearman rank correlation (NaN when either side is constant)."""
    f, a = _check(forecast, actual)
    if np.all(f == f[0]) or np.all(a == a[0]):
        return float("nan")
    return float(stats.spearmanr(f, a).statistic)


def normalized_gini(forecast, actual) -> float:
    """Gini of the forecast's ordering over the Gini of the perfect ordering (NaN when no spend)."""
    f, a = _check(forecast, actual)
    if a.sum() <= 0:
        return float("nan")
    best = _gini_raw(a, a)
    return _gini_raw(f, a) / best if best > 0 else float("nan")


def top10_share(forecast, actual) -> float:
    """Share of the actual spend made by the top 10% of customers by forecast (at least one customer)."""
    f, a = _check(forecast, actual)
    if a.sum() <= 0:
        return float("nan")
    k = max(round(0.1 * f.size), 1)
    return float(_ordered_actual(f, a)[:k].sum() / a.sum())


def total_ratio(forecast, actual) -> float:
    """Total forecast / total actual."""
    f, a = _check(forecast, actual)
    return float(f.sum() / a.sum()) if a.sum() > 0 else float("nan")


def decile_error(forecast, actual, n_groups: int = 10) -> float:
    """Mean over forecast deciles of |sum forecast - sum actual| / (total actual / 10)."""
    f, a = _check(forecast, actual)
    total = a.sum()
    if total <= 0:
        return float("nan")
    a_ord = _ordered_actual(f, a)
    f_ord = np.sort(f)[::-1]
    errors = [abs(fs.sum() - as_.sum()) for fs, as_ in zip(np.array_split(f_ord, n_groups),
                                                           np.array_split(a_ord, n_groups), strict=True)]
    return float(np.mean(errors) / (total / n_groups))


def value_metrics(forecast, actual) -> dict:
    """All five metrics of :data:`VALUE_METRICS` as a dict, plus the totals and the customer count."""
    f, a = _check(forecast, actual)
    return {
        "spearman": spearman(f, a),
        "normalized_gini": normalized_gini(f, a),
        "top10_share": top10_share(f, a),
        "total_ratio": total_ratio(f, a),
        "decile_error": decile_error(f, a),
        "total_forecast": float(f.sum()),
        "total_actual": float(a.sum()),
        "n": int(f.size),
    }


_RANKING = {"spearman": spearman, "normalized_gini": normalized_gini}


def win_probability(metric: str, forecast, baseline, actual, *, n_boot: int = 200, max_customers: int | None = None,
                    seed: int = 0) -> float:
    """Paired bootstrap probability that ``forecast`` ranks better than ``baseline`` by ``metric``.

    The customers are resampled with replacement ``n_boot`` times; the result is the share of
    resamples on which ``metric`` (``'spearman'`` or ``'normalized_gini'``) of ``forecast`` is
    higher than that of ``baseline`` on the same resample. With ``max_customers``, a larger base
    is first sampled down to that many customers (seeded): fewer customers give a wider spread,
    so the probability can only be more cautious, never less.
    """
    if metric not in _RANKING:
        raise ValueError(f"metric must be one of {sorted(_RANKING)}, got {metric!r}")
    f, a = _check(forecast, actual)
    b, _ = _check(baseline, actual)
    rng = np.random.default_rng(seed)
    if max_customers is not None and f.size > max_customers:
        keep = rng.choice(f.size, int(max_customers), replace=False)
        f, b, a = f[keep], b[keep], a[keep]
    score = _RANKING[metric]
    wins = 0
    for _ in range(int(n_boot)):
        idx = rng.integers(0, f.size, f.size)
        wins += bool(score(f[idx], a[idx]) > score(b[idx], a[idx]))
    return wins / int(n_boot)
