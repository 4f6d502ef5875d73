"""Purchase type (按购买类型): new purchase, re-purchase, replacement.

New purchase (新购) is a first purchase ever: a prospect with no purchase on record. A customer
who bought recently re-purchases (添购/重购); one whose last purchase is long ago will replace
what was bought then (更新购买). How long "long ago" is comes from the configuration.
"""

from __future__ import annotations

from .config import DAYS, Record, RulesConfig
from .decision_table import NUMBER, Cond, DecisionTable, Rule, Text, fmt, missing
from .family import LABEL, Output, RuleFamily

__all__ = ["FAMILY", "tables"]


def tables(config: RulesConfig) -> list[DecisionTable]:
    """The purchase type decision table."""
    days = config.section("purchase_type")["replacement_recency_days"]
    out = "purchase_type"
    rules = [
        Rule("purchase_type.new", (missing("frequency"), missing("recency_days"), missing("value_percentile")),
             {out: "new"}, Text(
                 "No purchase on record: the first purchase is a new purchase",
                 "没有购买记录：第一次购买属于新购"), term="新购"),
        Rule("purchase_type.not_assessed", (missing("recency_days"),), {out: "not_assessed"}, Text(
            "Days since last purchase unknown: purchase type not assessed",
            "距上次购买的天数未知：不评定购买类型")),
        Rule("purchase_type.replacement", (Cond("recency_days", ">=", days),), {out: "replacement"}, Text(
            f"Last purchase >= {fmt(days)} days ago: the next purchase replaces what was bought",
            f"上次购买在 >= {fmt(days)} 天前：下次购买属于更新购买，替换当初买的东西"), term="更新购买"),
        Rule("purchase_type.repurchase", (Cond("recency_days", "<", days),), {out: "repurchase"}, Text(
            f"Last purchase < {fmt(days)} days ago: buys again",
            f"上次购买在 < {fmt(days)} 天前：再次购买，属于添购或重购"), term="添购/重购"),
    ]
    inputs = {"frequency": NUMBER, "recency_days": NUMBER, "value_percentile": NUMBER}
    return [DecisionTable("purchase_type", inputs, rules, (out,))]


FAMILY = RuleFamily(
    name="purchase_type",
    description="Purchase type (按购买类型): new purchase, re-purchase or replacement",
    outputs=(Output("purchase_type", LABEL, "new (no purchase yet), repurchase or replacement; not_assessed"),),
    build_tables=tables,
    config_sections={"purchase_type": Record({"replacement_recency_days": DAYS})},
)
