"""Benchmark: both CDNOW evaluation protocols, ours vs BG/NBD, training time and scoring speed.

Run: ``.venv/bin/python bench/bench_training.py [--no-tracking] [--rows 1000000]``

Protocols (issue #4): as-of 1998-03-31 with H = 90 and as-of 1997-12-31 with H = 180; each
trains only on information available at the as-of date and is judged on (as_of, as_of + H].
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time

import pandas as pd

from crmid.config import Workspace
from crmid.customerbase.datasets import load_cdnow
from crmid.customerbase.snapshot import TransactionLog
from crmid.training import evaluate, fit_scorer, format_comparison

PROTOCOLS = (("1998-03-31", 90), ("1997-12-31", 180))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-tracking", action="store_true", help="do not log the evaluations to MLflow")
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows for the scoring-speed check (0 skips it)")
    args = ap.parse_args(argv)
    tx = load_cdnow()
    all_better = True
    for as_of, H in PROTOCOLS:
        with tempfile.TemporaryDirectory() as report:
            t0 = time.perf_counter()
            workspace = None if args.no_tracking else Workspace.resolve()
            metrics = evaluate(tx, as_of=as_of, horizon=H, report_dir=report, workspace=workspace)
            wall = time.perf_counter() - t0
        print(format_comparison(metrics))
        print(f"training {metrics['training_seconds']:.1f} s, protocol total {wall:.1f} s\n")
        for entry in metrics["horizons"].values():
            s, b = entry["served"], entry["bgnbd"]
            all_better &= s["auc"] >= b["auc"] and s["brier"] <= b["brier"]
    if args.rows:
        scorer = fit_scorer(tx, cutoff="1998-03-31", horizon=90)
        snap = TransactionLog(tx).snapshot("1998-03-31")
        big = pd.concat([snap] * (args.rows // len(snap) + 1), ignore_index=True).iloc[: args.rows]
        scorer.predict(big.head(1000))
        t0 = time.perf_counter()
        scorer.predict(big)
        print(f"scorer.predict on {args.rows:,} rows: {time.perf_counter() - t0:.2f} s "
              f"({len(scorer.knots)} knots, sources {scorer.sources})")
    print("served beats BG/NBD on AUC and Brier at every horizon:", "yes" if all_better else "NO")
    return 0 if all_better else 1


if __name__ == "__main__":
    sys.exit(main())
