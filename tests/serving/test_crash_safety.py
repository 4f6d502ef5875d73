"""A batch run is one unit: kill ``crmid score`` (SIGKILL, as kill -9) at every stage boundary and the
files and the store still agree on one whole run; the next run finishes or removes what was left.

The kill comes from the hidden test option ``crmid score --fault-at POINT`` (see
``crmid.serving.batch.FAULT_POINTS``), which sends the process SIGKILL at that point.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pandas as pd
import pytest

from crmid.customerbase import load_cdnow
from crmid.serving.batch import FAULT_POINTS, default_manifest_path, recover_outputs, verify_run
from crmid.serving.store import open_store

#: points at which the store already holds the new run complete: files follow at the next run
_AFTER_STORE = FAULT_POINTS[FAULT_POINTS.index("stored"):]
AS_OFS = ("1998-01-31", "1998-02-28", "1998-03-31")


@pytest.fixture(scope="module")
def tx_300(tmp_path_factory):
    tx = load_cdnow()
    keep = tx["customer_id"].drop_duplicates().sample(300, random_state=18)
    path = tmp_path_factory.mktemp("tx") / "tx.csv"
    tx[tx["customer_id"].isin(keep)].to_csv(path, index=False)
    return path


def _score(tmp_path, tx, model_dir, as_of, *extra, umask=0o022):
    def child():
        os.umask(umask)

    return subprocess.run(
        [sys.executable, "-m", "crmid", "score", "--transactions", str(tx), "--as-of", as_of,
         "--out", "out/scores.parquet", "--model-uri", model_dir, "--work-dir", "w", *extra],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, preexec_fn=child)


def _consistent(tmp_path, store) -> dict:
    """The manifest, once its files match it and the store's latest run is the manifest's run."""
    manifest = verify_run(tmp_path / "out" / "scores.manifest.json")
    latest = store.latest_run()
    assert latest is not None and latest.run_id == manifest["run_id"]
    assert latest.n_scored == manifest["counts"]["scored"] == manifest["files"]["scores"]["rows"]
    assert latest.as_of == manifest["as_of"] and latest.rules_version == manifest["rules_version"]
    scores = pd.read_parquet(tmp_path / "out" / "scores.parquet")
    rejects = pd.read_csv(tmp_path / "out" / "scores.rejects.csv")
    assert len(scores) + rejects["customer_id"].notna().sum() == manifest["counts"]["input_customers"]
    assert str(scores["as_of"].iloc[0])[:10] == manifest["as_of"]
    return manifest


def _leftovers(tmp_path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "out").iterdir() if p.name.endswith((".partial", ".tmp")))


def test_a_kill_at_any_stage_leaves_one_whole_run(tmp_path, tx_300, model_dir):
    first = _score(tmp_path, tx_300, model_dir, AS_OFS[0])
    assert first.returncode == 0, first.stderr
    store = open_store(f"sqlite:///{tmp_path / 'w' / 'scores.db'}")
    previous = _consistent(tmp_path, store)
    for i, point in enumerate(FAULT_POINTS):
        as_of = AS_OFS[(i + 1) % len(AS_OFS)]
        killed = _score(tmp_path, tx_300, model_dir, as_of, "--fault-at", point)
        assert killed.returncode == -signal.SIGKILL, (point, killed.stderr)
        if point not in _AFTER_STORE:
            # before the store's commit: the previous run is what everybody sees, whole
            assert _consistent(tmp_path, store)["run_id"] == previous["run_id"], point
        # the next run starts by cleaning up: decided runs are finished, the rest removed
        done = recover_outputs(tmp_path / "out" / "scores.parquet", store=store)
        assert _leftovers(tmp_path) == [], (point, done)
        now = _consistent(tmp_path, store)
        assert not [r for r in store.list_runs() if r.status == "running"], point
        if point in _AFTER_STORE:
            assert now["run_id"] != previous["run_id"] and now["as_of"] == as_of, point
        else:
            assert now["run_id"] == previous["run_id"], point
        failed = [r for r in store.list_runs() if r.status == "failed"]
        assert all(r.note for r in failed)
        previous = now
    # killed runs are failed with the reason; none is left running
    notes = [r.note for r in store.list_runs() if r.status == "failed"]
    assert notes and all("interrupted" in n or "Error" in n for n in notes)
    # and a plain next run after a kill cleans up by itself, then prunes to --keep-runs
    killed = _score(tmp_path, tx_300, model_dir, AS_OFS[0], "--fault-at", "scores-published")
    assert killed.returncode == -signal.SIGKILL
    last = _score(tmp_path, tx_300, model_dir, AS_OFS[1], "--keep-runs", "2")
    assert last.returncode == 0, last.stderr
    assert "cleaned: run" in last.stdout and "finished" in last.stdout
    assert _leftovers(tmp_path) == []
    assert _consistent(tmp_path, store)["as_of"] == AS_OFS[1]
    # --keep-runs 2: two complete runs are left, older runs and their rows are gone
    runs = store.list_runs()
    assert len([r for r in runs if r.status == "complete"]) == 2
    import sqlalchemy as sa

    with store.engine.connect() as conn:
        kept = {r.run_key for r in conn.execute(sa.text("select run_key from crmid_runs"))}
        stored = {r.run_key for r in conn.execute(sa.text("select distinct run_key from crmid_score_rows"))}
        # and the runs' own tables (crmid_score_rows_<run_key>): a pruned run's table is dropped
        tables = conn.execute(sa.text("select name from sqlite_master where type = 'table'")).scalars()
        stored |= {int(t.rsplit("_", 1)[1]) for t in tables if t.startswith("crmid_score_rows_")}
        assert stored <= kept
        reasons = set(conn.execute(sa.text("select distinct run_id from crmid_reasons")).scalars())
        assert reasons <= {r.run_id for r in runs}
    store.close()


def test_header_only_input_leaves_the_previous_run(tmp_path, tx_300, model_dir):
    assert _score(tmp_path, tx_300, model_dir, AS_OFS[2]).returncode == 0
    store = open_store(f"sqlite:///{tmp_path / 'w' / 'scores.db'}")
    before = _consistent(tmp_path, store)
    (tmp_path / "empty.csv").write_text("customer_id,date,amount\n")
    done = _score(tmp_path, tmp_path / "empty.csv", model_dir, AS_OFS[2])
    assert done.returncode == 2 and "Traceback" not in done.stderr and "IntegrityError" not in done.stderr
    assert "no transaction rows" in done.stderr
    assert _consistent(tmp_path, store) == before
    assert len(store.list_runs()) == 1
    store.close()


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_outputs_follow_the_umask(tmp_path, tx_300, model_dir, umask):
    done = _score(tmp_path, tx_300, model_dir, AS_OFS[2], "--store", "none", umask=umask)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out"
    manifest = default_manifest_path(out / "scores.parquet")
    for path in (out / "scores.parquet", out / "scores.rejects.csv", manifest):
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask, path


def test_keep_runs_default_is_the_documented_one():
    from crmid.cli import build_parser
    from crmid.serving.batch import DEFAULT_KEEP_RUNS

    score = build_parser()._subparsers._group_actions[0].choices["score"]
    keep = next(a for a in score._actions if a.dest == "keep_runs")
    assert f"default {DEFAULT_KEEP_RUNS};" in keep.help
