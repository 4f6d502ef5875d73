"""``crmid serve --workers N``: several processes, and a reload answered by one is in force in all.

A real service with two worker processes on a loopback port; the model-reload case runs two
serving states in this process on one shared signal file (two model versions need two saved
models, which the HTTP case has no way to register).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

from crmid.config import Workspace
from crmid.serving.api.state import ReloadSignal, ServingState

from ..journeys.conftest import Service, free_port

TOKEN = "test-token-not-a-secret"


def _workers(pid: int) -> set[int]:
    """Worker processes of the supervisor ``pid`` (multiprocessing's resource tracker is one more child)."""
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return {int(x) for x in out.split() if b"spawn_main" in Path(f"/proc/{x}/cmdline").read_bytes()}


def test_two_workers_serve_and_a_rules_reload_reaches_both(tmp_path, model_dir, engine):
    rules = tmp_path / "rules.yaml"
    shutil.copy(engine.path, rules)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRMID_", "MLFLOW_"))}
    env["CRMID_API_TOKEN"] = TOKEN
    crmid = str(Path(sys.executable).with_name("crmid"))
    port = free_port()
    server = Service([crmid, "serve", "--port", str(port), "--workers", "2", "--model-uri", model_dir,
                      "--store", "none", "--rules", str(rules), "--work-dir", str(tmp_path / "w")],
                     tmp_path, port, env)
    try:
        deadline = time.time() + 60
        while len(_workers(server.proc.pid)) < 2 and time.time() < deadline:
            time.sleep(0.2)
        assert len(_workers(server.proc.pid)) == 2  # two worker processes under the supervisor

        def versions(n=40):
            seen = set()
            for _ in range(n):  # a new connection each time: the workers take turns accepting
                r = httpx.post(f"{server.base}/v1/decide", json={"customers": [{"customer_id": "x"}]},
                               headers={"Authorization": f"Bearer {TOKEN}"})
                assert r.status_code == 200
                seen.add(r.headers["X-Crmid-Rules-Version"])
            return seen

        before = versions()
        assert len(before) == 1
        (old,) = before
        text = rules.read_text()
        rules.write_text(text.replace(f"version: {old}", f"version: {old}-w2", 1)
                         .replace(f'version: "{old}"', f'version: "{old}-w2"', 1))
        r = httpx.post(f"{server.base}/v1/rules/reload", headers={"Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 200 and r.json()["rules_version"] == f"{old}-w2"
        assert versions() == {f"{old}-w2"}  # whichever worker answers
    finally:
        server.stop()


def test_a_model_reload_in_one_worker_is_taken_up_by_the_other(tmp_path, model_dir, scorer):
    from crmid.models import load_scorer

    live = tmp_path / "model"
    shutil.copytree(model_dir, live)
    workspace = Workspace(work_dir=tmp_path / "w", model_uri=str(live), store_url="none")
    signal = tmp_path / "reloads.json"
    first = ServingState.load(workspace, ReloadSignal(signal))
    second = ServingState.load(workspace, ReloadSignal(signal))
    assert first.context.model_version == second.context.model_version == scorer.version

    newer = load_scorer(model_dir)
    newer.version = "crmid-customer/99"
    shutil.rmtree(live)
    newer.save(live)
    first.reload_model()
    assert first.context.model_version == "crmid-customer/99"
    assert second.context.model_version == scorer.version  # not yet: it has served no request since
    second.follow_reloads()
    assert second.context.model_version == "crmid-customer/99"
    assert second.context.engine is not first.context.engine  # each process keeps its own rules
    held = second.context
    second.follow_reloads()  # nothing new: the same context object stays
    assert second.context is held
