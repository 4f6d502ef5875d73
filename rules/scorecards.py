"""Weighted scores: the 6C total and the distributor selection total (评分法).

One vectorised function serves both the one-by-one path (arrays of length one) and the batch
path, so the two compute bit-identical scores: the sum is accumulated term by term in the
configuration's order (no pairwise reduction whose rounding could differ).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["NO_PROFILE", "missing_names", "weighted_score"]

#: the missing-list value when none of the criteria is known (no profile at all)
NO_PROFILE = "all"

# scores are shown and graded with two decimals: finer digits are noise in 0..100 expert scores
_DECIMALS = 2


def weighted_score(columns: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """Weighted total of 0..100 criteria scores.

    Parameters
    ----------
    columns : mapping
        Criterion -> float array (NaN = missing); every array has the same length.
    weights : mapping
        Criterion -> weight (summing to 1). Criteria with weight 0 are not required.

    Returns
    -------
    score : numpy.ndarray
        Total rounded to two decimals; NaN where a weighted criterion is missing.
    missing_bits : numpy.ndarray
        int64 bit mask of the missing weighted criteria, bit i for the i-th weight.
    """
    n = len(next(iter(columns.values())))
    total = np.zeros(n, dtype=np.float64)
    bits = np.zeros(n, dtype=np.int64)
    for i, (name, w) in enumerate(weights.items()):
        if w == 0:
            continue
        x = np.asarray(columns[name], dtype=np.float64)
        absent = np.isnan(x)
        bits |= absent.astype(np.int64) << i
        total = total + w * np.where(absent, 0.0, x)
    score = np.where(bits == 0, np.round(total, _DECIMALS), np.nan)
    return score, bits


def missing_names(bits: int, weights: Mapping[str, float]) -> str | None:
    """The missing-criteria text for one bit mask: ``None`` (complete), ``'all'`` or a list."""
    required = [i for i, w in enumerate(weights.values()) if w != 0]
    names = list(weights)
    absent = [names[i] for i in required if bits >> i & 1]
    if not absent:
        return None
    if len(absent) == len(required):
        return NO_PROFILE
    return ", ".join(absent)
