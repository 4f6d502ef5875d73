"""The champion gate: LightGBM against BG/NBD on a later validation snapshot, per output.

For each horizon served (the churn horizon H and every knot of the survival curve) the gate
trains the same classifier on all training snapshots but the latest one that observes the
horizon, and scores that latest snapshot -- a later validation snapshot the classifier never
saw -- next to BG/NBD and Pareto/NBD fitted on the history up to that snapshot's date. The
classical reference of each horizon is the better of the two there (lower Brier score, AUC no
lower; BG/NBD when Pareto/NBD cannot be fitted). The rows of the
validation snapshot are later than every training row; for long horizons their label windows
overlap the training rows' in calendar time (a short history leaves no other way); the
``evaluate`` protocol itself is strictly out of time.

Decision per output, in this order:

``'model'``     LightGBM AUC >= the reference's AUC and its Brier score is lower than the
                reference's with bootstrap probability >= :data:`models.defaults.GATE_CONFIDENCE`
                (paired resampling of the validation customers);
``'blend'``     the same holds for the average of LightGBM and BG/NBD;
``'pareto'``    otherwise, when Pareto/NBD is the reference: Pareto/NBD is served;
``'baseline'``  otherwise, or when fewer than two snapshots observe the horizon (nothing to
                validate on) -- BG/NBD is served and the reason is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from crmid.models import defaults
from crmid.models.bgnbd import rfm_arrays
from crmid.models.horizon import HorizonClassifier, usable_rows
from crmid.models.metrics import binary_metrics

from .stacking import PointInTime, stack

__all__ = ["GateResult", "best_baseline", "brier_win_probability", "decide", "validate_curve", "validate_horizon"]


@dataclass
class GateResult:
    """The gate's verdict on one horizon."""

    horizon: int
    source: str
    reason: str
    validation_date: str | None = None
    metrics: dict = field(default_factory=dict)  # 'model' / 'baseline' / 'blend' -> binary_metrics

    def to_dict(self) -> dict:
        return {"horizon": self.horizon, "source": self.source, "reason": self.reason,
                "validation_date": self.validation_date, "metrics": self.metrics}


def brier_win_probability(y, p_new, p_base, *, n_boot: int | None = None, seed: int = 0) -> float:
    """Paired bootstrap probability that ``p_new`` has a lower Brier score than ``p_base``."""
    y = np.asarray(y, dtype=np.float64)
    d = (np.asarray(p_new) - y) ** 2 - (np.asarray(p_base) - y) ** 2
    n = d.size
    if n == 0:
        return 0.0
    B = defaults.GATE_BOOTSTRAP if n_boot is None else int(n_boot)
    rng = np.random.default_rng(seed)
    wins = 0
    for start in range(0, B, 50):  # chunks keep memory at 50 x n
        counts = rng.multinomial(n, np.full(n, 1.0 / n), size=min(50, B - start))
        wins += int(np.sum(counts @ d < 0))
    return wins / B


def _passes(m: dict, base: dict, win: float) -> bool:
    return m["auc"] >= base["auc"] and m["brier"] <= base["brier"] and win >= defaults.GATE_CONFIDENCE


def best_baseline(metrics: dict) -> str:
    """``'pareto'`` when Pareto/NBD validated with a lower Brier score than BG/NBD, else ``'baseline'``."""
    pn = metrics.get("pareto")
    if pn is not None and pn["brier"] < metrics["baseline"]["brier"] and pn["auc"] >= metrics["baseline"]["auc"]:
        return "pareto"
    return "baseline"


def decide(metrics: dict, win_model: float = 1.0, win_blend: float = 1.0) -> tuple[str, str]:
    """Pick the served source from validation metrics of 'model', 'blend' and the classical models.

    The classical reference is the better of BG/NBD (``'baseline'``) and Pareto/NBD (``'pareto'``,
    when it could be fitted; see :func:`best_baseline`). ``win_model`` / ``win_blend`` are the
    bootstrap probabilities of a lower Brier score than that reference (:func:`brier_win_probability`).
    """
    m, bl = metrics["model"], metrics["blend"]
    ref = best_baseline(metrics)
    b = metrics[ref]
    name = {"baseline": "BG/NBD", "pareto": "Pareto/NBD"}[ref]
    classical = f"BG/NBD AUC {metrics['baseline']['auc']:.4f} / Brier {metrics['baseline']['brier']:.4f}"
    if "pareto" in metrics:
        classical += f", Pareto/NBD {metrics['pareto']['auc']:.4f} / {metrics['pareto']['brier']:.4f}"
    detail = (f"LightGBM AUC {m['auc']:.4f} / Brier {m['brier']:.4f} (P[better Brier than {name}] {win_model:.2f}) "
              f"vs {classical}; blend {bl['auc']:.4f} / {bl['brier']:.4f} (P {win_blend:.2f}); on {m['n']} "
              "validation customers")
    if _passes(m, b, win_model):
        return "model", f"LightGBM at least as good as {name}, the better classical model: " + detail
    if _passes(bl, b, win_blend):
        return "blend", f"LightGBM not shown at least as good as {name}, the blend is: " + detail
    return ref, f"neither LightGBM nor the blend shown at least as good as {name}: {name} served. " + detail


def _pareto_at(point: PointInTime, h: int, fits: dict | None) -> np.ndarray | None:
    """Pareto/NBD's P(purchase within h) on a snapshot, fitted on that snapshot's history (None if it fails).

    ``fits`` caches the fitted models by snapshot date: several horizons validate on one snapshot.
    """
    from crmid.models.pareto_nbd import ParetoNBDFitError, ParetoNBDModel

    fits = {} if fits is None else fits
    if point.as_of not in fits:
        try:
            fits[point.as_of] = ParetoNBDModel().fit_features(point.snapshot)
        except (ParetoNBDFitError, ValueError):
            fits[point.as_of] = None  # the gate goes on with BG/NBD alone; the report shows no Pareto/NBD
    model = fits[point.as_of]
    return None if model is None else model.p_purchase_within(h, *rfm_arrays(point.snapshot))


def validate_horizon(points: list[PointInTime], horizon: int, *, seed=None, params=None,
                     num_boost_round=None, blend_weight=None, pareto_fits: dict | None = None) -> GateResult:
    """Validate the horizon classifier on the latest snapshot that observes ``horizon`` days.

    Against BG/NBD and Pareto/NBD, each fitted on the validation snapshot's own history.
    """
    h = int(horizon)
    observed = [p for p in points if p.followup >= h]
    if len(observed) < 2:
        return GateResult(h, "baseline", f"only {len(observed)} training snapshot(s) observe {h} days: "
                          "nothing to validate LightGBM on, BG/NBD served")
    val, train = observed[-1], observed[:-1]
    data = stack(train)
    mask, y = usable_rows(data.duration, data.event, data.followup, h)
    n_pos = int(y.sum())
    if n_pos < defaults.MIN_POSITIVES or y.size - n_pos < defaults.MIN_POSITIVES:
        return GateResult(h, "baseline", f"{n_pos} purchases in {y.size} rows before the validation snapshot: "
                          f"too few (< {defaults.MIN_POSITIVES}) to train, BG/NBD served", str(val.as_of.date()))
    base_col = f"bg_p_purchase_{h}d"
    p_base = val.X[base_col].to_numpy(dtype=np.float64)
    clf = HorizonClassifier(h, params, num_boost_round, seed).fit(
        data.X[mask], y, reference_X=val.X, reference_target=float(np.mean(p_base)))
    _, y_val = usable_rows(val.labels["days_to_next_purchase"], val.labels["next_purchase_observed"],
                           np.full(len(val.X), val.followup), h)
    if y_val.sum() == 0 or y_val.all():
        return GateResult(h, "baseline", f"validation snapshot {val.as_of.date()} has only one outcome at {h} days: "
                          "cannot compare, BG/NBD served", str(val.as_of.date()))
    p_model = clf.predict_proba(val.X)
    w = defaults.BLEND_WEIGHT if blend_weight is None else float(blend_weight)
    p_blend = w * p_model + (1 - w) * p_base
    metrics = {
        "model": binary_metrics(y_val, p_model),
        "baseline": binary_metrics(y_val, p_base),
        "blend": binary_metrics(y_val, p_blend),
    }
    p_pareto = _pareto_at(val, h, pareto_fits)
    if p_pareto is not None:
        metrics["pareto"] = binary_metrics(y_val, p_pareto)
    p_ref = p_pareto if best_baseline(metrics) == "pareto" else p_base
    win_model = brier_win_probability(y_val, p_model, p_ref)
    win_blend = brier_win_probability(y_val, p_blend, p_ref)
    metrics["model"]["p_better_brier"] = win_model
    metrics["blend"]["p_better_brier"] = win_blend
    source, reason = decide(metrics, win_model, win_blend)
    return GateResult(h, source, reason, str(val.as_of.date()), metrics)


def validate_curve(points: list[PointInTime], knots, *, seed=None, params=None, num_boost_round=None,
                   sources: dict | None = None, blend_weight=None, pareto_fits: dict | None = None) -> dict | None:
    """The next-purchase curve, as served, judged against BG/NBD's on a later validation snapshot.

    The knots' classifiers are trained on every snapshot but the latest one observing the last
    knot, that snapshot is scored with the served recipe (each knot's gated source, the BG/NBD
    tail past the last knot) and judged over what the training window shows after it: the
    concordance index of the restricted mean time and the integrated Brier score, next to
    BG/NBD's. None when no snapshot can be held out.
    """
    from crmid.models.metrics import concordance_index, integrated_brier_score, restricted_mean
    from crmid.models.next_purchase import JoinedCurve

    knots = sorted(int(k) for k in knots)
    observed = [p for p in points if p.followup >= knots[-1]]
    if len(observed) < 2:
        return None
    val = observed[-1]
    data = stack([p for p in points if p.as_of < val.as_of])
    x, t_x, T = rfm_arrays(val.snapshot)
    w = defaults.BLEND_WEIGHT if blend_weight is None else float(blend_weight)
    F = np.empty((len(val.X), len(knots)))
    for j, k in enumerate(knots):
        p_base = val.X[f"bg_p_purchase_{k}d"].to_numpy(dtype=np.float64)
        source = (sources or {}).get(f"knot_{k}", "model")
        mask, y = usable_rows(data.duration, data.event, data.followup, k)
        p_pareto = _pareto_at(val, k, pareto_fits) if source == "pareto" else None
        if p_pareto is not None:
            F[:, j] = p_pareto
            continue
        if source in ("baseline", "pareto") or min(int(y.sum()), int(y.size - y.sum())) < defaults.MIN_POSITIVES:
            F[:, j] = p_base
            continue
        clf = HorizonClassifier(k, params, num_boost_round, seed).fit(
            data.X[mask], y, reference_X=val.X, reference_target=float(np.mean(p_base)))
        p_model = clf.predict_proba(val.X)
        F[:, j] = p_model if source == "model" else w * p_model + (1 - w) * p_base
    curve = JoinedCurve(knots, np.maximum.accumulate(F, axis=1), val.bgnbd, x, t_x, T)
    window = min(int(val.followup), max(defaults.NEXT_PURCHASE_REPORT_DAYS))
    step = defaults.CURVE_STEP_DAYS
    days = sorted(set(range(step, window + 1, step)) | {window})
    duration = np.minimum(val.labels["days_to_next_purchase"].to_numpy(dtype=np.float64), window)
    event = val.labels["next_purchase_observed"].to_numpy(dtype=bool) & (
        val.labels["days_to_next_purchase"].to_numpy() <= window)
    S = {"served": curve.survival(days),
         "baseline": np.column_stack([1.0 - val.bgnbd.p_purchase_within(t, x, t_x, T) for t in days])}
    return {
        "validation_date": str(val.as_of.date()),
        "window_days": window,
        "n": len(val.X),
        **{who: {"concordance": concordance_index(duration, event, restricted_mean(s, days)),
                 "integrated_brier": integrated_brier_score(duration, event, s, days)} for who, s in S.items()},
    }
