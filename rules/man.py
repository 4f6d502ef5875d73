"""MAN qualification of prospects (顾客资格审查 M·A·N 法则): Money, Authority, Need.

"A qualified prospect = need + purchasing power + decision authority." Each of the eight
combinations of the three flags has its own outcome; a missing flag gives ``not_assessed``.
"""

from __future__ import annotations

from .config import RulesConfig
from .decision_table import CATEGORY, Cond, DecisionTable, Rule, missing
from .family import LABEL, Output, RuleFamily

__all__ = ["FAMILY", "MAN_TABLE", "tables"]

#: (money, authority, need) -> (rule id, outcome, reason); the textbook's eight combinations
MAN_TABLE = {
    (True, True, True): ("man.qualified", "qualified",
                         "Money, authority and need (M+A+N) -> qualified prospect: pursue now"),
    (True, True, False): ("man.cultivate_need", "cultivate_need",
                          "Money and authority without need (M+A+n) -> cultivate the need"),
    (True, False, True): ("man.find_decision_maker", "find_decision_maker",
                          "Money and need without authority (M+a+N) -> find the decision maker"),
    (False, True, True): ("man.check_financing", "check_financing",
                          "Authority and need without money (m+A+N) -> check credit or financing"),
    (True, False, False): ("man.low_priority.money_only", "low_priority",
                           "Only money (M+a+n) -> low priority, keep warm"),
    (False, True, False): ("man.low_priority.authority_only", "low_priority",
                           "Only authority (m+A+n) -> low priority, keep warm"),
    (False, False, True): ("man.low_priority.need_only", "low_priority",
                           "Only need (m+a+N) -> low priority, keep warm"),
    (False, False, False): ("man.not_prospect", "not_prospect",
                            "No money, authority or need (m+a+n) -> not a prospect"),
}

_FLAGS = ("money", "authority", "need")


def tables(config: RulesConfig) -> list[DecisionTable]:
    """The MAN decision table (it has no numbers to configure)."""
    rules = [Rule(f"man.not_assessed.{flag}", (missing(flag),), {"man_class": "not_assessed"},
                  f"{flag.capitalize()} flag unknown (no profile): MAN qualification not assessed")
             for flag in _FLAGS]
    for flags, (rid, outcome, reason) in MAN_TABLE.items():
        rules.append(Rule(rid, tuple(Cond(f, "==", v) for f, v in zip(_FLAGS, flags, strict=True)),
                          {"man_class": outcome}, reason))
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
