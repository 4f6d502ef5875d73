"""The rules configuration: loading, full validation and comparison of two versions.

Every business number the rules use (thresholds, weights, cut points, priorities, action texts)
lives in one YAML file with a ``version`` string; :func:`load_config` reads it and validates it
completely before anything uses it. A bad file raises :class:`ConfigError` whose message names
the file, the key and the problem, e.g.::

    rules config /path/x.yaml: key 'value_tier.cut_points.gold' = 0.99 must be below
    'value_tier.cut_points.platinum' = 0.95

The schema below holds only *shapes* (which keys, which types, which names are allowed); the
numbers themselves are in the file.
"""

from __future__ import annotations

import copy
import hashlib
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
    "ConfigError",
    "RulesConfig",
    "TIERS",
    "CHURN_BANDS",
    "MAN_CLASSES",
    "SIX_C_DIMENSIONS",
    "default_config_path",
    "load_config",
    "config_from_mapping",
    "diff_configs",
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
_ACTION_CODE = re.compile(r"^[a-z][a-z0-9_]*$")


class ConfigError(ValueError):
    """A rules configuration that cannot be used; the message names the key and the problem."""


# --------------------------------------------------------------------------------------------
# schema: shapes only
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Num:
    """A number (bool is not a number here), optionally bounded (inclusive)."""

    lo: float | None = None
    hi: float | None = None
    integer: bool = False


@dataclass(frozen=True)
class _Str:
    pattern: re.Pattern | None = None
    what: str = "a non-empty string"


@dataclass(frozen=True)
class _Names:
    """A list of names drawn from ``allowed`` (no duplicates)."""

    allowed: tuple[str, ...]


@dataclass(frozen=True)
class _Record:
    """A mapping with exactly these keys (all required)."""

    fields: Mapping[str, Any]


@dataclass(frozen=True)
class _Table:
    """A mapping whose keys come from ``keys`` (``None``: any identifier) to one value shape.

    ``required`` keys must all be present; the message for a missing one is ``missing``
    formatted with ``key``.
    """

    value: Any
    keys: tuple[str, ...] | None = None
    required: tuple[str, ...] = ()
    missing: str = "has no entry for {key!r}"


_PROBABILITY = _Num(0.0, 1.0)
_SCORE = _Num(0.0, 100.0)
_DAYS = _Num(0.0, None)
_TREND = _Num(0.0, None)
_ACTION = _Record({
    "action": _Str(_ACTION_CODE, "an action code (lower case letters, digits, _)"),
    "priority": _Num(),
    "text": _Str(),
})

_SCHEMA = _Record({
    "version": _Str(),
    "value_tier": _Record({"cut_points": _Record({t: _PROBABILITY for t in TIERS[:-1]})}),
    "relationship": _Record({"loyalty_high_from": _PROBABILITY, "profit_high_percentile_from": _PROBABILITY}),
    "customer_kind": _Record({"loyalty_high_from": _PROBABILITY}),
    "value_type": _Record({
        "valuable_tiers": _Names(TIERS),
        "maintain_tiers": _Names(TIERS),
        "develop_tiers": _Names(TIERS),
        "develop_if_growing_tiers": _Names(TIERS),
        "declining_trend_below": _TREND,
        "growing_trend_from": _TREND,
    }),
    "lifecycle": _Record({
        "termination_recency_days": _DAYS,
        "decline_recency_days": _DAYS,
        "declining_trend_below": _TREND,
        "growth_tenure_days_below": _DAYS,
        "growing_trend_from": _TREND,
    }),
    "temperature": _Record({
        "hot_p30_from": _PROBABILITY,
        "warm_p90_from": _PROBABILITY,
        "hot_days_up_to": _DAYS,
        "warm_days_up_to": _DAYS,
    }),
    "purchase_type": _Record({"replacement_recency_days": _DAYS}),
    "six_c": _Record({
        "applies_to_segments": _Names(SEGMENTS),
        "weights": _Table(_Num(0.0, 1.0), SIX_C_DIMENSIONS, SIX_C_DIMENSIONS, "has no weight for dimension {key!r}"),
        "grade_cut_points": _Table(_SCORE, SIX_C_GRADES, SIX_C_GRADES, "has no cut point for grade {key!r}"),
    }),
    "distributor": _Record({
        "weights": _Table(_Num(0.0, 1.0)),
        "preferred_from": _SCORE,
        "preferred_up_to": _SCORE,
        "too_strong_above": _SCORE,
    }),
    "churn_risk": _Record({"cut_points": _Record({b: _PROBABILITY for b in CHURN_BANDS[1:]})}),
    "retention": _Record({
        "actions": _Table(
            _Table(_ACTION, CHURN_BANDS + ("unknown",), CHURN_BANDS + ("unknown",),
                   "has no action for churn band {key!r}"),
            TIERS, TIERS, "has no action for tier {key!r}"),
        "let_go": _Record({"tiers": _Names(TIERS), **_ACTION.fields}),
        "unassessed": _ACTION,
        "prospect_actions": _Table(_ACTION, MAN_CLASSES, MAN_CLASSES, "has no action for MAN class {key!r}"),
        "priority_adjustments": _Record({
            "value_type": _Table(_Num(), VALUE_TYPES),
            "relationship_type": _Table(_Num(), RELATIONSHIP_TYPES),
            "customer_kind": _Table(_Num(), CUSTOMER_KINDS),
            "temperature": _Table(_Num(), TEMPERATURES),
        }),
    }),
    "facts": _Record({
        "clv_max_lifetime_days": _Num(1.0, None),
        "spend_trend_window_days": _Num(1.0, None, integer=True),
        "loyalty": _Record({
            "weights": _Table(_Num(0.0, 1.0), ("tenure", "regularity", "retention"),
                              ("tenure", "regularity", "retention"), "has no weight for {key!r}"),
            "full_tenure_days": _Num(1.0, None),
            "regularity_when_unknown": _PROBABILITY,
        }),
    }),
})


def _is_number(value: Any) -> bool:
    # YAML gives bool for yes/no/true/false; a flag is never a threshold
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_shape(value: Any, spec: Any, key: str, problems: list[str]) -> None:
    """Append one message per shape problem under ``key`` (a dotted path) to ``problems``."""
    shown = f"key {key!r} = {value!r}"
    if isinstance(spec, _Num):
        if not _is_number(value) or (isinstance(value, float) and not math.isfinite(value)):
            problems.append(f"{shown} must be a {'whole ' if spec.integer else ''}number")
        elif spec.integer and int(value) != value:
            problems.append(f"{shown} must be a whole number")
        elif spec.lo is not None and value < spec.lo:
            problems.append(f"{shown} must be at least {spec.lo:g}")
        elif spec.hi is not None and value > spec.hi:
            problems.append(f"{shown} must be at most {spec.hi:g}")
    elif isinstance(spec, _Str):
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{shown} must be {spec.what}")
        elif spec.pattern is not None and not spec.pattern.match(value):
            problems.append(f"{shown} must be {spec.what}")
    elif isinstance(spec, _Names):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append(f"{shown} must be a list of names from {list(spec.allowed)}")
            return
        for name in value:
            if name not in spec.allowed:
                problems.append(f"{shown}: unknown name {name!r}, expected one of {list(spec.allowed)}")
        if len(set(value)) != len(value):
            problems.append(f"{shown} lists a name twice")
    elif isinstance(spec, _Record):
        if not isinstance(value, Mapping):
            problems.append(f"{shown} must be a mapping with keys {list(spec.fields)}")
            return
        for name in value:
            if name not in spec.fields:
                problems.append(f"unknown key {_join(key, name)!r}")
        for name, sub in spec.fields.items():
            if name not in value:
                problems.append(f"missing key {_join(key, name)!r}")
            else:
                _check_shape(value[name], sub, _join(key, name), problems)
    elif isinstance(spec, _Table):
        if not isinstance(value, Mapping):
            problems.append(f"{shown} must be a mapping")
            return
        for name, sub in value.items():
            if spec.keys is not None and name not in spec.keys:
                problems.append(f"unknown key {_join(key, str(name))!r}, expected one of {list(spec.keys)}")
            elif spec.keys is None and not (isinstance(name, str) and _ACTION_CODE.match(name)):
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
# meaning: orders, sums and completeness the shapes cannot express
# --------------------------------------------------------------------------------------------
def _check_meaning(data: Mapping, problems: list[str]) -> None:
    """Append one message per inconsistency of a shape-valid configuration."""

    def descending(prefix: str, names: tuple[str, ...], values: Mapping) -> None:
        # higher tier / grade / band must have a strictly higher cut point than the next one
        for upper, lower in zip(names, names[1:]):
            if not values[lower] < values[upper]:
                problems.append(f"key '{prefix}.{lower}' = {values[lower]!r} must be below "
                                f"'{prefix}.{upper}' = {values[upper]!r}")

    def below(a_key: str, a: float, b_key: str, b: float, strict: bool = True) -> None:
        if not (a < b if strict else a <= b):
            word = "below" if strict else "at most"
            problems.append(f"key {a_key!r} = {a!r} must be {word} {b_key!r} = {b!r}")

    def sums_to_one(key: str, weights: Mapping) -> None:
        total = sum(weights.values())
        if abs(total - 1.0) > _WEIGHT_TOLERANCE:
            problems.append(f"{key!r} sum to {round(total, 9):g}, expected 1.0")

    descending("value_tier.cut_points", TIERS[:-1], data["value_tier"]["cut_points"])
    descending("six_c.grade_cut_points", SIX_C_GRADES, data["six_c"]["grade_cut_points"])
    descending("churn_risk.cut_points", tuple(reversed(CHURN_BANDS[1:])), data["churn_risk"]["cut_points"])
    sums_to_one("six_c.weights", data["six_c"]["weights"])
    if not data["distributor"]["weights"]:
        problems.append("'distributor.weights' has no criteria")
    else:
        sums_to_one("distributor.weights", data["distributor"]["weights"])
    sums_to_one("facts.loyalty.weights", data["facts"]["loyalty"]["weights"])

    d = data["distributor"]
    below("distributor.preferred_from", d["preferred_from"], "distributor.preferred_up_to", d["preferred_up_to"])
    below("distributor.preferred_up_to", d["preferred_up_to"], "distributor.too_strong_above",
          d["too_strong_above"], strict=False)
    lc = data["lifecycle"]
    below("lifecycle.decline_recency_days", lc["decline_recency_days"],
          "lifecycle.termination_recency_days", lc["termination_recency_days"])
    below("lifecycle.declining_trend_below", lc["declining_trend_below"],
          "lifecycle.growing_trend_from", lc["growing_trend_from"], strict=False)
    vt = data["value_type"]
    below("value_type.declining_trend_below", vt["declining_trend_below"],
          "value_type.growing_trend_from", vt["growing_trend_from"], strict=False)
    for name in ("maintain_tiers", "develop_tiers", "develop_if_growing_tiers"):
        for tier in vt[name]:
            if tier not in vt["valuable_tiers"]:
                problems.append(f"key 'value_type.{name}' lists {tier!r}, which is not in 'value_type.valuable_tiers'")
    t = data["temperature"]
    below("temperature.hot_days_up_to", t["hot_days_up_to"], "temperature.warm_days_up_to", t["warm_days_up_to"])

    # priorities: churn up never lowers the priority within a tier; a lower tier never outranks
    # a higher one in the same churn band (the monotonicity invariants)
    actions = data["retention"]["actions"]
    for tier in TIERS:
        for lo_band, hi_band in zip(CHURN_BANDS, CHURN_BANDS[1:]):
            lo, hi = actions[tier][lo_band]["priority"], actions[tier][hi_band]["priority"]
            if hi < lo:
                problems.append(f"key 'retention.actions.{tier}.{hi_band}.priority' = {hi!r} is below "
                                f"'retention.actions.{tier}.{lo_band}.priority' = {lo!r}: priority must "
                                f"not fall as churn risk rises")
    for band in CHURN_BANDS + ("unknown",):
        for upper, lower in zip(TIERS, TIERS[1:]):
            hi, lo = actions[upper][band]["priority"], actions[lower][band]["priority"]
            if lo > hi:
                problems.append(f"key 'retention.actions.{lower}.{band}.priority' = {lo!r} is above "
                                f"'retention.actions.{upper}.{band}.priority' = {hi!r}: a lower tier must "
                                f"not outrank a higher one")


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
    problems: list[str] = []
    _check_shape(data, _SCHEMA, "", problems)
    if not problems:
        # the meaning checks index freely: they run only on a shape-valid document
        _check_meaning(data, problems)
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
