"""Textbook customer-identification rules, declarative and versioned, run on durable-rules.

Rule families (one module each): value tier (:mod:`rules.value_tier`), relationship type
(:mod:`rules.relationship`), transactional vs relationship customers and value type
(:mod:`rules.customer_kind`), lifecycle (:mod:`rules.lifecycle`), prospect temperature
(:mod:`rules.temperature`), purchase type (:mod:`rules.purchase_type`), MAN (:mod:`rules.man`),
6C (:mod:`rules.six_c`), distributor scoring (:mod:`rules.distributor`) and the retention
decision that merges them (:mod:`rules.retention`). Their numbers live in
``rules/config/default.yaml``.

Exports
-------
RulesEngine
    Current configuration, ``decide``, ``decide_frame``, ``reload``.
load_config, default_config_path, diff_configs, RulesConfig, ConfigError
    The configuration file.
FactsError
    Input facts that break the contract.
decide, decide_frame
    Module-level conveniences on a default engine, created at first use.

Importing the package has no side effects: nothing is registered in durable-rules until an
engine is created.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from crmid._lazy import lazy_exports

# the languages are plain constants (no engine, no durable-rules): cheap to import here
from .decision_table import DEFAULT_LANG

if TYPE_CHECKING:
    from .engine import RulesEngine

_EXPORTS = {
    "ConfigError": "config",
    "RulesConfig": "config",
    "default_config_path": "config",
    "diff_configs": "config",
    "load_config": "config",
    "RulesEngine": "engine",
    "FactsError": "facts",
    "OUTPUT_COLUMNS": "rulesets",
    "RulesError": "rulesets",
}
__getattr__, _dir_exports = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "OUTPUT_COLUMNS",
    "ConfigError",
    "FactsError",
    "RulesConfig",
    "RulesEngine",
    "RulesError",
    "decide",
    "decide_frame",
    "default_config_path",
    "default_engine",
    "diff_configs",
    "load_config",
]

_DEFAULT: RulesEngine | None = None
_DEFAULT_LOCK = threading.Lock()


def default_engine() -> RulesEngine:
    """The process's default engine on the packaged configuration, created at first use."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            from .engine import RulesEngine

            _DEFAULT = RulesEngine.from_path(None)
        return _DEFAULT


def decide(facts: Mapping[str, Any], lang: str = DEFAULT_LANG) -> dict:
    """Decide one customer with the default engine (see :meth:`RulesEngine.decide`)."""
    return default_engine().decide(facts, lang)


def decide_frame(frame, *, lang: str = DEFAULT_LANG):
    """Decide a frame of customers with the default engine (see :meth:`RulesEngine.decide_frame`)."""
    return default_engine().decide_frame(frame, lang=lang)
