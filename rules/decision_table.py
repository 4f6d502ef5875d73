"""Declarative rules: conditions, rules and first-match decision tables.

A rule family (value tier, MAN, 6C ...) is written as one or more :class:`DecisionTable` s: an
ordered list of :class:`Rule` s, each with an id, a condition (a conjunction of
:class:`Cond` comparisons), an outcome and a one-line reason (a :class:`Text`: in English and in
Chinese, the language chosen when a customer is decided). The table is executed by the
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
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CATEGORY",
    "DEFAULT_LANG",
    "LANGUAGES",
    "NUMBER",
    "Cond",
    "DecisionTable",
    "Rule",
    "Text",
    "check_lang",
    "fmt",
    "missing",
]

#: input kinds of a decision table: numbers are grouped by cells, categories by value
NUMBER = "number"
CATEGORY = "category"

#: languages of reasons and action texts: plain English, and Chinese with the textbook's terms
LANGUAGES = ("en", "zh")
DEFAULT_LANG = "en"
# how a list value filled into a reason (``capacity, collateral``) is joined in each language;
# the facts join lists with the English separator (see rules.scorecards.missing_names)
_LIST_SEPARATOR = {"en": ", ", "zh": "、"}

_OPS = {"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte", "!=": "$neq"}


def fmt(value: float) -> str:
    """A configuration number as people write it: ``0.95``, ``80``, ``1.1``."""
    return f"{value:g}"


def check_lang(lang: str) -> str:
    """``lang`` itself when it is one of :data:`LANGUAGES`.

    Raises
    ------
    ValueError
        Naming the language and the ones there are.
    """
    if lang not in LANGUAGES:
        raise ValueError(f"language {lang!r}: expected one of {', '.join(LANGUAGES)}")
    return lang


def _fields(template: str) -> tuple[str, ...]:
    return tuple(name for _, name, _, _ in string.Formatter().parse(template) if name)


@dataclass(frozen=True)
class Text:
    """One text for people in every language of :data:`LANGUAGES`.

    Parameters
    ----------
    en : str
        Plain English, without Chinese glosses.
    zh : str
        A full Chinese sentence with the textbook's terms.
    """

    en: str
    zh: str

    def __post_init__(self) -> None:
        for lang in LANGUAGES:
            if not isinstance(getattr(self, lang), str) or not getattr(self, lang).strip():
                raise ValueError(f"text {self.en!r}: its {lang} text must be a non-empty string")

    @classmethod
    def same(cls, text: str) -> Text:
        """A text that reads the same in every language (a rule written in one language only)."""
        return cls(en=text, zh=text)

    def get(self, lang: str) -> str:
        """The text in ``lang`` (one of :data:`LANGUAGES`)."""
        return getattr(self, check_lang(lang))


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
        Output fields set when the rule fires; a text for people (``action_text``) is a
        :class:`Text`, given in the language the customer is decided in.
    reason : Text or str
        One line in English and in Chinese (a plain ``str`` reads the same in both: a rule of a
        family written in one language). It may name categorical inputs in braces
        (``{six_c_missing}``), filled from the customer's facts when the rule fires; numbers are
        never filled in, so that a reason depends only on the cells the fast path groups by.
    term : str, optional
        The textbook's Chinese term for what the rule decides (``重点维系``), given beside the
        reason in every language.
    value_names : mapping, optional
        Names of the categorical values a reason fills in (``collateral`` -> 抵押物品), per
        language; a value without a name is shown as it is. A list value (``capacity,
        collateral``) is named item by item and joined as the language joins lists (``、``).
    """

    id: str
    when: tuple[Cond, ...]
    then: Mapping[str, Any]
    reason: Text | str
    term: str | None = None
    value_names: Mapping[str, Text] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.reason, str):
            object.__setattr__(self, "reason", Text.same(self.reason))
        if self.term is not None and not (isinstance(self.term, str) and self.term.strip()):
            raise ValueError(f"rule {self.id}: its term must be a non-empty string or None")

    def reason_fields(self, lang: str | None = None) -> tuple[str, ...]:
        """Input fields the reason text refers to (in ``lang``; default: in any language)."""
        if lang is not None:
            return _fields(self.reason.get(lang))
        return tuple(dict.fromkeys(name for lg in LANGUAGES for name in _fields(self.reason.get(lg))))

    def text(self, lang: str, values: Mapping[str, Any]) -> str:
        """The reason in ``lang``, its fields filled from ``values`` (the facts the rule saw)."""
        template = self.reason.get(lang)
        fields = _fields(template)
        if not fields:
            return template
        return template.format(**{f: self._value_name(values.get(f), lang) for f in fields})

    def _value_name(self, value: Any, lang: str) -> Any:
        if not isinstance(value, str):
            return value
        # the facts join list values (the missing 6C dimensions) with the English separator
        items = value.split(_LIST_SEPARATOR["en"])
        named = [self.value_names[v].get(lang) if v in self.value_names else v for v in items]
        return _LIST_SEPARATOR[lang].join(named)


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
            for lang in LANGUAGES:
                for name in r.reason_fields(lang):
                    if self.inputs.get(name) != CATEGORY:
                        raise ValueError(f"rule {r.id}: its {lang} reason may only name categorical inputs, "
                                         f"not {name!r}")
            for lang in LANGUAGES:
                if set(r.reason_fields(lang)) != set(r.reason_fields()):
                    # a translation that drops a field would say less than the other language
                    raise ValueError(f"rule {r.id}: its {lang} reason names {sorted(r.reason_fields(lang))}, "
                                     f"its reasons together name {sorted(r.reason_fields())}")
            if set(r.then) != set(self.outputs):
                raise ValueError(f"rule {r.id}: sets {sorted(r.then)}, table {self.name} outputs {list(self.outputs)}")

    def thresholds(self, field_name: str) -> list[float]:
        """The constants numeric conditions compare ``field_name`` with (sorted, unique)."""
        if self.inputs.get(field_name) != NUMBER:
            return []
        values = {c.value for r in self.rules for c in r.when
                  if c.field == field_name and c.value is not None and c.op != "in"}
        return sorted(float(v) for v in values)
