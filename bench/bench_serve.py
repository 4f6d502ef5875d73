"""Benchmark: the HTTP service on one customer at a time, next to ``mlflow models serve`` of the same model.

In one run, on the CDNOW log: train once (``crmid train``, as-of 1998-03-31, H=90) into a work
directory, score the base once (``crmid score``) so the store holds a run, then start both
services on loopback ports and time:

* ``crmid serve`` -- ``POST /v1/score`` with one customer's transactions (the full scored row:
  snapshot, models, CLV, facts, rules, reasons), and ``POST /v1/decide`` with one facts object;
* ``mlflow models serve`` of the registered ``crmid-churn`` pyfunc (the same LightGBM model;
  ``--env-manager local``) -- ``POST /invocations`` with that customer's snapshot row, the
  model's own input.

Each is driven by 1 client sequentially and by 8 concurrent clients (threads, one keep-alive
connection each). Printed per target: requests, p50, p99, throughput. Every concurrent answer of
``/v1/score`` is compared with the sequential one. ``crmid serve`` runs as users start it (one
process, the default), then with ``--workers 2`` (one process per core of this machine).

Run: ``.venv/bin/python bench/bench_serve.py [--customers 200] [--workdir /tmp/crmid-serve-bench]``
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pandas as pd

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRMID_", "MLFLOW_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"  # mlflow starts `uvicorn` by name
    return env


def _wait(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.5)
    raise SystemExit(f"{url} did not come up:\n{log.read_text()[-3000:]}")


def _drive(base: str, path: str, bodies: list, clients: int) -> tuple[list[float], list]:
    """Post every body once; ``clients`` threads with a keep-alive connection each."""
    def worker(chunk):
        out = []
        with httpx.Client(base_url=base, timeout=60) as c:
            for body in chunk:
                t0 = time.perf_counter()
                r = c.post(path, json=body)
                out.append(((time.perf_counter() - t0) * 1000, r.status_code, r.json()))
        return out

    chunks = [bodies[i::clients] for i in range(clients)]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        results = [x for part in pool.map(worker, chunks) for x in part]
    wall = time.perf_counter() - t0
    bad = [s for _, s, _ in results if s != 200]
    if bad:
        raise SystemExit(f"{path}: {len(bad)} non-200 answers, e.g. {bad[0]}")
    return [ms for ms, _, _ in results], [body for _, _, body in results], wall


def _line(name: str, clients: int, ms: list[float], wall: float) -> str:
    q = statistics.quantiles(ms, n=100)
    return (f"{name:<34} {clients:>2} clients {len(ms):>5} req  p50 {statistics.median(ms):7.1f} ms  "
            f"p99 {q[98]:7.1f} ms  {len(ms) / wall:7.1f} req/s")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=200, help="distinct customers posted (each 4x under load)")
    ap.add_argument("--workdir", default="/tmp/crmid-serve-bench")
    args = ap.parse_args(argv)
    work = Path(args.workdir)
    crmid = str(BIN / "crmid")
    if not (work / "crmid-work" / "mlflow.db").exists():
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        for cmd in (["dataset", "cdnow", "--out", "tx.csv"],
                    ["train", "--transactions", "tx.csv", "--as-of", "1998-03-31", "--horizon", "90"],
                    ["score", "--transactions", "tx.csv", "--as-of", "1998-03-31", "--out", "s.parquet"]):
            subprocess.run([crmid, *cmd], cwd=work, env=_env(), check=True, capture_output=True)
    tx = pd.read_csv(work / "tx.csv", dtype={"customer_id": str})
    tx = tx[pd.to_datetime(tx["date"]) <= "1998-03-31"]
    ids = list(tx["customer_id"].drop_duplicates().sample(args.customers, random_state=0))
    by_id = {cid: g for cid, g in tx[tx["customer_id"].isin(ids)].groupby("customer_id")}
    score_bodies = [{"customer_id": cid, "as_of": "1998-03-31",
                     "transactions": [{"date": d, "amount": float(a)}
                                      for d, a in zip(g["date"], g["amount"], strict=True)]}
                    for cid, g in by_id.items()]
    decide_bodies = [{"customer_id": cid, "value_percentile": (i % 100) / 100, "churn_probability": (i % 37) / 37,
                      "loyalty": 0.5, "recency_days": 40 + i % 300} for i, cid in enumerate(ids)]

    # the peer's input: each customer's snapshot row, as the registered pyfunc takes it
    from crmid.customerbase import TransactionLog, validate_transactions

    clean, _ = validate_transactions(tx[tx["customer_id"].isin(ids)].assign(date=lambda f: pd.to_datetime(f["date"])))
    snap = TransactionLog(clean).snapshot("1998-03-31")
    snap["customer_id"] = snap["customer_id"].astype(str)
    records = json.loads(snap.to_json(orient="records", date_format="iso"))
    peer_bodies = [{"dataframe_records": [r]} for r in records]

    # the client's own heap (the log read with pandas, the bodies) out of its cycle collector's
    # sight: a full collection walking it paused all 8 client threads for 50-80 ms, and every
    # request in flight, crmid's or the peer's, then read as that much slower
    gc.collect()
    gc.freeze()
    print(f"one customer per request, {args.customers} customers (8 clients: each customer 4x)\n")
    for workers in (None, 2):
        _bench_crmid(crmid, work, workers, score_bodies, decide_bodies)
    _bench_peer(work, peer_bodies)
    return 0


def _bench_crmid(crmid: str, work: Path, workers, score_bodies, decide_bodies) -> None:
    port = _free_port()
    serve_log = work / "serve.log"
    extra = [] if workers is None else ["--workers", str(workers)]
    name = "crmid" + ("" if workers is None else f" --workers {workers}")
    with open(serve_log, "w") as slog:
        serve = subprocess.Popen([crmid, "serve", "--port", str(port), *extra], cwd=work, env=_env(), stdout=slog,
                                 stderr=subprocess.STDOUT)
    try:
        _wait(f"http://127.0.0.1:{port}/readyz", serve, serve_log)
        base = f"http://127.0.0.1:{port}"
        _drive(base, "/v1/score", score_bodies[:20] * 2, 2)  # warm-up (every worker)
        ms, sequential, wall = _drive(base, "/v1/score", score_bodies, 1)
        print(_line(f"{name} /v1/score", 1, ms, wall))
        ms, loaded, wall = _drive(base, "/v1/score", score_bodies * 4, 8)
        print(_line(f"{name} /v1/score", 8, ms, wall))
        expected = {r["customer_id"]: {k: v for k, v in r.items() if k != "scored_at"} for r in sequential}
        differ = sum({k: v for k, v in r.items() if k != "scored_at"} != expected[r["customer_id"]] for r in loaded)
        print(f"{'':<34} concurrent answers different from the sequential one: {differ}")
        ms, _, wall = _drive(base, "/v1/decide", decide_bodies, 1)
        print(_line(f"{name} /v1/decide", 1, ms, wall))
        ms, _, wall = _drive(base, "/v1/decide", decide_bodies * 4, 8)
        print(_line(f"{name} /v1/decide", 8, ms, wall))
    finally:
        _stop(serve)


def _bench_peer(work: Path, peer_bodies) -> None:
    peer_port = _free_port()
    peer_log = work / "peer.log"
    with open(peer_log, "w") as plog:
        peer_env = {**_env(), "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'crmid-work' / 'mlflow.db'}"}
        peer = subprocess.Popen([str(BIN / "mlflow"), "models", "serve", "-m", "models:/crmid-churn@champion",
                                 "--env-manager", "local", "-h", "127.0.0.1", "-p", str(peer_port)],
                                cwd=work, env=peer_env, stdout=plog, stderr=subprocess.STDOUT)
    try:
        _wait(f"http://127.0.0.1:{peer_port}/ping", peer, peer_log)
        peer_base = f"http://127.0.0.1:{peer_port}"
        _drive(peer_base, "/invocations", peer_bodies[:20], 1)  # warm-up
        ms, _, wall = _drive(peer_base, "/invocations", peer_bodies, 1)
        print(_line("mlflow models serve (crmid-churn)", 1, ms, wall))
        ms, _, wall = _drive(peer_base, "/invocations", peer_bodies * 4, 8)
        print(_line("mlflow models serve (crmid-churn)", 8, ms, wall))
    finally:
        _stop(peer)


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


if __name__ == "__main__":
    sys.exit(main())
