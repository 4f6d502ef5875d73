"""6C analysis (识别客户特性的"6C"描述分析) of business customers and distributors.

Character 品德, Capacity 能力, Capital 资本, Collateral 抵押物品, Condition 经济状况 and
Continuity 连续性 are each scored 0..100 from profile data, weighted into a total
(:mod:`rules.scorecards`) and graded A-D by the configuration's cut points. A profile with a
missing dimension is not graded (no guessing of the missing score).
"""

from __future__ import annotations

from .config import (
    SCORE,
    SEGMENTS,
    SIX_C_DIMENSIONS,
    SIX_C_GRADES,
    Names,
    Num,
    Record,
    RulesConfig,
    Table,
    check_descending,
    check_sums_to_one,
)
from .decision_table import CATEGORY, NUMBER, Cond, DecisionTable, Rule, Text, fmt, missing
from .family import LABEL, Output, RuleFamily
from .family import NUMBER as NUMBER_OUTPUT
from .scorecards import NO_PROFILE

__all__ = ["DIMENSION_LABELS", "FAMILY", "SEGMENT_NAMES", "tables"]

#: 6C dimension -> its name in a reason (the textbook's term in Chinese)
DIMENSION_LABELS = {
    "character": Text("character", "品德"),
    "capacity": Text("capacity", "能力"),
    "capital": Text("capital", "资本"),
    "collateral": Text("collateral", "抵押物品"),
    "condition": Text("condition", "经济状况"),
    "continuity": Text("continuity", "连续性"),
}
#: customer segment -> its name in a reason
SEGMENT_NAMES = {
    "consumer": Text("consumer", "个人消费者"),
    "business": Text("business", "企业"),
    "distributor": Text("distributor", "经销商"),
}
_TERM = "6C 分析"


def tables(config: RulesConfig) -> list[DecisionTable]:
    """The 6C grade decision table; its inputs are the weighted score and what is missing."""
    cfg = config.section("six_c")
    cuts = cfg["grade_cut_points"]
    a, b, c = cuts["A"], cuts["B"], cuts["C"]
    out = "six_c_grade"
    applies = cfg["applies_to_segments"]
    others = tuple(s for s in SEGMENTS if s not in applies)
    rules = [
        Rule("six_c.not_applicable", (Cond("segment", "in", others),), {out: "not_assessed"}, Text(
            f"Segment {{segment}}: 6C analysis applies to {' and '.join(applies)} customers",
            f"客户类别为{{segment}}：6C 分析只适用于{'和'.join(SEGMENT_NAMES[s].zh for s in applies)}客户"),
            value_names=SEGMENT_NAMES),
        Rule("six_c.not_assessed.no_profile", (Cond("six_c_missing", "==", NO_PROFILE),), {out: "not_assessed"},
             Text("No 6C profile: 6C grade not assessed", "没有 6C 资料：不评定 6C 等级")),
        Rule("six_c.not_assessed.incomplete", (missing("six_c_score"),), {out: "not_assessed"}, Text(
            "6C profile incomplete (missing: {six_c_missing}): not graded",
            "6C 资料不完整（缺少：{six_c_missing}）：不评定等级"), value_names=DIMENSION_LABELS),
        Rule("six_c.grade_a", (Cond("six_c_score", ">=", a),), {out: "A"}, Text(
            f"Weighted 6C score >= {fmt(a)} -> grade A", f"6C 加权得分 >= {fmt(a)} -> 评为 A 级"), term=_TERM),
        Rule("six_c.grade_b", (Cond("six_c_score", ">=", b),), {out: "B"}, Text(
            f"Weighted 6C score >= {fmt(b)} and < {fmt(a)} -> grade B",
            f"6C 加权得分 >= {fmt(b)} 且 < {fmt(a)} -> 评为 B 级"), term=_TERM),
        Rule("six_c.grade_c", (Cond("six_c_score", ">=", c),), {out: "C"}, Text(
            f"Weighted 6C score >= {fmt(c)} and < {fmt(b)} -> grade C",
            f"6C 加权得分 >= {fmt(c)} 且 < {fmt(b)} -> 评为 C 级"), term=_TERM),
        Rule("six_c.grade_d", (Cond("six_c_score", "<", c),), {out: "D"}, Text(
            f"Weighted 6C score < {fmt(c)} -> grade D", f"6C 加权得分 < {fmt(c)} -> 评为 D 级"), term=_TERM),
    ]
    rules = [r for r in rules if all(cd.op != "in" or cd.value for cd in r.when)]
    inputs = {"segment": CATEGORY, "six_c_score": NUMBER, "six_c_missing": CATEGORY}
    return [DecisionTable("six_c", inputs, rules, (out,))]


def _validate(data, problems: list[str]) -> None:
    check_descending(problems, "six_c.grade_cut_points", SIX_C_GRADES, data["six_c"]["grade_cut_points"])
    check_sums_to_one(problems, "six_c.weights", data["six_c"]["weights"])


FAMILY = RuleFamily(
    name="six_c",
    description="6C analysis (识别客户特性的\"6C\"描述分析) of business customers and distributors",
    outputs=(
        Output("six_c_score", NUMBER_OUTPUT, "weighted 0..100 score of the six dimensions; missing when incomplete"),
        Output("six_c_grade", LABEL, "A, B, C or D by the weighted score; not_assessed without a full profile"),
    ),
    build_tables=tables,
    config_sections={"six_c": Record({
        "applies_to_segments": Names(SEGMENTS),
        "weights": Table(Num(0.0, 1.0), SIX_C_DIMENSIONS, SIX_C_DIMENSIONS, "has no weight for dimension {key!r}"),
        "grade_cut_points": Table(SCORE, SIX_C_GRADES, SIX_C_GRADES, "has no cut point for grade {key!r}"),
    })},
    validate_config=_validate,
    scorecards=("six_c",),
)
