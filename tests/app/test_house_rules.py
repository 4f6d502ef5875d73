"""The repository's own rules: one import root, settings read in one place, lint, docs in step."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("customerbase", "rules", "models", "training", "serving")
SOURCE_DIRS = ("crmid", *PACKAGES)


def test_one_import_root_from_another_directory(tmp_path):
    code = ("import importlib.util, crmid.models, crmid.rules, crmid.training, crmid.serving, crmid.customerbase\n"
            f"print([m for m in {PACKAGES!r} if importlib.util.find_spec(m) is not None])")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"  # no generic top-level package leaks into site-packages


@pytest.mark.slow
def test_the_wheel_holds_crmid_only_with_its_data(tmp_path):
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    (wheel,) = tmp_path.glob("crmid-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"crmid"}
    for needed in ("crmid/rules/config/default.yaml", "crmid/customerbase/data/CDNOW_master.txt.gz",
                   "crmid/serving/store/postgresql.py", "crmid/models/mlflow_model.py", "crmid/cli.py"):
        assert needed in names
    # the web page's templates and stylesheet are package data too
    ui = ROOT / "serving" / "api" / "ui"
    shipped = [f"crmid/serving/api/ui/{p.relative_to(ui).as_posix()}"
               for p in sorted(ui.rglob("*")) if p.suffix in (".html", ".css")]
    assert shipped and set(shipped) <= set(names)


def test_only_the_workspace_reads_the_environment():
    readers = []
    for folder in SOURCE_DIRS:
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if re.search(r"os\.environ|os\.getenv|getenv\(", text) and path != ROOT / "crmid" / "config.py":
                readers.append(str(path.relative_to(ROOT)))
    assert readers == []


def test_no_process_global_mlflow_tracking_uri():
    offenders = []
    for folder in SOURCE_DIRS:
        for path in (ROOT / folder).rglob("*.py"):
            if re.search(r"mlflow\.(set_tracking_uri|set_registry_uri|start_run|log_\w+)\(", path.read_text()):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_readme_rule_families_table_is_the_registry():
    from crmid.rules.families import markdown_table

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("<!-- rule-families -->\n", 1)[1].split("\n<!-- /rule-families -->", 1)[0]
    assert table.strip() == markdown_table().strip()


def test_ruff_passes_with_the_repository_configuration():
    ruff = Path(sys.executable).with_name("ruff")
    done = subprocess.run([str(ruff), "check", "."], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-5000:]
