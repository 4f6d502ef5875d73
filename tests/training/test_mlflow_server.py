"""Training against a real ``mlflow server`` process, then loading the champion from it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from crmid.config import Workspace
from crmid.customerbase.snapshot import TransactionLog
from crmid.models import ScorerLoadError, load_scorer
from crmid.training import train

pytestmark = pytest.mark.slow

MLFLOW = Path(sys.executable).parent / "mlflow"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    # the child gets its own copy of the log's descriptor: ours can close once it has started
    with open(root / "server.log", "wb") as log:
        proc = subprocess.Popen(
            [str(MLFLOW), "server", "--host", "127.0.0.1", "--port", str(port),
             "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
             "--default-artifact-root", "mlflow-artifacts:/",
             "--artifacts-destination", str(root / "artifacts"), "--workers", "1"],
            stdout=log, stderr=subprocess.STDOUT, cwd=root,
            env={**os.environ, "MLFLOW_TRACKING_URI": ""},
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            pytest.fail(f"mlflow server did not start: {(root / 'server.log').read_text()[-2000:]}")
        time.sleep(0.5)
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_train_registers_and_champion_loads_from_server(server, cdnow_3k, tmp_path, monkeypatch):
    # whatever MLflow's process-global default says, crmid writes where its workspace points
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'elsewhere.db'}")
    ws = Workspace(tracking_uri=server, experiment="server-test", work_dir=tmp_path)
    result = train(cdnow_3k, as_of="1997-12-31", horizon=90, workspace=ws)
    assert result.tracking_uri == server
    assert set(result.versions) == {ws.model_name, ws.churn_model_name, ws.next_purchase_model_name}
    assert result.versions[ws.model_name]["champion"]
    client = mlflow.MlflowClient(tracking_uri=server)
    run = client.get_run(result.run_id)
    assert client.get_experiment(run.info.experiment_id).name == "server-test"
    assert run.data.params["data_rows"] == str(int((cdnow_3k["date"] <= "1997-12-31").sum()))
    assert "rules_version" in run.data.tags
    assert any(k.startswith("val_churn_model_") for k in run.data.metrics)
    assert not (tmp_path / "elsewhere.db").exists()
    # the record says what made the model: the rules file and its digest, and the registry's
    # version carries the horizon, the data hash and the gate's verdicts
    assert len(run.data.tags["rules_sha256"]) == 64
    assert [a.path for a in client.list_artifacts(result.run_id, "rules")] == ["rules/default.yaml"]
    mv = client.get_model_version(ws.model_name, result.versions[ws.model_name]["version"])
    assert mv.tags["horizon_days"] == "90" and mv.tags["as_of"] == "1997-12-31"
    assert mv.tags["data_sha256_16"] == run.data.params["data_sha256_16"]
    assert mv.tags["gate.churn"] in ("model", "blend", "baseline", "pareto")

    snap = TransactionLog(cdnow_3k).snapshot("1997-12-31")
    scorer = load_scorer(ws.model_uri, tracking_uri=server)  # models:/crmid-customer@champion on the server
    pd.testing.assert_frame_equal(scorer.predict(snap), result.scorer.predict(snap))
    assert scorer.version == f"{ws.model_name}/{result.versions[ws.model_name]['version']}"
    assert scorer.clv_reference.size == 1001  # the training population's CLV travels with the model

    # the registered churn model is a plain pyfunc too (models from code, nothing unpickled), as
    # `mlflow models serve` would load it with the server in MLFLOW_TRACKING_URI
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server)
    version = result.versions[ws.churn_model_name]["version"]
    pyfunc = mlflow.pyfunc.load_model(f"models:/{ws.churn_model_name}/{version}")
    example = snap.head(20).copy()
    example["customer_id"] = example["customer_id"].astype(str).astype(object)
    out = pyfunc.predict(example)
    assert list(out.columns) == ["churn_probability", "p_alive", "expected_lifetime_days"]

    with pytest.raises(ScorerLoadError, match=f"models:/{ws.model_name}/999"):
        load_scorer(f"models:/{ws.model_name}/999", tracking_uri=server)
