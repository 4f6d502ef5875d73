"""Benchmark: the retain list's top 100 with every filter, on a scores store holding a SYNTHETIC base.

Builds the store once (cached in ``--workdir``): the project's synthetic generator makes a base of
``--customers`` customers (about 6 transactions each), a scorer is trained on a 50,000-customer
sample of another draw (few snapshots and rounds: the model's quality does not matter here, its
outputs' spread does), every customer is scored in-process with the batch job's own function and
the run is saved to a SQLite store (and, with ``--pg-url``, to PostgreSQL). Then it times
``store.retain_page(top=100, ...)`` — the query behind ``crmid retain``, ``GET /v1/retain`` and the
web page's first page — with no filter and with each filter the product offers (every tier, tier
pairs, minimum churn, action, lifecycle stage, temperature, churn risk, minimum value at risk), and
the matching ``count_retain``. Prints the median and the worst of ``--repeat`` timings per query
after one warm-up.

    .venv/bin/python bench/bench_retain.py [--customers 1000000] [--workdir /tmp/crmid-bench-retain] \\
        [--pg-url postgresql://postgres@127.0.0.1:5432/test]

No timing is asserted anywhere: the machine is shared and noisy; read the figures.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

AS_OF = "2025-12-30"  # the synthetic period's last day


def build(store_url: str, customers: int, work: Path) -> str:
    """The id of a complete run of ``customers`` customers in the store, scoring and saving one if needed."""
    import pandas as pd

    from crmid.customerbase import TransactionLog, generate_transactions, validate_transactions
    from crmid.rules import RulesEngine
    from crmid.serving.scoring import score_customers
    from crmid.serving.store import open_store
    from crmid.training import fit_scorer

    store = open_store(store_url)
    latest = store.latest_run()
    if latest is not None and latest.n_scored >= customers * 0.9:
        return latest.run_id
    model_dir = work / "model"
    if not model_dir.exists():
        sample, _ = validate_transactions(generate_transactions(50_000, seed=7))
        t0 = time.perf_counter()
        fit_scorer(TransactionLog(sample), cutoff=pd.Timestamp(AS_OF), horizon=90, max_snapshots=4,
                   num_boost_round=60).save(model_dir)
        print(f"trained on 50,000 customers in {time.perf_counter() - t0:.1f} s", flush=True)
    from crmid.models import load_scorer

    scorer, engine = load_scorer(str(model_dir)), RulesEngine.from_path()
    t0 = time.perf_counter()
    clean, report = validate_transactions(generate_transactions(customers, seed=42), as_of=AS_OF, on_error="reject")
    result = score_customers(clean, AS_OF, scorer=scorer, engine=engine, report=report)
    print(f"scored {len(result.scored):,} SYNTHETIC customers in {time.perf_counter() - t0:.1f} s", flush=True)
    t0 = time.perf_counter()
    run_id = store.save_run(result.scored, as_of=AS_OF, n_rejected=0, model_version=scorer.version,
                            rules_version=engine.version, clv_reference=result.reference)
    print(f"saved the run to {store_url} in {time.perf_counter() - t0:.1f} s", flush=True)
    store.close()
    return run_id


def queries(store) -> list[tuple[str, dict]]:
    """Every filter of the retain list, one at a time, and a few together."""
    from crmid.serving.store import TIER_ORDER

    out: list[tuple[str, dict]] = [("no filter", {})]
    out += [(f"tier {t}", {"tiers": [t]}) for t in TIER_ORDER]
    out += [("tiers platinum,gold", {"tiers": ["platinum", "gold"]}), ("tiers iron,lead", {"tiers": ["iron", "lead"]})]
    out += [(f"min churn {p}", {"min_churn": p}) for p in (0.3, 0.6, 0.9, 0.99)]
    for column in ("action", "lifecycle_stage", "temperature", "churn_risk"):
        if column not in store.label_columns:
            continue
        for value in store.breakdown([column], listed_only=True)[column].tolist():
            out.append((f"{column} {value}", {"labels": {column: [value]}}))
    out += [(f"min value at risk {v:g}", {"min_value_at_risk": v}) for v in (10.0, 100.0, 1000.0)]
    out += [("tier gold + min churn 0.6", {"tiers": ["gold"], "min_churn": 0.6}),
            ("tier lead + temperature cold", {"tiers": ["lead"], "labels": {"temperature": ["cold"]}})]
    return out


def timed(function, repeat: int) -> tuple[float, float]:
    function()  # warm-up: the page cache, the statement cache
    seconds = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - t0)
    return statistics.median(seconds), max(seconds)


def bench(store_url: str, run_id: str, repeat: int) -> None:
    from crmid.serving.store import open_store

    store = open_store(store_url)
    print(f"\n{store_url}: run {run_id}, {store.latest_run().n_scored:,} customers; top 100, "
          f"median (worst) of {repeat} after a warm-up\n")
    print(f"{'filter':<40} {'rows':>9} {'retain top 100':>18} {'count':>18}")
    worst = 0.0
    for name, filters in queries(store):
        rows = store.count_retain(run_id=run_id, **filters)
        page, page_worst = timed(lambda f=filters: store.retain_page(top=100, run_id=run_id, **f), repeat)
        count, count_worst = timed(lambda f=filters: store.count_retain(run_id=run_id, **f), repeat)
        worst = max(worst, page)
        print(f"{name:<40} {rows:>9,} {page * 1e3:>9.1f} ({page_worst * 1e3:>5.0f}) ms "
              f"{count * 1e3:>9.1f} ({count_worst * 1e3:>5.0f}) ms", flush=True)
    print(f"\nslowest top-100 page (median): {worst * 1e3:.1f} ms")
    store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--workdir", default="/tmp/crmid-bench-retain")
    parser.add_argument("--pg-url", default="none", help="also bench a PostgreSQL store ('none' skips it)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    urls = [f"sqlite:///{work / f'scores_{args.customers}.db'}"]
    if args.pg_url.lower() != "none":
        urls.append(args.pg_url)
    for url in urls:
        run_id = build(url, args.customers, work)
        bench(url, run_id, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
