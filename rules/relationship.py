"""Relationship type by loyalty x profit (四种顾客关系): partner, functional, emotional, acquaintance.

The profit axis is the value percentile (scale free, so one cut works for any currency); both
cuts are in the configuration (``relationship``).
"""

from __future__ import annotations

from .config import PROBABILITY, Record, RulesConfig
from .decision_table import NUMBER, Cond, DecisionTable, Rule, Text, fmt, missing
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
        Rule("relationship.not_assessed.loyalty", (missing("loyalty"),), {out: "not_assessed"}, Text(
            "Loyalty unknown: relationship type not assessed",
            "忠诚度未知：不评定顾客关系类型")),
        Rule("relationship.not_assessed.profit", (missing("value_percentile"),), {out: "not_assessed"}, Text(
            "Value percentile unknown: relationship type not assessed",
            "价值百分位未知：不评定顾客关系类型")),
        Rule("relationship.partner", (loyal, rich), {out: "partner"}, Text(
            f"Loyalty >= {fmt(lo)} and value percentile >= {fmt(pr)} -> partner: hold on tight",
            f"忠诚度 >= {fmt(lo)} 且价值百分位 >= {fmt(pr)} -> 伙伴关系：要紧紧抓住"), term="伙伴"),
        Rule("relationship.functional", (disloyal, rich), {out: "functional"}, Text(
            f"Loyalty < {fmt(lo)} but value percentile >= {fmt(pr)} -> functional: high value but easily poached",
            f"忠诚度 < {fmt(lo)} 但价值百分位 >= {fmt(pr)} -> 功能关系：价值高，但容易被竞争对手挖走"),
            term="功能"),
        Rule("relationship.emotional", (loyal, poor), {out: "emotional"}, Text(
            f"Loyalty >= {fmt(lo)} but value percentile < {fmt(pr)} -> emotional: loyal advocate, cherish",
            f"忠诚度 >= {fmt(lo)} 但价值百分位 < {fmt(pr)} -> 感情关系：忠诚的拥护者，应当珍惜"), term="感情"),
        Rule("relationship.acquaintance", (disloyal, poor), {out: "acquaintance"}, Text(
            f"Loyalty < {fmt(lo)} and value percentile < {fmt(pr)} -> acquaintance",
            f"忠诚度 < {fmt(lo)} 且价值百分位 < {fmt(pr)} -> 认识关系"), term="认识"),
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
