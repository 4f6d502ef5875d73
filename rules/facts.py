"""Input facts: the contract, and its checking for one customer or a whole frame.

One customer's facts are a mapping; every field is optional except ``customer_id``:

* numbers: ``value_percentile``, ``clv``, ``profit``, ``churn_probability``, ``p_purchase_30d``,
  ``p_purchase_90d``, ``expected_days_to_next_purchase``, ``recency_days``, ``frequency``
  (repeat purchases), ``monetary`` (net spend: purchases minus returns, below 0 when returns
  outweigh purchases), ``tenure_days``, ``spend_trend``, ``loyalty``;
* booleans: ``money``, ``authority``, ``need`` (MAN), ``price_sensitive`` (true/false; 0/1 too);
* ``segment``: consumer | business | distributor;
* ``six_c``: mapping dimension -> 0..100, or flat ``six_c_<dimension>`` fields;
* ``distributor_criteria``: mapping criterion -> 0..100, or flat ``distributor_<criterion>``.

``None``/NaN means absent. Fields outside the contract are ignored (frames often carry more).
A value of the wrong type or outside its domain raises :class:`FactsError`, naming the field,
the value and what was expected (and the row for frames).

The ranges here are the contract's domains (a probability is in [0, 1]), not business
thresholds: those are in the rules configuration.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .banding import Cat
from .config import SEGMENTS, SIX_C_DIMENSIONS

__all__ = ["BOOLEAN_FIELDS", "NUMBER_FIELDS", "FactsError", "normalize_facts", "normalize_frame"]

_UNIT = (0.0, 1.0)
_NON_NEGATIVE = (0.0, math.inf)
_ANY = (-math.inf, math.inf)
_SCORE = (0.0, 100.0)

#: numeric fact -> allowed (low, high), inclusive
NUMBER_FIELDS: dict[str, tuple[float, float]] = {
    "value_percentile": _UNIT,
    "clv": _ANY,
    "profit": _ANY,
    "churn_probability": _UNIT,
    "p_purchase_30d": _UNIT,
    "p_purchase_90d": _UNIT,
    "expected_days_to_next_purchase": _NON_NEGATIVE,
    "recency_days": _NON_NEGATIVE,
    "frequency": _NON_NEGATIVE,
    "monetary": _ANY,
    "tenure_days": _NON_NEGATIVE,
    "spend_trend": _NON_NEGATIVE,
    "loyalty": _UNIT,
}
BOOLEAN_FIELDS = ("money", "authority", "need", "price_sensitive")
#: boolean column codes: 0 missing, 1 false, 2 true
BOOLEAN_VALUES = [None, False, True]
SEGMENT_VALUES = [None, *SEGMENTS]


class FactsError(ValueError):
    """Facts that break the contract.

    Attributes
    ----------
    field, value, expected : str, Any, str
        What was wrong.
    row : int or None
        Row position in a frame (0-based), or ``None`` for a single mapping.
    """

    def __init__(self, field: str, value: Any, expected: str, row: int | None = None,
                 customer_id: Any = None) -> None:
        self.field, self.value, self.expected, self.row = field, value, expected, row
        where = "" if row is None else (
            f"row {row}" + (f" (customer_id {customer_id!r})" if customer_id is not None else "") + ": "
        )
        super().__init__(f"{where}field {field!r} = {value!r}: expected {expected}")


def _range_text(lo: float, hi: float) -> str:
    if (lo, hi) == _ANY:
        return "a finite number"
    if hi == math.inf:
        return f"a number >= {lo:g}"
    return f"a number in [{lo:g}, {hi:g}]"


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and value != value


# --------------------------------------------------------------------------------------------
# one customer
# --------------------------------------------------------------------------------------------
def _number(name: str, value: Any, bounds: tuple[float, float]) -> float | None:
    if _is_missing(value):
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise FactsError(name, value, _range_text(*bounds))
    v = float(value)
    if v != v:
        return None
    if not (bounds[0] <= v <= bounds[1]) or math.isinf(v):
        raise FactsError(name, value, _range_text(*bounds))
    return v


def _boolean(name: str, value: Any) -> bool | None:
    if _is_missing(value):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Real) and value in (0, 1):
        return bool(value)
    raise FactsError(name, value, "true or false")


def _scores(name: str, value: Any, flat: Mapping, prefix: str, keys: Sequence[str]) -> dict[str, float | None]:
    """Criteria scores from the nested mapping ``value`` or the flat ``prefix<key>`` fields."""
    out: dict[str, float | None] = {}
    if not _is_missing(value) and not isinstance(value, Mapping):
        raise FactsError(name, value, f"an object of {', '.join(keys)} scores 0..100")
    nested = value if isinstance(value, Mapping) else {}
    for key in keys:
        v = nested.get(key)
        if _is_missing(v):
            v = flat.get(prefix + key)
        out[key] = _number(f"{name}.{key}" if key in nested else prefix + key, v, _SCORE)
    return out


def normalize_facts(facts: Mapping[str, Any], criteria: Sequence[str]) -> dict[str, Any]:
    """Check one customer's facts and give every contract field a value (``None`` = absent).

    Parameters
    ----------
    facts : mapping
        One customer's facts.
    criteria : sequence of str
        Distributor criteria of the configuration.

    Returns
    -------
    dict
        ``customer_id``, the numbers as float, booleans as bool, ``segment``, and
        ``six_c_<dim>`` / ``distributor_<criterion>`` scores.

    Raises
    ------
    FactsError
    """
    if not isinstance(facts, Mapping):
        raise FactsError("<facts>", facts, "an object with at least customer_id")
    cid = facts.get("customer_id")
    if _is_missing(cid) or (isinstance(cid, str) and not cid.strip()) or isinstance(cid, (Mapping, list, bool)):
        raise FactsError("customer_id", cid, "a non-empty customer id")
    record: dict[str, Any] = {"customer_id": cid}
    for name, bounds in NUMBER_FIELDS.items():
        record[name] = _number(name, facts.get(name), bounds)
    for name in BOOLEAN_FIELDS:
        record[name] = _boolean(name, facts.get(name))
    segment = facts.get("segment")
    if _is_missing(segment):
        record["segment"] = None
    elif segment in SEGMENTS:
        record["segment"] = str(segment)
    else:
        raise FactsError("segment", segment, f"one of {', '.join(SEGMENTS)}")
    for key, v in _scores("six_c", facts.get("six_c"), facts, "six_c_", SIX_C_DIMENSIONS).items():
        record[f"six_c_{key}"] = v
    for key, v in _scores("distributor_criteria", facts.get("distributor_criteria"), facts,
                          "distributor_", criteria).items():
        record[f"distributor_{key}"] = v
    return record


# --------------------------------------------------------------------------------------------
# a frame
# --------------------------------------------------------------------------------------------
def _first_bad(frame: pd.DataFrame, bad: np.ndarray, name: str, values: Any, expected: str) -> FactsError:
    i = int(np.flatnonzero(bad)[0])
    value = values.iloc[i] if isinstance(values, pd.Series) else values[i]
    cid = frame["customer_id"].iloc[i] if "customer_id" in frame.columns else None
    if isinstance(value, np.generic):
        value = value.item()
    return FactsError(name, value, expected, row=i, customer_id=cid)


def _frame_number(frame: pd.DataFrame, name: str, series: pd.Series | None, bounds: tuple[float, float]) -> np.ndarray:
    n = len(frame)
    if series is None:
        return np.full(n, np.nan)
    expected = _range_text(*bounds)
    if pd.api.types.is_bool_dtype(series.dtype):
        raise _first_bad(frame, series.notna().to_numpy(), name, series, expected)
    if pd.api.types.is_numeric_dtype(series.dtype):
        x = series.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        obj = series.to_numpy(dtype=object)
        absent = pd.isna(obj)
        # strings and flags are not numbers, even when they would parse as one
        kinds = np.fromiter((isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))
                             for v in obj), dtype=bool, count=n)
        bad = ~(absent | kinds)
        if bad.any():
            raise _first_bad(frame, bad, name, series, expected)
        x = np.where(absent, np.nan, obj).astype(np.float64)
    with np.errstate(invalid="ignore"):
        bad = ~np.isnan(x) & ~((x >= bounds[0]) & (x <= bounds[1]) & np.isfinite(x))
    if bad.any():
        raise _first_bad(frame, bad, name, series, expected)
    return x


def _frame_boolean(frame: pd.DataFrame, name: str, series: pd.Series | None) -> Cat:
    n = len(frame)
    if series is None:
        return Cat(np.zeros(n, dtype=np.int64), list(BOOLEAN_VALUES))
    if pd.api.types.is_bool_dtype(series.dtype) and series.dtype == bool:
        return Cat(series.to_numpy().astype(np.int64) + 1, list(BOOLEAN_VALUES))
    absent = series.isna().to_numpy()
    # isin compares by value: True/False, numpy and nullable booleans, and 0/1 all pass; text
    # such as 'yes' does not (the profile loader converts those)
    is_true = series.isin([True]).to_numpy() & ~absent
    is_false = series.isin([False]).to_numpy() & ~absent
    bad = ~(absent | is_true | is_false)
    if bad.any():
        raise _first_bad(frame, bad, name, series, "true or false")
    return Cat(np.where(absent, 0, np.where(is_true, 2, 1)).astype(np.int64), list(BOOLEAN_VALUES))


def _frame_segment(frame: pd.DataFrame, series: pd.Series | None) -> Cat:
    n = len(frame)
    if series is None:
        return Cat(np.zeros(n, dtype=np.int64), list(SEGMENT_VALUES))
    cat = pd.Categorical(series.astype(object).where(series.notna(), None), categories=list(SEGMENTS))
    codes = np.asarray(cat.codes, dtype=np.int64)
    bad = (codes < 0) & series.notna().to_numpy()
    if bad.any():
        raise _first_bad(frame, bad, "segment", series, f"one of {', '.join(SEGMENTS)}")
    return Cat(codes + 1, list(SEGMENT_VALUES))


def _nested_scores(frame: pd.DataFrame, name: str, prefix: str, keys: Sequence[str]) -> dict[str, np.ndarray]:
    """Flat score columns, filled from a nested dict column where the flat one is absent."""
    out = {}
    nested = frame[name] if name in frame.columns else None
    for key in keys:
        flat = frame[prefix + key] if prefix + key in frame.columns else None
        if flat is None and nested is not None:
            objs = nested.to_numpy(dtype=object)
            for i, v in enumerate(objs):
                if not _is_missing(v) and not isinstance(v, Mapping):
                    raise _first_bad(frame, np.arange(len(objs)) == i, name, nested,
                                     f"an object of {', '.join(keys)} scores 0..100")
            flat = pd.Series([v.get(key) if isinstance(v, Mapping) else None for v in objs],
                             index=frame.index, dtype=object)
        out[prefix + key] = _frame_number(frame, prefix + key, flat, _SCORE)
    return out


def normalize_frame(frame: pd.DataFrame, criteria: Sequence[str]) -> dict[str, Any]:
    """Check a frame of facts column by column.

    Returns
    -------
    dict
        Field -> float array (NaN = absent) for numbers and scores, :class:`~rules.banding.Cat`
        for booleans and ``segment``, and ``customer_id`` as an object array.

    Raises
    ------
    FactsError
        For the first offending row of the first offending column.
    """
    if "customer_id" not in frame.columns:
        raise FactsError("customer_id", None, "a customer_id column")
    ids = frame["customer_id"]
    if ids.isna().any():
        raise _first_bad(frame, ids.isna().to_numpy(), "customer_id", ids, "a non-empty customer id")
    cols: dict[str, Any] = {"customer_id": ids.to_numpy(dtype=object)}
    for name, bounds in NUMBER_FIELDS.items():
        cols[name] = _frame_number(frame, name, frame[name] if name in frame.columns else None, bounds)
    for name in BOOLEAN_FIELDS:
        cols[name] = _frame_boolean(frame, name, frame[name] if name in frame.columns else None)
    cols["segment"] = _frame_segment(frame, frame["segment"] if "segment" in frame.columns else None)
    cols.update(_nested_scores(frame, "six_c", "six_c_", SIX_C_DIMENSIONS))
    cols.update(_nested_scores(frame, "distributor_criteria", "distributor_", criteria))
    return cols
