"""A small CDNOW workspace: trained at 1997-12-31 (H 90), scored then and at 1998-03-31."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from crmid.cli import main
from crmid.monitoring.config import default_config_path

#: customers of the sample: enough for LightGBM's minimums, small enough for seconds
CUSTOMERS = 500


@dataclass
class Ran:
    code: int
    out: str
    err: str


def crmid(*argv: str) -> Ran:
    """``crmid argv`` in this process, its output captured."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return Ran(code, out.getvalue(), err.getvalue())


def ok(*argv: str) -> Ran:
    ran = crmid(*argv)
    assert ran.code == 0, f"crmid {' '.join(map(str, argv))} exited {ran.code}\n{ran.out}\n{ran.err}"
    return ran


def write_config(path: Path, **sections) -> Path:
    """The packaged monitoring config with ``sections`` (``{"retrain": {"min_auc_gain": 1.0}}``) changed."""
    data = yaml.safe_load(default_config_path().read_text())
    for section, values in sections.items():
        data[section].update(values)
    data["version"] = f"test-{path.stem}"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="package")
def small_cdnow(cdnow, sampler):
    return sampler(cdnow, CUSTOMERS, seed=15)


@pytest.fixture(scope="package")
def tx_files(small_cdnow, tmp_path_factory):
    """The sample's log cut at 1997-12-31 and at 1998-03-31, as CSV files."""
    d = tmp_path_factory.mktemp("tx")
    files = {}
    for until in ("1997-12-31", "1998-03-31"):
        cut = small_cdnow[small_cdnow["date"] <= until]
        files[until] = d / f"tx-{until}.csv"
        cut.assign(date=cut["date"].dt.strftime("%Y-%m-%d")).to_csv(files[until], index=False)
    return files


@dataclass
class Scored:
    work: Path
    tx: dict
    scores: dict


@pytest.fixture(scope="package")
def scored(tx_files, tmp_path_factory) -> Scored:
    """Trained at 1997-12-31 on the log cut there, scored at 1997-12-31 and (log to 1998-03-31) at 1998-03-31."""
    work = tmp_path_factory.mktemp("work")
    ok("train", "--transactions", tx_files["1997-12-31"], "--as-of", "1997-12-31", "--horizon", "90",
       "--work-dir", work)
    scores = {}
    for as_of in ("1997-12-31", "1998-03-31"):
        scores[as_of] = work / f"scores-{as_of}.parquet"
        ok("score", "--transactions", tx_files[as_of], "--as-of", as_of, "--out", scores[as_of], "--work-dir", work)
    return Scored(work, tx_files, scores)
