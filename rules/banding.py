"""Banding and grouping for the batch fast path.

A decision table compares each numeric input only with the constants of its conditions (see
:mod:`rules.decision_table`). Two values on the same side of every constant, or equal to the same
constant, therefore get the same outcome from every rule: they are in the same *cell*. With the
sorted constants ``t0 < t1 < ... < tk-1`` a value's cell is

* ``2i``   when it lies strictly between ``t(i-1)`` and ``ti`` (``i = 0``: below ``t0``,
  ``i = k``: above ``tk-1``),
* ``2i+1`` when it equals ``ti``,
* ``2k+1`` when it is missing.

Customers whose inputs to one table fall in the same cells (and have the same categorical
values) are decided once by the engine, on the actual values of one of them, and the outcome is
joined back to all of them. A table has a handful of inputs, so a million customers collapse to
at most a few hundred distinct engine evaluations per table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Cat", "cell_codes", "event_value", "group_rows", "table_codes", "take_number"]


@dataclass
class Cat:
    """A categorical column: ``values[codes[i]]`` is row i's value (``None`` = missing)."""

    codes: np.ndarray
    values: list

    @classmethod
    def canonical(cls, codes: np.ndarray, values: Sequence[Any]) -> Cat:
        """Same column with duplicate values merged (so grouping by codes groups by value)."""
        index: dict[Any, int] = {}
        remap = np.empty(len(values), dtype=np.int64)
        uniq: list = []
        for i, v in enumerate(values):
            # bool and int hash alike (True == 1); keep the type apart so True is never 1
            key = (type(v), v)
            if key not in index:
                index[key] = len(uniq)
                uniq.append(v)
            remap[i] = index[key]
        return cls(remap[codes] if len(values) else codes, uniq)

    def to_objects(self) -> np.ndarray:
        """Object array of the row values."""
        table = np.empty(len(self.values), dtype=object)
        table[:] = self.values
        return table[self.codes] if len(self.values) else np.full(len(self.codes), None, dtype=object)

    def to_series(self) -> pd.Series:
        """The column as a pandas Series: categorical when every value is text, object otherwise.

        Labels are a handful of distinct texts: a categorical built from the codes costs nothing,
        while converting a million Python strings afterwards costs seconds, and Parquet stores a
        categorical once per distinct value. Missing values become NaN, as in any categorical.
        """
        if not all(v is None or isinstance(v, str) for v in self.values):
            return pd.Series(self.to_objects(), dtype=object)
        labels = [v for v in self.values if v is not None]
        remap = np.array([-1 if v is None else labels.index(v) for v in self.values] or [-1], dtype=np.int64)
        codes = remap[self.codes] if len(self.values) else np.full(len(self.codes), -1, dtype=np.int64)
        return pd.Series(pd.Categorical.from_codes(codes, categories=labels))


def cell_codes(x: np.ndarray, thresholds: Sequence[float]) -> tuple[np.ndarray, int]:
    """Cell of every value of ``x`` against the sorted ``thresholds``; returns codes and their count."""
    # cell = #(t < x) + #(t <= x): 2i between constants, 2i+1 on constant i; a few vectorised
    # comparisons beat a binary search for the handful of constants a table has
    codes = np.zeros(len(x), dtype=np.int64)
    for t in thresholds:
        codes += x > t
        codes += x >= t
    codes[np.isnan(x)] = 2 * len(thresholds) + 1
    return codes, 2 * len(thresholds) + 2


def group_rows(codes: Sequence[np.ndarray], sizes: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Group rows by their tuple of codes.

    Returns
    -------
    inverse : numpy.ndarray
        Group number of every row (0..G-1).
    representative : numpy.ndarray
        One row index per group.
    """
    n = len(codes[0]) if codes else 0
    key = np.zeros(n, dtype=np.int64)
    radix = 1
    for c, size in zip(codes, sizes, strict=True):
        if radix * size >= 2**62:
            # keep the mixed-radix key in int64: renumber the groups so far, then go on
            key, uniques = pd.factorize(key)
            radix = len(uniques)
        key = key * size + c
        radix *= size
    if radix <= 4 * max(n, 1):
        # small key space: number the keys present by a table lookup instead of hashing
        present = np.zeros(radix, dtype=bool)
        present[key] = True
        number = np.cumsum(present) - 1
        inverse = number[key]
        groups = int(number[-1]) + 1 if radix else 0
    else:
        inverse, uniques = pd.factorize(key)
        groups = len(uniques)
    representative = np.empty(groups, dtype=np.int64)
    # any row of a group represents it: all rows of a group get the same outcome
    representative[inverse] = np.arange(n)
    return inverse.astype(np.int64), representative


def take_number(x: np.ndarray, i: int) -> float | None:
    """Row i of a float column as a JSON-ready value."""
    v = float(x[i])
    return None if v != v else v


def event_value(col: Any, i: int) -> Any:
    """Row i of a column (float array or :class:`Cat`) as a JSON-ready value."""
    if isinstance(col, Cat):
        return col.values[col.codes[i]]
    return take_number(col, i)


def table_codes(col: Any, thresholds: Sequence[float]) -> tuple[np.ndarray, int]:
    """Codes and code count of one input column for grouping."""
    if isinstance(col, Cat):
        return col.codes, max(len(col.values), 1)
    return cell_codes(col, thresholds)
