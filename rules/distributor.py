"""Scored selection of distributors (评分法).

Each criterion (market coverage, reputation, history, cooperation, product fit, finances,
location, service capacity, price, public relations) is scored 0..100 and weighted into a total.
The textbook prefers totals of about 70-80: below 70 is too weak, above 85 too strong to manage;
between the preferred band and "too strong" the distributor is acceptable but strong.
"""

from __future__ import annotations

from .config import RulesConfig
from .decision_table import CATEGORY, NUMBER, Cond, DecisionTable, Rule, fmt, missing
from .scoring import NO_PROFILE

__all__ = ["FITS", "tables"]

#: distributor_fit values
FITS = ("preferred", "acceptable", "too_strong", "too_weak", "not_assessed")


def tables(config: RulesConfig) -> list[DecisionTable]:
    """The distributor fit decision table."""
    cfg = config.section("distributor")
    lo, hi, strong = cfg["preferred_from"], cfg["preferred_up_to"], cfg["too_strong_above"]
    out = "distributor_fit"
    rules = [
        Rule("distributor.not_applicable", (Cond("segment", "in", ("consumer", "business")),), {out: "not_assessed"},
             "Segment {segment}: distributor scoring applies to distributors"),
        Rule("distributor.not_assessed.no_profile", (Cond("distributor_missing", "==", NO_PROFILE),),
             {out: "not_assessed"}, "No distributor criteria scores: distributor fit not assessed"),
        Rule("distributor.not_assessed.incomplete", (missing("distributor_score"),), {out: "not_assessed"},
             "Distributor criteria incomplete (missing: {distributor_missing}): not scored"),
        Rule("distributor.too_strong", (Cond("distributor_score", ">", strong),), {out: "too_strong"},
             f"Distributor score > {fmt(strong)}: too strong to manage"),
        Rule("distributor.acceptable", (Cond("distributor_score", ">", hi),), {out: "acceptable"},
             f"Distributor score > {fmt(hi)} and <= {fmt(strong)}: acceptable but strong, above the "
             f"preferred {fmt(lo)}-{fmt(hi)}"),
        Rule("distributor.preferred", (Cond("distributor_score", ">=", lo),), {out: "preferred"},
             f"Distributor score {fmt(lo)}-{fmt(hi)}: preferred (评分法 prefers {fmt(lo)}-{fmt(hi)})"),
        Rule("distributor.too_weak", (Cond("distributor_score", "<", lo),), {out: "too_weak"},
             f"Distributor score < {fmt(lo)}: too weak"),
    ]
    inputs = {"segment": CATEGORY, "distributor_score": NUMBER, "distributor_missing": CATEGORY}
    return [DecisionTable("distributor", inputs, rules, (out,))]
