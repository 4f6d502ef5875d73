"""Churn model: probability of no purchase within the horizon H after the scoring date."""

from __future__ import annotations

import numpy as np

from .horizon import HorizonClassifier, usable_rows

__all__ = ["ChurnModel"]


class ChurnModel:
    """LightGBM churn classifier on stacked snapshots, calibrated (see :mod:`models.calibration`).

    Parameters
    ----------
    horizon : int
        H in days: churn = no purchase in (as_of, as_of + H].
    params, num_boost_round, seed
        Passed to :class:`models.horizon.HorizonClassifier`.

    Attributes
    ----------
    classifier_ : HorizonClassifier
        Estimates P(purchase within H) = 1 - P(churn).
    feature_names_ : list of str
    """

    def __init__(self, horizon: int, params: dict | None = None, num_boost_round: int | None = None,
                 seed: int | None = None):
        self.horizon = horizon
        self.params = params
        self.num_boost_round = num_boost_round
        self.seed = seed

    def fit(self, X, duration, event, followup, *, reference_X=None, reference_p_purchase=None) -> ChurnModel:
        """Fit on stacked snapshot rows; rows followed for less than H days are not used.

        Parameters
        ----------
        X : pandas.DataFrame
            Model features.
        duration, event, followup : array-like
            Days to the next purchase (or censoring), whether it was seen, and days followed;
            see :func:`models.horizon.usable_rows`.
        reference_X : pandas.DataFrame, optional
            Features at the training cutoff for calibration in the large.
        reference_p_purchase : float, optional
            Mean P(purchase within H) the calibrated model must give ``reference_X``.
        """
        h = int(self.horizon)
        if h <= 0:
            raise ValueError(f"horizon must be a positive number of days, got {self.horizon}")
        mask, label = usable_rows(duration, event, followup, h)
        self.classifier_ = HorizonClassifier(h, self.params, self.num_boost_round, self.seed).fit(
            X[mask], label, reference_X=reference_X, reference_target=reference_p_purchase)
        self.feature_names_ = self.classifier_.feature_names_
        return self

    @classmethod
    def from_classifier(cls, classifier: HorizonClassifier) -> ChurnModel:
        """Wrap an already fitted classifier at H (the next-purchase knot at H is the same model)."""
        model = cls(horizon=int(classifier.horizon))
        model.classifier_ = classifier
        model.feature_names_ = classifier.feature_names_
        return model

    def predict_proba(self, X) -> np.ndarray:
        """P(churn within H) per row."""
        return 1.0 - self.classifier_.predict_proba(X)

    def get_state(self):
        meta, text = self.classifier_.get_state()
        return {"horizon": int(self.horizon), "classifier": meta}, text

    @classmethod
    def from_state(cls, meta: dict, model_text: str) -> ChurnModel:
        model = cls(horizon=int(meta["horizon"]))
        model.classifier_ = HorizonClassifier.from_state(meta["classifier"], model_text)
        model.feature_names_ = model.classifier_.feature_names_
        return model
