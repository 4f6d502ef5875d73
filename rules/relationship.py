"""Relationship type by loyalty x profit (四种顾客关系): partner, functional, emotional, acquaintance.

The profit axis is the value percentile (scale free, so one cut works for any currency); both
cuts are in the configuration (``relationship``).
"""

from __future__ import annotations

from .config import PROBABILITY, Record, RulesConfig
from .decision_table import NUMBER, Cond, DecisionTable, Rule, fmt, missing
from .family import LABEL, Output, RuleFamily

__all__ = ["FAMILY", "tables"]


def tables(config: RulesConfig) -> list[DecisionTable]:
    """The relationship type decision table."""
    cfg = config.section("relationship")
    lo, pr = cfg["loyalty_high_from"], cfg["profit_high_percentile_from"]
    loyal, disloyal = Cond("loyalty", ">=", lo), Cond("loyalty", "<", lo)
    rich, poor = Cond("value_percentile", ">=", pr), Cond("value_percentile", "<", pr)
    out = "relationship_type"
    rules = [
        Rule("relationship.not_assessed.loyalty", (missing("loyalty"),), {out: "not_assessed"},
             "Loyalty unknown: relationship type not assessed"),
        Rule("relationship.not_assessed.profit", (missing("value_percentile"),), {out: "not_assessed"},
             "Value percentile unknown: relationship type not assessed"),
        Rule("relationship.partner", (loyal, rich), {out: "partner"},
             f"Loyalty >= {fmt(lo)} and value percentile >= {fmt(pr)} -> partner (伙伴): hold on tight"),
        Rule("relationship.functional", (disloyal, rich), {out: "functional"},
             f"Loyalty < {fmt(lo)} but value percentile >= {fmt(pr)} -> functional (功能): "
             f"high value but easily poached"),
        Rule("relationship.emotional", (loyal, poor), {out: "emotional"},
             f"Loyalty >= {fmt(lo)} but value percentile < {fmt(pr)} -> emotional (感情): "
             f"loyal advocate, cherish"),
        Rule("relationship.acquaintance", (disloyal, poor), {out: "acquaintance"},
             f"Loyalty < {fmt(lo)} and value percentile < {fmt(pr)} -> acquaintance (认识)"),
    ]
    return [DecisionTable("relationship", {"loyalty": NUMBER, "value_percentile": NUMBER}, rules, (out,))]


FAMILY = RuleFamily(
    name="relationship",
    description="Four customer relationships (四种顾客关系): loyalty x profit quadrants",
    outputs=(Output("relationship_type", LABEL,
                    "partner, functional, emotional or acquaintance by loyalty and value; not_assessed"),),
    build_tables=tables,
    config_sections={"relationship": Record({"loyalty_high_from": PROBABILITY,
                                             "profit_high_percentile_from": PROBABILITY})},
)
