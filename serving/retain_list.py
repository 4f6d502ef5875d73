"""The "who should we retain" list, formatted for people (table) and for programs (csv, json)."""

from __future__ import annotations

import io
import json

import pandas as pd

from crmid.models.drivers import driver_phrases

__all__ = ["format_retain", "top_reasons"]

#: reasons shown per customer in the table
_SHOWN_REASONS = 3


def top_reasons(reasons_json: str, n: int = _SHOWN_REASONS) -> list[str]:
    """The reasons that matter most for the retention action: the decision's own first, then the rest."""
    reasons = json.loads(reasons_json) if reasons_json else []
    decision = [r for r in reasons if str(r.get("rule", "")).startswith("retention")]
    others = [r for r in reasons if r not in decision]
    return [r["reason"] for r in (decision + others)[:n]]


def _table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "nobody to retain with these filters"
    out = io.StringIO()
    header = (f"{'#':>3}  {'customer':<12} {'tier':<9} {'churn':>6} {'CLV':>9} {'at risk':>9} "
              f"{'spend 1y':>9}  action")
    out.write(header + "\n" + "-" * len(header) + "\n")
    for i, row in enumerate(frame.itertuples(index=False), start=1):
        churn = "" if pd.isna(row.churn_probability) else f"{row.churn_probability:.0%}"
        clv = "" if pd.isna(row.clv) else f"{row.clv:,.0f}"
        risk = "" if pd.isna(row.value_at_risk) else f"{row.value_at_risk:,.0f}"
        spend = getattr(row, "expected_spend_365d", None)
        spend = "" if spend is None or pd.isna(spend) else f"{spend:,.0f}"
        out.write(f"{i:>3}  {row.customer_id:<12} {row.value_tier:<9} {churn:>6} {clv:>9} {risk:>9} {spend:>9}  "
                  f"{row.action_text}\n")
        drivers = driver_phrases(getattr(row, "drivers", None), raising_first=True)
        if drivers:
            out.write(f"{'':>5}drivers: {drivers}\n")
        for reason in top_reasons(row.reasons):
            out.write(f"{'':>5}why: {reason}\n")
    return out.getvalue().rstrip("\n")


def format_retain(frame: pd.DataFrame, fmt: str = "table") -> str:
    """Render the retain list as ``table`` (for people), ``csv`` or ``json``."""
    if fmt == "table":
        return _table(frame)
    records = frame.assign(top_reasons=[top_reasons(r) for r in frame["reasons"]]).drop(columns="reasons")
    if "drivers" in records.columns:
        records = records.assign(top_drivers=[driver_phrases(d, raising_first=True) for d in records["drivers"]])
    if fmt == "csv":
        records = records.assign(top_reasons=[" | ".join(r) for r in records["top_reasons"]])
        return records.to_csv(index=False).rstrip("\n")
    if fmt == "json":
        parsed = json.loads(records.to_json(orient="records"))
        for record in parsed:  # a list, not a JSON text inside JSON
            if isinstance(record.get("drivers"), str):
                record["drivers"] = json.loads(record["drivers"])
        return json.dumps(parsed, indent=2, ensure_ascii=False)
    raise ValueError(f"--format {fmt!r}: expected table, csv or json")
