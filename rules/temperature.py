"""Prospect temperature by expected ordering time (潜在客户按订货时间): hot, warm, cold.

Hot (热客) is likely to order within one month, warm (暖客) within three months, cold (冷客)
later. The next-purchase model's probabilities decide when known; otherwise its expected days to
the next purchase.
"""

from __future__ import annotations

from .config import DAYS, PROBABILITY, Record, RulesConfig, check_below
from .decision_table import NUMBER, Cond, DecisionTable, Rule, Text, fmt
from .family import LABEL, Output, RuleFamily

__all__ = ["FAMILY", "tables"]


def tables(config: RulesConfig) -> list[DecisionTable]:
    """The temperature decision table built from the ``temperature`` section."""
    cfg = config.section("temperature")
    h, w = cfg["hot_p30_from"], cfg["warm_p90_from"]
    hd, wd = cfg["hot_days_up_to"], cfg["warm_days_up_to"]
    out = "temperature"
    rules = [
        Rule("temperature.hot", (Cond("p_purchase_30d", ">=", h),), {out: "hot"}, Text(
            f"Probability of buying within 30 days >= {fmt(h)} -> hot prospect",
            f"30 天内购买的概率 >= {fmt(h)} -> 热客"), term="热客"),
        Rule("temperature.warm", (Cond("p_purchase_90d", ">=", w),), {out: "warm"}, Text(
            f"Probability of buying within 90 days >= {fmt(w)} -> warm prospect",
            f"90 天内购买的概率 >= {fmt(w)} -> 暖客"), term="暖客"),
        Rule("temperature.cold", (Cond("p_purchase_30d", "<", h), Cond("p_purchase_90d", "<", w)), {out: "cold"},
             Text(f"Probabilities of buying within 30 days < {fmt(h)} and within 90 days < {fmt(w)} -> cold prospect",
                  f"30 天内购买的概率 < {fmt(h)}，且 90 天内购买的概率 < {fmt(w)} -> 冷客"), term="冷客"),
        Rule("temperature.hot.days", (Cond("expected_days_to_next_purchase", "<=", hd),), {out: "hot"}, Text(
            f"Next purchase expected within {fmt(hd)} days -> hot prospect",
            f"预计 {fmt(hd)} 天内再次购买 -> 热客"), term="热客"),
        Rule("temperature.warm.days", (Cond("expected_days_to_next_purchase", "<=", wd),), {out: "warm"}, Text(
            f"Next purchase expected within {fmt(wd)} days -> warm prospect",
            f"预计 {fmt(wd)} 天内再次购买 -> 暖客"), term="暖客"),
        Rule("temperature.cold.days", (Cond("expected_days_to_next_purchase", ">", wd),), {out: "cold"}, Text(
            f"Next purchase expected after more than {fmt(wd)} days -> cold prospect",
            f"预计超过 {fmt(wd)} 天后才再次购买 -> 冷客"), term="冷客"),
        Rule("temperature.not_assessed", (), {out: "not_assessed"}, Text(
            "Purchase probabilities and expected days to next purchase unknown: temperature not assessed",
            "购买概率和预计距下次购买的天数都未知：不评定冷热程度")),
    ]
    inputs = {"p_purchase_30d": NUMBER, "p_purchase_90d": NUMBER, "expected_days_to_next_purchase": NUMBER}
    return [DecisionTable("temperature", inputs, rules, (out,))]


def _validate(data, problems: list[str]) -> None:
    t = data["temperature"]
    # hot is checked first: a warm horizon shorter than the hot one would never fire
    check_below(problems, "temperature.hot_days_up_to", t["hot_days_up_to"],
                "temperature.warm_days_up_to", t["warm_days_up_to"])


FAMILY = RuleFamily(
    name="temperature",
    description="Prospect temperature by expected ordering time (潜在客户按订货时间)",
    outputs=(Output("temperature", LABEL, "hot (within a month), warm (within three months) or cold; not_assessed"),),
    build_tables=tables,
    config_sections={"temperature": Record({
        "hot_p30_from": PROBABILITY,
        "warm_p90_from": PROBABILITY,
        "hot_days_up_to": DAYS,
        "warm_days_up_to": DAYS,
    })},
    validate_config=_validate,
)
