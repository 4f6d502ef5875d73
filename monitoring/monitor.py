"""``crmid monitor``: does the latest stored run still look like what the champion was trained on?

The champion carries a reference profile of its training population (``info["drift_reference"]``,
written by :func:`crmid.training.fitting.fit_scorer` and :func:`crmid.training.train.train`): the
snapshot features the models read at the training cutoff and the outputs a run stores
(``churn_probability``, ``clv``, the next-purchase probabilities ...). The latest complete run is
compared with it:

* **PSI per column** (:func:`crmid.models.drift.psi`). The store keeps the main outputs of
  every customer (churn probability, CLV, purchase probabilities ...), so those are always
  compared; the input features are not stored, so they are compared when the transactions are
  given (``--transactions``): their snapshot at the run's as-of date is what the run's models read
  (and the outputs a run does not store are the champion's on that snapshot). Reference columns
  compared with nothing are listed in ``not_compared``.
* **missing-value rates** per column, against the reference's;
* **tier changes**: the share of the customers in both the latest and the previous complete run
  whose value tier changed.

Each number is set against the thresholds of the monitoring configuration; ``drift`` is true when
any crosses its alert threshold. The result is stored in ``crmid_drift`` (the service's
``/metrics`` exposes it) and returned as a JSON-ready dict.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pandas as pd
import sqlalchemy as sa

from crmid.models.drift import profile_psi

from .tables import DriftTables, read_run_scores

if TYPE_CHECKING:
    from crmid.config import Workspace

    from .config import MonitoringConfig

__all__ = ["NothingToMonitor", "format_monitor", "monitor", "tier_changes"]


class NothingToMonitor(LookupError):
    """No stored run, or no champion with a reference profile; the message says what to do."""


def tier_changes(engine: sa.Engine, run_id: str, previous_run_id: str) -> dict:
    """Customers in both runs and how many changed value tier, counted by the database."""
    view = sa.table("crmid_scores", sa.column("run_id"), sa.column("customer_id"), sa.column("value_tier"))
    a, b = view.alias("a"), view.alias("b")
    query = (sa.select(sa.func.count(), sa.func.sum(sa.case((a.c.value_tier != b.c.value_tier, 1), else_=0)))
             .select_from(a.join(b, a.c.customer_id == b.c.customer_id))
             .where(a.c.run_id == run_id, b.c.run_id == previous_run_id))
    with engine.connect() as conn:
        both, changed = conn.execute(query).one()
    both, changed = int(both or 0), int(changed or 0)
    return {"previous_run_id": previous_run_id, "customers_compared": both, "changed": changed,
            "share": changed / both if both else None}


def _level(value, warn: float, alert: float) -> str:
    if value is None or value != value:
        return "unknown"
    return "alert" if value >= alert else "warn" if value >= warn else "ok"


def monitor(*, store, workspace: Workspace, config: MonitoringConfig, transactions: pd.DataFrame | None = None,
            save: bool = True, profiles: pd.DataFrame | None = None) -> dict:
    """Drift of the latest complete run against the champion's training reference.

    Parameters
    ----------
    store : crmid.serving.store.sql.SqlScoresStore
        The scores store (its ``engine``; runs read through ``crmid_scores``).
    workspace : crmid.config.Workspace
        Where the champion (``model_uri``) is found.
    config : MonitoringConfig
        ``drift`` thresholds.
    transactions : pandas.DataFrame, optional
        The run's transactions: adds the model's input features (snapshot at the run's as-of).
    save : bool
        Store the per-feature result in ``crmid_drift``.
    profiles : pandas.DataFrame, optional
        Validated customer profiles, read by a champion trained with profile features when it
        scores the snapshot (without them it scores with them missing, and ``notes`` says so).

    Returns
    -------
    dict
        ``{"run_id", "as_of", "run_model_version", "champion", "reference_cutoff", "features": [{"feature",
        "kind", "psi", "level", "missing_rate", "reference_missing_rate", "drift"}], "not_compared",
        "tier_change", "thresholds", "config_version", "drift", "reasons", "notes"}``.

    Raises
    ------
    NothingToMonitor
        No complete run stored, or the champion carries no reference profile.
    """
    from crmid.models.registry import load_scorer

    runs = [r for r in store.list_runs() if r.status == "complete"]
    if not runs:
        raise NothingToMonitor(f"no complete scoring run in {store.url}: run `crmid score` first")
    latest, previous = runs[0], (runs[1] if len(runs) > 1 else None)
    champion = load_scorer(workspace.model_uri, tracking_uri=workspace.tracking_uri,
                           registry_uri=workspace.registry_uri)
    reference = champion.info.get("drift_reference")
    if not reference:
        raise NothingToMonitor(f"the champion {champion.version} carries no training reference profile (trained "
                               "by an earlier crmid): train it again, then monitor")
    view_columns = {c["name"] for c in sa.inspect(store.engine).get_columns("crmid_scores")}
    stored = [c for c in reference if c in view_columns and c != "customer_id"]
    frame = read_run_scores(store.engine, latest.run_id, ["customer_id", *stored])
    measured = {c: {**m, "kind": "output"} for c, m in profile_psi({c: reference[c] for c in stored}, frame).items()}
    if transactions is not None:
        from crmid.customerbase.snapshot import TransactionLog

        snap = TransactionLog(transactions).snapshot(pd.Timestamp(latest.as_of).normalize())
        inputs = {c: reference[c] for c in reference if c not in measured}
        measured.update({c: {**m, "kind": "input"} for c, m in profile_psi(inputs, snap).items()})
        # outputs a run does not store (p_alive, lifetime ...): the champion's, on the same snapshot
        rest = {c: reference[c] for c in reference if c not in measured}
        if rest:
            outputs = champion.predict(snap, profiles=profiles)
            measured.update({c: {**m, "kind": "output"} for c, m in profile_psi(rest, outputs).items()})
    d = config.drift
    features, reasons = [], []
    for name in reference:
        if name not in measured:
            continue
        m = measured[name]
        psi_value = None if m["psi"] != m["psi"] else round(m["psi"], 6)
        missing_shift = abs(m["missing_rate"] - m["reference_missing_rate"])
        level = _level(psi_value, d["psi_warn"], d["psi_alert"])
        drift = level == "alert" or missing_shift >= d["missing_rate_alert"]
        if level == "alert":
            reasons.append(f"{name}: PSI {psi_value:.3f} >= {d['psi_alert']}")
        if missing_shift >= d["missing_rate_alert"]:
            reasons.append(f"{name}: missing {m['missing_rate']:.1%} vs {m['reference_missing_rate']:.1%} at "
                           f"training (shift >= {d['missing_rate_alert']:.0%})")
        features.append({"feature": name, "kind": m["kind"], "psi": psi_value, "level": level,
                         "missing_rate": round(m["missing_rate"], 6),
                         "reference_missing_rate": round(m["reference_missing_rate"], 6), "drift": drift})
    tiers = None
    if previous is not None and "value_tier" in view_columns:
        tiers = tier_changes(store.engine, latest.run_id, previous.run_id)
        tiers["drift"] = tiers["share"] is not None and tiers["share"] >= d["tier_change_alert"]
        if tiers["drift"]:
            reasons.append(f"value tier changed for {tiers['share']:.1%} of the customers since the previous run "
                           f"(>= {d['tier_change_alert']:.0%})")
    result = {
        "run_id": latest.run_id, "as_of": latest.as_of, "customers": len(frame),
        "run_model_version": latest.model_version, "champion": champion.version,
        "reference_cutoff": champion.info.get("cutoff"),
        "features": features,
        "not_compared": [c for c in reference if c not in measured],
        "tier_change": tiers,
        "thresholds": dict(d), "config_version": config.version,
        "drift": bool(reasons), "reasons": reasons,
        "notes": ([f"the champion {champion.version} reads profile features and no --customers was given: its "
                   "outputs on the snapshot were computed with them missing"]
                  if transactions is not None and champion.uses_profiles and profiles is None else []),
    }
    if save:
        DriftTables(store.engine).save_drift(latest.run_id, champion.version, features,
                                             dt.datetime.now(dt.UTC).replace(tzinfo=None))
    return result


def format_monitor(result: dict) -> str:
    """A readable report: the run, one line per column (highest PSI first), tier changes, the verdict."""
    lines = [f"run {result['run_id']} as of {result['as_of']} ({result['customers']:,} customers, model "
             f"{result['run_model_version']}) against champion {result['champion']} trained to "
             f"{result['reference_cutoff']} (config {result['config_version']})"]
    rows = sorted(result["features"], key=lambda f: -1.0 if f["psi"] is None else f["psi"], reverse=True)
    width = max([len(f["feature"]) for f in rows] + [7])
    lines.append(f"  {'feature':<{width}}  kind    PSI      level    missing (training)")
    for f in rows:
        shown = "-" if f["psi"] is None else f"{f['psi']:.4f}"
        lines.append(f"  {f['feature']:<{width}}  {f['kind']:<6}  {shown:<7}  {f['level']:<7}  "
                     f"{f['missing_rate']:.1%} ({f['reference_missing_rate']:.1%})")
    if result["not_compared"]:
        lines.append(f"  not compared (not stored with a run; pass --transactions): "
                     f"{', '.join(result['not_compared'])}")
    t = result["tier_change"]
    if t is None:
        lines.append("  tier changes: no previous run to compare with")
    else:
        share = "-" if t["share"] is None else f"{t['share']:.1%}"
        lines.append(f"  tier changes since run {t['previous_run_id'][:8]}: {t['changed']:,} of "
                     f"{t['customers_compared']:,} customers ({share})")
    lines += [f"note: {n}" for n in result.get("notes", [])]
    lines.append("drift: " + ("; ".join(result["reasons"]) if result["drift"] else "none above the alert thresholds"))
    return "\n".join(lines)
