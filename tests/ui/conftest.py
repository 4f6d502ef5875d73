"""Fixtures of the web page's tests: a workspace scored from CDNOW, real `crmid serve` processes, Chromium.

The workspace is made the way a user makes one (``crmid dataset``, ``train``, ``score`` in a
fresh directory, no ``CRMID_*`` variable), with two runs so that a customer has a trend. The
browser is Debian's Chromium (``apt-get install chromium``; ``.ci/run`` installs it) driven by
Playwright, which never downloads a browser of its own here.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from ..journeys.conftest import Service, clean_env, free_port, run

#: the token of the service started with one
TOKEN = "ui-token-not-a-secret"
#: Debian's Chromium
CHROMIUM = Path("/usr/bin/chromium")
#: no sandbox (CI runs as root), and none of Chromium's own calls home
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
#: the run the list shows (the latest) and an earlier one
AS_OF, EARLIER = "1998-03-31", "1997-12-31"



@pytest.fixture(scope="session")
def scored_workspace(tmp_path_factory) -> Path:
    """A directory where a model was trained and two runs were scored from the real CDNOW log."""
    cwd = tmp_path_factory.mktemp("ui-workspace")
    run(["crmid", "dataset", "cdnow", "--out", "tx.csv"], cwd)
    run(["crmid", "train", "--transactions", "tx.csv", "--as-of", AS_OF, "--horizon", "90"], cwd)
    # the earlier run first: the latest complete run is the one the list shows
    run(["crmid", "score", "--transactions", "tx.csv", "--as-of", EARLIER, "--out", "early.parquet"], cwd)
    run(["crmid", "score", "--transactions", "tx.csv", "--as-of", AS_OF, "--out", "s.parquet"], cwd)
    return cwd


def start_service(cwd: Path, **env: str) -> Service:
    """`crmid serve` in ``cwd`` on a free loopback port, with ``env`` added to a clean environment."""
    port = free_port()
    return Service(["crmid", "serve", "--host", "127.0.0.1", "--port", str(port)], cwd, port, clean_env(**env))


@pytest.fixture(scope="session")
def open_service(scored_workspace):
    """The service over the scored workspace, without a token."""
    service = start_service(scored_workspace)
    yield service
    service.stop()


@pytest.fixture(scope="session")
def token_service(scored_workspace):
    """The service over the same workspace, with ``CRMID_API_TOKEN`` set."""
    service = start_service(scored_workspace, CRMID_API_TOKEN=TOKEN)
    yield service
    service.stop()


def retain_csv(cwd: Path, *args: str) -> str:
    """What ``crmid retain --format csv ARGS`` prints in ``cwd``."""
    return run(["crmid", "retain", "--format", "csv", *args], cwd).stdout


def csv_rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is expected at {CHROMIUM}: apt-get install -y chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Browsing:
    """One browser context: its page, every URL it requested, and screenshots into the test's tmp dir."""

    page: object
    shots: Path
    requested: list[str] = field(default_factory=list)

    def shot(self, name: str) -> Path:
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def off_host(self) -> list[str]:
        """Requested URLs that went anywhere but 127.0.0.1 (a ``data:`` URL is no request to anybody)."""
        return [u for u in self.requested if not u.startswith("data:") and urlsplit(u).hostname != "127.0.0.1"]


@pytest.fixture
def browsing(browser, tmp_path):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    session = Browsing(page=page, shots=tmp_path)
    page.on("request", lambda request: session.requested.append(request.url))
    yield session
    context.close()
