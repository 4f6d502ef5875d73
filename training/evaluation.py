"""The evaluation protocol: ``crmid evaluate``.

Models are fitted only on information available at ``as_of`` (training snapshots at or before
``as_of - w`` for each horizon w, hence at or before ``as_of - H`` for churn; every label read
is dated on or before ``as_of``), then scored at ``as_of`` and judged on what happened in
(``as_of``, ``as_of + H``]. The served probabilities, the un-gated LightGBM models and BG/NBD
(fitted on the same history) are reported side by side at 30, 90 and H days: AUC, Brier score,
log loss and a calibration table; the survival curve also gets the concordance index over all
customers (censoring at ``as_of + H`` respected). ``DIR/metrics.json`` and plots are written.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from crmid.customerbase.snapshot import TransactionLog
from crmid.models.bgnbd import rfm_arrays
from crmid.models.metrics import binary_metrics, calibration_table, concordance_index
from crmid.models.next_purchase import curve_rmst

from . import defaults, tracking
from .fitting import TrainingInputError, check_training_inputs, fit_scorer

if TYPE_CHECKING:
    from crmid.config import Workspace

__all__ = ["evaluate", "format_comparison"]


def _check_protocol(log: TransactionLog, as_of: pd.Timestamp, H: int) -> None:
    end = log.data_end.normalize()
    if as_of + pd.Timedelta(days=H) > end:
        raise TrainingInputError(
            f"evaluation at {as_of.date()} with horizon {H} days needs data up to "
            f"{(as_of + pd.Timedelta(days=H)).date()}, the data end {end.date()} "
            f"({(end - as_of).days} days after the as-of date)")


def evaluate(transactions: pd.DataFrame, *, as_of, horizon: int | None = None, report_dir=None,
             workspace: Workspace | None = None, on_stage=None) -> dict:
    """Run the protocol; write ``metrics.json`` and plots to ``report_dir``; log to MLflow.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Validated transactions covering ``as_of`` and the ``horizon`` days after it.
    as_of : date-like
    horizon : int, optional
        Default :data:`crmid.training.defaults.HORIZON_DAYS`.
    report_dir : path, optional
        Default: the workspace's ``report`` directory (required without a workspace).
    workspace : crmid.config.Workspace, optional
        Where the evaluation run is logged; None = not logged.
    on_stage : callable, optional
        Called with each stage's name as it starts (progress).

    Returns
    -------
    dict
        ``{"as_of", "horizon_days", "horizons": {w: {"served", "lightgbm", "bgnbd"}: metrics},
        "concordance": {...}, "sources", "gate", "training_seconds", ...}``.
    """
    H = int(defaults.HORIZON_DAYS if horizon is None else horizon)
    as_of = pd.Timestamp(as_of).normalize()
    if report_dir is None and workspace is None:
        raise ValueError("evaluate needs a report directory or a workspace to put the report in")
    report = Path(report_dir) if report_dir is not None else workspace.report_dir
    on_stage = on_stage or (lambda stage: None)
    full = TransactionLog(transactions)
    check_training_inputs(full, as_of, H)
    _check_protocol(full, as_of, H)
    t0 = time.perf_counter()
    on_stage("fit")
    upto = transactions[transactions["date"] <= as_of].reset_index(drop=True)
    scorer = fit_scorer(upto, cutoff=as_of, horizon=H)
    train_s = time.perf_counter() - t0

    snap = full.snapshot(as_of)
    labels = full.labels(as_of, H, observed_until=as_of + pd.Timedelta(days=H),
                         windows=defaults.REPORT_HORIZONS)
    t1 = time.perf_counter()
    served = scorer.predict(snap)
    score_s = time.perf_counter() - t1
    x, t_x, T = rfm_arrays(snap)
    horizons = sorted(set(defaults.REPORT_HORIZONS) | {H})
    lgbm = _lightgbm_probabilities(scorer, snap, horizons)
    results: dict = {}
    curves: dict = {}
    for w in horizons:
        y = labels[f"purchased_within_{w}d"].astype(bool).to_numpy()
        p_served = (1.0 - served["churn_probability"].to_numpy()) if w == H else _served_at(scorer, served, snap, w)
        p_bg = scorer.bgnbd.p_purchase_within(w, x, t_x, T)
        entry = {"served": binary_metrics(y, p_served), "bgnbd": binary_metrics(y, p_bg)}
        if w in lgbm:
            entry["lightgbm"] = binary_metrics(y, lgbm[w])
        for who in list(entry):
            entry[who]["calibration"] = calibration_table(y, {"served": p_served, "bgnbd": p_bg}.get(who, lgbm.get(w)))
        results[str(w)] = entry
        curves[w] = (y, p_served, p_bg)

    duration = labels["days_to_next_purchase"].to_numpy()
    event = labels["next_purchase_observed"].to_numpy(dtype=bool)
    knots, F_served = scorer.survival_knots(snap)
    F_bg = np.column_stack([scorer.bgnbd.p_purchase_within(k, x, t_x, T) for k in knots])
    concordance = {
        "served": concordance_index(duration, event, curve_rmst(knots, F_served)),
        "bgnbd": concordance_index(duration, event, curve_rmst(knots, np.maximum.accumulate(F_bg, axis=1))),
        "n": int(duration.size),
        "events": int(event.sum()),
    }
    metrics = {
        "as_of": str(as_of.date()),
        "horizon_days": H,
        "customers": len(snap),
        "horizons": results,
        "concordance": concordance,
        "sources": scorer.sources,
        "gate": scorer.info.get("gate", {}),
        "training_seconds": train_s,
        "scoring_seconds": score_s,
        "data": _fingerprint(transactions),
    }
    report.mkdir(parents=True, exist_ok=True)
    (report / "metrics.json").write_text(json.dumps(metrics, indent=2, default=float))
    _write_plots(report, curves, scorer)
    (report / "comparison.txt").write_text(format_comparison(metrics) + "\n")
    if workspace is not None:
        on_stage("log to MLflow")
        _log_to_mlflow(metrics, report, workspace)
    return metrics


def _fingerprint(transactions):
    from .tracking import data_fingerprint

    return data_fingerprint(transactions)


def _served_at(scorer, served, snap, w):
    col = f"p_purchase_{w}d"
    if col in served.columns:
        return served[col].to_numpy()
    knots, F = scorer.survival_knots(snap)
    from crmid.models.next_purchase import curve_probability

    return curve_probability(knots, F, w)


def _lightgbm_probabilities(scorer, snap, horizons) -> dict:
    """Un-gated LightGBM probabilities per horizon (for the report only)."""
    out = {}
    if scorer.next_purchase is None and scorer.churn is None:
        return out
    from crmid.models.features import add_model_features

    X = add_model_features(snap, scorer.bgnbd, sorted(set(scorer.feature_horizons) | set(horizons)))
    arr = X[scorer.feature_names_].to_numpy(dtype=np.float64)
    for w in horizons:
        if scorer.next_purchase is not None and w in scorer.next_purchase.knots_:
            out[w] = scorer.next_purchase.classifiers_[w].predict_proba(arr)
        elif w == scorer.horizon_days and scorer.churn is not None:
            out[w] = 1.0 - scorer.churn.predict_proba(arr)
    return out


def format_comparison(metrics: dict) -> str:
    """Plain-text table: served model vs BG/NBD (AUC / Brier / log loss) per horizon."""
    lines = [
        f"as of {metrics['as_of']}, horizon {metrics['horizon_days']} days, {metrics.get('customers', '?')} customers",
        f"{'horizon':>8} | {'served':>8} {'AUC':>7} {'Brier':>7} {'logloss':>7} | "
        f"{'BG/NBD AUC':>10} {'Brier':>7} {'logloss':>7} | better",
    ]
    for w, entry in sorted(metrics["horizons"].items(), key=lambda kv: int(kv[0])):
        s, b = entry["served"], entry["bgnbd"]
        src = metrics.get("sources", {}).get("churn" if int(w) == metrics["horizon_days"] else f"knot_{w}", "?")
        if src == "baseline":
            better = "= BG/NBD served"
        else:
            better = "yes" if (s["auc"] >= b["auc"] and s["brier"] <= b["brier"]) else "no"
        lines.append(f"{w + 'd':>8} | {src:>8} {s['auc']:7.4f} {s['brier']:7.4f} {s['log_loss']:7.4f} | "
                     f"{b['auc']:10.4f} {b['brier']:7.4f} {b['log_loss']:7.4f} | {better}")
    c = metrics.get("concordance")
    if c:
        lines.append(f"concordance index (next purchase, all {c['n']} customers): served {c['served']:.4f}, "
                     f"BG/NBD {c['bgnbd']:.4f}")
    return "\n".join(lines)


def _write_plots(report: Path, curves: dict, scorer) -> list[Path]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    paths = []
    n = len(curves)
    fig = Figure(figsize=(4.5 * n, 4.2))
    FigureCanvasAgg(fig)
    for i, (w, (y, ps, pb)) in enumerate(sorted(curves.items())):
        ax = fig.add_subplot(1, n, i + 1)
        for name, p in (("served", ps), ("BG/NBD", pb)):
            t = calibration_table(y, p)
            ax.plot(t["mean_prediction"], t["observed_rate"], marker="o", label=name)
        lim = max(float(np.max(ps)), float(np.max(pb)), 0.01)
        ax.plot([0, lim], [0, lim], color="grey", linestyle=":")
        ax.set_title(f"calibration, purchase within {w}d")
        ax.set_xlabel("mean predicted")
        ax.set_ylabel("observed")
        ax.legend()
    fig.tight_layout()
    paths.append(report / "calibration.png")
    fig.savefig(paths[-1], dpi=90)

    fig = Figure(figsize=(4.5 * n, 4.2))
    FigureCanvasAgg(fig)
    for i, (w, (y, ps, pb)) in enumerate(sorted(curves.items())):
        ax = fig.add_subplot(1, n, i + 1)
        share = np.arange(1, y.size + 1) / y.size
        for name, p in (("served", ps), ("BG/NBD", pb)):
            order = np.argsort(-p, kind="stable")
            ax.plot(share, np.cumsum(y[order]) / max(y.sum(), 1), label=name)
        ax.plot([0, 1], [0, 1], color="grey", linestyle=":")
        ax.set_title(f"cumulative gains, purchase within {w}d")
        ax.set_xlabel("share of customers, best first")
        ax.set_ylabel("share of purchasers")
        ax.legend()
    fig.tight_layout()
    paths.append(report / "gains.png")
    fig.savefig(paths[-1], dpi=90)

    model = scorer.churn.classifier_ if scorer.churn is not None else None
    if model is not None:
        imp = sorted(model.feature_importance().items(), key=lambda kv: kv[1])[-20:]
        fig = Figure(figsize=(6, 6))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        ax.barh([k for k, _ in imp], [v for _, v in imp])
        ax.set_title(f"churn model ({scorer.horizon_days}d): feature importance (gain)")
        fig.tight_layout()
        paths.append(report / "feature_importance.png")
        fig.savefig(paths[-1], dpi=90)
    return paths


def _log_to_mlflow(metrics: dict, report: Path, workspace: Workspace) -> None:
    tracker = tracking.Tracker(workspace)
    with tracker.run(workspace.experiment, f"evaluate-{metrics['as_of']}-H{metrics['horizon_days']}") as run:
        run.log_params({"as_of": metrics["as_of"], "horizon_days": metrics["horizon_days"],
                        **{f"data_{k}": v for k, v in metrics["data"].items()}})
        run.set_tag("rules_version", tracking.rules_version(workspace.rules_path))
        flat = {}
        for w, entry in metrics["horizons"].items():
            for who, m in entry.items():
                for k in ("auc", "brier", "log_loss"):
                    flat[f"{who}_{k}_{w}d"] = m[k]
        for who in ("served", "bgnbd"):
            flat[f"{who}_concordance"] = metrics["concordance"][who]
        flat["training_seconds"] = metrics["training_seconds"]
        run.log_metrics(flat)
        run.set_tag("served_sources", json.dumps(metrics["sources"]))
        run.log_artifacts(report, "report")
