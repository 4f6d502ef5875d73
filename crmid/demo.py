"""``crmid demo``: the whole main job on the bundled real CDNOW data, with embedded defaults.

load -> validate -> snapshot summary -> train, gate and register, with the recipe evaluated
against BG/NBD out of time (``crmid train --evaluate``) -> score every customer as of the last date
(the batch job) -> save to the store -> top 10 to retain. Everything goes to the workspace, as
``crmid train`` and ``crmid score`` would put it: one MLflow run, in the workspace's experiment,
holds the model, its evaluation report and plots, and its data.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from crmid.config import Workspace
from crmid.customerbase import TransactionLog, load_cdnow, validate_transactions, write_table_atomic

__all__ = ["describe_customer_base", "run_demo"]

#: the churn horizon of the demo; the recipe is evaluated on the last 90 days of the log
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


def run_demo(workspace: Workspace) -> int:
    """The whole job on the bundled CDNOW log, in ``workspace`` (MLflow, scores, report)."""
    from crmid.serving.batch import run_batch
    from crmid.serving.context import load_context
    from crmid.serving.retain_list import format_retain
    from crmid.serving.store import open_store
    from crmid.training import format_comparison, train

    workspace.ensure_local_dirs()
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

    # one training run: the recipe judged out of time on the last H days, then fitted on everything
    result = train(transactions, as_of=as_of, horizon=_HORIZON, workspace=workspace, evaluate=True,
                   report_dir=workspace.report_dir)
    evaluated = result.evaluation
    if evaluated is not None:
        _section(f"2. honest evaluation: fitted on data up to {evaluated['as_of']}, judged on the {_HORIZON} "
                 "days after")
        print(format_comparison(evaluated))
        print(f"report: {workspace.report_dir} (and in the MLflow run's evaluation/)")

    _section(f"3. train on everything up to {as_of.date()}, gate against BG/NBD, register")
    print(result.summary(evaluation=False))

    _section(f"4. score all customers as of {as_of.date()}")
    # the batch job itself, on the bundled log written as a file of the workspace
    tx_path = write_table_atomic(transactions, workspace.work_dir / "cdnow.parquet")
    store = open_store(workspace.store_url) if workspace.store_enabled else None
    summary = run_batch(transactions=tx_path, as_of=as_of, out=workspace.work_dir / "scores.parquet",
                        context=load_context(workspace), store=store, lang=workspace.lang)
    print(summary.lines())
    if store is None:
        return 0

    _section("5. who should we retain now, with what action, and why")
    print(format_retain(store.retain(top=10), "table"))
    print("\nmore: crmid retain --top 50 --tier platinum,gold")
    return 0
