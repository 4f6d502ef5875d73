"""Benchmark: end-to-end `crmid score` on SYNTHETIC bases of 100k / 1M / 3M customers vs `lifetimes`.

For each size: generate the base with the project's synthetic generator (about 6 transactions per
customer), train once on a sample, then time `crmid score` end to end in its own process (read,
validate, snapshot, both models, rules, merge, write Parquet) under `/usr/bin/time -v` for the
peak memory, and the peer — lifetimes' summary_data_from_transaction_data + BetaGeoFitter.fit +
conditional_probability_alive on the same data — the same way. Prints wall time, customers per
second, peak RSS, our stage times and the ratio ours / peer from the same run.

With ``--train-size N`` it also times ``crmid train`` (stacked snapshots, both models, the gate
against BG/NBD, MLflow logging and registration in a SQLite store) on the N-customer base.

    .venv/bin/python bench/bench_score.py --sizes 100000,1000000 [--train-size 1000000] [--workdir /tmp/crmid-bench]

No timing is asserted anywhere: the machine is shared and noisy; read the figures.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

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
        # the path users run: the default SQLite scores store of the workspace, on
        wall, rss, stdout = timed([crmid, "score", "--transactions", str(tx_path), "--as-of", as_of,
                                   "--out", str(out), "--model-uri", str(model_dir), "--work-dir", str(work)])
        stages = re.search(r"stages: (.*)", stdout).group(1)
        row = {"customers": n, "transactions": n_rows, "ours_s": wall, "ours_gb": rss, "stages": stages}
        if not args.skip_peer:
            peer_wall, peer_rss, _ = timed([sys.executable, "-c", PEER, str(tx_path), as_of])
            row.update(peer_s=peer_wall, peer_gb=peer_rss)
        rows.append(row)
        print(_line(row), flush=True)
    print("\nsummary")
    for row in rows:
        print(_line(row))
    if args.train_size:
        tx_path = work / f"tx_{args.train_size}.parquet"
        wall, rss, stdout = timed([crmid, "train", "--transactions", str(tx_path), "--as-of", as_of,
                                   "--work-dir", str(work), "--experiment", "bench"])
        print(f"\ncrmid train on {args.train_size:,} customers: {wall:.1f} s, peak {rss:.2f} GB\n{stdout.strip()}")
    return 0


def _line(row: dict) -> str:
    text = (f"{row['customers']:>10,} customers {row['transactions']:>11,} tx | crmid score {row['ours_s']:6.1f} s "
            f"{row['customers'] / row['ours_s']:>9,.0f} cust/s peak {row['ours_gb']:.2f} GB")
    if "peer_s" in row:
        text += (f" | lifetimes {row['peer_s']:6.1f} s peak {row['peer_gb']:.2f} GB"
                 f" | ratio ours/peer {row['ours_s'] / row['peer_s']:.2f}")
    return text + f"\n{'':>12}stages: {row['stages']}"


if __name__ == "__main__":
    sys.exit(main())
