"""The page's templates and stylesheet are package data: in the wheel, not only in the source tree."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UI = ROOT / "serving" / "api" / "ui"


@pytest.mark.slow
def test_the_wheel_holds_the_templates_and_the_stylesheet(tmp_path):
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    (wheel,) = tmp_path.glob("crmid-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = [f"crmid/serving/api/ui/{p.relative_to(UI).as_posix()}"
               for p in sorted(UI.rglob("*")) if p.suffix in (".html", ".css")]
    assert shipped and set(shipped) <= names
    assert "crmid/serving/api/routers/ui.py" in names
