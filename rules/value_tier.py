"""Value pyramid (客户金字塔): platinum, gold, iron and lead tiers by value percentile.

Default cut points follow Sherden's 80/20/30 rule: the top 20% of customers by value are
platinum (top 5%) and gold, the bottom 30% are lead. The cut points are in the configuration
(``value_tier.cut_points``).

A customer whose net spend is below ``returns_only.net_spend_below`` (returns outweigh
purchases, e.g. only returns on record) is lead whatever the percentile: the value models read a
history of returns as a customer's, but such a customer contributes nothing, so it is given the
low-cost service and never a higher tier's upgrade offer, with a reason that says why.
"""

from __future__ import annotations

from .config import PROBABILITY, TIERS, Num, Record, RulesConfig, check_descending
from .decision_table import NUMBER, Cond, DecisionTable, Rule, Text, fmt, missing
from .family import LABEL, Output, RuleFamily

__all__ = ["FAMILY", "TIER_LABELS", "TIER_TERMS", "tables"]

#: tier -> its textbook term (客户金字塔), given beside the reasons in every language
TIER_TERMS = {"platinum": "铂金", "gold": "黄金", "iron": "钢铁", "lead": "重铅"}
#: tier -> its name and who its customers are, used in reasons
TIER_LABELS = {
    "platinum": Text("platinum (VIP)", "铂金层级（VIP 客户）"),
    "gold": Text("gold (key)", "黄金层级（重要客户）"),
    "iron": Text("iron (ordinary)", "钢铁层级（普通客户）"),
    "lead": Text("lead (small)", "重铅层级（小客户）"),
}


def _top_share(cut: float) -> Text:
    # 0.95 -> "top 5%": marketing talks in shares of the base, not in percentiles
    share = fmt(round((1.0 - cut) * 100, 6))
    return Text(f"top {share}%", f"前 {share}%")


def tables(config: RulesConfig) -> list[DecisionTable]:
    """The value tier decision table built from ``value_tier.cut_points``."""
    cuts = config.section("value_tier")["cut_points"]
    p, g, i = cuts["platinum"], cuts["gold"], cuts["iron"]
    returns = config.section("returns_only")["net_spend_below"]
    label, top = TIER_LABELS, {t: _top_share(c) for t, c in (("platinum", p), ("gold", g))}
    bottom = fmt(round(i * 100, 6))
    rules = [
        # first: no percentile makes a net-negative customer valuable
        Rule("tier.returns_only", (Cond("monetary", "<", returns),), {"value_tier": "lead"}, Text(
            f"Net spend below {fmt(returns)}: returns only, returns outweigh purchases -> {label['lead'].en} "
            f"tier whatever the value percentile (no upgrade offer)",
            f"净消费低于 {fmt(returns)}：只有退货，退货多于购买 -> 无论价值百分位多高，都归入{label['lead'].zh}，"
            f"不提供升级优惠"), term=TIER_TERMS["lead"]),
        Rule("tier.not_assessed", (missing("value_percentile"),), {"value_tier": "not_assessed"}, Text(
            "Value percentile unknown: value tier not assessed",
            "价值百分位未知：不评定价值层级")),
        Rule("tier.platinum", (Cond("value_percentile", ">=", p),), {"value_tier": "platinum"}, Text(
            f"Value percentile >= {fmt(p)} ({top['platinum'].en}) -> {label['platinum'].en} tier",
            f"价值百分位 >= {fmt(p)}（{top['platinum'].zh}）-> {label['platinum'].zh}"),
            term=TIER_TERMS["platinum"]),
        Rule("tier.gold", (Cond("value_percentile", ">=", g),), {"value_tier": "gold"}, Text(
            f"Value percentile >= {fmt(g)} and < {fmt(p)} ({top['gold'].en}) -> {label['gold'].en} tier",
            f"价值百分位 >= {fmt(g)} 且 < {fmt(p)}（{top['gold'].zh}）-> {label['gold'].zh}"),
            term=TIER_TERMS["gold"]),
        Rule("tier.iron", (Cond("value_percentile", ">=", i),), {"value_tier": "iron"}, Text(
            f"Value percentile >= {fmt(i)} and < {fmt(g)} -> {label['iron'].en} tier",
            f"价值百分位 >= {fmt(i)} 且 < {fmt(g)} -> {label['iron'].zh}"), term=TIER_TERMS["iron"]),
        Rule("tier.lead", (Cond("value_percentile", "<", i),), {"value_tier": "lead"}, Text(
            f"Value percentile < {fmt(i)} (bottom {bottom}%) -> {label['lead'].en} tier",
            f"价值百分位 < {fmt(i)}（后 {bottom}%）-> {label['lead'].zh}"), term=TIER_TERMS["lead"]),
    ]
    return [DecisionTable("value_tier", {"value_percentile": NUMBER, "monetary": NUMBER}, rules, ("value_tier",))]


def _validate(data, problems: list[str]) -> None:
    # a higher tier needs a strictly higher cut point, or the tier below it would be empty
    check_descending(problems, "value_tier.cut_points", TIERS[:-1], data["value_tier"]["cut_points"])


FAMILY = RuleFamily(
    name="value_tier",
    description="Value pyramid (客户金字塔): tier by value percentile (80/20/30 rule)",
    outputs=(Output("value_tier", LABEL,
                    "platinum, gold, iron or lead by value percentile; not_assessed when unknown"),),
    build_tables=tables,
    config_sections={"value_tier": Record({"cut_points": Record({t: PROBABILITY for t in TIERS[:-1]})}),
                     "returns_only": Record({"net_spend_below": Num()})},
    validate_config=_validate,
)
