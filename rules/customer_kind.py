"""Transactional vs relationship customers (交易型/关系型) and the three valuable relationship types.

The textbook separates the transactional customers first (they care only about price and have
no loyalty), then splits the valuable relationship customers into three: the most profitable to
maintain (重点维系), those with considerable profit that can become the most profitable to develop
(加强联系), and those profitable now but losing value to retain (设法挽留).
"""

from __future__ import annotations

from .config import PROBABILITY, TIERS, TREND, Names, Record, RulesConfig, check_below
from .decision_table import CATEGORY, NUMBER, Cond, DecisionTable, Rule, fmt, missing
from .family import LABEL, Output, RuleFamily

__all__ = ["FAMILY", "tables"]


def _names(tiers) -> str:
    return "/".join(tiers)


def tables(config: RulesConfig) -> list[DecisionTable]:
    """Two tables: customer kind, then value type (which reads the kind and the value tier)."""
    lo = config.section("customer_kind")["loyalty_high_from"]
    kind = "customer_kind"
    kind_rules = [
        Rule("kind.transactional", (Cond("price_sensitive", "==", True), Cond("loyalty", "<", lo)),
             {kind: "transactional"},
             f"Price sensitive and loyalty < {fmt(lo)} -> transactional customer (交易型): buys on price only"),
        Rule("kind.relationship.loyal", (Cond("loyalty", ">=", lo),), {kind: "relationship"},
             f"Loyalty >= {fmt(lo)} -> relationship customer (关系型): values quality and service"),
        Rule("kind.relationship.not_price_driven", (Cond("price_sensitive", "==", False),), {kind: "relationship"},
             "Not price sensitive -> relationship customer (关系型): values quality and service"),
        Rule("kind.not_assessed", (), {kind: "not_assessed"},
             "Price sensitivity or loyalty unknown: transactional vs relationship not assessed"),
    ]

    vt = config.section("value_type")
    down, up = vt["declining_trend_below"], vt["growing_trend_from"]
    out = "value_type"
    valuable = tuple(vt["valuable_tiers"])
    value_rules = [
        Rule("value_type.not_assessed.kind", (Cond(kind, "==", "not_assessed"),), {out: "not_assessed"},
             "Customer kind not assessed: value type not assessed"),
        Rule("value_type.transactional", (Cond(kind, "==", "transactional"),), {out: "none"},
             "Transactional customers are set apart first: no relationship value type"),
        Rule("value_type.not_assessed.tier", (Cond("value_tier", "==", "not_assessed"),), {out: "not_assessed"},
             "Value tier not assessed: value type not assessed"),
        Rule("value_type.not_valuable", (Cond("value_tier", "in", tuple(t for t in TIERS if t not in valuable)),),
             {out: "none"}, f"Tier is not one of the valuable tiers ({_names(valuable)}): no value type"),
        Rule("value_type.not_assessed.trend", (missing("spend_trend"),), {out: "not_assessed"},
             "Spend trend unknown: cannot tell maintain, develop or retain"),
        Rule("value_type.retain", (Cond("spend_trend", "<", down),), {out: "retain"},
             f"Valuable relationship customer with spend trend < {fmt(down)}: profitable now but losing "
             f"value -> retain (设法挽留)"),
        Rule("value_type.maintain", (Cond("value_tier", "in", tuple(vt["maintain_tiers"])),), {out: "maintain"},
             f"Relationship customer in the {_names(vt['maintain_tiers'])} tier: the most profitable "
             f"-> maintain (重点维系)"),
        Rule("value_type.develop", (Cond("value_tier", "in", tuple(vt["develop_tiers"])),), {out: "develop"},
             f"Relationship customer in the {_names(vt['develop_tiers'])} tier: considerable profit, can "
             f"become the most profitable -> develop (加强联系)"),
        Rule("value_type.develop.growing", (Cond("value_tier", "in", tuple(vt["develop_if_growing_tiers"])),
                                            Cond("spend_trend", ">=", up)), {out: "develop"},
             f"Relationship customer in the {_names(vt['develop_if_growing_tiers'])} tier with spend trend "
             f">= {fmt(up)}: growing -> develop (加强联系)"),
        Rule("value_type.none", (), {out: "none"},
             "Stable relationship customer, neither most profitable nor growing nor losing value: no value type"),
    ]
    # an empty 'in' can never hold; drop rules made empty by the configuration
    value_rules = [r for r in value_rules if all(c.op != "in" or c.value for c in r.when)]
    return [
        DecisionTable("customer_kind", {"price_sensitive": CATEGORY, "loyalty": NUMBER}, kind_rules, (kind,)),
        DecisionTable("value_type", {kind: CATEGORY, "value_tier": CATEGORY, "spend_trend": NUMBER},
                      value_rules, (out,)),
    ]


def _validate(data, problems: list[str]) -> None:
    vt = data["value_type"]
    # an overlap would make a trend both declining and growing
    check_below(problems, "value_type.declining_trend_below", vt["declining_trend_below"],
                "value_type.growing_trend_from", vt["growing_trend_from"], strict=False)
    for name in ("maintain_tiers", "develop_tiers", "develop_if_growing_tiers"):
        for tier in vt[name]:
            if tier not in vt["valuable_tiers"]:
                problems.append(f"key 'value_type.{name}' lists {tier!r}, which is not in 'value_type.valuable_tiers'")


FAMILY = RuleFamily(
    name="customer_kind",
    description="Transactional vs relationship customers (交易型/关系型) and the valuable relationship types",
    outputs=(
        Output("customer_kind", LABEL,
               "transactional (price only) or relationship customer; not_assessed when unknown"),
        Output("value_type", LABEL, "maintain, develop or retain for valuable relationship customers; none otherwise"),
    ),
    build_tables=tables,
    config_sections={
        "customer_kind": Record({"loyalty_high_from": PROBABILITY}),
        "value_type": Record({
            "valuable_tiers": Names(TIERS),
            "maintain_tiers": Names(TIERS),
            "develop_tiers": Names(TIERS),
            "develop_if_growing_tiers": Names(TIERS),
            "declining_trend_below": TREND,
            "growing_trend_from": TREND,
        }),
    },
    validate_config=_validate,
)
