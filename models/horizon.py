"""One LightGBM classifier for "at least one purchase within w days", with its calibrator.

The building block of both served models: the churn model is one of these at the horizon H
(churn = no purchase within H) and the next-purchase model is one per knot of its survival
curve. Saved as LightGBM's text model format plus JSON, never pickled.
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np

from . import defaults
from .calibration import LogitShiftCalibrator
from .lgbm import predict_threads, training_params

__all__ = ["HorizonClassifier", "usable_rows"]


def usable_rows(duration, event, followup, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows whose "purchase within ``horizon``" label is known, and that label.

    Censoring here is administrative (a snapshot is followed until the training cutoff, whatever
    the customer does), so a row is usable exactly when it was followed for at least
    ``horizon`` days. Dropping only the censored rows of a short follow-up while keeping its
    purchases would over-count purchases; treating censored rows as "no purchase" would
    under-count them.

    Parameters
    ----------
    duration : array-like
        Days to the next purchase, or to the end of follow-up when censored.
    event : array-like of bool
        True when the next purchase was seen.
    followup : array-like
        Days each row was followed (training cutoff - as-of date).
    horizon : int

    Returns
    -------
    mask : numpy.ndarray of bool
    label : numpy.ndarray of bool
        Purchase within ``horizon`` for the masked rows.
    """
    duration = np.asarray(duration, dtype=np.float64)
    event = np.asarray(event, dtype=bool)
    followup = np.asarray(followup, dtype=np.float64)
    mask = followup >= horizon
    label = event[mask] & (duration[mask] <= horizon)
    return mask, label


class HorizonClassifier:
    """LightGBM estimate of P(purchase within ``horizon`` days), calibrated.

    Parameters
    ----------
    horizon : int
        Days.
    params : dict, optional
        LightGBM parameters overriding :data:`models.defaults.LGBM_PARAMS`.
    num_boost_round : int, optional
        Default :data:`models.defaults.LGBM_NUM_BOOST_ROUND`.
    seed : int, optional
        Default :data:`models.defaults.SEED`.

    Attributes
    ----------
    booster_ : lightgbm.Booster
    calibrator_ : LogitShiftCalibrator or None
    feature_names_ : list of str
    n_train_, positive_rate_ : int, float
    """

    def __init__(self, horizon: int, params: dict | None = None, num_boost_round: int | None = None,
                 seed: int | None = None):
        self.horizon = horizon
        self.params = params
        self.num_boost_round = num_boost_round
        self.seed = seed

    def _params(self) -> dict:
        return training_params(defaults.LGBM_PARAMS, self.params, self.seed)

    def fit(self, X, y, *, reference_X=None, reference_target: float | None = None) -> HorizonClassifier:
        """Train on rows with known labels; optionally match the level on a reference population.

        Parameters
        ----------
        X : pandas.DataFrame
            Model features (see :func:`models.features.model_features`).
        y : array-like of bool
            Purchase within ``horizon``.
        reference_X : pandas.DataFrame, optional
            Features of the customer base at the training cutoff (no labels needed).
        reference_target : float, optional
            Mean probability the calibrated model must give ``reference_X`` (BG/NBD's).
        """
        y = np.asarray(y, dtype=bool)
        if len(X) != y.size:
            raise ValueError(f"X has {len(X)} rows but y has {y.size}")
        n_pos = int(y.sum())
        if n_pos == 0 or n_pos == y.size:
            raise ValueError(
                f"horizon {self.horizon}d: need both purchases and non-purchases to train, "
                f"got {n_pos} positives in {y.size} rows")
        self.feature_names_ = list(X.columns)
        rounds = defaults.LGBM_NUM_BOOST_ROUND if self.num_boost_round is None else int(self.num_boost_round)
        data = lgb.Dataset(np.asarray(X, dtype=np.float32), label=y.astype(np.float32),
                           feature_name=self.feature_names_, free_raw_data=True)
        self.booster_ = lgb.train(self._params(), data, num_boost_round=rounds)
        self.n_train_ = int(y.size)
        self.positive_rate_ = float(y.mean())
        self.calibrator_ = None
        if reference_X is not None and reference_target is not None:
            self.calibrator_ = LogitShiftCalibrator().fit(self.raw_score(reference_X), reference_target)
        return self

    def raw_score(self, X) -> np.ndarray:
        """Uncalibrated logit scores."""
        self._check()
        arr = X if isinstance(X, np.ndarray) else np.asarray(X[self.feature_names_], dtype=np.float64)
        return self.booster_.predict(arr, raw_score=True, num_threads=predict_threads(len(arr)))

    def predict_proba(self, X) -> np.ndarray:
        """Calibrated P(purchase within ``horizon``) per row."""
        raw = self.raw_score(X)
        if self.calibrator_ is None:
            return 1.0 / (1.0 + np.exp(-raw))
        return self.calibrator_.transform(raw)

    def feature_importance(self) -> dict[str, float]:
        """Total gain per feature."""
        self._check()
        gain = self.booster_.feature_importance(importance_type="gain")
        return dict(zip(self.feature_names_, (float(g) for g in gain), strict=True))

    def _check(self):
        if not hasattr(self, "booster_"):
            raise RuntimeError(f"HorizonClassifier({self.horizon}d) is not fitted; call fit first")

    # ------------------------------------------------------------------ persistence
    def get_state(self) -> tuple[dict, str]:
        """(JSON-ready metadata, LightGBM text model)."""
        self._check()
        meta = {"horizon": int(self.horizon), "feature_names": self.feature_names_,
                "n_train": self.n_train_, "positive_rate": self.positive_rate_,
                "calibrator": None if self.calibrator_ is None else self.calibrator_.get_state()}
        return meta, self.booster_.model_to_string()

    @classmethod
    def from_state(cls, meta: dict, model_text: str) -> HorizonClassifier:
        clf = cls(horizon=int(meta["horizon"]))
        clf.booster_ = lgb.Booster(model_str=model_text)
        clf.feature_names_ = list(meta["feature_names"])
        if clf.booster_.feature_name() != clf.feature_names_:
            raise ValueError(
                f"booster features {clf.booster_.feature_name()} differ from metadata {clf.feature_names_}"
            )
        clf.n_train_ = int(meta["n_train"])
        clf.positive_rate_ = float(meta["positive_rate"])
        clf.calibrator_ = None if meta["calibrator"] is None else LogitShiftCalibrator.from_state(meta["calibrator"])
        return clf
