"""``crmid backtest``: did the stored runs' scores come true?

For each complete run in the scores store, the run's own stored scores (``crmid_scores``) are set
against what the transactions say happened after its as-of date A:

* ``churn_probability`` against "no purchase in (A, A + H]", H the horizon of the model version
  that made the run (its registry tag ``horizon_days``, else the scorer's own);
* ``p_purchase_30d`` / ``p_purchase_90d`` against "a purchase in (A, A + 30]" / "(A, A + 90]";
* AUC and Brier score of each, calibration by decile of the churn probability (mean predicted
  against observed churn), and the top-decile lift (churn rate of the riskiest tenth over the
  base's churn rate).

A run is judged once the transactions are observed up to A + H (default: their last date;
``observed_until`` when the file is known complete to a later day). Earlier runs are *pending*
and listed without figures. Customers judged are the run's customers known at A with a churn
probability (prospects without a purchase have neither a label nor a probability). Labels come
from :meth:`crmid.customerbase.snapshot.TransactionLog.labels`, the definition training uses.

Judged runs are stored in ``crmid_backtests`` (for the web page's runs view) and, the first time,
logged to MLflow: a run named ``backtest-<as-of>`` in the workspace's experiment tagged with the
model version and its training run, and tags ``backtest.<as-of>.auc`` / ``.brier`` on the model
version itself, so the registry says how each version's scores turned out.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .tables import BACKTEST_COLUMNS, DriftTables, read_run_scores

if TYPE_CHECKING:
    from crmid.config import Workspace

    from .config import MonitoringConfig

__all__ = ["backtest", "format_backtest", "judge_scores", "model_horizon"]

_SCORE_COLUMNS = ("customer_id", "churn_probability", "p_purchase_30d", "p_purchase_90d")


def _binary(y: np.ndarray, p: np.ndarray) -> tuple[float | None, float | None]:
    """AUC (None when only one class is observed) and Brier score of one probability forecast."""
    from sklearn.metrics import roc_auc_score

    if y.size == 0:
        return None, None
    auc = float(roc_auc_score(y, p)) if 0 < y.sum() < y.size else None
    return auc, float(np.mean((p - y) ** 2))


def judge_scores(scores: pd.DataFrame, labels: pd.DataFrame, horizon: int, *, calibration_bins: int = 10,
                 top_share: float = 0.1) -> dict:
    """Realized accuracy of one run's scores against its labels.

    Parameters
    ----------
    scores : pandas.DataFrame
        ``customer_id``, ``churn_probability``, ``p_purchase_30d``, ``p_purchase_90d`` (one row per customer).
    labels : pandas.DataFrame
        :meth:`TransactionLog.labels` at the run's as-of date: ``customer_id``, ``churned`` and
        ``purchased_within_{30,90}d`` (NA where the window is not observed).
    horizon : int
        H of the churn probability.
    calibration_bins, top_share
        Deciles of the calibration table; share of the riskiest customers for the lift.

    Returns
    -------
    dict
        :data:`~crmid.monitoring.tables.BACKTEST_COLUMNS` and ``calibration``: a list of
        ``{"bin", "n", "mean_predicted", "observed"}``, lowest predicted churn first.
    """
    frame = scores.merge(labels, on="customer_id", how="inner")
    frame = frame[frame["churn_probability"].notna() & frame["churned"].notna()]
    p = frame["churn_probability"].to_numpy(dtype=float)
    y = frame["churned"].to_numpy(dtype=float)
    out: dict = {"n_customers": int(y.size)}
    out["auc"], out["brier"] = _binary(y, p)
    out["base_rate"] = float(y.mean()) if y.size else None
    out["mean_predicted"] = float(p.mean()) if y.size else None
    for w in (30, 90):
        col = f"purchased_within_{w}d"
        # a window longer than what the transactions follow is NA: not judged
        sub = frame[frame[col].notna() & frame[f"p_purchase_{w}d"].notna()] if col in frame else frame.iloc[:0]
        if len(sub) == 0:
            out[f"auc_{w}d"], out[f"brier_{w}d"] = None, None
            continue
        out[f"auc_{w}d"], out[f"brier_{w}d"] = _binary(sub[col].to_numpy(dtype=float),
                                                       sub[f"p_purchase_{w}d"].to_numpy(dtype=float))
    order = np.argsort(p, kind="stable")
    calibration = []
    for i, part in enumerate(np.array_split(order, min(calibration_bins, max(y.size, 1)))):
        if part.size:
            calibration.append({"bin": i + 1, "n": int(part.size), "mean_predicted": float(p[part].mean()),
                                "observed": float(y[part].mean())})
    out["calibration"] = calibration
    top = order[::-1][: max(round(top_share * y.size), 1)] if y.size else order
    base = out["base_rate"]
    out["top_decile_lift"] = float(y[top].mean() / base) if y.size and base else None
    return out


def model_horizon(client, model_version: str, *, tracking_uri: str, registry_uri: str) -> int | None:
    """H of a stored run's model version ``NAME/VERSION``: its registry tag, else its scorer; None if unknown."""
    name, _, number = str(model_version).rpartition("/")
    if not name or not number.isdigit():
        return None
    try:
        tag = client.get_model_version(name, number).tags.get("horizon_days")
        if tag:
            return int(tag)
        from crmid.models.registry import load_scorer

        return int(load_scorer(f"models:/{name}/{number}", tracking_uri=tracking_uri,
                               registry_uri=registry_uri).horizon_days)
    except Exception:  # a version deleted from the registry, another registry: the run stays pending
        return None


def _log_to_mlflow(tracker, workspace: Workspace, row: dict) -> str | None:
    """A ``backtest-<as-of>`` run and tags on the model version that made the stored run."""
    name, _, number = str(row["model_version"]).rpartition("/")
    try:
        mv = tracker.client.get_model_version(name, number)
    except Exception:
        return None
    with tracker.run(workspace.experiment, f"backtest-{row['as_of']}") as run:
        run.set_tag("crmid.kind", "backtest")
        run.set_tag("crmid.store_run_id", row["run_id"])
        run.set_tag("crmid.model_version", row["model_version"])
        run.set_tag("crmid.model_run_id", mv.run_id)
        run.log_params({"as_of": row["as_of"], "horizon_days": row["horizon_days"],
                        "observed_until": row["observed_until"], "config_version": row["config_version"]})
        run.log_metrics({f"backtest_{k}": row[k] for k in BACKTEST_COLUMNS if row.get(k) is not None})
        run.log_json("calibration.json", row["calibration"])
    for key in ("auc", "brier", "top_decile_lift"):
        if row.get(key) is not None:
            tracker.client.set_model_version_tag(name, number, f"backtest.{row['as_of']}.{key}", f"{row[key]:.6f}")
    return run.run_id


def backtest(transactions: pd.DataFrame, *, store, workspace: Workspace, config: MonitoringConfig,
             observed_until=None, log_to_mlflow: bool = True) -> list[dict]:
    """Judge every complete stored run whose horizon has passed; list the others as pending.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Validated transactions (``customer_id``, ``date``, ``amount``) covering the runs' horizons.
    store : crmid.serving.store.sql.SqlScoresStore
        The scores store (its ``engine`` and ``crmid_scores`` view are read; results written beside).
    workspace : crmid.config.Workspace
        Registry (the runs' horizons) and experiment (where results are logged).
    config : MonitoringConfig
        Calibration bins and the lift's top share.
    observed_until : date-like, optional
        Last day the transactions are complete to; default their last date.
    log_to_mlflow : bool
        Log a run's result to MLflow the first time it is judged.

    Returns
    -------
    list of dict
        One per complete run, newest first: ``run_id``, ``as_of``, ``horizon_days``, ``model_version``,
        ``status`` (``judged`` | ``pending``), ``judgeable_from`` (A + H), the figures of
        :func:`judge_scores` (None while pending) and ``calibration``.
    """
    from crmid.customerbase.snapshot import TransactionLog
    from crmid.training.tracking import Tracker

    log = TransactionLog(transactions)
    if log.data_end is None:
        raise ValueError("no transactions to judge the runs against (0 rows)")
    until = pd.Timestamp(observed_until if observed_until is not None else log.data_end).normalize()
    tables = DriftTables(store.engine)
    stored = tables.backtests_by_run()
    tracker = Tracker(workspace)
    horizons: dict[str, int | None] = {}
    results = []
    for info in store.list_runs():
        if info.status != "complete":
            continue
        if info.model_version not in horizons:
            horizons[info.model_version] = model_horizon(tracker.client, info.model_version,
                                                         tracking_uri=workspace.tracking_uri,
                                                         registry_uri=workspace.registry_uri)
        H = horizons[info.model_version]
        as_of = pd.Timestamp(info.as_of).normalize()
        row = {"run_id": info.run_id, "as_of": info.as_of, "horizon_days": H, "model_version": info.model_version,
               "status": "pending", "judgeable_from": None if H is None else str((as_of + pd.Timedelta(days=H)).date()),
               "observed_until": str(until.date()), **dict.fromkeys(BACKTEST_COLUMNS), "calibration": None,
               "config_version": config.version}
        if H is not None and as_of + pd.Timedelta(days=H) <= until and as_of >= log.data_start.normalize():
            scores = read_run_scores(store.engine, info.run_id, _SCORE_COLUMNS)
            labels = log.labels(as_of, H, observed_until=until, windows=(30, 90))
            row.update(judge_scores(scores, labels, H, calibration_bins=config.backtest["calibration_bins"],
                                    top_share=config.backtest["top_share"]))
            row["status"] = "judged"
            previous = stored.get(info.run_id)
            row["mlflow_run_id"] = previous.get("mlflow_run_id") if previous else None
            if log_to_mlflow and row["mlflow_run_id"] is None:
                row["mlflow_run_id"] = _log_to_mlflow(tracker, workspace, row)
            row["judged_at"] = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            tables.save_backtest(row)
            row["judged_at"] = row["judged_at"].isoformat(timespec="seconds")
        results.append(row)
    return results


def _fmt(value, digits=4) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.{digits}f}"


def format_backtest(results: list[dict], fmt: str = "table") -> str:
    """The results as an aligned table, CSV (one row per run, calibration as JSON) or JSON."""
    import json

    if fmt == "json":
        return json.dumps(results, indent=2, default=str)
    columns = ["run_id", "as_of", "horizon_days", "status", *BACKTEST_COLUMNS, "model_version", "judgeable_from"]
    if fmt == "csv":
        frame = pd.DataFrame([{**{c: r.get(c) for c in columns}, "calibration": json.dumps(r.get("calibration"))}
                              for r in results], columns=[*columns, "calibration"])
        return frame.to_csv(index=False).rstrip("\n")
    head = ["as_of", "H", "status", "customers", "churn rate", "AUC", "Brier", "AUC 30d", "Brier 30d", "AUC 90d",
            "Brier 90d", "lift@top", "model", "run"]
    rows = [[r["as_of"], _fmt(r["horizon_days"]), r["status"] if r["status"] == "judged" else
             f"pending until {r['judgeable_from'] or '? (horizon unknown)'}", _fmt(r["n_customers"]),
             _fmt(r["base_rate"], 3), _fmt(r["auc"]), _fmt(r["brier"]), _fmt(r["auc_30d"]), _fmt(r["brier_30d"]),
             _fmt(r["auc_90d"]), _fmt(r["brier_90d"]), _fmt(r["top_decile_lift"], 2), r["model_version"],
             r["run_id"][:8]] for r in results]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=True)]
    return "\n".join("  ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True)).rstrip()
                     for line in [head, *rows])
