"""The registry of rule families, in decision order, and everything derived from it.

Each family module declares itself once (``FAMILY``, a :class:`~rules.family.RuleFamily`); this
module lists them in the order the engine decides them and derives from that list what used to
be written out by hand in several places:

* :func:`output_columns`: the decision's columns (``rules.OUTPUT_COLUMNS`` for the packaged
  families);
* :func:`build_tables`: the decision tables the engine registers, in evaluation order;
* :func:`config_sections`: the configuration sections :func:`rules.load_config` expects (it
  validates each family's sections with the family's own shapes and checks);
* :func:`outputs`: name, kind and description of every output, from which the API's
  ``Decision`` model (``serving.api.schemas.decision_model``) and the scores store's columns
  (``serving.store.ScoresStore``) are built;
* :func:`markdown_table`: the docs table of families and their outputs.

Adding a family is one module with a ``FAMILY`` declaration, its section in the configuration
file, and one line in :data:`FAMILIES` (or :func:`register_family` at run time, for an extension
or a test). An engine, a ``Decision`` model or a store built afterwards picks it up; one built
before keeps the families it was built with.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from . import (
    customer_kind,
    distributor,
    lifecycle,
    man,
    purchase_type,
    relationship,
    retention,
    six_c,
    temperature,
    value_tier,
)
from .config import CORE_SECTIONS
from .family import Output, RuleFamily

if TYPE_CHECKING:
    from .config import RulesConfig
    from .decision_table import DecisionTable

__all__ = [
    "FAMILIES",
    "LEADING_COLUMNS",
    "TRAILING_COLUMNS",
    "build_tables",
    "config_sections",
    "family_registered",
    "markdown_table",
    "output_columns",
    "outputs",
    "register_family",
    "registered_families",
    "unregister_family",
]

#: the packaged families, in decision order: a family's tables may read earlier families'
#: outputs (value type reads the tier; retention, last, reads nearly everything)
FAMILIES: tuple[RuleFamily, ...] = (
    value_tier.FAMILY,
    relationship.FAMILY,
    customer_kind.FAMILY,
    lifecycle.FAMILY,
    temperature.FAMILY,
    purchase_type.FAMILY,
    man.FAMILY,
    six_c.FAMILY,
    distributor.FAMILY,
    retention.FAMILY,
)

#: decision columns before the families' outputs
LEADING_COLUMNS = ("customer_id",)
#: decision columns after them, set by the engine itself: the priority (the retention family's
#: base priority plus its adjustments), the reasons of every table that fired, the rules version
TRAILING_COLUMNS = ("priority", "reasons", "rules_version")

_LOCK = threading.Lock()
_registry: list[RuleFamily] = list(FAMILIES)


def registered_families() -> tuple[RuleFamily, ...]:
    """The families in force now, in decision order (a snapshot: later registrations do not change it)."""
    with _LOCK:
        return tuple(_registry)


def _check_fits(family: RuleFamily, others: Sequence[RuleFamily]) -> None:
    """Raise when ``family`` would clash with ``others`` on a name, an output or a config section."""
    taken_outputs = {o for f in others for o in f.output_names} | set(LEADING_COLUMNS) | set(TRAILING_COLUMNS)
    taken_sections = {s for f in others for s in f.config_sections} | set(CORE_SECTIONS)
    if any(f.name == family.name for f in others):
        raise ValueError(f"a rule family named {family.name!r} is already registered")
    for name in family.output_names:
        if name in taken_outputs:
            raise ValueError(f"family {family.name}: output {name!r} is already a decision column")
    for section in family.config_sections:
        if section in taken_sections:
            raise ValueError(f"family {family.name}: config section {section!r} already belongs to another family")


def register_family(family: RuleFamily, *, before: str | None = None) -> None:
    """Add a family to the registry.

    Parameters
    ----------
    family : RuleFamily
    before : str, optional
        Name of a registered family to decide it before, so that family's tables can read its
        outputs (e.g. ``before="retention"`` to let the retention decision use them). By default
        it is decided last.

    Raises
    ------
    ValueError
        Its name, an output or a config section is already taken, or ``before`` is unknown.
    """
    with _LOCK:
        _check_fits(family, _registry)
        if before is None:
            _registry.append(family)
            return
        names = [f.name for f in _registry]
        if before not in names:
            raise ValueError(f"no registered rule family named {before!r} to register {family.name!r} before")
        _registry.insert(names.index(before), family)


def unregister_family(name: str) -> RuleFamily:
    """Remove a family from the registry and return it.

    Raises
    ------
    KeyError
        No family of that name is registered.
    """
    with _LOCK:
        for i, family in enumerate(_registry):
            if family.name == name:
                return _registry.pop(i)
    raise KeyError(f"no registered rule family named {name!r}")


@contextlib.contextmanager
def family_registered(family: RuleFamily, *, before: str | None = None) -> Iterator[RuleFamily]:
    """Register ``family`` for the duration of a ``with`` block (tests, experiments)."""
    register_family(family, before=before)
    try:
        yield family
    finally:
        unregister_family(family.name)


# --------------------------------------------------------------------------------------------
# derived
# --------------------------------------------------------------------------------------------
def _families(families: Sequence[RuleFamily] | None) -> tuple[RuleFamily, ...]:
    return registered_families() if families is None else tuple(families)


def outputs(families: Sequence[RuleFamily] | None = None) -> tuple[Output, ...]:
    """Every family output, in decision order (default: the registered families)."""
    return tuple(o for f in _families(families) for o in f.outputs)


def output_columns(families: Sequence[RuleFamily] | None = None) -> tuple[str, ...]:
    """The decision's columns: ``customer_id``, the families' outputs, priority, reasons, version."""
    return (*LEADING_COLUMNS, *(o.name for o in outputs(families)), *TRAILING_COLUMNS)


def config_sections(families: Sequence[RuleFamily] | None = None) -> tuple[str, ...]:
    """The configuration's sections, in file order: ``version``, the families' sections, ``facts``."""
    return (CORE_SECTIONS[0], *(s for f in _families(families) for s in f.config_sections), *CORE_SECTIONS[1:])


def build_tables(config: RulesConfig, families: Sequence[RuleFamily] | None = None) -> list[DecisionTable]:
    """All decision tables of a configuration, in evaluation order.

    Also checks what the declarations cannot check alone: table names are unique across
    families (they name the durable-rules rulesets), and every declared output is set by one of
    the family's tables or scorecards.

    Raises
    ------
    ValueError
        A family's declaration and its tables disagree.
    """
    out: list[DecisionTable] = []
    seen: dict[str, str] = {}
    for family in _families(families):
        tables = list(family.build_tables(config))
        made = {o for t in tables for o in t.outputs} | {f"{card}_score" for card in family.scorecards}
        for name in family.output_names:
            if name not in made:
                raise ValueError(f"family {family.name}: output {name!r} is set by none of its tables or scorecards")
        for table in tables:
            if table.name in seen:
                raise ValueError(f"family {family.name}: table {table.name!r} is also a table of family "
                                 f"{seen[table.name]}")
            seen[table.name] = family.name
        out.extend(tables)
    return out


def markdown_table(families: Sequence[RuleFamily] | None = None) -> str:
    """The families and their outputs as a Markdown table (for the README's "Rule families").

    One row per output, in decision order; the family's name and description head its first row.
    """
    lines = ["| Family | Output | Kind | Description |", "|---|---|---|---|"]
    for family in _families(families):
        for i, o in enumerate(family.outputs):
            head = f"`{family.name}`: {family.description}" if i == 0 else ""
            lines.append(f"| {_cell(head)} | `{o.name}` | {o.kind} | {_cell(o.description)} |")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    # a pipe would end the cell early
    return text.replace("|", "\\|")
