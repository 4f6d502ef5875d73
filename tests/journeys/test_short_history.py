"""A horizon longer than the history: train says so, serves BG/NBD, and score works."""

from __future__ import annotations

import pandas as pd
import pytest

from .conftest import assert_quiet, run

pytestmark = pytest.mark.slow


def test_a_270_day_horizon_on_nine_months_serves_the_baseline(tmp_path):
    run(["crmid", "dataset", "cdnow", "--out", "short.csv", "--until", "1997-09-30"], tmp_path)
    trained = run(["crmid", "train", "--transactions", "short.csv", "--as-of", "1997-09-30", "--horizon", "270"],
                  tmp_path)
    assert_quiet(trained)
    out = trained.stdout
    assert "serving the BG/NBD baseline: horizon 270 days is longer than the available history" in out
    assert "registered crmid-customer version 1 @champion" in out
    for output in ("churn", "knot_30", "knot_90", "knot_270"):
        assert f"{output:<10} served: baseline" in out

    import mlflow

    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'crmid-work' / 'mlflow.db'}")
    (logged,) = client.search_runs([client.get_experiment_by_name("crmid").experiment_id])
    assert "horizon 270 days" in logged.data.tags["fallback"]

    scored = run(["crmid", "score", "--transactions", "short.csv", "--as-of", "1997-09-30", "--out", "s.parquet"],
                 tmp_path)
    assert_quiet(scored)
    scores = pd.read_parquet(tmp_path / "s.parquet")
    assert len(scores) == pd.read_csv(tmp_path / "short.csv")["customer_id"].nunique()
    # BG/NBD's own probabilities, served as they are: churn over 270 days is the complement of
    # buying within 270 days, and the curve never decreases
    assert scores["churn_probability"].between(0, 1).all()
    assert (scores["p_purchase_30d"] <= scores["p_purchase_90d"] + 1e-12).all()
    assert scores["value_tier"].astype(str).isin(["platinum", "gold", "iron", "lead"]).all()


def test_no_repeat_purchase_at_all_is_refused_with_what_is_needed(tmp_path):
    pd.DataFrame({"customer_id": ["a", "b", "c"], "date": ["2024-01-01", "2024-01-02", "2024-01-03"],
                  "amount": [10.0, 20.0, 30.0]}).to_csv(tmp_path / "once.csv", index=False)
    import subprocess

    from .conftest import clean_env

    done = subprocess.run(["crmid", "train", "--transactions", "once.csv", "--as-of", "2024-01-03"], cwd=tmp_path,
                          env=clean_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert "BG/NBD needs customers with at least two purchases on different days" in done.stderr
