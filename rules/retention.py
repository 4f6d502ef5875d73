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
from .decision_table import CATEGORY, NUMBER, Cond, DecisionTable, Rule, Text, fmt, missing
from .family import LABEL, TEXT, Output, RuleFamily
from .value_tier import TIER_LABELS, TIER_TERMS

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

# churn risk band (and "unknown": no churn probability) -> how a reason says it
_RISK_NAMES = {
    "low": Text("low churn risk", "流失风险低"),
    "medium": Text("medium churn risk", "流失风险中等"),
    "high": Text("high churn risk", "流失风险高"),
    "critical": Text("critical churn risk", "流失风险极高"),
    "unknown": Text("unknown churn risk", "流失风险未知"),
}
# MAN class -> how a prospect reason names it (the textbook's M·A·N 法则)
_MAN_CLASS_NAMES = {
    "qualified": Text("qualified", "合格"),
    "cultivate_need": Text("cultivate_need", "需培养需求"),
    "find_decision_maker": Text("find_decision_maker", "需找到决策人"),
    "check_financing": Text("check_financing", "需核查购买能力"),
    "low_priority": Text("low_priority", "低优先级"),
    "not_prospect": Text("not_prospect", "不是潜在顾客"),
    "not_assessed": Text("not_assessed", "未审查"),
}
# (family, label) -> why a priority adjustment applies, and the textbook's term for the label
_ADJUSTMENT_WHY = {
    ("value_type", "maintain"): (Text("most profitable, maintain", "最有利可图，重点维系"), "重点维系"),
    ("value_type", "develop"): (Text("can become the most profitable, develop",
                                     "有望成为最有利可图的客户，加强联系"), "加强联系"),
    ("value_type", "retain"): (Text("losing value, retain", "价值正在流失，设法挽留"), "设法挽留"),
    ("relationship_type", "partner"): (Text("partner: hold on tight", "伙伴关系，要紧紧抓住"), "伙伴"),
    ("relationship_type", "functional"): (Text("functional: high value but easily poached",
                                               "功能关系，价值高但容易被竞争对手挖走"), "功能"),
    ("relationship_type", "emotional"): (Text("emotional: loyal advocate", "感情关系，忠诚的拥护者"), "感情"),
    ("relationship_type", "acquaintance"): (Text("acquaintance", "认识关系"), "认识"),
    ("customer_kind", "transactional"): (Text("transactional: buys on price only", "交易型客户，只看价格购买"),
                                         "交易型"),
    ("customer_kind", "relationship"): (Text("relationship customer", "关系型客户"), "关系型"),
    ("temperature", "hot"): (Text("hot prospect: likely to order within a month", "热客，可能在一个月内订货"),
                             "热客"),
    ("temperature", "warm"): (Text("warm prospect: likely to order within three months",
                                   "暖客，可能在三个月内订货"), "暖客"),
    ("temperature", "cold"): (Text("cold prospect", "冷客"), "冷客"),
}


def _action(entry: dict) -> dict:
    # the Chinese text is optional in the configuration: without it, Chinese decisions show the English one
    text = Text(entry["text"], entry.get("text_zh", entry["text"]))
    return {"action": entry["action"], "action_text": text, "base_priority": entry["priority"]}


def _signed(x: float) -> str:
    return f"+{fmt(x)}" if x >= 0 else fmt(x)


def _then(entry: dict) -> Text:
    """What an action rule leads to: the action code and its priority."""
    return Text(f"{entry['action']} (priority {fmt(entry['priority'])})",
                f"{entry['action']}（优先级 {fmt(entry['priority'])}）")


def tables(config: RulesConfig) -> list[DecisionTable]:
    """Churn risk, the two action tables and the priority adjustment tables, in order."""
    cuts = config.section("churn_risk")["cut_points"]
    churn_rules = [Rule("churn.not_assessed", (missing("churn_probability"),), {"churn_risk": "not_assessed"},
                        Text("Churn probability unknown: churn risk not assessed", "流失概率未知：不评定流失风险"))]
    for band in reversed(CHURN_BANDS[1:]):
        churn_rules.append(Rule(f"churn.{band}", (Cond("churn_probability", ">=", cuts[band]),),
                                {"churn_risk": band}, Text(
                                    f"Churn probability >= {fmt(cuts[band])} -> {_RISK_NAMES[band].en}",
                                    f"流失概率 >= {fmt(cuts[band])} -> {_RISK_NAMES[band].zh}")))
    churn_rules.append(Rule("churn.low", (Cond("churn_probability", "<", cuts["medium"]),), {"churn_risk": "low"},
                            Text(f"Churn probability < {fmt(cuts['medium'])} -> {_RISK_NAMES['low'].en}",
                                 f"流失概率 < {fmt(cuts['medium'])} -> {_RISK_NAMES['low'].zh}")))

    cfg = config.section("retention")
    prospect = Cond("lifecycle_stage", "==", "acquisition")
    prospect_rules = [
        Rule(f"retention.prospect.{cls}", (prospect, Cond("man_class", "==", cls)), _action(entry), Text(
            f"Prospect with MAN class {cls} -> {_then(entry).en}",
            f"尚无购买记录，M·A·N 审查结果为「{_MAN_CLASS_NAMES[cls].zh}」-> {_then(entry).zh}"))
        for cls in MAN_CLASSES for entry in [cfg["prospect_actions"][cls]]
    ]

    customer = Cond("lifecycle_stage", "in", _CUSTOMER_STAGES)
    let_go = cfg["let_go"]
    customer_rules = []
    if let_go["tiers"]:
        customer_rules.append(Rule(
            "retention.let_go", (customer, Cond("value_tier", "in", tuple(let_go["tiers"])), Cond("profit", "<", 0)),
            _action(let_go), Text(
                f"{'/'.join(let_go['tiers'])} tier with negative profit: costs more than it brings -> "
                f"{_then(let_go).en}",
                f"{'/'.join(TIER_TERMS[t] for t in let_go['tiers'])}层级且利润为负：成本高于带来的收益 -> "
                f"{_then(let_go).zh}")))
    for tier in TIERS:
        for band in _BANDS_AND_UNKNOWN:
            entry = cfg["actions"][tier][band]
            risk = "not_assessed" if band == "unknown" else band
            label = TIER_LABELS[tier]
            customer_rules.append(Rule(
                f"retention.{tier}.{band}",
                (customer, Cond("value_tier", "==", tier), Cond("churn_risk", "==", risk)), _action(entry), Text(
                    f"{label.en[0].upper()}{label.en[1:]} tier with {_RISK_NAMES[band].en} -> {_then(entry).en}",
                    f"{label.zh}，{_RISK_NAMES[band].zh} -> {_then(entry).zh}")))
    un = cfg["unassessed"]
    customer_rules.append(Rule(
        "retention.unassessed", (customer, Cond("value_tier", "==", "not_assessed")), _action(un), Text(
            f"Customer whose value tier is not assessed -> {_then(un).en}",
            f"价值层级未评定的客户 -> {_then(un).zh}")))

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
            why, term = _ADJUSTMENT_WHY[(family, label)]
            if family == "temperature":
                # only prospects someone will actually pursue get more urgent when hot
                pursued = tuple(c for c in MAN_CLASSES if c != "not_prospect")
                when = (prospect, Cond("man_class", "in", pursued), Cond("temperature", "==", label))
            else:
                when = (customer, Cond(family, "==", label))
            rules.append(Rule(f"retention.adjust.{family}.{label}", when, {field_out: delta},
                              Text(f"Priority {_signed(delta)}: {why.en}", f"优先级 {_signed(delta)}：{why.zh}"),
                              term=term))
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
