"""Retention decision per tier (分级服务政策): one action, its text and a priority per customer.

It merges the other families' outcomes with the churn model's risk:

* churn risk band from the churn probability (``churn_risk.cut_points``);
* prospects (no purchase on record, lifecycle ``acquisition``) get the action of their MAN class;
* customers get the action of their value tier and churn band: platinum with high churn risk the
  most urgent personal outreach, lead the low-cost service, and unprofitable customers of the
  ``let_go`` tiers are let go; customers whose value is unknown get ``retention.unassessed``;
* priority adjustments add to the base priority: value type (maintain/develop/retain),
  relationship type (e.g. functional customers are easily poached), customer kind
  (transactional buyers) and, for pursued prospects, temperature.

Every action, text, priority and adjustment comes from the ``retention`` section. Adjustments do
not depend on churn, and the configuration is validated so that priority never falls as churn
rises within a tier: raising churn risk never lowers a customer's priority.
"""

from __future__ import annotations

import itertools

from .config import (
    ACTION,
    CHURN_BANDS,
    CUSTOMER_KINDS,
    MAN_CLASSES,
    PROBABILITY,
    RELATIONSHIP_TYPES,
    TEMPERATURES,
    TIERS,
    VALUE_TYPES,
    Names,
    Num,
    Record,
    RulesConfig,
    Table,
    check_descending,
)
from .decision_table import CATEGORY, NUMBER, Cond, DecisionTable, Rule, fmt, missing
from .family import LABEL, TEXT, Output, RuleFamily
from .value_tier import TIER_LABELS

__all__ = ["ACTION_OUTPUTS", "ADJUSTMENT_OUTPUTS", "FAMILY", "LIFECYCLE_STAGES", "tables"]

#: outputs of the action tables (exactly one of them fires per customer)
ACTION_OUTPUTS = ("action", "action_text", "base_priority")
#: adjustment table -> its output field (added to the base priority)
ADJUSTMENT_OUTPUTS = {
    "value_type": "adjust_value_type",
    "relationship_type": "adjust_relationship_type",
    "customer_kind": "adjust_customer_kind",
    "temperature": "adjust_temperature",
}
LIFECYCLE_STAGES = ("acquisition", "growth", "maturity", "decline", "termination", "not_assessed")
# everyone with a purchase on record (or at least not known to have none) is a customer here
_CUSTOMER_STAGES = tuple(s for s in LIFECYCLE_STAGES if s != "acquisition")
# the action table has a column per churn band, and one for customers whose churn is unknown
_BANDS_AND_UNKNOWN = (*CHURN_BANDS, "unknown")

_ADJUSTMENT_WHY = {
    ("value_type", "maintain"): "most profitable, maintain (重点维系)",
    ("value_type", "develop"): "can become the most profitable, develop (加强联系)",
    ("value_type", "retain"): "losing value, retain (设法挽留)",
    ("relationship_type", "partner"): "partner (伙伴): hold on tight",
    ("relationship_type", "functional"): "functional (功能): high value but easily poached",
    ("relationship_type", "emotional"): "emotional (感情): loyal advocate",
    ("relationship_type", "acquaintance"): "acquaintance (认识)",
    ("customer_kind", "transactional"): "transactional (交易型): buys on price only",
    ("customer_kind", "relationship"): "relationship customer (关系型)",
    ("temperature", "hot"): "hot prospect (热客): likely to order within a month",
    ("temperature", "warm"): "warm prospect (暖客): likely to order within three months",
    ("temperature", "cold"): "cold prospect (冷客)",
}


def _action(entry: dict) -> dict:
    return {"action": entry["action"], "action_text": entry["text"], "base_priority": entry["priority"]}


def _signed(x: float) -> str:
    return f"+{fmt(x)}" if x >= 0 else fmt(x)


def tables(config: RulesConfig) -> list[DecisionTable]:
    """Churn risk, the two action tables and the priority adjustment tables, in order."""
    cuts = config.section("churn_risk")["cut_points"]
    churn_rules = [Rule("churn.not_assessed", (missing("churn_probability"),), {"churn_risk": "not_assessed"},
                        "Churn probability unknown: churn risk not assessed")]
    for band in reversed(CHURN_BANDS[1:]):
        churn_rules.append(Rule(f"churn.{band}", (Cond("churn_probability", ">=", cuts[band]),),
                                {"churn_risk": band}, f"Churn probability >= {fmt(cuts[band])} -> {band} churn risk"))
    churn_rules.append(Rule("churn.low", (Cond("churn_probability", "<", cuts["medium"]),), {"churn_risk": "low"},
                            f"Churn probability < {fmt(cuts['medium'])} -> low churn risk"))

    cfg = config.section("retention")
    prospect = Cond("lifecycle_stage", "==", "acquisition")
    prospect_rules = [
        Rule(f"retention.prospect.{cls}", (prospect, Cond("man_class", "==", cls)), _action(entry),
             f"Prospect with MAN class {cls} -> {entry['action']} (priority {fmt(entry['priority'])})")
        for cls in MAN_CLASSES for entry in [cfg["prospect_actions"][cls]]
    ]

    customer = Cond("lifecycle_stage", "in", _CUSTOMER_STAGES)
    let_go = cfg["let_go"]
    customer_rules = []
    if let_go["tiers"]:
        customer_rules.append(Rule(
            "retention.let_go", (customer, Cond("value_tier", "in", tuple(let_go["tiers"])), Cond("profit", "<", 0)),
            _action(let_go),
            f"{'/'.join(let_go['tiers'])} tier with negative profit: costs more than it brings -> "
            f"{let_go['action']} (priority {fmt(let_go['priority'])})"))
    for tier in TIERS:
        for band in _BANDS_AND_UNKNOWN:
            entry = cfg["actions"][tier][band]
            risk = "not_assessed" if band == "unknown" else band
            said = "unknown churn risk" if band == "unknown" else f"{band} churn risk"
            customer_rules.append(Rule(
                f"retention.{tier}.{band}",
                (customer, Cond("value_tier", "==", tier), Cond("churn_risk", "==", risk)), _action(entry),
                f"{TIER_LABELS[tier][0].upper()}{TIER_LABELS[tier][1:]} tier with {said} -> {entry['action']} "
                f"(priority {fmt(entry['priority'])})"))
    un = cfg["unassessed"]
    customer_rules.append(Rule(
        "retention.unassessed", (customer, Cond("value_tier", "==", "not_assessed")), _action(un),
        f"Customer whose value tier is not assessed -> {un['action']} (priority {fmt(un['priority'])})"))

    out = [
        DecisionTable("churn_risk", {"churn_probability": NUMBER}, churn_rules, ("churn_risk",)),
        DecisionTable("retention_prospect", {"lifecycle_stage": CATEGORY, "man_class": CATEGORY},
                      prospect_rules, ACTION_OUTPUTS, optional=True),
        DecisionTable("retention_customer", {"lifecycle_stage": CATEGORY, "value_tier": CATEGORY,
                                             "churn_risk": CATEGORY, "profit": NUMBER},
                      customer_rules, ACTION_OUTPUTS, optional=True),
    ]

    adjustments = cfg["priority_adjustments"]
    for family, field_out in ADJUSTMENT_OUTPUTS.items():
        rules = []
        for label, delta in adjustments[family].items():
            if delta == 0:
                continue
            why = _ADJUSTMENT_WHY[(family, label)]
            if family == "temperature":
                # only prospects someone will actually pursue get more urgent when hot
                pursued = tuple(c for c in MAN_CLASSES if c != "not_prospect")
                when = (prospect, Cond("man_class", "in", pursued), Cond("temperature", "==", label))
            else:
                when = (customer, Cond(family, "==", label))
            rules.append(Rule(f"retention.adjust.{family}.{label}", when, {field_out: delta},
                              f"Priority {_signed(delta)}: {why}"))
        if rules:
            inputs = {"lifecycle_stage": CATEGORY, family: CATEGORY}
            if family == "temperature":
                inputs["man_class"] = CATEGORY
            out.append(DecisionTable(f"adjust_{family}", inputs, rules, (field_out,), optional=True))
    return out


def _validate(data, problems: list[str]) -> None:
    check_descending(problems, "churn_risk.cut_points", tuple(reversed(CHURN_BANDS[1:])),
                     data["churn_risk"]["cut_points"])
    # priorities: churn up never lowers the priority within a tier; a lower tier never outranks
    # a higher one in the same churn band (the monotonicity invariants)
    actions = data["retention"]["actions"]
    for tier in TIERS:
        for lo_band, hi_band in itertools.pairwise(CHURN_BANDS):
            lo, hi = actions[tier][lo_band]["priority"], actions[tier][hi_band]["priority"]
            if hi < lo:
                problems.append(f"key 'retention.actions.{tier}.{hi_band}.priority' = {hi!r} is below "
                                f"'retention.actions.{tier}.{lo_band}.priority' = {lo!r}: priority must "
                                f"not fall as churn risk rises")
    for band in _BANDS_AND_UNKNOWN:
        for upper, lower in itertools.pairwise(TIERS):
            hi, lo = actions[upper][band]["priority"], actions[lower][band]["priority"]
            if lo > hi:
                problems.append(f"key 'retention.actions.{lower}.{band}.priority' = {lo!r} is above "
                                f"'retention.actions.{upper}.{band}.priority' = {hi!r}: a lower tier must "
                                f"not outrank a higher one")


FAMILY = RuleFamily(
    name="retention",
    description="Retention decision per tier (分级服务政策): churn risk band, one action and its priority",
    outputs=(
        Output("churn_risk", LABEL, "low, medium, high or critical by churn probability; not_assessed when unknown"),
        Output("action", LABEL, "the action code to take (prospects by MAN class, customers by tier and churn risk)"),
        Output("action_text", TEXT, "the action in plain language for the person who acts on it"),
    ),
    build_tables=tables,
    config_sections={
        "churn_risk": Record({"cut_points": Record({b: PROBABILITY for b in CHURN_BANDS[1:]})}),
        "retention": Record({
            "actions": Table(
                Table(ACTION, _BANDS_AND_UNKNOWN, _BANDS_AND_UNKNOWN, "has no action for churn band {key!r}"),
                TIERS, TIERS, "has no action for tier {key!r}"),
            "let_go": Record({"tiers": Names(TIERS), **ACTION.fields}),
            "unassessed": ACTION,
            "prospect_actions": Table(ACTION, MAN_CLASSES, MAN_CLASSES, "has no action for MAN class {key!r}"),
            "priority_adjustments": Record({
                "value_type": Table(Num(), VALUE_TYPES),
                "relationship_type": Table(Num(), RELATIONSHIP_TYPES),
                "customer_kind": Table(Num(), CUSTOMER_KINDS),
                "temperature": Table(Num(), TEMPERATURES),
            }),
        }),
    },
    validate_config=_validate,
)
