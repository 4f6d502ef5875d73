"""Lazy package exports (PEP 562): a package names what it exports, the module loads on first use.

The command line imports every package to register its commands; with eager ``__init__``
imports, ``crmid --help`` would load pandas, LightGBM and scikit-learn first (1.3 s).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable, Callable]:
    """``(__getattr__, __dir__)`` for ``package`` exporting ``{name: submodule}``."""

    def __getattr__(name: str):
        try:
            module = exports[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        # cached on the package: an export named like its submodule (customerbase.snapshot)
        # must stay the export, not the submodule the import just set as an attribute
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__
