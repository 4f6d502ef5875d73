"""Training against a real ``mlflow server`` process, then loading the champion from it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

import mlflow
from crmid.customerbase.snapshot import TransactionLog
from crmid.models import ScorerLoadError, load_scorer
from crmid.training import train
from crmid.training import defaults as tdefaults

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
    proc = subprocess.Popen(
        [str(MLFLOW), "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
         "--default-artifact-root", "mlflow-artifacts:/",
         "--artifacts-destination", str(root / "artifacts"), "--workers", "1"],
        stdout=open(root / "server.log", "wb"), stderr=subprocess.STDOUT, cwd=root,
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


def test_train_registers_and_champion_loads_from_server(server, cdnow_3k):
    result = train(cdnow_3k, as_of="1997-12-31", horizon=90, experiment="server-test", tracking_uri=server)
    assert result.tracking_uri == server
    assert set(result.versions) == {tdefaults.BUNDLE_MODEL_NAME, tdefaults.CHURN_MODEL_NAME,
                                    tdefaults.NEXT_PURCHASE_MODEL_NAME}
    assert result.versions[tdefaults.BUNDLE_MODEL_NAME]["champion"]
    run = mlflow.get_run(result.run_id)
    assert run.data.params["data_rows"] == str(int((cdnow_3k["date"] <= "1997-12-31").sum()))
    assert "rules_version" in run.data.tags
    assert any(k.startswith("val_churn_model_") for k in run.data.metrics)

    snap = TransactionLog(cdnow_3k).snapshot("1997-12-31")
    scorer = load_scorer()  # models:/crmid-customer@champion on the configured server
    pd.testing.assert_frame_equal(scorer.predict(snap), result.scorer.predict(snap))
    assert scorer.version.startswith(f"{tdefaults.BUNDLE_MODEL_NAME}/")

    # the registered churn model is a plain pyfunc too (models from code, nothing unpickled)
    version = result.versions[tdefaults.CHURN_MODEL_NAME]["version"]
    pyfunc = mlflow.pyfunc.load_model(f"models:/{tdefaults.CHURN_MODEL_NAME}/{version}")
    example = snap.head(20).copy()
    example["customer_id"] = example["customer_id"].astype(str).astype(object)
    out = pyfunc.predict(example)
    assert list(out.columns) == ["churn_probability", "p_alive", "expected_lifetime_days"]

    with pytest.raises(ScorerLoadError, match=f"models:/{tdefaults.BUNDLE_MODEL_NAME}/999"):
        load_scorer(f"models:/{tdefaults.BUNDLE_MODEL_NAME}/999")
