"""Scored selection of distributors (评分法).

Each criterion (market coverage, reputation, history, cooperation, product fit, finances,
location, service capacity, price, public relations) is scored 0..100 and weighted into a total.
The textbook prefers totals of about 70-80: below 70 is too weak, above 85 too strong to manage;
between the preferred band and "too strong" the distributor is acceptable but strong.
"""

from __future__ import annotations

from .config import SCORE, Num, Opt, Record, RulesConfig, Str, Table, check_below, check_sums_to_one
from .decision_table import CATEGORY, NUMBER, Cond, DecisionTable, Rule, Text, fmt, missing
from .family import LABEL, Output, RuleFamily
from .family import NUMBER as NUMBER_OUTPUT
from .scorecards import NO_PROFILE
from .six_c import SEGMENT_NAMES

__all__ = ["FAMILY", "FITS", "tables"]

#: distributor_fit values
FITS = ("preferred", "acceptable", "too_strong", "too_weak", "not_assessed")
_TERM = "评分法"


def tables(config: RulesConfig) -> list[DecisionTable]:
    """The distributor fit decision table."""
    cfg = config.section("distributor")
    lo, hi, strong = cfg["preferred_from"], cfg["preferred_up_to"], cfg["too_strong_above"]
    # the criteria are the configuration's names, and so are their Chinese names
    criteria = {c: Text(c, name) for c, name in cfg.get("names_zh", {}).items()}
    out = "distributor_fit"
    rules = [
        Rule("distributor.not_applicable", (Cond("segment", "in", ("consumer", "business")),), {out: "not_assessed"},
             Text("Segment {segment}: distributor scoring applies to distributors",
                  "客户类别为{segment}：经销商评分只适用于经销商"), value_names=SEGMENT_NAMES),
        Rule("distributor.not_assessed.no_profile", (Cond("distributor_missing", "==", NO_PROFILE),),
             {out: "not_assessed"}, Text("No distributor criteria scores: distributor fit not assessed",
                                         "没有经销商各项标准的评分：不评定经销商是否合适")),
        Rule("distributor.not_assessed.incomplete", (missing("distributor_score"),), {out: "not_assessed"}, Text(
            "Distributor criteria incomplete (missing: {distributor_missing}): not scored",
            "经销商标准的评分不完整（缺少：{distributor_missing}）：不评分"), value_names=criteria),
        Rule("distributor.too_strong", (Cond("distributor_score", ">", strong),), {out: "too_strong"}, Text(
            f"Distributor score > {fmt(strong)}: too strong to manage",
            f"经销商得分 > {fmt(strong)}：实力太强，难以管理"), term=_TERM),
        Rule("distributor.acceptable", (Cond("distributor_score", ">", hi),), {out: "acceptable"}, Text(
            f"Distributor score > {fmt(hi)} and <= {fmt(strong)}: acceptable but strong, above the "
            f"preferred {fmt(lo)}-{fmt(hi)}",
            f"经销商得分 > {fmt(hi)} 且 <= {fmt(strong)}：可以接受但实力偏强，高于首选的 {fmt(lo)}-{fmt(hi)} 分"),
            term=_TERM),
        Rule("distributor.preferred", (Cond("distributor_score", ">=", lo),), {out: "preferred"}, Text(
            f"Distributor score {fmt(lo)}-{fmt(hi)}: preferred (the scoring method prefers {fmt(lo)}-{fmt(hi)})",
            f"经销商得分 {fmt(lo)}-{fmt(hi)}：首选（评分法首选 {fmt(lo)}-{fmt(hi)} 分）"), term=_TERM),
        Rule("distributor.too_weak", (Cond("distributor_score", "<", lo),), {out: "too_weak"}, Text(
            f"Distributor score < {fmt(lo)}: too weak", f"经销商得分 < {fmt(lo)}：实力太弱"), term=_TERM),
    ]
    inputs = {"segment": CATEGORY, "distributor_score": NUMBER, "distributor_missing": CATEGORY}
    return [DecisionTable("distributor", inputs, rules, (out,))]


def _validate(data, problems: list[str]) -> None:
    d = data["distributor"]
    # the criteria are free names (the profile's columns), so only their count and sum are checked
    if not d["weights"]:
        problems.append("'distributor.weights' has no criteria")
    else:
        check_sums_to_one(problems, "distributor.weights", d["weights"])
    for criterion in d.get("names_zh", {}):
        if criterion not in d["weights"]:
            problems.append(f"key 'distributor.names_zh.{criterion}' names no criterion of 'distributor.weights'")
    check_below(problems, "distributor.preferred_from", d["preferred_from"], "distributor.preferred_up_to",
                d["preferred_up_to"])
    check_below(problems, "distributor.preferred_up_to", d["preferred_up_to"], "distributor.too_strong_above",
                d["too_strong_above"], strict=False)


FAMILY = RuleFamily(
    name="distributor",
    description="Scored selection of distributors (评分法)",
    outputs=(
        Output("distributor_score", NUMBER_OUTPUT, "weighted 0..100 score of the criteria; missing when incomplete"),
        Output("distributor_fit", LABEL,
               "preferred, acceptable, too_strong or too_weak by the score; not_assessed for non-distributors"),
    ),
    build_tables=tables,
    config_sections={"distributor": Record({
        "weights": Table(Num(0.0, 1.0)),
        # the criteria's names in Chinese reasons; a criterion without one is shown by its key
        "names_zh": Opt(Table(Str())),
        "preferred_from": SCORE,
        "preferred_up_to": SCORE,
        "too_strong_above": SCORE,
    })},
    validate_config=_validate,
    scorecards=("distributor",),
)
