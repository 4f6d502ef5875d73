"""MAN qualification of prospects (顾客资格审查 M·A·N 法则): Money, Authority, Need.

"A qualified prospect = need + purchasing power + decision authority." Each of the eight
combinations of the three flags has its own outcome; a missing flag gives ``not_assessed``.
"""

from __future__ import annotations

from .config import RulesConfig
from .decision_table import CATEGORY, Cond, DecisionTable, Rule, Text, missing
from .family import LABEL, Output, RuleFamily

__all__ = ["FAMILY", "MAN_TABLE", "MAN_TERM", "tables"]

#: the textbook's name of the qualification, given beside the reasons of its eight outcomes
MAN_TERM = "M·A·N 法则"

#: (money, authority, need) -> (rule id, outcome, reason); the textbook's eight combinations
MAN_TABLE = {
    (True, True, True): ("man.qualified", "qualified", Text(
        "Money, authority and need (M+A+N) -> qualified prospect: pursue now",
        "有购买能力、购买决定权和需求（M+A+N）-> 合格的潜在顾客：立即跟进")),
    (True, True, False): ("man.cultivate_need", "cultivate_need", Text(
        "Money and authority without need (M+A+n) -> cultivate the need",
        "有购买能力和购买决定权，但没有需求（M+A+n）-> 培养需求")),
    (True, False, True): ("man.find_decision_maker", "find_decision_maker", Text(
        "Money and need without authority (M+a+N) -> find the decision maker",
        "有购买能力和需求，但没有购买决定权（M+a+N）-> 找到决策人")),
    (False, True, True): ("man.check_financing", "check_financing", Text(
        "Authority and need without money (m+A+N) -> check credit or financing",
        "有购买决定权和需求，但没有购买能力（m+A+N）-> 核查信用或安排融资")),
    (True, False, False): ("man.low_priority.money_only", "low_priority", Text(
        "Only money (M+a+n) -> low priority, keep warm",
        "只有购买能力（M+a+n）-> 优先级低，保持联系")),
    (False, True, False): ("man.low_priority.authority_only", "low_priority", Text(
        "Only authority (m+A+n) -> low priority, keep warm",
        "只有购买决定权（m+A+n）-> 优先级低，保持联系")),
    (False, False, True): ("man.low_priority.need_only", "low_priority", Text(
        "Only need (m+a+N) -> low priority, keep warm",
        "只有需求（m+a+N）-> 优先级低，保持联系")),
    (False, False, False): ("man.not_prospect", "not_prospect", Text(
        "No money, authority or need (m+a+n) -> not a prospect",
        "没有购买能力、购买决定权和需求（m+a+n）-> 不是潜在顾客")),
}

_FLAGS = ("money", "authority", "need")
# each flag as the textbook names it: Money 购买能力, Authority 购买决定权, Need 需求
_FLAG_NAMES = {
    "money": Text("Money", "购买能力（M）"),
    "authority": Text("Authority", "购买决定权（A）"),
    "need": Text("Need", "需求（N）"),
}


def tables(config: RulesConfig) -> list[DecisionTable]:
    """The MAN decision table (it has no numbers to configure)."""
    rules = [Rule(f"man.not_assessed.{flag}", (missing(flag),), {"man_class": "not_assessed"}, Text(
                  f"{_FLAG_NAMES[flag].en} flag unknown (no profile): MAN qualification not assessed",
                  f"{_FLAG_NAMES[flag].zh}未知（没有资料）：不做 M·A·N 资格审查"))
             for flag in _FLAGS]
    for flags, (rid, outcome, reason) in MAN_TABLE.items():
        rules.append(Rule(rid, tuple(Cond(f, "==", v) for f, v in zip(_FLAGS, flags, strict=True)),
                          {"man_class": outcome}, reason, term=MAN_TERM))
    return [DecisionTable("man", {f: CATEGORY for f in _FLAGS}, rules, ("man_class",))]


FAMILY = RuleFamily(
    name="man",
    description="MAN qualification of prospects (顾客资格审查 M·A·N 法则): money, authority, need",
    outputs=(Output("man_class", LABEL,
                    "qualified, cultivate_need, find_decision_maker, check_financing, low_priority or "
                    "not_prospect; not_assessed when a flag is missing"),),
    build_tables=tables,
    # the textbook fixes the eight combinations: nothing to configure
)
