"""``crmid demo``: the whole main job on the bundled real CDNOW data, with embedded defaults."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from customerbase import TransactionLog, load_cdnow, validate_transactions

__all__ = ["run_demo", "describe_customer_base"]


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


def run_demo() -> int:
    raw = load_cdnow()
    with warnings.catch_warnings():
        # the report below says the same in full; the warning is for library callers
        warnings.simplefilter("ignore")
        transactions, report = validate_transactions(raw, source="bundled CDNOW log")
    log = TransactionLog(transactions)
    as_of = log.data_end
    snap = log.snapshot(as_of)
    print("crmid demo: the real CDNOW log (23,570 customers, 1997-01-01 .. 1998-06-30)\n")
    print(report.summary())
    print()
    print(describe_customer_base(transactions, snap))
    return 0
