"""Transactional vs relationship customers (交易型/关系型) and the three valuable relationship types.

The textbook separates the transactional customers first (they care only about price and have
no loyalty), then splits the valuable relationship customers into three: the most profitable to
maintain (重点维系), those with considerable profit that can become the most profitable to develop
(加强联系), and those profitable now but losing value to retain (设法挽留).
"""

from __future__ import annotations

from .config import PROBABILITY, TIERS, TREND, Names, Record, RulesConfig, check_below
from .decision_table import CATEGORY, NUMBER, Cond, DecisionTable, Rule, Text, fmt, missing
from .family import LABEL, Output, RuleFamily
from .value_tier import TIER_TERMS

__all__ = ["FAMILY", "tables"]


def _names(tiers) -> dict[str, str]:
    # per language: platinum/gold in English, 铂金/黄金 in Chinese (empty for no tiers: the rule
    # that names them is dropped)
    return {"en": "/".join(tiers), "zh": "/".join(TIER_TERMS[t] for t in tiers)}


def tables(config: RulesConfig) -> list[DecisionTable]:
    """Two tables: customer kind, then value type (which reads the kind and the value tier)."""
    lo = config.section("customer_kind")["loyalty_high_from"]
    kind = "customer_kind"
    kind_rules = [
        Rule("kind.transactional", (Cond("price_sensitive", "==", True), Cond("loyalty", "<", lo)),
             {kind: "transactional"}, Text(
                 f"Price sensitive and loyalty < {fmt(lo)} -> transactional customer: buys on price only",
                 f"对价格敏感且忠诚度 < {fmt(lo)} -> 交易型客户：只看价格购买"), term="交易型"),
        Rule("kind.relationship.loyal", (Cond("loyalty", ">=", lo),), {kind: "relationship"}, Text(
            f"Loyalty >= {fmt(lo)} -> relationship customer: values quality and service",
            f"忠诚度 >= {fmt(lo)} -> 关系型客户：看重质量和服务"), term="关系型"),
        Rule("kind.relationship.not_price_driven", (Cond("price_sensitive", "==", False),), {kind: "relationship"},
             Text("Not price sensitive -> relationship customer: values quality and service",
                  "对价格不敏感 -> 关系型客户：看重质量和服务"), term="关系型"),
        Rule("kind.not_assessed", (), {kind: "not_assessed"}, Text(
            "Price sensitivity or loyalty unknown: transactional vs relationship not assessed",
            "价格敏感度或忠诚度未知：不评定是交易型还是关系型客户")),
    ]

    vt = config.section("value_type")
    down, up = vt["declining_trend_below"], vt["growing_trend_from"]
    out = "value_type"
    valuable = tuple(vt["valuable_tiers"])
    names = {key: _names(vt[key]) for key in ("valuable_tiers", "maintain_tiers", "develop_tiers",
                                              "develop_if_growing_tiers")}
    value_rules = [
        Rule("value_type.not_assessed.kind", (Cond(kind, "==", "not_assessed"),), {out: "not_assessed"}, Text(
            "Customer kind not assessed: value type not assessed",
            "客户类型未评定：不评定价值类型")),
        Rule("value_type.transactional", (Cond(kind, "==", "transactional"),), {out: "none"}, Text(
            "Transactional customers are set apart first: no relationship value type",
            "交易型客户先被区分出来：不划分关系型客户的价值类型"), term="交易型"),
        Rule("value_type.not_assessed.tier", (Cond("value_tier", "==", "not_assessed"),), {out: "not_assessed"},
             Text("Value tier not assessed: value type not assessed",
                  "价值层级未评定：不评定价值类型")),
        Rule("value_type.not_valuable", (Cond("value_tier", "in", tuple(t for t in TIERS if t not in valuable)),),
             {out: "none"}, Text(
                 f"Tier is not one of the valuable tiers ({names['valuable_tiers']['en']}): no value type",
                 f"所在层级不属于有价值的层级（{names['valuable_tiers']['zh']}）：不划分价值类型")),
        Rule("value_type.not_assessed.trend", (missing("spend_trend"),), {out: "not_assessed"}, Text(
            "Spend trend unknown: cannot tell maintain, develop or retain",
            "消费趋势未知：无法判断应重点维系、加强联系还是设法挽留")),
        Rule("value_type.retain", (Cond("spend_trend", "<", down),), {out: "retain"}, Text(
            f"Valuable relationship customer with spend trend < {fmt(down)}: profitable now but losing "
            f"value -> retain",
            f"有价值的关系型客户，消费趋势 < {fmt(down)}：目前有利可图，但价值正在流失 -> 设法挽留"),
            term="设法挽留"),
        Rule("value_type.maintain", (Cond("value_tier", "in", tuple(vt["maintain_tiers"])),), {out: "maintain"},
             Text(f"Relationship customer in the {names['maintain_tiers']['en']} tier: the most profitable "
                  f"-> maintain",
                  f"{names['maintain_tiers']['zh']}层级的关系型客户：最有利可图 -> 重点维系"), term="重点维系"),
        Rule("value_type.develop", (Cond("value_tier", "in", tuple(vt["develop_tiers"])),), {out: "develop"},
             Text(f"Relationship customer in the {names['develop_tiers']['en']} tier: considerable profit, can "
                  f"become the most profitable -> develop",
                  f"{names['develop_tiers']['zh']}层级的关系型客户：利润可观，有望成为最有利可图的客户 -> 加强联系"),
             term="加强联系"),
        Rule("value_type.develop.growing", (Cond("value_tier", "in", tuple(vt["develop_if_growing_tiers"])),
                                            Cond("spend_trend", ">=", up)), {out: "develop"}, Text(
            f"Relationship customer in the {names['develop_if_growing_tiers']['en']} tier with spend trend "
            f">= {fmt(up)}: growing -> develop",
            f"{names['develop_if_growing_tiers']['zh']}层级的关系型客户，消费趋势 >= {fmt(up)}：正在增长 -> 加强联系"),
            term="加强联系"),
        Rule("value_type.none", (), {out: "none"}, Text(
            "Stable relationship customer, neither most profitable nor growing nor losing value: no value type",
            "稳定的关系型客户，既不是最有利可图的，也没有增长或流失价值：不划分价值类型")),
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
