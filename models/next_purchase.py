"""Next-purchase interval: a monotone survival curve S(t) from per-horizon LightGBM classifiers.

For each knot ``t_k`` (e.g. 30, 90, 180, 365 days) one calibrated classifier estimates
``F(t_k) = P(next purchase within t_k days)``, trained only on snapshot rows followed for at
least ``t_k`` days (censoring is administrative; see :func:`models.horizon.usable_rows`), so
customers who have not bought again by the end of the data are neither dropped nor counted as
buying at the window's end. The knots are assembled into a curve:

* monotone: ``F`` is made non-decreasing over the knots by a running maximum;
* between knots (and from ``S(0) = 1`` to the first knot) ``log S`` is linear in t (a constant
  hazard on each interval), so ``S`` is continuous and non-increasing;
* past the last knot ``K`` (the longest horizon the training history observes) the classifiers
  say nothing, so the curve continues with a model that can see there: BG/NBD's conditional
  survival, fitted on every customer, joined at K --
  ``S(t) = S(K) * S_bg(t) / S_bg(K)`` for ``t > K`` (:class:`JoinedCurve`). BG/NBD's ratio is
  its own probability of no purchase by t given none by K, so the learned curve fixes the level
  and BG/NBD the shape of the tail. Quantiles (median, p90) are solved exactly on the joined
  curve and are never capped: a customer whose chance of ever buying again is below the level
  has an infinite quantile.
"""

from __future__ import annotations

import numpy as np

from .horizon import HorizonClassifier, usable_rows

__all__ = ["JoinedCurve", "NextPurchaseModel", "curve_median", "curve_probability", "curve_quantile", "curve_rmst"]

_TINY = 1e-12


def curve_probability(knots, F, t) -> np.ndarray:
    """P(purchase within ``t`` days) from monotone knot probabilities ``F`` (rows x knots).

    Log-linear interpolation of S between knots; beyond the last knot the last hazard is kept.
    """
    knots = np.asarray(knots, dtype=np.float64)
    hit = np.flatnonzero(knots == float(t))
    if hit.size:  # exactly at a knot: the knot's probability itself, no round trip through logs
        return np.asarray(F[:, hit[0]], dtype=np.float64).copy()
    logS = np.log(np.clip(1.0 - F, _TINY, 1.0))
    grid = np.r_[0.0, knots]
    logS = np.hstack([np.zeros((logS.shape[0], 1)), logS])
    t = float(t)
    k = int(np.clip(np.searchsorted(grid, t, side="right") - 1, 0, grid.size - 2))
    frac = (t - grid[k]) / (grid[k + 1] - grid[k])
    val = logS[:, k] + frac * (logS[:, k + 1] - logS[:, k])
    return 1.0 - np.exp(np.minimum(val, 0.0))


def curve_median(knots, F) -> tuple[np.ndarray, np.ndarray]:
    """Median of the knots' curve per row, capped at the last knot; and the flag "median beyond the knots"."""
    return curve_quantile(knots, F, 0.5)


def curve_quantile(knots, F, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Days at which P(purchase) reaches ``level`` on the knots' curve, and "not by the last knot".

    Where the curve does not reach ``level`` by the last knot, the day is that knot (the caller
    continues with a tail) and the flag is True.
    """
    knots = np.asarray(knots, dtype=np.float64)
    n = F.shape[0]
    target = 1.0 - float(level)
    S = np.hstack([np.ones((n, 1)), np.clip(1.0 - F, _TINY, 1.0)])
    grid = np.r_[0.0, knots]
    below = target >= S
    beyond = ~below[:, -1]
    k = np.argmax(below, axis=1)  # first grid index with S <= target (>= 1 since S(0) = 1)
    k = np.where(beyond, grid.size - 1, np.maximum(k, 1))
    rows = np.arange(n)
    s0, s1 = np.log(S[rows, k - 1]), np.log(S[rows, k])
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(s1 < s0, (np.log(target) - s0) / (s1 - s0), 1.0)
    days = grid[k - 1] + np.clip(frac, 0.0, 1.0) * (grid[k] - grid[k - 1])
    return np.where(beyond, grid[-1], days), beyond


class JoinedCurve:
    """Per customer, S(t) from the knots' curve up to the last knot K, then a tail model's shape.

    Parameters
    ----------
    knots : sequence of int
    F : numpy.ndarray
        Monotone P(purchase within knot), rows x knots.
    tail : object
        Fitted model with ``p_purchase_within(t, x, t_x, T)`` and
        ``days_until_no_purchase_probability(s, x, t_x, T)`` (BG/NBD).
    x, t_x, T : numpy.ndarray
        The customers' repeat purchases, recency and age (days) the tail model reads.
    """

    def __init__(self, knots, F, tail, x, t_x, T):
        self.knots = [int(k) for k in knots]
        self.F = F
        self.tail, self.x, self.t_x, self.T = tail, x, t_x, T
        last = float(self.knots[-1])
        self._S_last = np.clip(1.0 - F[:, -1], _TINY, 1.0)
        self._tail_S_last = np.clip(1.0 - tail.p_purchase_within(last, x, t_x, T), _TINY, 1.0)

    def probability(self, t) -> np.ndarray:
        """P(next purchase within ``t`` days) per row."""
        t = float(t)
        if t <= self.knots[-1]:
            return curve_probability(self.knots, self.F, t)
        tail_S = 1.0 - self.tail.p_purchase_within(t, self.x, self.t_x, self.T)
        return 1.0 - self._S_last * np.clip(tail_S / self._tail_S_last, 0.0, 1.0)

    def quantile(self, level: float) -> np.ndarray:
        """Days until P(purchase) reaches ``level`` (0.5: the median); inf where it never does."""
        days, beyond = curve_quantile(self.knots, self.F, level)
        if beyond.any():
            # past K: S(K) * S_tail(K + u) / S_tail(K) = 1 - level, solved on the tail model
            target = (1.0 - level) * self._tail_S_last[beyond] / self._S_last[beyond]
            tail_days = self.tail.days_until_no_purchase_probability(
                np.minimum(target, 1.0), self.x[beyond], self.t_x[beyond], self.T[beyond])
            days = days.copy()
            days[beyond] = np.maximum(tail_days, float(self.knots[-1]))
        return days

    def survival(self, days) -> np.ndarray:
        """S(t) at each of ``days`` (rows x days)."""
        return np.column_stack([1.0 - self.probability(t) for t in days]) if len(days) else np.empty((len(self.F), 0))


def curve_rmst(knots, F) -> np.ndarray:
    """Restricted mean time to the next purchase: the area under S(t) up to the last knot.

    A continuous predicted time (larger = later) for the concordance index, where the capped
    median ties many customers.
    """
    knots = np.asarray(knots, dtype=np.float64)
    n = F.shape[0]
    S = np.hstack([np.ones((n, 1)), np.clip(1.0 - F, _TINY, 1.0)])
    grid = np.r_[0.0, knots]
    total = np.zeros(n)
    for k in range(1, grid.size):
        dt = grid[k] - grid[k - 1]
        s0, s1 = S[:, k - 1], S[:, k]
        lam = (np.log(s0) - np.log(s1)) / dt
        with np.errstate(divide="ignore", invalid="ignore"):
            area = np.where(lam > 1e-12, s0 * -np.expm1(-lam * dt) / lam, s0 * dt)
        total += area
    return total


class NextPurchaseModel:
    """Survival curve of the time to the next purchase, one LightGBM classifier per knot.

    Parameters
    ----------
    knots : sequence of int
        Days at which S(t) is estimated directly (at least one).
    params, num_boost_round, seed
        Passed to every :class:`models.horizon.HorizonClassifier`.

    Attributes
    ----------
    knots_ : list of int
        Sorted knots.
    classifiers_ : dict int -> HorizonClassifier
    feature_names_ : list of str
    """

    def __init__(self, knots=(30, 90), params: dict | None = None, num_boost_round: int | None = None,
                 seed: int | None = None):
        self.knots = knots
        self.params = params
        self.num_boost_round = num_boost_round
        self.seed = seed

    def fit(self, X, duration, event, followup, *, reference_X=None, reference_p_purchase=None) -> NextPurchaseModel:
        """Fit one classifier per knot on the rows followed at least that long.

        Parameters
        ----------
        X : pandas.DataFrame
        duration, event, followup : array-like
            See :func:`models.horizon.usable_rows`.
        reference_X : pandas.DataFrame, optional
            Features at the training cutoff for calibration in the large.
        reference_p_purchase : mapping int -> float, optional
            Per knot, the mean P(purchase within knot) the calibrated model must give.
        """
        knots = sorted({int(k) for k in self.knots})
        if not knots or knots[0] <= 0:
            raise ValueError(f"knots must be positive days, got {self.knots}")
        self.knots_ = knots
        self.classifiers_ = {}
        for k in knots:
            mask, label = usable_rows(duration, event, followup, k)
            target = None if reference_p_purchase is None else reference_p_purchase.get(k)
            self.classifiers_[k] = HorizonClassifier(k, self.params, self.num_boost_round, self.seed).fit(
                X[mask], label, reference_X=reference_X, reference_target=target)
        self.feature_names_ = self.classifiers_[knots[0]].feature_names_
        return self

    def knot_probabilities(self, X) -> np.ndarray:
        """Monotone F(t_k) per row and knot (rows x knots)."""
        arr = X if isinstance(X, np.ndarray) else np.asarray(X[self.feature_names_], dtype=np.float64)
        F = np.column_stack([self.classifiers_[k].predict_proba(arr) for k in self.knots_])
        return np.maximum.accumulate(F, axis=1)

    def predict_proba(self, X, t) -> np.ndarray:
        """P(next purchase within ``t`` days)."""
        return curve_probability(self.knots_, self.knot_probabilities(X), t)

    def predict_median(self, X) -> tuple[np.ndarray, np.ndarray]:
        """Median days to the next purchase (capped at the last knot) and the beyond-data flag."""
        return curve_median(self.knots_, self.knot_probabilities(X))

    def get_state(self):
        metas, texts = {}, {}
        for k, clf in self.classifiers_.items():
            metas[str(k)], texts[k] = clf.get_state()
        return {"knots": self.knots_, "classifiers": metas}, texts

    @classmethod
    def from_state(cls, meta: dict, model_texts: dict) -> NextPurchaseModel:
        model = cls(knots=tuple(meta["knots"]))
        model.knots_ = [int(k) for k in meta["knots"]]
        model.classifiers_ = {k: HorizonClassifier.from_state(meta["classifiers"][str(k)], model_texts[k])
                              for k in model.knots_}
        model.feature_names_ = model.classifiers_[model.knots_[0]].feature_names_
        return model
