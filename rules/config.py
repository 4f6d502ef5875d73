"""The rules configuration: loading, full validation and comparison of two versions.

Every business number the rules use (thresholds, weights, cut points, priorities, action texts)
lives in one YAML file with a ``version`` string; :func:`load_config` reads it and validates it
completely before anything uses it. A bad file raises :class:`ConfigError` whose message names
the file, the key and the problem, e.g.::

    rules config /path/x.yaml: key 'value_tier.cut_points.gold' = 0.99 must be below
    'value_tier.cut_points.platinum' = 0.95

The schema holds only *shapes* (which keys, which types, which names are allowed); the numbers
themselves are in the file. Each rule family declares the shapes of its own sections and checks
their meaning (orders, sums) in its module (see :mod:`rules.family`); this module owns the node
types, the ``version`` and ``facts`` sections, and assembles the whole document's schema from the
families registered when a file is validated (:mod:`rules.families`).
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "ACTION",
    "ACTION_CODE",
    "CHURN_BANDS",
    "CORE_SECTIONS",
    "DAYS",
    "MAN_CLASSES",
    "PROBABILITY",
    "SCORE",
    "SIX_C_DIMENSIONS",
    "TIERS",
    "TREND",
    "ConfigError",
    "Names",
    "Num",
    "Opt",
    "Record",
    "RulesConfig",
    "Str",
    "Table",
    "check_below",
    "check_descending",
    "check_sums_to_one",
    "config_from_mapping",
    "default_config_path",
    "diff_configs",
    "load_config",
]

#: value tiers from the top of the pyramid down (客户金字塔)
TIERS = ("platinum", "gold", "iron", "lead")
#: churn risk bands from the lowest risk up; ``unknown`` is the action when churn is missing
CHURN_BANDS = ("low", "medium", "high", "critical")
#: MAN outcomes (顾客资格审查 M·A·N 法则), plus not_assessed when a flag is missing
MAN_CLASSES = ("qualified", "cultivate_need", "find_decision_maker", "check_financing",
               "low_priority", "not_prospect", "not_assessed")
SIX_C_DIMENSIONS = ("character", "capacity", "capital", "collateral", "condition", "continuity")
SIX_C_GRADES = ("A", "B", "C")
SEGMENTS = ("consumer", "business", "distributor")
VALUE_TYPES = ("maintain", "develop", "retain")
RELATIONSHIP_TYPES = ("partner", "functional", "emotional", "acquaintance")
CUSTOMER_KINDS = ("transactional", "relationship")
TEMPERATURES = ("hot", "warm", "cold")

# weights are written with two or three decimals by people; anything closer than this to 1 is 1
_WEIGHT_TOLERANCE = 1e-9
ACTION_CODE = re.compile(r"^[a-z][a-z0-9_]*$")


class ConfigError(ValueError):
    """A rules configuration that cannot be used; the message names the key and the problem."""


# --------------------------------------------------------------------------------------------
# schema: shapes only (each family declares the shape of its own sections with these nodes)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Num:
    """A number (bool is not a number here), optionally bounded (inclusive)."""

    lo: float | None = None
    hi: float | None = None
    integer: bool = False


@dataclass(frozen=True)
class Str:
    """A non-empty string, optionally matching ``pattern`` (``what`` says what is expected)."""

    pattern: re.Pattern | None = None
    what: str = "a non-empty string"


@dataclass(frozen=True)
class Names:
    """A list of names drawn from ``allowed`` (no duplicates)."""

    allowed: tuple[str, ...]


@dataclass(frozen=True)
class Opt:
    """A key of a :class:`Record` that may be left out; when present its value has the shape ``value``."""

    value: Any


@dataclass(frozen=True)
class Record:
    """A mapping with exactly these keys (all required, but those whose shape is an :class:`Opt`)."""

    fields: Mapping[str, Any]


@dataclass(frozen=True)
class Table:
    """A mapping whose keys come from ``keys`` (``None``: any identifier) to one value shape.

    ``required`` keys must all be present; the message for a missing one is ``missing``
    formatted with ``key``.
    """

    value: Any
    keys: tuple[str, ...] | None = None
    required: tuple[str, ...] = ()
    missing: str = "has no entry for {key!r}"


PROBABILITY = Num(0.0, 1.0)
SCORE = Num(0.0, 100.0)
DAYS = Num(0.0, None)
TREND = Num(0.0, None)
ACTION = Record({
    "action": Str(ACTION_CODE, "an action code (lower case letters, digits, _)"),
    "priority": Num(),
    "text": Str(),
    # the text in Chinese (crmid score --lang zh); without it Chinese decisions show the English text
    "text_zh": Opt(Str()),
})

# the sections that belong to no rule family: the version every decision carries, the facts
# policy serving reads, and the input bounds of the data contract (the rule families' sections
# come from the registry, rules.families)
_CORE_HEAD = {"version": Str()}
_CORE_TAIL = {
    "facts": Record({
        "clv_max_lifetime_days": Num(1.0, None),
        "spend_trend_window_days": Num(1.0, None, integer=True),
        "loyalty": Record({
            "weights": Table(Num(0.0, 1.0), ("tenure", "regularity", "retention"),
                             ("tenure", "regularity", "retention"), "has no weight for {key!r}"),
            "full_tenure_days": Num(1.0, None),
            "regularity_when_unknown": PROBABILITY,
        }),
    }),
    # the data contract's bounds, read by the batch job and the API when they validate transactions
    "input": Record({"max_abs_amount": Num(0.0, None)}),
}
CORE_SECTIONS = (*_CORE_HEAD, *_CORE_TAIL)


def _schema(families) -> Record:
    """The whole document's shape: version, each family's sections in decision order, facts."""
    sections = dict(_CORE_HEAD)
    for family in families:
        sections.update(family.config_sections)
    sections.update(_CORE_TAIL)
    return Record(sections)


def _is_number(value: Any) -> bool:
    # YAML gives bool for yes/no/true/false; a flag is never a threshold
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_shape(value: Any, spec: Any, key: str, problems: list[str]) -> None:
    """Append one message per shape problem under ``key`` (a dotted path) to ``problems``."""
    shown = f"key {key!r} = {value!r}"
    if isinstance(spec, Num):
        if not _is_number(value) or (isinstance(value, float) and not math.isfinite(value)):
            problems.append(f"{shown} must be a {'whole ' if spec.integer else ''}number")
        elif spec.integer and int(value) != value:
            problems.append(f"{shown} must be a whole number")
        elif spec.lo is not None and value < spec.lo:
            problems.append(f"{shown} must be at least {spec.lo:g}")
        elif spec.hi is not None and value > spec.hi:
            problems.append(f"{shown} must be at most {spec.hi:g}")
    elif isinstance(spec, Str):
        if (not isinstance(value, str) or not value.strip()
                or (spec.pattern is not None and not spec.pattern.match(value))):
            problems.append(f"{shown} must be {spec.what}")
    elif isinstance(spec, Names):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append(f"{shown} must be a list of names from {list(spec.allowed)}")
            return
        for name in value:
            if name not in spec.allowed:
                problems.append(f"{shown}: unknown name {name!r}, expected one of {list(spec.allowed)}")
        if len(set(value)) != len(value):
            problems.append(f"{shown} lists a name twice")
    elif isinstance(spec, Record):
        if not isinstance(value, Mapping):
            problems.append(f"{shown} must be a mapping with keys {list(spec.fields)}")
            return
        for name in value:
            if name not in spec.fields:
                problems.append(f"unknown key {_join(key, name)!r}")
        for name, sub in spec.fields.items():
            if name in value:
                _check_shape(value[name], sub, _join(key, name), problems)
            elif not isinstance(sub, Opt):
                problems.append(f"missing key {_join(key, name)!r}")
    elif isinstance(spec, Opt):
        _check_shape(value, spec.value, key, problems)
    elif isinstance(spec, Table):
        if not isinstance(value, Mapping):
            problems.append(f"{shown} must be a mapping")
            return
        for name, sub in value.items():
            if spec.keys is not None and name not in spec.keys:
                problems.append(f"unknown key {_join(key, str(name))!r}, expected one of {list(spec.keys)}")
            elif spec.keys is None and not (isinstance(name, str) and ACTION_CODE.match(name)):
                problems.append(f"key {_join(key, str(name))!r} is not a valid name (lower case letters, digits, _)")
            else:
                _check_shape(sub, spec.value, _join(key, name), problems)
        for name in spec.required:
            if name not in value:
                problems.append(f"{key!r} " + spec.missing.format(key=name))
    else:  # pragma: no cover - a programming error in the schema itself
        raise TypeError(f"unknown schema node {spec!r}")


def _join(key: str, name: str) -> str:
    return f"{key}.{name}" if key else name


# --------------------------------------------------------------------------------------------
# meaning: orders, sums and completeness the shapes cannot express. Each family checks its own
# sections with these helpers (its ``validate_config``); each appends one message per problem.
# --------------------------------------------------------------------------------------------
def check_descending(problems: list[str], prefix: str, names: tuple[str, ...], values: Mapping) -> None:
    """Each of ``names`` (highest first) must have a strictly lower value than the one before it."""
    for upper, lower in itertools.pairwise(names):
        if not values[lower] < values[upper]:
            problems.append(f"key '{prefix}.{lower}' = {values[lower]!r} must be below "
                            f"'{prefix}.{upper}' = {values[upper]!r}")


def check_below(problems: list[str], a_key: str, a: float, b_key: str, b: float, strict: bool = True) -> None:
    """``a`` must be below ``b`` (at most ``b`` when not ``strict``)."""
    if not (a < b if strict else a <= b):
        word = "below" if strict else "at most"
        problems.append(f"key {a_key!r} = {a!r} must be {word} {b_key!r} = {b!r}")


def check_sums_to_one(problems: list[str], key: str, weights: Mapping) -> None:
    """Weights must sum to 1 (within the rounding of numbers people write)."""
    total = sum(weights.values())
    if abs(total - 1.0) > _WEIGHT_TOLERANCE:
        problems.append(f"{key!r} sum to {round(total, 9):g}, expected 1.0")


def _check_core_meaning(data: Mapping, problems: list[str]) -> None:
    check_sums_to_one(problems, "facts.loyalty.weights", data["facts"]["loyalty"]["weights"])


# --------------------------------------------------------------------------------------------
# the loaded configuration
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RulesConfig:
    """A validated rules configuration.

    Attributes
    ----------
    data : dict
        The configuration as read (a private deep copy; do not modify).
    path : str or None
        The file it came from.
    digest : str
        SHA-256 of the canonical content: two files with the same rules have the same digest.
    """

    data: dict
    path: str | None = None
    digest: str = field(default="")

    @property
    def version(self) -> str:
        """The configuration's ``version`` string, carried by every decision."""
        return self.data["version"]

    def section(self, name: str) -> dict:
        """One top-level section, e.g. ``config.section('value_tier')``."""
        return self.data[name]


def default_config_path() -> Path:
    """Path of the packaged default configuration (``rules/config/default.yaml``)."""
    return Path(str(resources.files("crmid.rules").joinpath("config", "default.yaml")))


def config_from_mapping(data: Any, *, source: str = "<mapping>") -> RulesConfig:
    """Validate an already parsed configuration.

    Parameters
    ----------
    data : mapping
        The parsed YAML document.
    source : str
        What to call it in error messages (usually the file path).

    Raises
    ------
    ConfigError
        Listing every problem found, each naming its key.
    """
    # imported here, not at the top: the registry imports the family modules, which import this
    # module for its shapes and vocabularies
    from .families import registered_families

    families = registered_families()
    problems: list[str] = []
    _check_shape(data, _schema(families), "", problems)
    if not problems:
        # the meaning checks index freely: they run only on a shape-valid document
        for family in families:
            if family.validate_config is not None:
                family.validate_config(data, problems)
        _check_core_meaning(data, problems)
    if problems:
        head = f"rules config {source}: "
        raise ConfigError(head + problems[0] if len(problems) == 1
                          else head + f"{len(problems)} problems:\n  " + "\n  ".join(problems))
    data = copy.deepcopy(dict(data))
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False)
    return RulesConfig(data=data, path=None if source.startswith("<") else source,
                       digest=hashlib.sha256(canonical.encode()).hexdigest())


def load_config(path: str | Path | None = None) -> RulesConfig:
    """Read and fully validate a rules configuration file.

    Parameters
    ----------
    path : str or pathlib.Path, optional
        YAML file; ``None`` loads the packaged default (:func:`default_config_path`).

    Returns
    -------
    RulesConfig

    Raises
    ------
    ConfigError
        The file is missing, is not YAML, or does not validate; the message names the file, the
        key and the problem.
    """
    path = Path(path) if path is not None else default_config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"rules config {path}: cannot read the file ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"rules config {path}: byte {exc.start} is not UTF-8 ({exc.reason}); save the file as "
                          "UTF-8") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"rules config {path}: not valid YAML ({exc})") from exc
    if not isinstance(data, Mapping):
        raise ConfigError(f"rules config {path}: the file must hold a mapping of sections, got {type(data).__name__}")
    return config_from_mapping(data, source=str(path))


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, _join(prefix, str(k))))
        return out
    return {prefix: value}


def diff_configs(old: RulesConfig, new: RulesConfig) -> list[str]:
    """What changes from ``old`` to ``new``, one readable line per changed key.

    Returns
    -------
    list of str
        E.g. ``"value_tier.cut_points.platinum: 0.95 -> 0.9"``, ``"added ..."``, ``"removed ..."``;
        empty when the rules are the same.
    """
    a, b = _flatten(old.data), _flatten(new.data)
    lines = []
    for key in sorted(set(a) | set(b)):
        if key not in b:
            lines.append(f"removed {key} (was {a[key]!r})")
        elif key not in a:
            lines.append(f"added {key} = {b[key]!r}")
        elif a[key] != b[key]:
            lines.append(f"{key}: {a[key]!r} -> {b[key]!r}")
    return lines
