"""``crmid train``: fit, gate, log to MLflow, register, and promote through the gate."""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from crmid.customerbase.snapshot import TransactionLog
from crmid.models import defaults as model_defaults

from . import defaults, tracking
from .fitting import check_dates, check_training_inputs, fit_scorer

__all__ = ["TrainResult", "train", "gate_metrics"]


@dataclass
class TrainResult:
    """What a training run did."""

    run_id: str
    versions: dict
    sources: dict
    gate: dict
    metrics: dict = field(default_factory=dict)
    promoted: dict = field(default_factory=dict)
    tracking_uri: str = ""
    scorer: object = None

    def summary(self) -> str:
        lines = [f"run {self.run_id} ({self.tracking_uri})"]
        for name, g in self.gate.items():
            lines.append(f"  {name:<10} served: {g['source']:<8} {g['reason']}")
        for name, v in self.versions.items():
            star = " @champion" if v.get("champion") else ""
            lines.append(f"  registered {name} version {v.get('version')}{star}")
        return "\n".join(lines)


def gate_metrics(gate: dict) -> dict:
    """Flatten the gate's validation metrics to MLflow metric names."""
    out = {}
    for name, g in gate.items():
        for who, m in (g.get("metrics") or {}).items():
            for k in ("auc", "brier", "log_loss"):
                v = m.get(k)
                if v is not None and v == v:
                    out[f"val_{name}_{who}_{k}"] = float(v)
    return out


def train(transactions: pd.DataFrame, *, as_of, horizon: int | None = None, experiment: str | None = None,
          customers: pd.DataFrame | None = None, tracking_uri: str | None = None, register: bool = True,
          seed: int | None = None) -> TrainResult:
    """Fit on data up to ``as_of``, gate against BG/NBD, log and register in MLflow.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Validated transactions (rows after ``as_of`` are never read).
    as_of : date-like
        Training cutoff.
    horizon : int, optional
        Churn horizon H; default :data:`training.defaults.HORIZON_DAYS`.
    experiment : str, optional
        MLflow experiment; default :data:`training.defaults.EXPERIMENT`.
    customers : pandas.DataFrame, optional
        Customer profiles; only fingerprinted in the run (the models use transactions only).
    tracking_uri : str, optional
        Overrides ``MLFLOW_TRACKING_URI`` and the local default.
    register : bool
        Register the models and set ``champion`` where the gate promotes them.
    """
    import mlflow

    H = defaults.HORIZON_DAYS if horizon is None else horizon
    cutoff = pd.Timestamp(as_of).normalize()
    if len(transactions):
        check_dates(transactions["date"].min(), transactions["date"].max(), cutoff)
    upto = transactions[transactions["date"] <= cutoff].reset_index(drop=True)
    log = TransactionLog(upto)
    check_training_inputs(log, cutoff, H)  # before any MLflow work
    uri = tracking.configure(tracking_uri)
    exp_id = tracking.ensure_experiment(experiment or defaults.EXPERIMENT)
    with mlflow.start_run(experiment_id=exp_id, run_name=f"train-{cutoff.date()}-H{H}") as run:
        mlflow.log_params({"as_of": str(cutoff.date()), "horizon_days": int(H),
                           "num_boost_round": model_defaults.LGBM_NUM_BOOST_ROUND,
                           "seed": model_defaults.SEED if seed is None else seed,
                           "snapshot_step_days": model_defaults.SNAPSHOT_STEP_DAYS,
                           **{f"lgbm_{k}": v for k, v in model_defaults.LGBM_PARAMS.items()}})
        fp = tracking.data_fingerprint(upto)
        mlflow.log_params({f"data_{k}": v for k, v in fp.items()})
        if customers is not None:
            mlflow.log_param("customers_rows", int(len(customers)))
        mlflow.set_tag("rules_version", tracking.rules_version())
        t0 = time.perf_counter()
        scorer = fit_scorer(log, cutoff=cutoff, horizon=H, seed=seed)
        mlflow.log_metric("training_seconds", time.perf_counter() - t0)
        gate = scorer.info["gate"]
        metrics = gate_metrics(gate)
        mlflow.log_metrics(metrics)
        for name, g in gate.items():
            mlflow.set_tag(f"gate.{name}", f"{g['source']}: {g['reason']}"[:5000])
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "gate.json"
            path.write_text(json.dumps(gate, indent=2))
            mlflow.log_artifact(str(path))
        sources = scorer.sources
        knots_model = all(v == "model" for k, v in sources.items() if k.startswith("knot_"))
        promote = {
            defaults.BUNDLE_MODEL_NAME: True,  # every output it serves passed the gate (or is BG/NBD)
            defaults.CHURN_MODEL_NAME: sources["churn"] == "model",
            defaults.NEXT_PURCHASE_MODEL_NAME: knots_model,
        }
        mlflow.set_tag("served_sources", json.dumps(sources))
        snap = log.snapshot(cutoff)
        versions = tracking.log_scorer_models(scorer, snap, register=register, promote=promote)
        if register:
            scorer.version = ", ".join(f"{n}/{v['version']}" for n, v in versions.items())
        return TrainResult(run.info.run_id, versions, sources, gate, metrics,
                           {n: v["champion"] for n, v in versions.items()}, uri, scorer)
