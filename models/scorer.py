"""The served bundle: churn + next-purchase models, BG/NBD and Gamma-Gamma, and the gate's choices.

:class:`CustomerScorer` turns a :func:`customerbase.snapshot` frame into the model outputs the
rules consume. Each probability output is served from the source the training gate chose:
``'model'`` (LightGBM), ``'baseline'`` (BG/NBD), ``'pareto'`` (Pareto/NBD) or ``'blend'``
(LightGBM and BG/NBD averaged, weight :data:`models.defaults.BLEND_WEIGHT`).

Output columns
--------------
churn_probability
    P(no purchase within ``horizon_days``).
p_purchase_30d, p_purchase_90d, p_purchase_180d, p_purchase_365d
    P(next purchase within t days) for each t of :data:`models.defaults.NEXT_PURCHASE_REPORT_DAYS`,
    read off the survival curve S(t): the knots' monotone curve up to the last knot, BG/NBD's
    conditional survival joined there beyond it (:class:`models.next_purchase.JoinedCurve`).
next_purchase_days_median, next_purchase_days_p90
    Days from the as-of date until P(next purchase) reaches 50% / 90%, never capped; ``inf``
    when the customer's chance of ever buying again is below that level.
next_purchase_median_beyond_365d
    True when the median is later than 365 days (or never).
expected_spend_90d, expected_spend_180d, expected_spend_365d
    Money the customer is expected to spend in the next h days (h in
    :data:`models.defaults.SPEND_HORIZONS`), in the input's currency, never negative:
    :class:`models.spend.SpendForecaster` where its gate served it, else BG/NBD x Gamma-Gamma.
drivers
    Only with ``predict(..., drivers=True)``: JSON list of the churn probability's drivers
    (:mod:`models.drivers`).
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

from crmid._frames import column_values, frame_of

from . import defaults
from .bgnbd import BetaGeoModel, rfm_arrays
from .churn import ChurnModel
from .drivers import DriverSurrogate, churn_effects, classifier_contributions, top_drivers
from .features import KEPT_FAMILIES, add_model_features, feature_matrix
from .gamma_gamma import GammaGammaModel
from .next_purchase import JoinedCurve, NextPurchaseModel
from .pareto_nbd import ParetoNBDModel
from .profile_features import ProfileFeatures
from .spend import SpendForecaster, classical_quantities
from .spend import output_column as spend_column

__all__ = ["OUTPUT_COLUMNS", "SOURCES", "CustomerScorer", "ScorerLoadError"]

OUTPUT_COLUMNS = (
    "churn_probability",
    *(f"p_purchase_{t}d" for t in defaults.NEXT_PURCHASE_REPORT_DAYS),
    "next_purchase_days_median", "next_purchase_days_p90", "next_purchase_median_beyond_365d",
    "p_alive", "expected_spend_per_purchase", "expected_purchase_cycle_days", "expected_lifetime_days",
    *(spend_column(h) for h in defaults.SPEND_HORIZONS),
)
SOURCES = ("model", "baseline", "blend", "pareto")
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
    driver_surrogate : models.drivers.DriverSurrogate, optional
        Explains the churn probability when BG/NBD or the blend serves it (required then).
    spend : models.spend.SpendForecaster, optional
        The spend forecast; without it (a scorer saved before it existed) BG/NBD x Gamma-Gamma.
    pareto : models.pareto_nbd.ParetoNBDModel, optional
        Fitted at the training cutoff; required when an output is served from ``'pareto'``.
    families : sequence of str, optional
        The optional feature families the models were trained with (those training kept);
        default :data:`models.features.KEPT_FAMILIES` (a scorer saved before training chose them).
    profile_features : models.profile_features.ProfileFeatures, optional
        When the models were trained with the customers' profiles as features (the ``profile``
        family, kept by training only where it validated better): scoring then takes the
        profiles too (``predict(..., profiles=)``); a customer without one gets missing values.
    """

    def __init__(self, horizon_days, bgnbd, gamma_gamma, churn, next_purchase, knots, feature_horizons,
                 sources, version="local", blend_weight=None, info=None, clv_reference=None,
                 clv_reference_rules=None, driver_surrogate=None, spend=None, pareto=None,
                 profile_features=None, families=None):
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
        self.driver_surrogate = driver_surrogate
        self.spend = spend
        self.pareto = pareto
        self.profile_features = profile_features
        self.families = list(KEPT_FAMILIES if families is None else families)
        for required in (30, 90):
            if required not in self.knots:
                raise ValueError(f"the survival curve needs a knot at {required} days; knots are {self.knots}")
        for key in ["churn"] + [f"knot_{k}" for k in self.knots]:
            src = self.sources.setdefault(key, "baseline")
            if src not in SOURCES:
                raise ValueError(f"source of {key} must be one of {SOURCES}, got {src!r}")
        if pareto is None and "pareto" in self.sources.values():
            raise ValueError("an output is served from Pareto/NBD but no Pareto/NBD model was given")
        if self.churn is None and self.sources["churn"] not in ("baseline", "pareto"):
            raise ValueError("churn is served from the model but no churn model was given")
        for k in self.knots:
            if self.sources[f"knot_{k}"] in ("model", "blend") and (
                    self.next_purchase is None or k not in self.next_purchase.knots_):
                raise ValueError(f"knot {k}d is served from the model but the next-purchase model has no such knot")
        models = [m for m in (self.churn, self.next_purchase, driver_surrogate) if m is not None]
        self.feature_names_ = list(models[0].feature_names_) if models else []

    # ------------------------------------------------------------------ scoring
    def _mix(self, source: str, model_p, base_p):
        if source == "model":
            return model_p
        if source == "blend":
            return self.blend_weight * model_p + (1.0 - self.blend_weight) * base_p
        return base_p

    def predict(self, features: pd.DataFrame, *, drivers: bool = False,
                profiles: pd.DataFrame | None = None) -> pd.DataFrame:
        """Score the rows of a :func:`customerbase.snapshot` frame, same order out.

        Parameters
        ----------
        features : pandas.DataFrame
        drivers : bool
            Add the ``drivers`` column (costs about as much as the predictions).
        profiles : pandas.DataFrame, optional
            Validated customer profiles; read only when the models use them
            (:attr:`uses_profiles`), by ``customer_id``.

        Returns
        -------
        pandas.DataFrame
            Columns :data:`OUTPUT_COLUMNS` (+ ``drivers``), index of ``features``.
        """
        return self._predict(features, drivers=drivers, profiles=profiles)[0]

    @property
    def uses_profiles(self) -> bool:
        """Whether the models take the customers' profiles as features."""
        return self.profile_features is not None

    def survival_curve(self, features: pd.DataFrame, days=None, *,
                       profiles: pd.DataFrame | None = None) -> tuple[list[int], np.ndarray]:
        """S(t), the probability of no purchase yet, at ``days`` (default weekly to a year): rows x days."""
        if days is None:
            step, reach = defaults.CURVE_STEP_DAYS, defaults.CURVE_MAX_DAYS
            days = sorted(set(range(step, reach + 1, step)) | {reach})
        days = [int(d) for d in days]
        return days, self._predict(features, profiles=profiles)[1].survival(days)

    def next_purchase_curve(self, features: pd.DataFrame, *, profiles: pd.DataFrame | None = None) -> JoinedCurve:
        """The served next-purchase curve of each row (see :class:`models.next_purchase.JoinedCurve`)."""
        return self._predict(features, profiles=profiles)[1]

    @property
    def _horizons(self) -> list[int]:
        """Every horizon the scorer computes BG/NBD's probabilities at: knots, H and the feature horizons."""
        return sorted(set(self.knots) | {self.horizon_days} | set(self.feature_horizons))

    def model_inputs(self, features: pd.DataFrame, profiles: pd.DataFrame | None = None, *,
                     cache: dict | None = None) -> pd.DataFrame:
        """The LightGBM models' input of every row of a snapshot frame, float32, index of ``features``.

        :func:`models.features.add_model_features` with the families training kept, then the
        profile features when the models read them; ``cache`` receives BG/NBD's arrays.
        """
        X = add_model_features(features, self.bgnbd, self._horizons, cache=cache, families=self.families)
        if self.profile_features is not None:
            X = self.profile_features.add_to(X, features["customer_id"], profiles)
        return X

    def _arrays(self, features: pd.DataFrame, profiles=None) -> tuple[pd.DataFrame | None, np.ndarray | None, dict]:
        """The model features and their matrix (None when no LightGBM model is served), BG/NBD's arrays."""
        n = len(features)
        cache: dict = {}
        if (self.feature_names_ or self._spend_model_served) and n:
            X = self.model_inputs(features, profiles, cache=cache)
            if not self.feature_names_:
                return X, None, cache
            # column-major float32, which LightGBM reads without a copy: the features are float32
            # already, so the predictions are the same as from float64
            return X, feature_matrix(X, self.feature_names_), cache
        x, t_x, T = rfm_arrays(features)
        alive, p = self.bgnbd.alive_and_purchase(self._horizons, x, t_x, T)
        cache.update(p_alive=alive, p_purchase=p, rate=self.bgnbd.expected_rate(x, t_x, T), x=x, t_x=t_x, T=T)
        return None, None, cache

    @property
    def _spend_model_served(self) -> bool:
        return self.spend is not None and any(s == "model" for s in self.spend.sources_.values())

    def _spend_forecast(self, features: pd.DataFrame, X: pd.DataFrame | None) -> pd.DataFrame:
        if self.spend is None:
            classical = classical_quantities(features, self.bgnbd, self.gamma_gamma, defaults.SPEND_HORIZONS)
            return pd.DataFrame({spend_column(h): np.maximum(classical[f"classical_spend_{h}d"], 0.0)
                                 for h in defaults.SPEND_HORIZONS}, index=features.index)
        classical = self.spend.classical(features, self.bgnbd, self.gamma_gamma)
        return self.spend.predict(X if X is not None else pd.DataFrame(index=features.index), classical)

    def _predict(self, features: pd.DataFrame, *, drivers: bool = False,
                 profiles: pd.DataFrame | None = None) -> tuple[pd.DataFrame, JoinedCurve]:
        n = len(features)
        H = self.horizon_days
        horizons = self._horizons
        X, arr, cache = self._arrays(features, profiles)
        base_p = cache["p_purchase"]
        model_ok = arr is not None and (self.churn is not None or self.next_purchase is not None)
        pareto_p = {}
        if self.pareto is not None and n:
            _, pareto_p = self.pareto.alive_and_purchase(horizons, cache["x"], cache["t_x"], cache["T"])

        model_p = {}  # knot -> model probability, computed once per booster
        F = np.empty((n, len(self.knots)))
        for j, k in enumerate(self.knots):
            src = self.sources[f"knot_{k}"]
            if src == "pareto":
                F[:, j] = pareto_p[k] if n else 0.0
            elif src != "baseline" and model_ok:
                model_p[k] = self.next_purchase.classifiers_[k].predict_proba(arr)
                F[:, j] = self._mix(src, model_p[k], base_p[k])
            else:
                F[:, j] = base_p[k]

        base_churn = 1.0 - base_p[H]
        if self.sources["churn"] == "pareto":
            churn = 1.0 - pareto_p[H] if n else np.zeros(0)
        elif self.sources["churn"] != "baseline" and model_ok:
            shared = self.next_purchase is not None and self.churn.classifier_ is self.next_purchase.classifiers_.get(H)
            churn_model = 1.0 - model_p[H] if shared and H in model_p else self.churn.predict_proba(arr)
            churn = self._mix(self.sources["churn"], churn_model, base_churn)
        else:
            churn = base_churn
        curve = JoinedCurve(self.knots, np.maximum.accumulate(F, axis=1), self.bgnbd,
                            cache["x"], cache["t_x"], cache["T"])
        median = curve.quantile(0.5)
        churn = np.clip(churn, 0.0, 1.0)
        c = np.maximum(churn, 1e-9)
        lifetime = np.minimum(H * (1.0 - churn) / c, defaults.LIFETIME_CAP_DAYS)
        monetary = column_values(features, "monetary_mean", np.float64)
        n_purch = column_values(features, "n_purchases", np.float64)
        columns = {"churn_probability": churn}
        for t in defaults.NEXT_PURCHASE_REPORT_DAYS:
            columns[f"p_purchase_{t}d"] = curve.probability(t)
        columns.update({
            "next_purchase_days_median": median,
            "next_purchase_days_p90": curve.quantile(0.9),
            "next_purchase_median_beyond_365d": median > 365.0,
            "p_alive": cache["p_alive"],
            "expected_spend_per_purchase": self.gamma_gamma.conditional_expected_spend(n_purch, monetary),
            "expected_purchase_cycle_days": 1.0 / cache["rate"],
            "expected_lifetime_days": lifetime,
        })
        spend = self._spend_forecast(features, X)
        columns.update({spend_column(h): column_values(spend, spend_column(h)) for h in defaults.SPEND_HORIZONS})
        if drivers:
            columns["drivers"] = self._drivers(arr, churn)
        return frame_of(columns, index=features.index), curve

    def _drivers(self, arr: np.ndarray | None, churn: np.ndarray) -> pd.api.extensions.ExtensionArray:
        if arr is None or not len(churn):
            return pd.array(["[]"] * len(churn), dtype="string[pyarrow]")
        if self.sources["churn"] == "model" and self.churn is not None:
            clf = self.churn.classifier_
            columns = [self.feature_names_.index(f) for f in clf.feature_names_]
            sub = arr if columns == list(range(arr.shape[1])) else arr[:, columns]
            effects = churn_effects(lambda a: classifier_contributions(clf, a), sub, churn)
            names = clf.feature_names_
        elif self.driver_surrogate is not None:
            surrogate = self.driver_surrogate
            columns = [self.feature_names_.index(f) for f in surrogate.feature_names_]
            sub = arr if columns == list(range(arr.shape[1])) else arr[:, columns]
            effects = churn_effects(surrogate.contributions, sub, churn)
            names = surrogate.feature_names_
        else:
            raise ScorerLoadError("this scorer serves churn from BG/NBD or a blend but has no drivers' surrogate: "
                                  "retrain it with this version of crmid")
        labels = ({n: self.profile_features.label(n) for n in self.profile_features.feature_names_}
                  if self.profile_features is not None else None)
        return top_drivers(effects, sub, names, labels=labels)

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
            "driver_surrogate": None,
            "spend": None,
            "pareto": None if self.pareto is None else self.pareto.get_state(),
            "profile_features": None if self.profile_features is None else self.profile_features.get_state(),
            "families": self.families,
        }
        if self.spend is not None:
            meta["spend"], texts = self.spend.get_state()
            for name, text in texts.items():
                (directory / f"{name}.lgb.txt").write_text(text)
        if self.driver_surrogate is not None:
            meta["driver_surrogate"], text = self.driver_surrogate.get_state()
            (directory / "driver_surrogate.lgb.txt").write_text(text)
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
            surrogate = None
            if meta.get("driver_surrogate") is not None:
                surrogate = DriverSurrogate.from_state(meta["driver_surrogate"],
                                                       (directory / "driver_surrogate.lgb.txt").read_text())
            spend = None
            if meta.get("spend") is not None:
                spend = SpendForecaster.from_state(meta["spend"], {
                    f"spend_{h}d": (directory / f"spend_{h}d.lgb.txt").read_text() for h in meta["spend"]["scale"]})
            return cls(
                horizon_days=meta["horizon_days"],
                bgnbd=BetaGeoModel.from_state(meta["bgnbd"]),
                gamma_gamma=GammaGammaModel.from_state(meta["gamma_gamma"]),
                churn=churn, next_purchase=nxt, knots=meta["knots"],
                feature_horizons=meta["feature_horizons"], sources=meta["sources"],
                version=meta.get("version", "local"), blend_weight=meta.get("blend_weight"),
                info=meta.get("info"), clv_reference=meta.get("clv_reference"),
                clv_reference_rules=meta.get("clv_reference_rules"), driver_surrogate=surrogate, spend=spend,
                pareto=None if meta.get("pareto") is None else ParetoNBDModel.from_state(meta["pareto"]),
                profile_features=(None if meta.get("profile_features") is None
                                  else ProfileFeatures.from_state(meta["profile_features"])),
                families=meta.get("families"),
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
