"""A registered model resolved once is read again without MLflow until the tracking database changes.

Real MLflow on a SQLite tracking database in a temporary directory (the workspace's default kind
of store); the loads that must not touch MLflow run in a fresh interpreter, which shows whether
MLflow was imported at all.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from crmid.models import load_scorer

NAME = "crmid-customer"
URI = f"models:/{NAME}@champion"


@pytest.fixture()
def registry(tmp_path, model_dir):
    """A SQLite tracking store holding version 1 of the model, aliased champion."""
    import mlflow

    db = tmp_path / "mlflow.db"
    tracking = f"sqlite:///{db}"
    client = mlflow.MlflowClient(tracking_uri=tracking, registry_uri=tracking)
    experiment = client.create_experiment("t", artifact_location=(tmp_path / "artifacts").as_uri())
    client.create_registered_model(NAME)

    def register() -> str:
        run = client.create_run(experiment)
        client.log_artifacts(run.info.run_id, model_dir, "scorer")
        client.set_terminated(run.info.run_id)
        version = client.create_model_version(NAME, f"{run.info.artifact_uri}/scorer", run_id=run.info.run_id).version
        client.set_registered_model_alias(NAME, "champion", str(version))
        return str(version)

    register()
    return {"db": db, "tracking": tracking, "register": register, "memo": db.with_name(db.name + ".crmid-models.json")}


def _load_in_fresh_process(tracking: str) -> dict:
    code = ("import json, sys; from crmid.models import load_scorer; "
            f"s = load_scorer({URI!r}, tracking_uri={tracking!r}); "
            "print(json.dumps({'version': s.version, 'mlflow': 'mlflow' in sys.modules}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_second_load_reads_the_remembered_model_without_mlflow(registry):
    first = _load_in_fresh_process(registry["tracking"])
    assert first == {"version": f"{NAME}/1", "mlflow": True}
    assert registry["memo"].is_file()
    again = _load_in_fresh_process(registry["tracking"])
    assert again == {"version": f"{NAME}/1", "mlflow": False}


def test_remembered_model_scores_as_the_one_resolved_through_mlflow(registry, cdnow_sample):
    from crmid.customerbase import TransactionLog, validate_transactions

    resolved = load_scorer(URI, tracking_uri=registry["tracking"])
    remembered = load_scorer(URI, tracking_uri=registry["tracking"])
    snapshot = TransactionLog(validate_transactions(cdnow_sample)[0]).snapshot("1998-03-31")
    assert remembered.version == resolved.version == f"{NAME}/1"
    assert remembered.predict(snapshot).equals(resolved.predict(snapshot))


def test_moved_alias_is_seen_at_the_next_load(registry):
    assert load_scorer(URI, tracking_uri=registry["tracking"]).version == f"{NAME}/1"
    assert registry["register"]() == "2"  # a new version, the alias moved to it: the database changed
    assert _load_in_fresh_process(registry["tracking"]) == {"version": f"{NAME}/2", "mlflow": True}
    assert _load_in_fresh_process(registry["tracking"]) == {"version": f"{NAME}/2", "mlflow": False}


def test_damaged_memo_or_missing_directory_falls_back_to_mlflow(registry):
    load_scorer(URI, tracking_uri=registry["tracking"])
    memo = registry["memo"]
    memo.write_text("{not json")
    assert load_scorer(URI, tracking_uri=registry["tracking"]).version == f"{NAME}/1"
    # a memo that matches the database but names a directory that is gone
    state = json.loads(memo.read_text())
    state["models"][URI]["dir"] = str(Path(memo.parent, "gone"))
    memo.write_text(json.dumps(state))
    assert _load_in_fresh_process(registry["tracking"]) == {"version": f"{NAME}/1", "mlflow": True}
    assert Path(json.loads(memo.read_text())["models"][URI]["dir"]).is_dir()  # remembered right again


def test_no_memo_for_a_tracking_server_uri(tmp_path):
    from crmid.models.registry import _Resolutions

    assert _Resolutions.of("http://127.0.0.1:5000", "http://127.0.0.1:5000") is None
    assert _Resolutions.of(f"sqlite:///{tmp_path / 'absent.db'}", f"sqlite:///{tmp_path / 'absent.db'}") is None
