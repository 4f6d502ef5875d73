"""The service's life as operations see it: started before any model exists, then given one.

`crmid serve` in an empty workspace answers the rules and says 503 for scoring with how to
train; after `crmid train` in the same directory, `POST /v1/model/reload` takes the new champion
up without a restart; after `crmid score`, lone customers are ranked against the stored run.
"""

from __future__ import annotations

import pytest

from .conftest import clean_env, free_port, run, serve, transactions_body

pytestmark = pytest.mark.slow

TOKEN = "journey-token-not-a-secret"


@pytest.fixture(scope="module")
def workspace_dir(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("ops")
    # a short log keeps this quick: the first 300 days of CDNOW
    run(["crmid", "dataset", "cdnow", "--out", "tx.csv", "--until", "1997-10-27"], cwd)
    return cwd


def test_serve_without_a_model_then_reload_one(workspace_dir):
    import pandas as pd

    cwd = workspace_dir
    auth = {"Authorization": f"Bearer {TOKEN}"}
    # the token is the one setting given by the environment here: secrets stay off command lines
    service = serve(["crmid", "serve", "--port", str(free_port())], cwd, env=clean_env(CRMID_API_TOKEN=TOKEN))
    try:
        ready = service.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["model_loaded"] is False and "crmid train" in ready.json()["model_error"]
        assert service.get("/healthz").status_code == 200

        decided = service.post("/v1/decide", headers=auth, json={"customer_id": "a", "value_percentile": 0.5})
        assert decided.status_code == 200 and decided.headers["X-Crmid-Model-Version"] == "none"

        tx = pd.read_csv(cwd / "tx.csv", dtype={"customer_id": str})
        body = transactions_body(tx, tx["customer_id"].iloc[0], "1997-10-27")
        refused = service.post("/v1/score", headers=auth, json=body)
        assert refused.status_code == 503 and "crmid train" in refused.json()["message"]

        nothing = service.post("/v1/model/reload", headers=auth)
        assert nothing.status_code == 503  # still no model: the service keeps running without one
        assert service.post("/v1/model/reload").status_code == 401  # the token is required

        run(["crmid", "train", "--transactions", "tx.csv", "--as-of", "1997-10-27", "--horizon", "90"], cwd)
        reloaded = service.post("/v1/model/reload", headers=auth)
        assert reloaded.status_code == 200, reloaded.text
        assert reloaded.json() == {"model_version": "crmid-customer/1", "previous_model_version": None,
                                   "rules_version": decided.headers["X-Crmid-Rules-Version"]}
        assert service.get("/readyz").status_code == 200

        scored = service.post("/v1/score", headers=auth, json=body)
        assert scored.status_code == 200
        # no batch run yet: ranked against the training population saved with the model
        assert scored.json()["clv_reference"] == "model:crmid-customer/1"
        assert scored.json()["value_percentile"] is not None and scored.json()["value_tier"] != "not_assessed"
        assert scored.headers["X-Crmid-Model-Version"] == "crmid-customer/1"

        run(["crmid", "score", "--transactions", "tx.csv", "--as-of", "1997-10-27", "--out", "s.parquet"], cwd)
        run_id = service.get("/v1/version", headers=auth).json()["store_run_id"]
        again = service.post("/v1/score", headers=auth, json=body).json()
        assert again["clv_reference"] == f"run:{run_id}"
        batch = pd.read_parquet(cwd / "s.parquet")
        row = batch[batch["customer_id"].astype(str) == body["customer_id"]].iloc[0]
        assert again["value_percentile"] == pytest.approx(row["value_percentile"], abs=0.005)
        assert again["value_tier"] == str(row["value_tier"])
    finally:
        service.stop()


def test_score_without_a_model_says_how_to_train(tmp_path):
    run(["crmid", "dataset", "cdnow", "--out", "tx.csv", "--until", "1997-03-31"], tmp_path)
    import subprocess

    done = subprocess.run(["crmid", "score", "--transactions", "tx.csv", "--as-of", "1997-03-31", "--out", "s.csv"],
                          cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 3
    assert "no model at models:/crmid-customer@champion" in done.stderr and "crmid train" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "s.csv").exists()
