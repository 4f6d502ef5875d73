"""Customer lifecycle stage (客户生命周期): acquisition, growth, maturity, decline, termination.

``frequency`` counts repeat purchases (BG/NBD's x), so a customer with no purchase on record has
no frequency, no recency and no value at all: that is a prospect, in the potential acquisition
stage. Anyone with one of them is a customer (whose stage may still be ``not_assessed``).
"""

from __future__ import annotations

from .config import DAYS, TREND, Record, RulesConfig, check_below
from .decision_table import NUMBER, Cond, DecisionTable, Rule, Text, fmt, missing
from .family import LABEL, Output, RuleFamily

__all__ = ["FAMILY", "tables"]


def tables(config: RulesConfig) -> list[DecisionTable]:
    """The lifecycle decision table built from the ``lifecycle`` section."""
    cfg = config.section("lifecycle")
    term, decl = cfg["termination_recency_days"], cfg["decline_recency_days"]
    down, up, young = cfg["declining_trend_below"], cfg["growing_trend_from"], cfg["growth_tenure_days_below"]
    out = "lifecycle_stage"
    rules = [
        Rule("lifecycle.acquisition", (missing("frequency"), missing("recency_days"), missing("value_percentile")),
             {out: "acquisition"}, Text(
                 "No purchase and no value on record -> potential acquisition stage",
                 "没有购买记录，也没有价值记录 -> 处于潜在获取期"), term="潜在获取期"),
        Rule("lifecycle.not_assessed.recency", (missing("recency_days"),), {out: "not_assessed"}, Text(
            "Days since last purchase unknown: lifecycle stage not assessed",
            "距上次购买的天数未知：不评定生命周期阶段")),
        Rule("lifecycle.termination", (Cond("recency_days", ">=", term),), {out: "termination"}, Text(
            f"No purchase for >= {fmt(term)} days -> termination stage",
            f"已有 >= {fmt(term)} 天没有购买 -> 处于终止期"), term="终止期"),
        Rule("lifecycle.decline.recency", (Cond("recency_days", ">=", decl),), {out: "decline"}, Text(
            f"No purchase for >= {fmt(decl)} days -> decline stage",
            f"已有 >= {fmt(decl)} 天没有购买 -> 处于衰退期"), term="衰退期"),
        Rule("lifecycle.decline.trend", (Cond("spend_trend", "<", down),), {out: "decline"}, Text(
            f"Spend trend < {fmt(down)} -> decline stage",
            f"消费趋势 < {fmt(down)} -> 处于衰退期"), term="衰退期"),
        Rule("lifecycle.growth.new", (Cond("tenure_days", "<", young),), {out: "growth"}, Text(
            f"Customer for < {fmt(young)} days -> growth stage",
            f"成为客户 < {fmt(young)} 天 -> 处于成长期"), term="成长期"),
        Rule("lifecycle.growth.trend", (Cond("spend_trend", ">=", up),), {out: "growth"}, Text(
            f"Spend trend >= {fmt(up)} -> growth stage",
            f"消费趋势 >= {fmt(up)} -> 处于成长期"), term="成长期"),
        Rule("lifecycle.maturity", (Cond("tenure_days", ">=", young), Cond("spend_trend", ">=", down)),
             {out: "maturity"}, Text(
                 f"Customer for >= {fmt(young)} days, spend trend between {fmt(down)} and {fmt(up)} "
                 f"-> maturity stage",
                 f"成为客户 >= {fmt(young)} 天，消费趋势在 {fmt(down)} 与 {fmt(up)} 之间 -> 处于成熟期"),
             term="成熟期"),
        Rule("lifecycle.not_assessed", (), {out: "not_assessed"}, Text(
            "Tenure or spend trend unknown: lifecycle stage not assessed",
            "客户时长或消费趋势未知：不评定生命周期阶段")),
    ]
    inputs = {"frequency": NUMBER, "recency_days": NUMBER, "value_percentile": NUMBER, "spend_trend": NUMBER,
              "tenure_days": NUMBER}
    return [DecisionTable("lifecycle", inputs, rules, (out,))]


def _validate(data, problems: list[str]) -> None:
    lc = data["lifecycle"]
    # termination is checked first: a decline threshold above it would never fire
    check_below(problems, "lifecycle.decline_recency_days", lc["decline_recency_days"],
                "lifecycle.termination_recency_days", lc["termination_recency_days"])
    check_below(problems, "lifecycle.declining_trend_below", lc["declining_trend_below"],
                "lifecycle.growing_trend_from", lc["growing_trend_from"], strict=False)


FAMILY = RuleFamily(
    name="lifecycle",
    description="Customer lifecycle (客户生命周期) by recency, tenure and spend trend",
    outputs=(Output("lifecycle_stage", LABEL,
                    "acquisition (prospect), growth, maturity, decline or termination; not_assessed when unknown"),),
    build_tables=tables,
    config_sections={"lifecycle": Record({
        "termination_recency_days": DAYS,
        "decline_recency_days": DAYS,
        "declining_trend_below": TREND,
        "growth_tenure_days_below": DAYS,
        "growing_trend_from": TREND,
    })},
    validate_config=_validate,
)
