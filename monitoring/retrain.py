"""``crmid retrain``: a challenger on the new data, judged beside the champion, promoted only if it wins.

The protocol: one window all three can be judged on without having seen it
----------------------------------------------------------------------------
With new transactions up to ``as_of`` and the champion's horizon H, the latest window whose
outcome is known is (E, as_of] with E = as_of - H. On it, at E:

* the **champion** as registered scores the customers' snapshot at E. It was trained on data up to
  its own cutoff C, so it can be judged only when C <= E; otherwise it has seen part of the
  window's outcomes and nothing is promoted (the reason says when it can next be judged: C + H);
* the **challenger** is the training recipe (:func:`crmid.training.fitting.fit_scorer`, its gate
  against BG/NBD included) fitted on the new data up to E: the same recipe that will be registered,
  with no knowledge of the window;
* **BG/NBD** fitted on the data up to E, the classic model both are measured against.

Each is judged on "no purchase in (E, as_of]" (churn AUC and Brier score, the gate's metrics; the
30- and 90-day purchase probabilities are reported too). The challenger is promoted when its AUC
beats the champion's by ``retrain.min_auc_gain`` and its Brier score is lower by
``retrain.min_brier_gain`` (monitoring configuration). Promoted, the recipe is refitted on
everything up to ``as_of`` (:func:`crmid.training.train.train` without moving the alias), that
version becomes ``@champion`` and the one it replaces ``@previous`` (:func:`rollback` restores it).

Why it does not flip-flop: training is seeded, so the same data gives the same challenger and the
same verdict; a champion trained on the very data given (same content hash and horizon) is not
judged again; and a freshly promoted champion has seen the window (C = as_of > E) until H more
days of data arrive. A service picks the new champion up with ``POST /v1/model/reload``.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from crmid.config import Workspace

    from .config import MonitoringConfig

__all__ = ["PREVIOUS_ALIAS", "NothingToRollBack", "format_retrain", "judge_churn", "retrain", "rollback"]

#: the alias the replaced champion keeps (the workspace's ``model_alias`` is the champion's)
PREVIOUS_ALIAS = "previous"


class NothingToRollBack(LookupError):
    """No ``@previous`` version to restore; the message names the model."""


def judge_churn(predictions: pd.DataFrame, labels: pd.DataFrame) -> dict:
    """Churn AUC and Brier (and of the 30/90-day purchase probabilities) of one model on one window.

    ``predictions``: ``customer_id``, ``churn_probability``, ``p_purchase_30d``, ``p_purchase_90d``;
    ``labels``: :meth:`TransactionLog.labels` (``churned``, ``purchased_within_{30,90}d``).
    """
    from crmid.models.metrics import binary_metrics

    frame = predictions.merge(labels, on="customer_id", how="inner")
    frame = frame[frame["churn_probability"].notna() & frame["churned"].notna()]
    out = {"n": len(frame)}
    m = binary_metrics(frame["churned"].to_numpy(dtype=bool), frame["churn_probability"].to_numpy(dtype=float))
    out.update(auc=_round(m["auc"]), brier=_round(m["brier"]), base_rate=_round(m["base_rate"]),
               mean_predicted=_round(m["mean_prediction"]))
    for w in (30, 90):
        col = f"purchased_within_{w}d"
        sub = frame[frame[col].notna()] if col in frame and f"p_purchase_{w}d" in frame else frame.iloc[:0]
        if len(sub):
            mw = binary_metrics(sub[col].to_numpy(dtype=bool), sub[f"p_purchase_{w}d"].to_numpy(dtype=float))
            out[f"auc_{w}d"], out[f"brier_{w}d"] = _round(mw["auc"]), _round(mw["brier"])
        else:
            out[f"auc_{w}d"] = out[f"brier_{w}d"] = None
    return out


def _round(x):
    return None if x is None or not np.isfinite(x) else round(float(x), 6)


def _predictions(scorer, snap: pd.DataFrame, profiles: pd.DataFrame | None = None) -> pd.DataFrame:
    out = scorer.predict(snap, profiles=profiles)
    keep = [c for c in ("churn_probability", "p_purchase_30d", "p_purchase_90d") if c in out.columns]
    return pd.concat([snap[["customer_id"]].reset_index(drop=True), out[keep].reset_index(drop=True)], axis=1)


def _bgnbd_predictions(bgnbd, snap: pd.DataFrame, H: int) -> pd.DataFrame:
    from crmid.models.bgnbd import rfm_arrays

    x, t_x, T = rfm_arrays(snap)
    return pd.DataFrame({"customer_id": snap["customer_id"].to_numpy(),
                         "churn_probability": 1.0 - bgnbd.p_purchase_within(H, x, t_x, T),
                         "p_purchase_30d": bgnbd.p_purchase_within(30, x, t_x, T),
                         "p_purchase_90d": bgnbd.p_purchase_within(90, x, t_x, T)})


def _fit_recipe(log, cutoff, H, seed, profiles=None):
    """The training recipe at ``cutoff``: LightGBM gated against BG/NBD, or BG/NBD where history is short."""
    from crmid.training.fitting import InsufficientHistory, fit_baseline_scorer, fit_scorer

    try:
        return fit_scorer(log, cutoff=cutoff, horizon=H, seed=seed, profiles=profiles)
    except InsufficientHistory as exc:
        return fit_baseline_scorer(log, cutoff=cutoff, horizon=H, reason=f"BG/NBD served: {exc}")


def _decide(champion: dict | None, challenger: dict, margin: dict) -> tuple[bool, str]:
    if champion is None:
        return True, "no champion to beat: the challenger becomes the champion"
    if champion["auc"] is None or challenger["auc"] is None:
        return False, "AUC undefined on the window (only one outcome observed): the champion stays"
    gain_auc = challenger["auc"] - champion["auc"]
    gain_brier = champion["brier"] - challenger["brier"]
    detail = (f"challenger AUC {challenger['auc']:.4f} / Brier {challenger['brier']:.4f} vs champion AUC "
              f"{champion['auc']:.4f} / Brier {champion['brier']:.4f} on {challenger['n']:,} customers "
              f"(needed: AUC +{margin['min_auc_gain']}, Brier -{margin['min_brier_gain']})")
    if gain_auc >= margin["min_auc_gain"] and gain_brier >= margin["min_brier_gain"]:
        return True, "the challenger wins by the margin: " + detail
    return False, "the challenger does not win by the margin: " + detail


def _aliases_to_move(workspace: Workspace, sources: dict) -> list[str]:
    """The registered names whose champion alias follows the bundle (as ``crmid train`` moves them)."""
    names = [workspace.model_name]
    if sources.get("churn") == "model":
        names.append(workspace.churn_model_name)
    if all(v == "model" for k, v in sources.items() if k.startswith("knot_")):
        names.append(workspace.next_purchase_model_name)
    return names


def retrain(transactions: pd.DataFrame, *, as_of, workspace: Workspace, config: MonitoringConfig,
            horizon: int | None = None, seed: int | None = None, on_stage=None,
            profiles: pd.DataFrame | None = None) -> dict:
    """Judge a challenger against the champion and BG/NBD; promote it when it wins by the margin.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Validated transactions; rows after ``as_of`` are never read.
    as_of : date-like
        The new training cutoff; the judging window is (as_of - H, as_of].
    workspace : crmid.config.Workspace
        Registry, names and alias of the champion; experiment the comparison is logged in.
    config : MonitoringConfig
        ``retrain`` margins.
    horizon : int, optional
        H; default the champion's (or :data:`crmid.training.defaults.HORIZON_DAYS` without one).
    seed : int, optional
        LightGBM seed (default :data:`crmid.models.defaults.SEED`).
    profiles : pandas.DataFrame, optional
        Validated customer profiles (``--customers``): offered to the challenger as features, as
        ``crmid train`` offers them, and read by a champion that was trained with them. Without
        them such a champion is judged with its profile features missing, and ``notes`` says so.

    Returns
    -------
    dict
        ``{"promoted", "reason", "notes", "as_of", "horizon_days", "window": {"from", "to"}, "champion": {...metrics,
        "version", "trained_to"} or None, "challenger": {...}, "bgnbd": {...}, "margin", "config_version",
        "new_version", "previous_version", "mlflow_run_id"}``.
    """
    from crmid.customerbase.snapshot import TransactionLog
    from crmid.models.registry import load_scorer
    from crmid.training import defaults as training_defaults
    from crmid.training.fitting import TrainingInputError, check_dates
    from crmid.training.tracking import Tracker, data_fingerprint

    on_stage = on_stage or (lambda stage: None)
    tracker = Tracker(workspace)
    cutoff = pd.Timestamp(as_of).normalize()
    if not len(transactions):
        raise TrainingInputError("no transactions to retrain on (0 rows)")
    check_dates(transactions["date"].min(), transactions["date"].max(), cutoff)
    upto = transactions[transactions["date"] <= cutoff].reset_index(drop=True)
    mv = tracker.champion()
    champion = None
    if mv is not None:
        champion = load_scorer(f"models:/{workspace.model_name}/{mv.version}", tracking_uri=workspace.tracking_uri,
                               registry_uri=workspace.registry_uri)
    H = int(horizon or (champion.horizon_days if champion else training_defaults.HORIZON_DAYS))
    start = cutoff - pd.Timedelta(days=H)
    result = {"promoted": False, "reason": "", "notes": _profile_notes(champion, profiles),
              "as_of": str(cutoff.date()), "horizon_days": H,
              "window": {"from": str(start.date()), "to": str(cutoff.date())},
              "champion": None, "challenger": None, "bgnbd": None, "margin": dict(config.retrain),
              "config_version": config.version, "new_version": None, "previous_version": None,
              "mlflow_run_id": None}
    fingerprint = data_fingerprint(upto)
    if champion is not None:
        trained_to = pd.Timestamp(champion.info.get("cutoff", cutoff)).normalize()
        result["champion"] = {"version": str(mv.version), "trained_to": str(trained_to.date())}
        if (mv.tags.get("data_sha256_16") == fingerprint["sha256_16"] and champion.horizon_days == H):
            result["reason"] = (f"the champion (version {mv.version}) was trained on this very data (content hash "
                                f"{fingerprint['sha256_16']}, horizon {H}): nothing new to judge it on; it stays")
            return result
        if trained_to > start:
            result["reason"] = (f"the champion (version {mv.version}) was trained on data up to {trained_to.date()}, "
                                f"inside the latest judgeable window {result['window']['from']} .. "
                                f"{result['window']['to']}: it cannot be judged out of time before data reaches "
                                f"{(trained_to + pd.Timedelta(days=H)).date()}; it stays")
            return result
    on_stage("fit challenger")
    log = TransactionLog(upto)
    challenger = _fit_recipe(log, start, H, seed, profiles)
    on_stage("judge")
    snap = log.snapshot(start)
    labels = log.labels(start, H, observed_until=cutoff, windows=(30, 90))
    result["challenger"] = {"trained_to": str(start.date()), "sources": challenger.sources,
                            **judge_churn(_predictions(challenger, snap, profiles), labels)}
    result["bgnbd"] = {"trained_to": str(start.date()), **judge_churn(_bgnbd_predictions(challenger.bgnbd, snap, H),
                                                                      labels)}
    if champion is not None:
        result["champion"].update(judge_churn(_predictions(champion, snap, profiles), labels))
    promoted, reason = _decide(result["champion"] if champion is not None else None, result["challenger"],
                               config.retrain)
    result["promoted"], result["reason"] = promoted, reason
    with tracker.run(workspace.experiment, f"retrain-{cutoff.date()}-H{H}") as run:
        run.set_tag("crmid.kind", "retrain")
        run.set_tag("crmid.promoted", promoted)
        run.set_tag("crmid.reason", reason)
        run.log_params({"as_of": str(cutoff.date()), "horizon_days": H, "window_from": str(start.date()),
                        "champion_version": str(mv.version) if mv else "none", "config_version": config.version,
                        **{f"margin_{k}": v for k, v in config.retrain.items()}})
        run.log_metrics({f"{who}_{k}": v for who in ("champion", "challenger", "bgnbd") if result[who]
                         for k, v in result[who].items() if k.startswith(("auc", "brier")) and v is not None})
        run.log_json("retrain.json", result)
        result["mlflow_run_id"] = run.run_id
    if promoted:
        on_stage("refit and register")
        _promote(result, transactions, cutoff, H, seed, workspace, tracker, mv, profiles)
    return result


def _promote(result: dict, transactions, cutoff, H, seed, workspace: Workspace, tracker, old, profiles=None) -> None:
    """Refit the recipe on everything up to ``cutoff``, register it, move ``@champion`` and ``@previous``."""
    from crmid.training.train import train

    trained = train(transactions, as_of=cutoff, horizon=H, workspace=workspace, seed=seed, promote_alias=False,
                    customers=profiles)
    client = tracker.client
    for name in _aliases_to_move(workspace, trained.sources):
        version = trained.versions[name]["version"]
        current = tracker.champion(name)
        if current is not None:
            client.set_registered_model_alias(name, PREVIOUS_ALIAS, current.version)
        client.set_registered_model_alias(name, workspace.model_alias, version)
        client.set_model_version_tag(name, version, "retrain.window",
                                     f"{result['window']['from']}..{result['window']['to']}")
        client.set_model_version_tag(name, version, "retrain.mlflow_run_id", result["mlflow_run_id"])
    result["new_version"] = trained.versions[workspace.model_name]["version"]
    result["previous_version"] = str(old.version) if old is not None else None
    result["challenger"]["registered_trained_to"] = str(cutoff.date())
    result["challenger"]["version"] = result["new_version"]


def rollback(workspace: Workspace) -> dict:
    """Restore ``@previous`` as ``@champion`` for every registered name that has one.

    The replaced version is tagged ``rolled_back_at`` and ``@previous`` is removed, so a second
    rollback does not bring the rolled-back version back.

    Raises
    ------
    NothingToRollBack
        When the served bundle has no ``@previous`` version.
    """
    from crmid.training.tracking import Tracker

    tracker = Tracker(workspace)
    client = tracker.client
    if tracker.champion(workspace.model_name, PREVIOUS_ALIAS) is None:
        raise NothingToRollBack(f"{workspace.model_name} has no @{PREVIOUS_ALIAS} version in "
                                f"{workspace.registry_uri}: nothing to roll back to")
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    done = {}
    for name in (workspace.model_name, workspace.churn_model_name, workspace.next_purchase_model_name):
        previous = tracker.champion(name, PREVIOUS_ALIAS)
        if previous is None:
            continue
        current = tracker.champion(name)
        client.set_registered_model_alias(name, workspace.model_alias, previous.version)
        client.delete_registered_model_alias(name, PREVIOUS_ALIAS)
        if current is not None:
            client.set_model_version_tag(name, current.version, "rolled_back_at", now)
        done[name] = {"from": str(current.version) if current else None, "to": str(previous.version)}
    return done


def _profile_notes(champion, profiles) -> list[str]:
    """What to know when the champion reads profile features and none were given."""
    if champion is not None and champion.uses_profiles and profiles is None:
        return [f"the champion {champion.version} reads profile features and no --customers was given: it is "
                "scored with them missing, and the challenger is trained without profiles"]
    return []


def format_retrain(result: dict) -> str:
    """A readable summary: the verdict, then each model's figures on the window."""
    lines = [("PROMOTED: " if result["promoted"] else "not promoted: ") + result["reason"]]
    lines += [f"note: {n}" for n in result.get("notes", [])]
    lines.append(f"window {result['window']['from']} .. {result['window']['to']} (horizon {result['horizon_days']} "
                 f"days; config {result['config_version']})")
    for who in ("champion", "challenger", "bgnbd"):
        m = result.get(who)
        if not m or "auc" not in m:
            continue
        figures = "  ".join(f"{k} {m[k]:.4f}" for k in ("auc", "brier", "auc_30d", "brier_30d", "auc_90d",
                                                           "brier_90d") if m.get(k) is not None)
        label = f"{who} v{m['version']}" if m.get("version") else who
        lines.append(f"  {label:<16} trained to {m['trained_to']}  {figures}  n {m['n']:,}")
    if result["new_version"]:
        lines.append(f"registered {result['new_version']} (refit to {result['as_of']}) @champion; "
                     f"previous champion {result['previous_version'] or '-'} @{PREVIOUS_ALIAS}")
    return "\n".join(lines)
