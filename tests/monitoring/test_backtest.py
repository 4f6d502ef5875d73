"""``crmid backtest``: a run's realized accuracy, recomputed here from its own scores file."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sklearn.metrics import roc_auc_score

from .conftest import crmid, ok


def _realized(scores_file, tx_file, as_of, horizon):
    """AUC and Brier of the file's churn probabilities against "no purchase in (as_of, as_of + H]"."""
    scores = pd.read_parquet(scores_file, columns=["customer_id", "churn_probability"]).dropna()
    tx = pd.read_csv(tx_file, dtype={"customer_id": str}, parse_dates=["date"])
    start = pd.Timestamp(as_of)
    window = tx[(tx["date"] > start) & (tx["date"] <= start + pd.Timedelta(days=horizon)) & (tx["amount"] > 0)]
    churned = ~scores["customer_id"].isin(set(window["customer_id"]))
    p = scores["churn_probability"].to_numpy()
    return roc_auc_score(churned, p), float(np.mean((p - churned.to_numpy(float)) ** 2)), len(scores)


def test_backtest_judges_the_run_whose_horizon_passed_and_lists_the_later_one_as_pending(scored):
    args = ["backtest", "--transactions", scored.tx["1998-03-31"], "--work-dir", scored.work]
    results = json.loads(ok(*args, "--format", "json").out)
    by_date = {r["as_of"]: r for r in results}
    assert set(by_date) == {"1997-12-31", "1998-03-31"}

    judged = by_date["1997-12-31"]
    auc, brier, n = _realized(scored.scores["1997-12-31"], scored.tx["1998-03-31"], "1997-12-31", 90)
    assert judged["status"] == "judged" and judged["horizon_days"] == 90
    assert judged["auc"] == pytest.approx(auc, abs=0.002) and judged["brier"] == pytest.approx(brier, abs=0.002)
    assert judged["n_customers"] == n
    assert judged["auc_30d"] is not None and judged["auc_90d"] is not None and judged["top_decile_lift"] > 1
    deciles = judged["calibration"]
    assert len(deciles) == 10 and sum(d["n"] for d in deciles) == n
    assert deciles[0]["mean_predicted"] < deciles[-1]["mean_predicted"]

    pending = by_date["1998-03-31"]
    assert pending["status"] == "pending" and pending["judgeable_from"] == "1998-06-29"
    for key in ("auc", "brier", "n_customers", "auc_30d", "brier_90d", "calibration"):
        assert pending[key] is None

    # stored for the web page, logged to MLflow against the model version that made the run
    engine = sa.create_engine(f"sqlite:///{scored.work / 'scores.db'}")
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT run_id, auc, mlflow_run_id FROM crmid_backtests")).all()
    assert [(r.run_id, r.auc) for r in stored] == [(judged["run_id"], pytest.approx(judged["auc"]))]
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{scored.work / 'mlflow.db'}")
    name, _, version = judged["model_version"].rpartition("/")
    tags = client.get_model_version(name, version).tags
    assert float(tags["backtest.1997-12-31.auc"]) == pytest.approx(judged["auc"], abs=1e-6)
    run = client.get_run(stored[0].mlflow_run_id)
    assert run.data.tags["crmid.model_run_id"] == client.get_model_version(name, version).run_id
    assert run.data.metrics["backtest_auc"] == pytest.approx(judged["auc"])

    # again: same figures, not logged twice; table and CSV formats say the same
    again = json.loads(ok(*args, "--format", "json").out)
    assert [r["auc"] for r in again] == [r["auc"] for r in results]
    assert again[[r["as_of"] for r in again].index("1997-12-31")]["mlflow_run_id"] == stored[0].mlflow_run_id
    table = ok(*args).out
    assert "pending until 1998-06-29" in table and f"{judged['auc']:.4f}" in table
    csv = ok(*args, "--format", "csv").out.splitlines()
    assert csv[0].startswith("run_id,as_of,horizon_days,status") and len(csv) == 3


def test_backtest_before_any_run_says_so(tx_files, tmp_path):
    ran = crmid("backtest", "--transactions", tx_files["1998-03-31"], "--work-dir", tmp_path)
    assert ran.code == 1 and "run `crmid score` first" in ran.err
