"""Purchase type (按购买类型): new purchase, re-purchase, replacement.

New purchase (新购) is a first purchase ever: a prospect with no purchase on record. A customer
who bought recently re-purchases (添购/重购); one whose last purchase is long ago will replace
what was bought then (更新购买). How long "long ago" is comes from the configuration.
"""

from __future__ import annotations

from .config import DAYS, Record, RulesConfig
from .decision_table import NUMBER, Cond, DecisionTable, Rule, fmt, missing
from .family import LABEL, Output, RuleFamily

__all__ = ["FAMILY", "tables"]


def tables(config: RulesConfig) -> list[DecisionTable]:
    """The purchase type decision table."""
    days = config.section("purchase_type")["replacement_recency_days"]
    out = "purchase_type"
    rules = [
        Rule("purchase_type.new", (missing("frequency"), missing("recency_days"), missing("value_percentile")),
             {out: "new"},
             "No purchase on record: the first purchase is a new purchase (新购)"),
        Rule("purchase_type.not_assessed", (missing("recency_days"),), {out: "not_assessed"},
             "Days since last purchase unknown: purchase type not assessed"),
        Rule("purchase_type.replacement", (Cond("recency_days", ">=", days),), {out: "replacement"},
             f"Last purchase >= {fmt(days)} days ago: the next purchase replaces what was bought (更新购买)"),
        Rule("purchase_type.repurchase", (Cond("recency_days", "<", days),), {out: "repurchase"},
             f"Last purchase < {fmt(days)} days ago: buys again (添购/重购)"),
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
