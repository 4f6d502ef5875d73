"""The rules engine the rest of crmid calls: current configuration, decisions, reload.

:class:`RulesEngine` holds one compiled configuration (:class:`~rules.rulesets.CompiledRules`)
at a time. A reload validates and compiles the new file first, under fresh ruleset names, and
then swaps one reference: an evaluation running at that moment finishes on the configuration it
started with, and every decision is made by one whole configuration, old or new. A bad file
raises :class:`~rules.config.ConfigError` and the configuration in force stays.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from .config import ConfigError, RulesConfig, diff_configs, load_config
from .decision_table import DEFAULT_LANG
from .rulesets import CompiledRules

__all__ = ["RulesEngine"]


class RulesEngine:
    """Decides customers with the textbook rules of one configuration at a time.

    Parameters
    ----------
    config : RulesConfig
        A validated configuration (see :func:`rules.load_config`).
    remember_cells : bool
        One customer at a time, ask durable-rules once per cell of a table's inputs and reuse
        its answer (default); False asks it for every customer (the tests' reference).

    Examples
    --------
    >>> engine = RulesEngine.from_path()          # the packaged default rules
    >>> engine.decide({"customer_id": "c1", "value_percentile": 0.97})["value_tier"]
    'platinum'
    """

    def __init__(self, config: RulesConfig, *, remember_cells: bool = True) -> None:
        self._compiled = CompiledRules(config, remember_cells=remember_cells)
        self._reload_lock = threading.Lock()

    @classmethod
    def from_path(cls, path: str | Path | None = None) -> RulesEngine:
        """Engine on a configuration file; ``None`` = the packaged default."""
        return cls(load_config(path))

    # ----------------------------------------------------------------------------------------
    @property
    def version(self) -> str:
        """Version string of the configuration in force."""
        return self._compiled.version

    @property
    def config(self) -> RulesConfig:
        """The configuration in force."""
        return self._compiled.config

    @property
    def path(self) -> str | None:
        """File of the configuration in force."""
        return self._compiled.config.path

    @property
    def facts_policy(self) -> dict:
        """A copy of the ``facts`` section: how serving computes CLV, loyalty and spend trend."""
        return copy.deepcopy(self._compiled.config.section("facts"))

    # ----------------------------------------------------------------------------------------
    def decide(self, facts: Mapping[str, Any], lang: str = DEFAULT_LANG) -> dict:
        """Decide one customer.

        Parameters
        ----------
        facts : mapping
            The customer's facts (see :mod:`rules.facts`); only ``customer_id`` is required.
        lang : str
            Language of the reasons and of ``action_text``: ``en`` (plain English, the default)
            or ``zh`` (Chinese, with the textbook's terms). The decision itself is the same.

        Returns
        -------
        dict
            ``customer_id``, ``value_tier``, ``relationship_type``, ``customer_kind``,
            ``value_type``, ``lifecycle_stage``, ``temperature``, ``purchase_type``,
            ``man_class``, ``six_c_score``, ``six_c_grade``, ``distributor_score``,
            ``distributor_fit``, ``churn_risk``, ``action``, ``action_text``, ``priority``,
            ``reasons`` (list of ``{"rule", "reason", "term"}`` in firing order; ``term``, the
            textbook's Chinese term, only where the rule has one, in every language) and
            ``rules_version``.

        Raises
        ------
        rules.FactsError
            A field has the wrong type or is out of its domain.
        ValueError
            ``lang`` is not a language of :data:`rules.decision_table.LANGUAGES`.
        """
        # one read of the reference: the whole evaluation uses this configuration
        return self._compiled.decide_one(facts, lang)

    def decide_frame(self, frame: pd.DataFrame, *, reasons_json: bool = False,
                     lang: str = DEFAULT_LANG) -> pd.DataFrame:
        """Decide every row of a facts frame (the batch fast path).

        Parameters
        ----------
        frame : pandas.DataFrame
            Columns named as the facts; ``six_c`` / ``distributor_criteria`` as dict columns or
            flattened (``six_c_character``, ``distributor_reputation`` ...). NaN/None = absent.
            Other columns are ignored.
        reasons_json : bool
            Also return the reasons as JSON text (see below).
        lang : str
            Language of the reasons and texts, as in :meth:`decide`; chosen per call, the
            compiled rules are the same.

        Returns
        -------
        pandas.DataFrame
            One row per input row, same order and index, the columns of :meth:`decide`; scores
            are NaN where not computed. Identical to calling :meth:`decide` row by row. With
            ``reasons_json`` also ``reasons_json``: the reasons as JSON text (built once per
            distinct list, far cheaper than encoding a million lists).
        """
        return self._compiled.decide_frame(frame, reasons_json=reasons_json, lang=lang)

    def reload(self, path: str | Path | None = None) -> dict:
        """Validate a configuration file and put it in force without a restart.

        Parameters
        ----------
        path : str or pathlib.Path, optional
            The file; ``None`` re-reads the file in force (or the packaged default).

        Returns
        -------
        dict
            ``old_version``, ``new_version``, ``changed`` (bool) and ``changes`` (one line per
            changed key, see :func:`rules.diff_configs`).

        Raises
        ------
        rules.ConfigError
            The file is invalid, or changes the rules under the version in force; the
            configuration in force is unchanged.
        """
        with self._reload_lock:
            old = self._compiled
            new_config = load_config(path if path is not None else old.config.path)
            changes = diff_configs(old.config, new_config)
            if changes and new_config.version == old.version:
                # every decision names its rules version: two different rule sets under one
                # name would make stored decisions impossible to tell apart
                raise ConfigError(f"rules config {new_config.path}: {len(changes)} change(s) but the version is "
                                  f"still {old.version!r}: give the changed rules a new version")
            if changes or new_config.path != old.config.path:
                # compile before swapping: a failure here leaves the old rules in force
                compiled = CompiledRules(new_config, remember_cells=old.remember_cells)
                self._compiled = compiled
            return {"old_version": old.version, "new_version": new_config.version,
                    "changed": bool(changes), "changes": changes}

    def check(self, path: str | Path) -> list[str]:
        """Validate a configuration file and list what it would change; nothing is put in force.

        Raises
        ------
        rules.ConfigError
        """
        return diff_configs(self._compiled.config, load_config(path))

    def __repr__(self) -> str:
        return f"RulesEngine(version={self.version!r}, path={self.path!r})"
