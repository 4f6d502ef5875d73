"""Journeys: the product used as a new user uses it -- real `crmid` processes in a fresh directory.

No fixture sets a tracking URI, a store or a model here: every command finds them the way a user's
would, from the workspace defaults. The environment of every process is the test's own minus any
``CRMID_*`` and ``MLFLOW_*`` variable.
"""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
BIN = Path(sys.executable).parent


def clean_env(**extra: str) -> dict:
    """This process's environment without CRMID_*/MLFLOW_*, the venv's bin first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRMID_", "MLFLOW_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def readme_block(marker: str) -> list[list[str]]:
    """The commands of the fenced block after ``<!-- marker -->`` in the README, as argv lists."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index(f"<!-- {marker} -->")
    assert lines[start + 1].startswith("```"), f"README: a code block must follow <!-- {marker} -->"
    commands = []
    for line in lines[start + 2:]:
        if line.startswith("```"):
            return commands
        argv = shlex.split(line, comments=True)
        if argv:
            commands.append(argv)
    raise AssertionError(f"README: the block after <!-- {marker} --> is not closed")


def run(argv: list[str], cwd: Path, *, env: dict | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    done = subprocess.run(argv, cwd=cwd, env=env or clean_env(), capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{shlex.join(argv)} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done


def assert_quiet(done: subprocess.CompletedProcess) -> None:
    """No library warnings and no traceback in what a user sees."""
    text = done.stdout + done.stderr
    for bad in ("Warning", "warnings.warn", "Traceback", "FutureWarning", "Failed to log"):
        assert bad not in text, f"{bad!r} in the output:\n{text}"


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    """A `crmid serve` process, stopped at exit; its log in a file (an unread pipe blocks it)."""

    def __init__(self, argv: list[str], cwd: Path, port: int, env: dict):
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = cwd / f"serve-{port}.log"
        # the file stays open for the process's lifetime and is closed in stop()
        self._log = open(self.log_path, "w")  # noqa: SIM115
        self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while True:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                self.stop()
                pytest.fail(f"crmid serve did not start:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.3)

    def get(self, path: str, **kw) -> httpx.Response:
        return httpx.get(self.base + path, timeout=60, **kw)

    def post(self, path: str, **kw) -> httpx.Response:
        return httpx.post(self.base + path, timeout=60, **kw)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._log.close()


def serve(argv: list[str], cwd: Path, *, env: dict | None = None) -> Service:
    """Start ``argv`` (a `crmid serve` line) as written, on port 8000 when it is free.

    Only when another process holds 8000 on this machine is ``--port`` added, with a free one.
    """
    port = 8000
    if "--port" in argv:
        port = int(argv[argv.index("--port") + 1])
    elif not port_is_free(port):
        port = free_port()
        argv = [*argv, "--port", str(port)]
    return Service(argv, cwd, port, env or clean_env())


def transactions_body(tx, customer_id: str, as_of: str) -> dict:
    rows = tx[tx["customer_id"] == customer_id]
    return {"customer_id": customer_id, "as_of": as_of,
            "transactions": [{"date": str(d)[:10], "amount": float(a)}
                             for d, a in zip(rows["date"], rows["amount"], strict=True)]}
