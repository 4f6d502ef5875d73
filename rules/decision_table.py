"""Declarative rules: conditions, rules and first-match decision tables.

A rule family (value tier, MAN, 6C ...) is written as one or more :class:`DecisionTable` s: an
ordered list of :class:`Rule` s, each with an id, a condition (a conjunction of
:class:`Cond` comparisons), an outcome and a one-line reason. The table is executed by the
durable-rules engine (see :mod:`rules.engine`): the first rule, in order, whose condition holds
fires, and the reason it gives is returned with the decision.

Why first-match: durable-rules consumes an event with the first rule that fires; giving each
rule a salience (``pri``) equal to its position makes the engine behave as an ordered decision
table, which is how business people read one ("if ... else if ...").

Conditions use only ``<``, ``<=``, ``>``, ``>=``, ``==``, ``!=`` and ``in`` against constants
from the configuration, and ``== None`` for "the field is missing". That restriction is what
makes the batch fast path exact: a numeric input only matters through which side of each
constant it falls, so customers can be grouped by those cells (see :mod:`rules.banding`).
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["CATEGORY", "NUMBER", "Cond", "DecisionTable", "Rule", "fmt", "missing"]

#: input kinds of a decision table: numbers are grouped by cells, categories by value
NUMBER = "number"
CATEGORY = "category"

_OPS = {"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte", "!=": "$neq"}


def fmt(value: float) -> str:
    """A configuration number as people write it: ``0.95``, ``80``, ``1.1``."""
    return f"{value:g}"


@dataclass(frozen=True)
class Cond:
    """One comparison of an input field with a constant.

    Parameters
    ----------
    field : str
        Input field name.
    op : str
        ``<``, ``<=``, ``>``, ``>=``, ``==``, ``!=`` or ``in``; ``== None`` means missing.
    value : Any
        The constant (a tuple for ``in``).
    """

    field: str
    op: str
    value: Any

    def __post_init__(self) -> None:
        if self.op not in _OPS and self.op not in ("==", "in"):
            raise ValueError(f"unsupported operator {self.op!r}")
        if self.op == "in" and not isinstance(self.value, tuple):
            object.__setattr__(self, "value", tuple(self.value))

    def to_durable(self) -> dict:
        """The condition in durable-rules' JSON rule language."""
        if self.op == "==":
            return {self.field: self.value}
        if self.op == "in":
            if len(self.value) == 1:
                return {self.field: self.value[0]}
            return {"$or": [{self.field: v} for v in self.value]}
        return {_OPS[self.op]: {self.field: self.value}}


def missing(field_name: str) -> Cond:
    """Condition: the field is missing."""
    return Cond(field_name, "==", None)


@dataclass(frozen=True)
class Rule:
    """One row of a decision table.

    Parameters
    ----------
    id : str
        Stable rule id, e.g. ``tier.platinum``; returned in the decision's reasons.
    when : tuple of Cond
        All must hold (an empty tuple always holds: a catch-all).
    then : mapping
        Output fields set when the rule fires.
    reason : str
        One line in plain language. It may name categorical inputs in braces
        (``{six_c_missing}``), filled from the customer's facts when the rule fires; numbers are
        never filled in, so that a reason depends only on the cells the fast path groups by.
    """

    id: str
    when: tuple[Cond, ...]
    then: Mapping[str, Any]
    reason: str

    def reason_fields(self) -> tuple[str, ...]:
        """Input fields the reason text refers to."""
        return tuple(name for _, name, _, _ in string.Formatter().parse(self.reason) if name)


@dataclass(frozen=True)
class DecisionTable:
    """An ordered, first-match decision table run as one durable-rules ruleset.

    Parameters
    ----------
    name : str
        Table name, e.g. ``value_tier``; part of the ruleset name and of every event.
    inputs : mapping
        Input field -> :data:`NUMBER` or :data:`CATEGORY`. Rules may read only these fields;
        the fast path groups customers by them.
    rules : sequence of Rule
        In priority order.
    outputs : tuple of str
        Fields the rules set; every rule sets all of them.
    optional : bool
        True when a customer may match no rule (the table then sets nothing and gives no
        reason), e.g. a priority adjustment that applies to few customers.
    """

    name: str
    inputs: Mapping[str, str]
    rules: Sequence[Rule]
    outputs: tuple[str, ...]
    optional: bool = False

    def __post_init__(self) -> None:
        # catch mistakes in rule definitions when the rules are built, not when a customer hits them
        ids = [r.id for r in self.rules]
        if len(set(ids)) != len(ids):
            raise ValueError(f"table {self.name}: duplicate rule ids")
        for r in self.rules:
            for c in r.when:
                if c.field not in self.inputs:
                    raise ValueError(f"rule {r.id}: field {c.field!r} is not an input of table {self.name}")
                if self.inputs[c.field] == NUMBER and c.op == "in":
                    raise ValueError(f"rule {r.id}: 'in' is for categories, not numbers")
            for name in r.reason_fields():
                if self.inputs.get(name) != CATEGORY:
                    raise ValueError(f"rule {r.id}: its reason may only name categorical inputs, not {name!r}")
            if set(r.then) != set(self.outputs):
                raise ValueError(f"rule {r.id}: sets {sorted(r.then)}, table {self.name} outputs {list(self.outputs)}")

    def thresholds(self, field_name: str) -> list[float]:
        """The constants numeric conditions compare ``field_name`` with (sorted, unique)."""
        if self.inputs.get(field_name) != NUMBER:
            return []
        values = {c.value for r in self.rules for c in r.when
                  if c.field == field_name and c.value is not None and c.op != "in"}
        return sorted(float(v) for v in values)
