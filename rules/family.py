"""What a rule family declares about itself: its outputs, its configuration and its tables.

Each family module (:mod:`rules.value_tier`, :mod:`rules.retention` ...) ends with one
``FAMILY = RuleFamily(...)``. Everything else that used to list the families by hand is derived
from these declarations through the registry (:mod:`rules.families`): the decision's columns, the
tables the engine builds, the configuration schema and checks, the API's ``Decision`` model and
the scores store's columns.

The types live in their own module, apart from the registry, because the registry imports every
family module and every family module imports these types.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .config import RulesConfig
    from .decision_table import DecisionTable

__all__ = ["LABEL", "NUMBER", "OUTPUT_KINDS", "TEXT", "Output", "RuleFamily"]

#: a short code from a handful of values (``platinum``, ``hot``): stored as a short string
LABEL = "label"
#: a number, missing when not computed (``six_c_score``)
NUMBER = "number"
#: free text for people (``action_text``)
TEXT = "text"
OUTPUT_KINDS = (LABEL, NUMBER, TEXT)

# output, family and section names become SQL column names, pydantic fields and YAML keys: keep
# them plain identifiers so none of those needs quoting
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def _check_name(what: str, name: str) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"{what} {name!r} is not a valid name (lower case letters, digits, _)")


@dataclass(frozen=True)
class Output:
    """One field a family adds to every decision.

    Parameters
    ----------
    name : str
        The decision field, e.g. ``value_tier``.
    kind : str
        :data:`LABEL`, :data:`NUMBER` or :data:`TEXT`: how the API types it and the store keeps it.
    description : str
        One line for people (the docs table, the API schema).
    """

    name: str
    kind: str
    description: str

    def __post_init__(self) -> None:
        _check_name("output", self.name)
        if self.kind not in OUTPUT_KINDS:
            raise ValueError(f"output {self.name!r}: kind {self.kind!r} is not one of {list(OUTPUT_KINDS)}")
        if not self.description.strip():
            raise ValueError(f"output {self.name!r}: needs a one-line description")


@dataclass(frozen=True)
class RuleFamily:
    """A rule family: the one place that says what it decides and what it reads from the configuration.

    Parameters
    ----------
    name : str
        Family name, e.g. ``value_tier``; unique in the registry.
    description : str
        One line for people: what the family decides, with its textbook name.
    outputs : tuple of Output
        Decision fields, in the order they appear in a decision. Fields a family's tables set
        for its own later use (``base_priority``) are not outputs.
    build_tables : callable
        ``build_tables(config) -> list[DecisionTable]``, in evaluation order. A table may read
        the outputs of earlier families.
    config_sections : mapping
        Top-level configuration section -> its shape (the node types of :mod:`rules.config`,
        e.g. ``Record({"cut_points": ...})``). Empty when the family has nothing to configure.
    validate_config : callable, optional
        ``validate_config(data, problems)``: appends one message per inconsistency the shapes
        cannot express (orders, sums). Runs only on a document whose shapes are all valid, so it
        may index ``data`` freely.
    scorecards : tuple of str
        Configuration sections holding ``weights`` of 0..100 criteria: before the tables run,
        the facts ``<name>_<criterion>`` are weighted into ``<name>_score`` and
        ``<name>_missing`` (see :mod:`rules.scorecards`), which the tables may read.
    """

    name: str
    description: str
    outputs: tuple[Output, ...]
    build_tables: Callable[[RulesConfig], list[DecisionTable]]
    config_sections: Mapping[str, Any] = field(default_factory=dict)
    validate_config: Callable[[Mapping, list[str]], None] | None = None
    scorecards: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # catch a bad declaration when the family is defined, not when a customer is decided
        _check_name("family", self.name)
        object.__setattr__(self, "outputs", tuple(self.outputs))
        object.__setattr__(self, "scorecards", tuple(self.scorecards))
        names = [o.name for o in self.outputs]
        if len(set(names)) != len(names):
            raise ValueError(f"family {self.name}: an output is declared twice in {names}")
        for section in self.config_sections:
            _check_name(f"family {self.name}: config section", section)
        for card in self.scorecards:
            if card not in self.config_sections:
                raise ValueError(f"family {self.name}: scorecard {card!r} is not one of its config sections")

    @property
    def output_names(self) -> tuple[str, ...]:
        """The names of :attr:`outputs`, in order."""
        return tuple(o.name for o in self.outputs)
