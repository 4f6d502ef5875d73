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
from .decision_table import CATEGORY, NUMBER, Cond, DecisionTable, Rule, fmt, missing
from .family import LABEL, Output, RuleFamily
from .family import NUMBER as NUMBER_OUTPUT
from .scorecards import NO_PROFILE

__all__ = ["DIMENSION_LABELS", "FAMILY", "tables"]

DIMENSION_LABELS = {
    "character": "character 品德",
    "capacity": "capacity 能力",
    "capital": "capital 资本",
    "collateral": "collateral 抵押物品",
    "condition": "condition 经济状况",
    "continuity": "continuity 连续性",
}


def tables(config: RulesConfig) -> list[DecisionTable]:
    """The 6C grade decision table; its inputs are the weighted score and what is missing."""
    cfg = config.section("six_c")
    cuts = cfg["grade_cut_points"]
    a, b, c = cuts["A"], cuts["B"], cuts["C"]
    out = "six_c_grade"
    others = tuple(s for s in SEGMENTS if s not in cfg["applies_to_segments"])
    rules = [
        Rule("six_c.not_applicable", (Cond("segment", "in", others),), {out: "not_assessed"},
             f"Segment {{segment}}: 6C analysis applies to {' and '.join(cfg['applies_to_segments'])} customers"),
        Rule("six_c.not_assessed.no_profile", (Cond("six_c_missing", "==", NO_PROFILE),), {out: "not_assessed"},
             "No 6C profile: 6C grade not assessed"),
        Rule("six_c.not_assessed.incomplete", (missing("six_c_score"),), {out: "not_assessed"},
             "6C profile incomplete (missing: {six_c_missing}): not graded"),
        Rule("six_c.grade_a", (Cond("six_c_score", ">=", a),), {out: "A"},
             f"Weighted 6C score >= {fmt(a)} -> grade A"),
        Rule("six_c.grade_b", (Cond("six_c_score", ">=", b),), {out: "B"},
             f"Weighted 6C score >= {fmt(b)} and < {fmt(a)} -> grade B"),
        Rule("six_c.grade_c", (Cond("six_c_score", ">=", c),), {out: "C"},
             f"Weighted 6C score >= {fmt(c)} and < {fmt(b)} -> grade C"),
        Rule("six_c.grade_d", (Cond("six_c_score", "<", c),), {out: "D"},
             f"Weighted 6C score < {fmt(c)} -> grade D"),
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
