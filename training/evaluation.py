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
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from crmid.customerbase.snapshot import TransactionLog
from crmid.models import defaults as md
from crmid.models.bgnbd import rfm_arrays
from crmid.models.features import feature_matrix
from crmid.models.metrics import (
    binary_metrics,
    calibration_table,
    concordance_index,
    integrated_brier_score,
    restricted_mean,
)

from . import defaults, tracking
from .fitting import TrainingInputError, check_training_inputs, fit_scorer

if TYPE_CHECKING:
    from crmid.config import Workspace

__all__ = ["evaluate", "flat_metrics", "format_comparison"]


def _check_protocol(log: TransactionLog, as_of: pd.Timestamp, H: int) -> None:
    end = log.data_end.normalize()
    if as_of + pd.Timedelta(days=H) > end:
        raise TrainingInputError(
            f"evaluation at {as_of.date()} with horizon {H} days needs data up to "
            f"{(as_of + pd.Timedelta(days=H)).date()}, the data end {end.date()} "
            f"({(end - as_of).days} days after the as-of date)")


def evaluate(transactions: pd.DataFrame, *, as_of, horizon: int | None = None, report_dir=None,
             workspace: Workspace | None = None, on_stage=None, profiles: pd.DataFrame | None = None) -> dict:
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
    profiles : pandas.DataFrame, optional
        Validated customer profiles, offered to the models as ``crmid train --customers`` offers
        them (and read by the fitted models when they keep them).

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
    scorer = fit_scorer(upto, cutoff=as_of, horizon=H, profiles=profiles)
    train_s = time.perf_counter() - t0

    snap = full.snapshot(as_of)
    # judged as far as the data reaches after as_of, up to the longest report horizon
    window = min(max(defaults.REPORT_HORIZONS), int((full.data_end.normalize() - as_of).days))
    horizons = sorted({w for w in defaults.REPORT_HORIZONS if w <= window} | {H})
    labels = full.labels(as_of, H, observed_until=as_of + pd.Timedelta(days=window), windows=horizons)
    t1 = time.perf_counter()
    served = scorer.predict(snap, profiles=profiles)
    score_s = time.perf_counter() - t1
    curve = scorer.next_purchase_curve(snap, profiles=profiles)
    x, t_x, T = rfm_arrays(snap)
    lgbm = _lightgbm_probabilities(scorer, snap, horizons, profiles)
    pareto = scorer.pareto or _fit_pareto(snap)
    results: dict = {}
    curves: dict = {}
    for w in horizons:
        y = labels[f"purchased_within_{w}d"].astype(bool).to_numpy()
        p_served = (1.0 - served["churn_probability"].to_numpy()) if w == H else curve.probability(w)
        p_bg = scorer.bgnbd.p_purchase_within(w, x, t_x, T)
        entry = {"served": binary_metrics(y, p_served), "bgnbd": binary_metrics(y, p_bg)}
        if pareto is not None:
            entry["pareto"] = binary_metrics(y, pareto.p_purchase_within(w, x, t_x, T))
        if w in lgbm:
            entry["lightgbm"] = binary_metrics(y, lgbm[w])
        for who in ("served", "bgnbd", "lightgbm"):
            if who in entry:
                p = {"served": p_served, "bgnbd": p_bg}.get(who, lgbm.get(w))
                entry[who]["calibration"] = calibration_table(y, p)
        results[str(w)] = entry
        curves[w] = (y, p_served, p_bg)

    duration = labels["days_to_next_purchase"].to_numpy()
    event = labels["next_purchase_observed"].to_numpy(dtype=bool)
    next_purchase = _judge_curves(curve, scorer.bgnbd, (x, t_x, T), duration, event, window)
    spend = _judge_spend(full, upto, snap, served, as_of, window)
    concordance = {"served": next_purchase["served"]["concordance"],
                   "bgnbd": next_purchase["bgnbd"]["concordance"], "n": int(duration.size),
                   "events": int(event.sum())}
    metrics = {
        "as_of": str(as_of.date()),
        "horizon_days": H,
        "customers": len(snap),
        "horizons": results,
        "concordance": concordance,
        "next_purchase": next_purchase,
        "spend": spend,
        "spend_sources": {str(h): src for h, src in (scorer.spend.sources_.items() if scorer.spend else [])},
        "sources": scorer.sources,
        "gate": scorer.info.get("gate", {}),
        "feature_families": scorer.info.get("feature_families", {}),
        "training_seconds": train_s,
        "scoring_seconds": score_s,
        "data": _fingerprint(transactions),
    }
    report.mkdir(parents=True, exist_ok=True)
    (report / "metrics.json").write_text(json.dumps(metrics, indent=2, default=float))
    _write_plots(report, curves, scorer, next_purchase, spend)
    (report / "comparison.txt").write_text(format_comparison(metrics) + "\n")
    if workspace is not None:
        on_stage("log to MLflow")
        _log_to_mlflow(metrics, report, workspace)
    return metrics


def _fingerprint(transactions):
    from .tracking import data_fingerprint

    return data_fingerprint(transactions)


def _fit_pareto(snap: pd.DataFrame):
    """Pareto/NBD fitted on the customers at the as-of date (their history only), or None if it fails."""
    from crmid.models.pareto_nbd import ParetoNBDFitError, ParetoNBDModel

    try:
        return ParetoNBDModel().fit_features(snap)
    except (ParetoNBDFitError, ValueError):
        return None


def _judge_spend(full: TransactionLog, upto: pd.DataFrame, snap: pd.DataFrame, served: pd.DataFrame, as_of,
                 window: int) -> dict:
    """The spend forecast judged on what each customer spent next, beside BG/NBD x Gamma-Gamma and past spend.

    Per horizon h of :data:`models.defaults.SPEND_HORIZONS` the data covers after as_of:
    :func:`models.value_metrics.value_metrics` of ``expected_spend_<h>d``, of BG/NBD x Gamma-Gamma
    as lifetimes defines it (fitted on the data up to as_of) and of past spend, plus the forecast
    and actual spend by decile of the forecast (the plot).
    """
    from crmid.models.value_metrics import value_metrics

    from .spend import lifetimes_baseline

    hs = [h for h in md.SPEND_HORIZONS if h <= window]
    if not hs:
        return {}
    ids = snap["customer_id"].astype(str).to_numpy()
    base = lifetimes_baseline(upto, as_of, hs).reindex(ids)
    known = full.customer_ids[full.known_codes(as_of)].astype(str)
    out = {}
    for h in hs:
        actual = pd.Series(full.spend_within(as_of, h), index=known).reindex(ids).to_numpy()
        forecast = served[f"expected_spend_{h}d"].to_numpy()
        deciles = pd.qcut(pd.Series(forecast).rank(method="first"), 10, labels=False)
        by_decile = pd.DataFrame({"decile": deciles, "forecast": forecast, "actual": actual}).groupby("decile").sum()
        out[str(h)] = {
            "served": value_metrics(forecast, actual),
            "bgnbd_gg": value_metrics(base[f"classical_spend_{h}d"].to_numpy(), actual),
            "past_spend": value_metrics(base["past_spend"].to_numpy(), actual),
            "deciles": {"forecast": by_decile["forecast"].tolist(), "actual": by_decile["actual"].tolist()},
        }
    return out


def _judge_curves(curve, bgnbd, rfm, duration, event, window: int) -> dict:
    """The served next-purchase curve and BG/NBD's, judged over the ``window`` days after as_of.

    Per curve: the concordance index of the restricted mean time, the integrated Brier score,
    and the median's coverage: of the customers whose predicted median falls inside the window,
    the share who bought by it (50% for a well-calibrated median). Plus P(purchase within t),
    mean predicted and observed, on a weekly grid (the plot).
    """
    x, t_x, T = rfm
    step = md.CURVE_STEP_DAYS
    days = sorted(set(range(step, window + 1, step)) | {window})
    observed = [float(np.mean(event & (duration <= t))) for t in days]
    out: dict = {"window_days": window, "days": days, "observed": observed}
    predictions = {
        "served": (curve.survival(days), curve.quantile(0.5)),
        "bgnbd": (np.column_stack([1.0 - bgnbd.p_purchase_within(t, x, t_x, T) for t in days]),
                  bgnbd.days_until_no_purchase_probability(0.5, x, t_x, T)),
    }
    for who, (S, median) in predictions.items():
        inside = median <= window
        bought = event & (duration <= median)
        out[who] = {
            "concordance": concordance_index(duration, event, restricted_mean(S, days)),
            "integrated_brier": integrated_brier_score(duration, event, S, days),
            "median_inside_window": int(inside.sum()),
            "median_coverage": float(bought[inside].mean()) if inside.any() else float("nan"),
            "mean_p_purchase": [float(1.0 - v) for v in S.mean(axis=0)],
        }
    return out


def _lightgbm_probabilities(scorer, snap, horizons, profiles=None) -> dict:
    """Un-gated LightGBM probabilities per horizon (for the report only)."""
    out = {}
    if scorer.next_purchase is None and scorer.churn is None:
        return out
    arr = feature_matrix(scorer.model_inputs(snap, profiles), scorer.feature_names_)
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
        sources = metrics.get("sources", {})
        # a horizon that is no knot of the curve is read off it: between knots, or on the tail past the last
        last_knot = max((int(k[5:]) for k in sources if k.startswith("knot_")), default=0)
        src = sources.get("churn" if int(w) == metrics["horizon_days"] else f"knot_{w}",
                          "tail" if int(w) > last_knot else "curve")
        if src == "baseline":
            better = "= BG/NBD served"
        else:
            better = "yes" if (s["auc"] >= b["auc"] and s["brier"] <= b["brier"]) else "no"
        pn = entry.get("pareto")
        pareto = "" if pn is None else (
            f" | Pareto/NBD {pn['auc']:.4f} {pn['brier']:.4f} | margin over the better classical model: AUC "
            f"{s['auc'] - max(b['auc'], pn['auc']):+.4f}, Brier {s['brier'] - min(b['brier'], pn['brier']):+.4f}")
        lines.append(f"{w + 'd':>8} | {src:>8} {s['auc']:7.4f} {s['brier']:7.4f} {s['log_loss']:7.4f} | "
                     f"{b['auc']:10.4f} {b['brier']:7.4f} {b['log_loss']:7.4f} | {better}{pareto}")
    c = metrics.get("concordance")
    if c:
        lines.append(f"concordance index (next purchase, all {c['n']} customers): served {c['served']:.4f}, "
                     f"BG/NBD {c['bgnbd']:.4f}")
    for h, entry in sorted(metrics.get("spend", {}).items(), key=lambda kv: int(kv[0])):
        src = metrics.get("spend_sources", {}).get(h, "?")
        row = " | ".join(f"{who} Spearman {entry[who]['spearman']:.4f} Gini {entry[who]['normalized_gini']:.4f} "
                         f"total {entry[who]['total_ratio']:.3f} decile err {entry[who]['decile_error']:.3f}"
                         for who in ("served", "bgnbd_gg", "past_spend") if who != "past_spend")
        lines.append(f"spend {h}d ({src}): {row} | past spend Gini {entry['past_spend']['normalized_gini']:.4f}")
    npc = metrics.get("next_purchase")
    if npc:
        s, b = npc["served"], npc["bgnbd"]
        lines.append(f"next-purchase curve over {npc['window_days']} days: integrated Brier served "
                     f"{s['integrated_brier']:.4f}, BG/NBD {b['integrated_brier']:.4f}; bought by the predicted "
                     f"median: served {s['median_coverage']:.1%} of {s['median_inside_window']}, "
                     f"BG/NBD {b['median_coverage']:.1%} of {b['median_inside_window']} (50% if calibrated)")
    return "\n".join(lines)


@contextmanager
def _figure(path: Path, size: tuple[float, float], paths: list[Path]):
    """A matplotlib figure drawn in the ``with`` block, then laid out and saved to ``path`` (added to ``paths``)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)
    yield fig
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    paths.append(path)


def _write_plots(report: Path, curves: dict, scorer, next_purchase: dict, spend: dict) -> list[Path]:
    paths: list[Path] = []
    n = len(curves)
    with _figure(report / "calibration.png", (4.5 * n, 4.2), paths) as fig:
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

    with _figure(report / "gains.png", (4.5 * n, 4.2), paths) as fig:
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

    with _figure(report / "next_purchase.png", (6, 4.5), paths) as fig:
        ax = fig.add_subplot(1, 1, 1)
        ax.plot(next_purchase["days"], next_purchase["observed"], color="black", label="observed")
        ax.plot(next_purchase["days"], next_purchase["served"]["mean_p_purchase"], label="served curve")
        ax.plot(next_purchase["days"], next_purchase["bgnbd"]["mean_p_purchase"], linestyle="--", label="BG/NBD")
        ax.axvline(scorer.knots[-1], color="grey", linestyle=":", label="last knot (tail beyond)")
        ax.set_title("P(next purchase within t): mean predicted vs observed")
        ax.set_xlabel("days after the as-of date")
        ax.set_ylabel("share of customers")
        ax.legend()

    if spend:
        with _figure(report / "spend_deciles.png", (4.5 * len(spend), 4.2), paths) as fig:
            for i, (h, entry) in enumerate(sorted(spend.items(), key=lambda kv: int(kv[0]))):
                ax = fig.add_subplot(1, len(spend), i + 1)
                deciles = np.arange(1, len(entry["deciles"]["forecast"]) + 1)
                ax.bar(deciles - 0.2, entry["deciles"]["forecast"], width=0.4, label="forecast")
                ax.bar(deciles + 0.2, entry["deciles"]["actual"], width=0.4, label="actual")
                ax.set_title(f"spend in the next {h} days, by forecast decile")
                ax.set_xlabel("decile of expected_spend (10 = highest)")
                ax.set_ylabel("total spend")
                ax.legend()

    model = scorer.churn.classifier_ if scorer.churn is not None else None
    if model is not None:
        imp = sorted(model.feature_importance().items(), key=lambda kv: kv[1])[-20:]
        with _figure(report / "feature_importance.png", (6, 6), paths) as fig:
            ax = fig.add_subplot(1, 1, 1)
            ax.barh([k for k, _ in imp], [v for _, v in imp])
            ax.set_title(f"churn model ({scorer.horizon_days}d): feature importance (gain)")
    return paths


def flat_metrics(metrics: dict, prefix: str = "") -> dict:
    """The figures of an evaluation as MLflow metrics: ``<prefix><who>_<metric>_<h>d`` and the curve's and spend's."""
    flat = {}
    for w, entry in metrics["horizons"].items():
        for who, m in entry.items():
            for k in ("auc", "brier", "log_loss"):
                flat[f"{prefix}{who}_{k}_{w}d"] = m[k]
    for who in ("served", "bgnbd"):
        flat[f"{prefix}{who}_concordance"] = metrics["concordance"][who]
        flat[f"{prefix}{who}_integrated_brier"] = metrics["next_purchase"][who]["integrated_brier"]
        flat[f"{prefix}{who}_median_coverage"] = metrics["next_purchase"][who]["median_coverage"]
    for h, entry in metrics.get("spend", {}).items():
        for who in ("served", "bgnbd_gg", "past_spend"):
            for k in ("spearman", "normalized_gini", "top10_share", "total_ratio", "decile_error"):
                flat[f"{prefix}spend_{who}_{k}_{h}d"] = entry[who][k]
    return flat


def _log_to_mlflow(metrics: dict, report: Path, workspace: Workspace) -> None:
    tracker = tracking.Tracker(workspace)
    with tracker.run(workspace.experiment, f"evaluate-{metrics['as_of']}-H{metrics['horizon_days']}") as run:
        run.log_params({"as_of": metrics["as_of"], "horizon_days": metrics["horizon_days"],
                        **{f"data_{k}": v for k, v in metrics["data"].items()}})
        run.set_tag("rules_version", tracking.rules_version(workspace.rules_path))
        run.log_metrics({**flat_metrics(metrics), "training_seconds": metrics["training_seconds"]})
        run.set_tag("served_sources", json.dumps(metrics["sources"]))
        run.log_artifacts(report, "report")
