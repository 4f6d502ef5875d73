"""Shared fixtures: one engine on the packaged rules, its configuration, and config writers."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import yaml

from crmid.rules import RulesEngine, load_config


def plain(value):
    """A decision value as JSON has it: numpy scalars as Python's, NaN as None (as the one-by-one path gives)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


@pytest.fixture(scope="session")
def config():
    """The packaged configuration (read-only)."""
    return load_config()


@pytest.fixture(scope="session")
def engine():
    """An engine on the packaged rules, shared by the tests that do not reload it."""
    return RulesEngine.from_path()


@pytest.fixture()
def raw_config(config):
    """A fresh, modifiable copy of the packaged configuration's content."""
    return copy.deepcopy(config.data)


@pytest.fixture()
def write_config(tmp_path):
    """Write a configuration mapping to a YAML file and return its path."""
    counter = iter(range(10_000))

    def write(data, name=None):
        path = tmp_path / (name or f"rules-{next(counter)}.yaml")
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        return path

    return write
