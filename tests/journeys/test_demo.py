"""`crmid demo` as `make demo` runs it: a fresh directory, no settings."""

from __future__ import annotations

import pytest

from .conftest import assert_quiet, run

pytestmark = pytest.mark.slow


def test_demo_runs_the_whole_job_into_the_workspace(tmp_path):
    done = run(["crmid", "demo"], tmp_path, timeout=900)
    assert_quiet(done)
    out = done.stdout
    for section in ("1. data: the real CDNOW log", "2. honest evaluation", "3. train on everything up to 1998-06-30",
                    "4. score all customers as of 1998-06-30", "5. who should we retain now"):
        assert section in out
    assert "input customers 23,570 = scored 23,570 + rejected 0" in out
    assert "registered crmid-customer version 1 @champion" in out
    work = tmp_path / "crmid-work"
    assert (work / "scores.parquet").is_file() and (work / "report" / "metrics.json").is_file()
    # what the demo left is what the commands find next
    retained = run(["crmid", "retain", "--top", "5", "--format", "csv"], tmp_path)
    assert len(retained.stdout.strip().splitlines()) == 6
