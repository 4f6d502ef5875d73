"""Probability calibration of the horizon classifiers.

Trees trained on stacked past snapshots rank customers well but inherit the purchase level of
the past: in a cohort that ages (CDNOW) they over-predict at a later scoring date. BG/NBD, a
structural model, extrapolates the level over time well but ranks worse. The
:class:`LogitShiftCalibrator` takes the ranking from the trees and the level from BG/NBD: one
additive shift on the logit scale, chosen so that the calibrated mean probability over the
customer base at the training cutoff equals BG/NBD's mean probability there (calibration in the
large on the latest, unlabelled, snapshot). Being a monotone map, it never changes AUC.

Whether the result is calibrated is then *checked* on a later, labelled validation snapshot by
the training gate (Brier score, log loss, calibration curve), against BG/NBD itself.
"""

from __future__ import annotations

import numpy as np
from scipy import special

__all__ = ["LogitShiftCalibrator", "logit"]

_EPS = 1e-7


def logit(p) -> np.ndarray:
    """Logit of probabilities clipped away from 0 and 1."""
    p = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1 - _EPS)
    return np.log(p) - np.log1p(-p)


class LogitShiftCalibrator:
    """``p = sigmoid(raw + shift_)`` with ``shift_`` matching a target mean probability.

    Attributes
    ----------
    shift_ : float
        Added to the raw logit score.
    target_mean_ : float
        The mean probability matched at fit time.
    """

    def fit(self, raw_scores, target_mean: float) -> LogitShiftCalibrator:
        """Find the shift making ``mean(sigmoid(raw + shift)) == target_mean``.

        Parameters
        ----------
        raw_scores : array-like
            Raw logit scores of the population the level is matched on.
        target_mean : float
            Mean probability wanted, in (0, 1).

        Returns
        -------
        self
        """
        raw = np.asarray(raw_scores, dtype=np.float64)
        if raw.size == 0:
            raise ValueError("calibration needs at least one score, got 0")
        target = float(target_mean)
        if not 0.0 < target < 1.0:
            raise ValueError(f"target mean probability must be in (0, 1), got {target}")
        # here, not at the top: commands that only read a fitted model (crmid retain formats its
        # drivers through this module's logit) do not load SciPy's optimizers (0.2 s)
        from scipy import optimize

        gap = lambda s: float(np.mean(special.expit(raw + s))) - target  # noqa: E731
        lo, hi = -30.0, 30.0
        self.shift_ = float(optimize.brentq(gap, lo, hi, xtol=1e-10)) if gap(lo) < 0 < gap(hi) else 0.0
        self.target_mean_ = target
        return self

    def transform(self, raw_scores) -> np.ndarray:
        """Calibrated probabilities from raw logit scores."""
        if not hasattr(self, "shift_"):
            raise RuntimeError("LogitShiftCalibrator is not fitted; call fit first")
        return special.expit(np.asarray(raw_scores, dtype=np.float64) + self.shift_)

    def get_state(self) -> dict:
        return {"kind": "logit_shift", "shift": self.shift_, "target_mean": self.target_mean_}

    @classmethod
    def from_state(cls, state: dict) -> LogitShiftCalibrator:
        if state.get("kind") != "logit_shift":
            raise ValueError(f"unknown calibrator kind {state.get('kind')!r}")
        cal = cls()
        cal.shift_ = float(state["shift"])
        cal.target_mean_ = float(state["target_mean"])
        return cal
