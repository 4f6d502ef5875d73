"""Benchmark: end-to-end `crmid score` on SYNTHETIC bases of 100k / 1M / 3M customers vs `lifetimes`.

For each size: generate the base with the project's synthetic generator (about 6 transactions per
customer), train once on a sample, then time `crmid score` end to end in its own process (read,
validate, snapshot, both models, rules, merge, write Parquet, save the run to the scores store)
under `/usr/bin/time -v` for the peak memory, twice: with the workspace's default SQLite store
(``crmid-sqlite``, the path users run) and with ``--store`` PostgreSQL (``crmid-postgres``,
``--pg-url``; ``none`` skips it). Then the peer — lifetimes' summary_data_from_transaction_data +
BetaGeoFitter.fit + conditional_probability_alive on the same data — the same way. Prints, per
size, wall time, customers per second, peak RSS, the ratio to the peer from the same run, and the
stage times crmid prints (the store stage on its own: it runs beside the Parquet write, so "other",
the wall time no stage accounts for — start-up, imports, exit — counts only what it takes beyond
the write). Each store is timed on two nights: the first (``crmid-sqlite``, ``crmid-postgres``), then
the next (``*-next-night``) with ``--keep-runs 1``, so that it also deletes the first night's run, as
every night after the tenth does with the default ``--keep-runs 10`` (its ``prune`` stage). The
next night's run is deleted afterwards, so the stores do not grow by a million rows per bench
(``--keep-runs`` keeps them). It also times ``crmid --help`` (start-up).

With ``--train-size N`` it also times ``crmid train`` (stacked snapshots, both models, the gate
against BG/NBD, MLflow logging and registration in a SQLite store) on the N-customer base.

    .venv/bin/python bench/bench_score.py --sizes 100000,1000000 [--train-size 1000000] [--workdir /tmp/crmid-bench]

No timing is asserted anywhere: the machine is shared and noisy; read the figures.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"

PEER = """
import sys, time, warnings
warnings.simplefilter("ignore")
import pandas as pd
from lifetimes.utils import summary_data_from_transaction_data
from lifetimes import BetaGeoFitter
t0 = time.perf_counter()
tx = pd.read_parquet(sys.argv[1], columns=["customer_id", "date", "amount"])
summary = summary_data_from_transaction_data(tx, "customer_id", "date", observation_period_end=sys.argv[2])
bg = BetaGeoFitter(penalizer_coef=0.0).fit(summary["frequency"], summary["recency"], summary["T"])
p = bg.conditional_probability_alive(summary["frequency"], summary["recency"], summary["T"])
print(f"peer customers {len(summary)} seconds {time.perf_counter() - t0:.2f}")
"""


def timed(cmd: list[str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in GB and stdout of a command run under /usr/bin/time -v."""
    t0 = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed:\n{proc.stdout}\n{proc.stderr[-3000:]}")
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1))
    return wall, rss_kb / 1e6, proc.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000", help="customer counts, comma-separated")
    parser.add_argument("--workdir", default="/tmp/crmid-bench")
    parser.add_argument("--train-sample", type=int, default=50_000, help="customers to train on")
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--pg-url", default=PG_URL, help="PostgreSQL store for crmid-postgres ('none' skips it)")
    parser.add_argument("--keep-runs", action="store_true", help="keep the runs the bench stores")
    parser.add_argument("--train-size", type=int, default=0,
                        help="also time `crmid train` on the base of this size (one of --sizes; 0 skips)")
    args = parser.parse_args()

    import pandas as pd

    from crmid.customerbase import TransactionLog, generate_transactions, validate_transactions, write_table_atomic
    from crmid.training import fit_scorer

    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    crmid = str(Path(sys.executable).with_name("crmid"))
    as_of = "2025-12-30"  # the synthetic period's last day
    rows = []
    model_dir = work / "model"
    # per store: the first night, then the next night, which also deletes the first run as
    # --keep-runs does once a store holds that many runs (every night after the tenth by default)
    variants = [("crmid-sqlite", [], []), ("sqlite-next-night", [], ["--keep-runs", "1"])]
    if args.pg_url.lower() != "none":
        variants += [("crmid-postgres", ["--store", args.pg_url], []),
                     ("postgres-next-night", ["--store", args.pg_url], ["--keep-runs", "1"])]
    for n in [int(s) for s in args.sizes.split(",")]:
        tx_path = work / f"tx_{n}.parquet"
        if not tx_path.exists():
            t0 = time.perf_counter()
            write_table_atomic(generate_transactions(n, seed=42), tx_path)
            print(f"generated {n:,} customers in {time.perf_counter() - t0:.1f} s -> {tx_path}", flush=True)
        if not model_dir.exists():
            sample = generate_transactions(args.train_sample, seed=7)
            clean, _ = validate_transactions(sample)
            t0 = time.perf_counter()
            scorer = fit_scorer(TransactionLog(clean), cutoff=pd.Timestamp(as_of), horizon=90)
            scorer.save(model_dir)
            print(f"trained on {args.train_sample:,} customers in {time.perf_counter() - t0:.1f} s", flush=True)
        n_rows = len(pd.read_parquet(tx_path, columns=["amount"]))
        out = work / f"scores_{n}.parquet"
        row = {"customers": n, "transactions": n_rows, "runs": {}}
        # the path users run: the default SQLite scores store of the workspace, on; then PostgreSQL
        for name, store_args, keep_args in variants:
            wall, rss, stdout = timed([crmid, "score", "--transactions", str(tx_path), "--as-of", as_of,
                                       "--out", str(out), "--model-uri", str(model_dir), "--work-dir", str(work),
                                       *store_args, *keep_args])
            print(f"{name}: {wall:.1f} s, peak {rss:.2f} GB\n{stdout.strip()}", flush=True)
            stages = _stages(stdout)
            row["runs"][name] = {"s": wall, "gb": rss, "stages": stages}
            run_id = re.search(r"store run (\S+)", stdout)
            if run_id and keep_args and not args.keep_runs:  # the first night's run was deleted by this one
                _delete_run(store_args[1] if store_args else f"sqlite:///{work / 'scores.db'}", run_id.group(1))
        if not args.skip_peer:
            peer_wall, peer_rss, _ = timed([sys.executable, "-c", PEER, str(tx_path), as_of])
            row["runs"]["lifetimes"] = {"s": peer_wall, "gb": peer_rss}
        rows.append(row)
        print(_lines(row), flush=True)
    print("\nsummary")
    for row in rows:
        print(_lines(row))
    help_s = [timed([crmid, "--help"])[0] for _ in range(5)]
    print(f"\ncrmid --help (start-up): median {statistics.median(help_s):.2f} s of 5 "
          f"(min {min(help_s):.2f}, max {max(help_s):.2f})")
    if args.train_size:
        tx_path = work / f"tx_{args.train_size}.parquet"
        wall, rss, stdout = timed([crmid, "train", "--transactions", str(tx_path), "--as-of", as_of,
                                   "--work-dir", str(work), "--experiment", "bench"])
        print(f"\ncrmid train on {args.train_size:,} customers: {wall:.1f} s, peak {rss:.2f} GB\n{stdout.strip()}")
    return 0


def _stages(stdout: str) -> dict[str, float]:
    """The stage times ``crmid score`` prints: ``stages: start-up 1.30 s, read+validate 2.90 s, ...``."""
    text = re.search(r"stages: (.*)", stdout).group(1)
    return {name: float(sec) for name, sec in re.findall(r"([\w+-]+) ([\d.]+) s", text)}


def _delete_run(url: str, run_id: str) -> None:
    """Delete one stored run as the store's own pruning does (its rows, or its table, and its records)."""
    import sqlalchemy as sa

    from crmid.serving.store import open_store

    store = open_store(url)
    try:
        with store.engine.connect() as conn:
            key = conn.execute(sa.select(store.runs.c.run_key).where(store.runs.c.run_id == run_id)).scalar()
        store._delete_runs([(run_id, key)])
    finally:
        store.close()


def _lines(row: dict) -> str:
    n = row["customers"]
    runs = row["runs"]
    peer = runs.get("lifetimes")
    text = f"{n:>10,} customers {row['transactions']:>11,} tx"
    for name, run in runs.items():
        text += (f"\n  {name:<15}{run['s']:7.1f} s {n / run['s']:>9,.0f} cust/s  peak {run['gb']:5.2f} GB")
        if peer and name != "lifetimes":
            text += f"  ratio/peer {run['s'] / peer['s']:.2f}"
        if "stages" in run:
            stages = run["stages"]
            # the store is written beside the Parquet file: only what it takes beyond the write counts
            overlap = min(stages.get("store", 0.0), stages.get("write", 0.0))
            other = run["s"] - sum(stages.values()) + overlap
            text += (f"\n  {'':<15}stages: store {stages.get('store', float('nan')):.2f} s (beside write) | "
                     + ", ".join(f"{k} {v:.2f}" for k, v in stages.items() if k != "store")
                     + f", other {other:.2f} s")
    return text


if __name__ == "__main__":
    sys.exit(main())
