"""``crmid demo``: the whole main job on the bundled real CDNOW data, with embedded defaults.

load -> validate -> snapshot summary -> evaluate against BG/NBD -> train, gate and register ->
score every customer as of the last date -> save to the SQLite store -> top 10 to retain.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from crmid.customerbase import TransactionLog, load_cdnow, validate_transactions, write_table_atomic

__all__ = ["run_demo", "describe_customer_base"]

#: the evaluation protocol of the demo: score at 1998-03-31, judge on the 90 days after it
_EVAL_AS_OF = "1998-03-31"
_HORIZON = 90


def describe_customer_base(transactions: pd.DataFrame, snap: pd.DataFrame) -> str:
    """A short plain-text summary: counts, period and the RFM distribution."""
    lines = [
        f"customers     {snap['customer_id'].nunique():>10,}",
        f"transactions  {len(transactions):>10,}",
        f"period        {transactions['date'].min().date()} .. {transactions['date'].max().date()}",
        "",
        "RFM distribution at the as-of date (quantiles)",
    ]
    qs = [0.1, 0.25, 0.5, 0.75, 0.9, 0.99]
    table = snap[["recency_days", "frequency", "monetary_total"]].quantile(qs)
    table.index = [f"p{int(q * 100)}" for q in qs]
    lines.append(table.round(1).to_string())
    repeaters = float(np.mean(snap["frequency"] > 0))
    lines.append(f"\nshare of customers who bought again: {repeaters:.1%}")
    return "\n".join(lines)


def _section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 70 - len(title)))


def run_demo(workdir: str | Path = "crmid-work") -> int:
    from crmid.models import load_scorer
    from crmid.rules import RulesEngine
    from crmid.training import evaluate, format_comparison, train

    from crmid.serving.retain import format_retain
    from crmid.serving.scoring import score_customers
    from crmid.serving.store import ScoresStore

    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    # no server to start: MLflow tracks into a SQLite file of the work directory unless told otherwise
    os.environ.setdefault("MLFLOW_TRACKING_URI", f"sqlite:///{(workdir / 'mlflow.db').resolve()}")

    _section("1. data: the real CDNOW log")
    raw = load_cdnow()
    with warnings.catch_warnings():
        # the report below says the same in full; the warning is for library callers
        warnings.simplefilter("ignore")
        transactions, report = validate_transactions(raw, source="bundled CDNOW log")
    log = TransactionLog(transactions)
    as_of = log.data_end
    print(report.summary())
    print(describe_customer_base(transactions, log.snapshot(as_of)))

    _section(f"2. honest evaluation: fitted on data up to {_EVAL_AS_OF}, judged on the {_HORIZON} days after")
    metrics = evaluate(transactions, as_of=_EVAL_AS_OF, horizon=_HORIZON, report_dir=workdir / "report")
    print(format_comparison(metrics))
    print(f"report: {workdir / 'report'}")

    _section(f"3. train on everything up to {as_of.date()}, gate against BG/NBD, register")
    result = train(transactions, as_of=as_of, horizon=_HORIZON, experiment="crmid-demo")
    print(result.summary() if hasattr(result, "summary") else result)

    _section(f"4. score all customers as of {as_of.date()}")
    scorer = load_scorer(None)
    engine = RulesEngine.from_path(None)
    scored = score_customers(log, as_of, scorer=scorer, engine=engine, report=report)
    out = write_table_atomic(scored.scored, workdir / "scores.parquet")
    store = ScoresStore(f"sqlite:///{workdir / 'scores.db'}")
    run_id = store.save_run(scored.scored, as_of=as_of, n_rejected=len(scored.rejects),
                            model_version=scorer.version, rules_version=engine.version,
                            clv_reference=scored.reference)
    tiers = scored.scored["value_tier"].value_counts()
    print(f"scored {len(scored.scored):,} customers, rejected {len(scored.rejects):,} -> {out}")
    print("value tiers: " + ", ".join(f"{k} {v:,}" for k, v in tiers.items()))
    print(f"saved as run {run_id} in {store.url}")

    _section("5. who should we retain now, with what action, and why")
    print(format_retain(store.retain(top=10), "table"))
    print(f"\nmore: crmid retain --store {store.url} --top 50 --tier platinum,gold")
    return 0
