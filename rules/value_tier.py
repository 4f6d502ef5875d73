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
from .decision_table import NUMBER, Cond, DecisionTable, Rule, fmt, missing
from .family import LABEL, Output, RuleFamily

__all__ = ["FAMILY", "TIER_LABELS", "tables"]

#: tier -> English and textbook names, used in reasons
TIER_LABELS = {
    "platinum": "platinum (铂金, VIP)",
    "gold": "gold (黄金, key)",
    "iron": "iron (钢铁, ordinary)",
    "lead": "lead (重铅, small)",
}


def _top_share(cut: float) -> str:
    # 0.95 -> "top 5%": marketing talks in shares of the base, not in percentiles
    return f"top {fmt(round((1.0 - cut) * 100, 6))}%"


def tables(config: RulesConfig) -> list[DecisionTable]:
    """The value tier decision table built from ``value_tier.cut_points``."""
    cuts = config.section("value_tier")["cut_points"]
    p, g, i = cuts["platinum"], cuts["gold"], cuts["iron"]
    returns = config.section("returns_only")["net_spend_below"]
    rules = [
        # first: no percentile makes a net-negative customer valuable
        Rule("tier.returns_only", (Cond("monetary", "<", returns),), {"value_tier": "lead"},
             f"Net spend below {fmt(returns)}: returns only, returns outweigh purchases -> {TIER_LABELS['lead']} "
             f"tier whatever the value percentile (no upgrade offer)"),
        Rule("tier.not_assessed", (missing("value_percentile"),), {"value_tier": "not_assessed"},
             "Value percentile unknown: value tier not assessed"),
        Rule("tier.platinum", (Cond("value_percentile", ">=", p),), {"value_tier": "platinum"},
             f"Value percentile >= {fmt(p)} ({_top_share(p)}) -> {TIER_LABELS['platinum']} tier"),
        Rule("tier.gold", (Cond("value_percentile", ">=", g),), {"value_tier": "gold"},
             f"Value percentile >= {fmt(g)} and < {fmt(p)} ({_top_share(g)}) -> {TIER_LABELS['gold']} tier"),
        Rule("tier.iron", (Cond("value_percentile", ">=", i),), {"value_tier": "iron"},
             f"Value percentile >= {fmt(i)} and < {fmt(g)} -> {TIER_LABELS['iron']} tier"),
        Rule("tier.lead", (Cond("value_percentile", "<", i),), {"value_tier": "lead"},
             f"Value percentile < {fmt(i)} (bottom {fmt(round(i * 100, 6))}%) -> {TIER_LABELS['lead']} tier"),
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
