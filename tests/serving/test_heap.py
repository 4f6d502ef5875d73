"""The service keeps its loaded model and rules out of the cycle collector's full collections.

A full collection walked every object the service holds (160 ms for a CDNOW model and the rules),
stalling every request in flight; the loaded objects are frozen at start-up and after each reload
(``serving.api.state.settle_heap``), and a replaced model is freed at the reload. In process: the
collector's state is not visible over HTTP (the latency it bought is measured by bench/bench_serve.py).
"""

from __future__ import annotations

import gc
import shutil
import weakref

from fastapi.testclient import TestClient

from crmid.config import Workspace
from crmid.serving.api import create_app


def _walked(obj) -> bool:
    """Whether a full collection would walk ``obj`` (frozen objects are in no generation)."""
    return any(o is obj for o in gc.get_objects())


def test_the_loaded_model_is_frozen_at_start_and_after_a_reload_and_the_replaced_one_freed(tmp_path, model_dir):
    from crmid.models import load_scorer

    live = tmp_path / "model"
    shutil.copytree(model_dir, live)
    workspace = Workspace(work_dir=tmp_path / "w", model_uri=str(live), store_url="none")
    gc.unfreeze()  # whatever an earlier test of this process left frozen (a ServingState reloaded alone)
    with TestClient(create_app(workspace)) as client:
        state = client.app.state.serving
        first = state.context.scorer
        assert gc.is_tracked(first) and not _walked(first)
        assert gc.get_freeze_count() > 10_000  # the model's and the rules' objects, not a handful

        newer = load_scorer(model_dir)
        newer.version = "crmid-customer/99"
        shutil.rmtree(live)
        newer.save(live)
        del newer
        gone = weakref.ref(first)
        del first
        state.reload_model()
        assert state.context.model_version == "crmid-customer/99"
        assert not _walked(state.context.scorer)  # the new model is frozen too
        assert gone() is None  # the replaced model was collected, not frozen for good

        state.reload_rules()
        assert not _walked(state.context.engine)
        assert client.get("/healthz").status_code == 200
    assert gc.get_freeze_count() == 0  # the app leaves the heap of its process as it found it
