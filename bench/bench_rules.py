"""Benchmark: the rules on a million customers (``RulesEngine.decide_frame``).

Usage::

    .venv/bin/python bench/bench_rules.py [--rows 1000000] [--seed 0] [--repeat 2] [--one-by-one 2000]

Generates random facts (values on the configuration's thresholds, missing fields, prospects; see
:func:`rules.synthetic.random_facts`), then times the batch fast path and prints customers per
second, how many engine evaluations it needed, and the peak resident memory. ``--one-by-one``
also times the reference path (every customer posted to every table) on that many rows.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

from crmid.rules import RulesEngine
from crmid.rules.synthetic import random_facts, to_records


def _peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux, bytes on macOS
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=2, help="timed runs (the best is reported)")
    parser.add_argument("--one-by-one", type=int, default=2000, metavar="N",
                        help="also time the reference path on N rows (0 = skip)")
    args = parser.parse_args(argv)

    engine = RulesEngine.from_path()
    t0 = time.perf_counter()
    frame = random_facts(args.rows, seed=args.seed, config=engine.config)
    print(f"generated {len(frame):,} customers' facts in {time.perf_counter() - t0:.1f} s "
          f"(rules version {engine.version})")

    compiled = engine._compiled
    original = compiled._post_many
    calls = []

    def counting(table, events):
        calls.append(len(events))
        return original(table, events)

    compiled._post_many = counting
    best = float("inf")
    for run in range(args.repeat):
        calls.clear()
        t0 = time.perf_counter()
        decisions = engine.decide_frame(frame)
        elapsed = time.perf_counter() - t0
        best = min(best, elapsed)
        print(f"run {run + 1}: decide_frame {elapsed:.2f} s = {len(frame) / elapsed:,.0f} customers/s "
              f"({sum(calls):,} engine evaluations over {len(calls)} tables)")
    del compiled._post_many
    assert len(decisions) == len(frame)
    print(f"best: {best:.2f} s for {len(frame):,} customers = {len(frame) / best:,.0f} customers/s")

    if args.one_by_one:
        records = to_records(frame.head(args.one_by_one))
        t0 = time.perf_counter()
        for facts in records:
            engine.decide(facts)
        elapsed = time.perf_counter() - t0
        print(f"one-by-one reference: {len(records) / elapsed:,.0f} customers/s "
              f"(a million would take {args.rows / (len(records) / elapsed) / 60:.0f} min)")
    print(f"peak RSS: {_peak_rss_mb():,.0f} MB")
    print("actions:", decisions["action"].value_counts().head(8).to_dict())
    return 0


if __name__ == "__main__":
    sys.exit(main())
