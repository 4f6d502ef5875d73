"""The served bundle: churn + next-purchase models, BG/NBD and Gamma-Gamma, and the gate's choices.

:class:`CustomerScorer` turns a :func:`customerbase.snapshot` frame into the model outputs the
rules consume. Each probability output is served from the source the training gate chose:
``'model'`` (LightGBM), ``'baseline'`` (BG/NBD) or ``'blend'`` (their average, weight
:data:`models.defaults.BLEND_WEIGHT`).

Output columns
--------------
churn_probability
    P(no purchase within ``horizon_days``).
p_purchase_30d, p_purchase_90d
    P(next purchase within 30 / 90 days), read off the monotone survival curve S(t).
expected_days_to_next_purchase, next_purchase_beyond_data
    Median of S(t); when S stays above 0.5 up to the curve's last knot (the longest horizon the
    training history could observe) it is capped at that knot and the flag is True.
p_alive
    BG/NBD probability the customer is still alive.
expected_spend_per_purchase
    Gamma-Gamma conditional expected spend per purchase (population mean when no history).
expected_purchase_cycle_days
    BG/NBD posterior mean days between purchases of an alive customer, (alpha + T) / (r + x).
expected_lifetime_days
    Expected remaining lifetime from the served churn probability c over horizon H: if each
    further period of H days is survived with probability 1 - c (memoryless), the expected
    number of further periods is (1 - c) / c, so ``H * (1 - c) / c``, capped at
    :data:`models.defaults.LIFETIME_CAP_DAYS`.

Persistence is plain files: LightGBM text models and one JSON document (no pickle).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from . import defaults
from .bgnbd import BetaGeoModel, rfm_arrays
from .churn import ChurnModel
from .features import add_model_features
from .gamma_gamma import GammaGammaModel
from .next_purchase import NextPurchaseModel, curve_median, curve_probability

__all__ = ["OUTPUT_COLUMNS", "SOURCES", "CustomerScorer", "ScorerLoadError"]

OUTPUT_COLUMNS = (
    "churn_probability", "p_purchase_30d", "p_purchase_90d", "expected_days_to_next_purchase",
    "next_purchase_beyond_data", "p_alive", "expected_spend_per_purchase",
    "expected_purchase_cycle_days", "expected_lifetime_days",
)
SOURCES = ("model", "baseline", "blend")
_META = "scorer.json"
_FORMAT = 1


class ScorerLoadError(RuntimeError):
    """A saved scorer is missing or unreadable; the message names where it was looked for."""


class CustomerScorer:
    """Everything needed to score customers, as decided by training.

    Parameters
    ----------
    horizon_days : int
        H of the churn model.
    bgnbd : BetaGeoModel
        Fitted at the training cutoff; also computes the models' BG/NBD features.
    gamma_gamma : GammaGammaModel
    churn : ChurnModel or None
        None when the churn output is served from the baseline only.
    next_purchase : NextPurchaseModel or None
    knots : sequence of int
        Knots of the served survival curve (must include 30 and 90).
    feature_horizons : sequence of int
        Horizons of the BG/NBD features the LightGBM models were trained with.
    sources : dict
        ``'churn'`` and ``'knot_<days>'`` -> one of :data:`SOURCES`.
    version : str
        Registered model versions, or ``'local'``.
    blend_weight : float, optional
        Weight of the model in a blend; default :data:`models.defaults.BLEND_WEIGHT`.
    info : dict, optional
        Free metadata (cutoff, data fingerprint, gate report) saved with the scorer.
    clv_reference : array-like, optional
        CLV quantile table of the training population (:func:`crmid.models.value.clv_reference`),
        the reference a lone customer's value percentile falls back on; saved with the scorer.
    clv_reference_rules : str, optional
        Version of the rules whose CLV lifetime cap computed ``clv_reference``.
    """

    def __init__(self, horizon_days, bgnbd, gamma_gamma, churn, next_purchase, knots, feature_horizons,
                 sources, version="local", blend_weight=None, info=None, clv_reference=None,
                 clv_reference_rules=None):
        self.horizon_days = int(horizon_days)
        self.bgnbd = bgnbd
        self.gamma_gamma = gamma_gamma
        self.churn = churn
        self.next_purchase = next_purchase
        self.knots = [int(k) for k in sorted(knots)]
        self.feature_horizons = [int(h) for h in sorted(feature_horizons)]
        self.sources = dict(sources)
        self.version = version
        self.blend_weight = defaults.BLEND_WEIGHT if blend_weight is None else float(blend_weight)
        self.info = dict(info or {})
        self.clv_reference = np.asarray([] if clv_reference is None else clv_reference, dtype=float)
        self.clv_reference_rules = clv_reference_rules
        for required in (30, 90):
            if required not in self.knots:
                raise ValueError(f"the survival curve needs a knot at {required} days; knots are {self.knots}")
        for key in ["churn"] + [f"knot_{k}" for k in self.knots]:
            src = self.sources.setdefault(key, "baseline")
            if src not in SOURCES:
                raise ValueError(f"source of {key} must be one of {SOURCES}, got {src!r}")
        if self.churn is None and self.sources["churn"] != "baseline":
            raise ValueError("churn is served from the model but no churn model was given")
        for k in self.knots:
            if self.sources[f"knot_{k}"] != "baseline" and (
                    self.next_purchase is None or k not in self.next_purchase.knots_):
                raise ValueError(f"knot {k}d is served from the model but the next-purchase model has no such knot")
        models = [m for m in (self.churn, self.next_purchase) if m is not None]
        self.feature_names_ = list(models[0].feature_names_) if models else []

    # ------------------------------------------------------------------ scoring
    def _mix(self, source: str, model_p, base_p):
        if source == "model":
            return model_p
        if source == "blend":
            return self.blend_weight * model_p + (1.0 - self.blend_weight) * base_p
        return base_p

    def predict(self, features: pd.DataFrame) -> pd.DataFrame:
        """Score the rows of a :func:`customerbase.snapshot` frame, same order out.

        Returns
        -------
        pandas.DataFrame
            Columns :data:`OUTPUT_COLUMNS`, index of ``features``.
        """
        return self._predict(features)[0]

    def _predict(self, features: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
        n = len(features)
        bg = self.bgnbd
        H = self.horizon_days
        horizons = sorted(set(self.knots) | {H} | set(self.feature_horizons))
        cache: dict = {}
        arr = None
        if self.feature_names_ and n:
            X = add_model_features(features, bg, horizons, cache=cache)
            # column-major float32, which LightGBM reads without a copy: the features are float32
            # already, so the predictions are the same as from float64
            arr = np.empty((n, len(self.feature_names_)), dtype=np.float32, order="F")
            for j, name in enumerate(self.feature_names_):
                arr[:, j] = X[name].to_numpy()
        else:
            x, t_x, T = rfm_arrays(features)
            alive, p = bg.alive_and_purchase(horizons, x, t_x, T)
            cache.update(p_alive=alive, p_purchase=p, rate=bg.expected_rate(x, t_x, T))
        base_p = cache["p_purchase"]

        model_p = {}  # knot -> model probability, computed once per booster
        F = np.empty((n, len(self.knots)))
        for j, k in enumerate(self.knots):
            src = self.sources[f"knot_{k}"]
            if src != "baseline" and arr is not None:
                model_p[k] = self.next_purchase.classifiers_[k].predict_proba(arr)
                F[:, j] = self._mix(src, model_p[k], base_p[k])
            else:
                F[:, j] = base_p[k]

        base_churn = 1.0 - base_p[H]
        if self.sources["churn"] != "baseline" and arr is not None:
            shared = self.next_purchase is not None and self.churn.classifier_ is self.next_purchase.classifiers_.get(H)
            churn_model = 1.0 - model_p[H] if shared and H in model_p else self.churn.predict_proba(arr)
            churn = self._mix(self.sources["churn"], churn_model, base_churn)
        else:
            churn = base_churn
        F = np.maximum.accumulate(F, axis=1)
        median, beyond = curve_median(self.knots, F)

        churn = np.clip(churn, 0.0, 1.0)
        c = np.maximum(churn, 1e-9)
        lifetime = np.minimum(H * (1.0 - churn) / c, defaults.LIFETIME_CAP_DAYS)
        monetary = features["monetary_mean"].to_numpy(dtype=np.float64, na_value=np.nan)
        n_purch = features["n_purchases"].to_numpy(dtype=np.float64, na_value=np.nan)
        out = pd.DataFrame(
            {
                "churn_probability": churn,
                "p_purchase_30d": curve_probability(self.knots, F, 30),
                "p_purchase_90d": curve_probability(self.knots, F, 90),
                "expected_days_to_next_purchase": median.astype(np.float64),
                "next_purchase_beyond_data": beyond.astype(bool),
                "p_alive": cache["p_alive"],
                "expected_spend_per_purchase": self.gamma_gamma.conditional_expected_spend(n_purch, monetary),
                "expected_purchase_cycle_days": 1.0 / cache["rate"],
                "expected_lifetime_days": lifetime,
            },
            index=features.index,
        )
        return out, F

    def survival_knots(self, features: pd.DataFrame) -> tuple[list[int], np.ndarray]:
        """The served survival curve as knots and monotone P(purchase within knot) (rows x knots)."""
        return self.knots, self._predict(features)[1]

    # ------------------------------------------------------------------ persistence
    def save(self, directory) -> Path:
        """Write the scorer as JSON plus LightGBM text models into ``directory`` (created)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": _FORMAT,
            "horizon_days": self.horizon_days,
            "version": self.version,
            "knots": self.knots,
            "feature_horizons": self.feature_horizons,
            "sources": self.sources,
            "blend_weight": self.blend_weight,
            "bgnbd": self.bgnbd.get_state(),
            "gamma_gamma": self.gamma_gamma.get_state(),
            "churn": None,
            "next_purchase": None,
            "info": self.info,
            "clv_reference": [float(x) for x in self.clv_reference],
            "clv_reference_rules": self.clv_reference_rules,
        }
        if self.churn is not None:
            meta["churn"], text = self.churn.get_state()
            (directory / "churn.lgb.txt").write_text(text)
        if self.next_purchase is not None:
            meta["next_purchase"], texts = self.next_purchase.get_state()
            for k, text in texts.items():
                (directory / f"next_purchase_{k}d.lgb.txt").write_text(text)
        (directory / _META).write_text(json.dumps(meta, indent=2, default=_json_default))
        return directory

    @classmethod
    def load(cls, directory, *, uri: str | None = None) -> CustomerScorer:
        """Read a scorer written by :meth:`save`; any problem raises :class:`ScorerLoadError`."""
        directory = Path(directory)
        name = uri or str(directory)
        meta_path = directory / _META
        if not meta_path.is_file():
            raise ScorerLoadError(f"{name}: no saved scorer here ({_META} not found in {directory})")
        try:
            meta = json.loads(meta_path.read_text())
            if meta.get("format") != _FORMAT:
                raise ValueError(f"unsupported scorer format {meta.get('format')!r}")
            nxt, texts = None, {}
            if meta["next_purchase"] is not None:
                texts = {int(k): (directory / f"next_purchase_{int(k)}d.lgb.txt").read_text()
                         for k in meta["next_purchase"]["knots"]}
                nxt = NextPurchaseModel.from_state(meta["next_purchase"], texts)
            churn = None
            if meta["churn"] is not None:
                churn_text = (directory / "churn.lgb.txt").read_text()
                h = int(meta["horizon_days"])
                if nxt is not None and texts.get(h) == churn_text:
                    churn = ChurnModel.from_classifier(nxt.classifiers_[h])  # one booster, not two
                else:
                    churn = ChurnModel.from_state(meta["churn"], churn_text)
            return cls(
                horizon_days=meta["horizon_days"],
                bgnbd=BetaGeoModel.from_state(meta["bgnbd"]),
                gamma_gamma=GammaGammaModel.from_state(meta["gamma_gamma"]),
                churn=churn, next_purchase=nxt, knots=meta["knots"],
                feature_horizons=meta["feature_horizons"], sources=meta["sources"],
                version=meta.get("version", "local"), blend_weight=meta.get("blend_weight"),
                info=meta.get("info"), clv_reference=meta.get("clv_reference"),
                clv_reference_rules=meta.get("clv_reference_rules"),
            )
        except ScorerLoadError:
            raise
        except Exception as exc:
            raise ScorerLoadError(
                f"{name}: saved scorer is corrupted or incomplete: {type(exc).__name__}: {exc}"
            ) from exc

    def __repr__(self) -> str:
        return (f"CustomerScorer(horizon_days={self.horizon_days}, version={self.version!r}, "
                f"knots={self.knots}, sources={self.sources})")


def _json_default(obj):
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, (pd.Timestamp,)):
        return obj.isoformat()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
