"""6C analysis (识别客户特性的"6C"描述分析) of business customers and distributors.

Character 品德, Capacity 能力, Capital 资本, Collateral 抵押物品, Condition 经济状况 and
Continuity 连续性 are each scored 0..100 from profile data, weighted into a total
(:mod:`rules.scoring`) and graded A-D by the configuration's cut points. A profile with a
missing dimension is not graded (no guessing of the missing score).
"""

from __future__ import annotations

from .config import SEGMENTS, RulesConfig
from .decision_table import CATEGORY, NUMBER, Cond, DecisionTable, Rule, fmt, missing
from .scoring import NO_PROFILE

__all__ = ["DIMENSION_LABELS", "tables"]

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
