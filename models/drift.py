"""Reference profiles and the population stability index (PSI), in a few lines of numpy.

A *reference profile* describes one population column by column: the interior edges of its
decile bins (quantiles of the finite values; repeated quantiles of a discrete column collapse),
the share of the values in each bin and the share of missing values. It is plain JSON, saved in
the scorer's ``info["drift_reference"]`` at training, so the model carries what it was trained on.

The PSI of a new population against a profile puts the new values in the same bins:

    PSI = sum over bins of (a_i - e_i) * ln(a_i / e_i)

with ``e`` the reference's shares and ``a`` the new ones, each share floored at
:data:`MIN_SHARE` so an empty bin gives a large, finite term instead of an infinite one. Bins are
``[edge_i, edge_i+1)``, open at both ends, so values outside the reference's range still count.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = ["MIN_SHARE", "REFERENCE_BINS", "missing_rate", "profile_psi", "psi", "psi_from_shares",
           "reference_profile"]

#: quantile bins of a reference profile: deciles, the usual resolution of a PSI (a statistical
#: setting of the measurement, like a histogram's bin count; the thresholds are in the config)
REFERENCE_BINS = 10
#: the smallest share a bin is given in the PSI (an empty bin would make ln(a / e) infinite)
MIN_SHARE = 1e-4


def _numeric(values) -> np.ndarray:
    """Float values; booleans as 0/1, missing (None, NA, NaN) as NaN."""
    series = pd.Series(values)
    if series.dtype == bool or str(series.dtype) == "boolean":
        series = series.astype("Float64")
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def missing_rate(values) -> float:
    """Share of missing (NaN) values; 0 for an empty column."""
    x = _numeric(values)
    return float(np.isnan(x).mean()) if x.size else 0.0


def _shares(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Shares of the non-missing values of ``x`` in the bins ``[edge_i, edge_i+1)`` (``len(edges) + 1`` bins)."""
    x = x[~np.isnan(x)]
    counts = np.bincount(np.searchsorted(edges, x, side="right"), minlength=edges.size + 1)
    return counts / max(x.size, 1)


def reference_profile(frame: pd.DataFrame, columns: Iterable[str] | None = None, *,
                      bins: int = REFERENCE_BINS) -> dict:
    """Bin edges, shares and missing rates of ``columns`` of ``frame``: a JSON-ready reference.

    Parameters
    ----------
    frame : pandas.DataFrame
        The reference population, one row per customer (a snapshot, a scorer's outputs).
    columns : iterable of str, optional
        Columns to profile; those absent from ``frame`` are skipped. Default: every numeric column.
    bins : int
        Quantile bins (before repeated quantiles collapse).

    Returns
    -------
    dict
        ``{column: {"edges": [float], "shares": [float], "missing_rate": float, "n": int}}``;
        ``shares`` has one more entry than ``edges`` and sums to 1 (all 0 without a finite value).
    """
    if columns is None:
        columns = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    out = {}
    for column in columns:
        if column not in frame.columns:
            continue
        x = _numeric(frame[column])
        finite = x[np.isfinite(x)]
        inner = np.linspace(0.0, 1.0, bins + 1)[1:-1]
        edges = np.unique(np.quantile(finite, inner)) if finite.size else np.zeros(0)
        out[column] = {
            "edges": [float(e) for e in edges],
            "shares": [float(s) for s in _shares(x, edges)],
            "missing_rate": float(np.isnan(x).mean()) if x.size else 0.0,
            "n": int(x.size),
        }
    return out


def psi_from_shares(expected, actual) -> float:
    """PSI of two share vectors over the same bins (each share floored at :data:`MIN_SHARE`)."""
    e = np.maximum(np.asarray(expected, dtype=float), MIN_SHARE)
    a = np.maximum(np.asarray(actual, dtype=float), MIN_SHARE)
    return float(np.sum((a - e) * np.log(a / e)))


def psi(reference: dict, values) -> float:
    """PSI of ``values`` against one column's reference profile (``reference_profile(...)[column]``).

    Missing values are left out (their share is compared separately, see :func:`missing_rate`);
    NaN when ``values`` has no non-missing value.
    """
    x = _numeric(values)
    if not (~np.isnan(x)).any():
        return float("nan")
    edges = np.asarray(reference["edges"], dtype=float)
    return psi_from_shares(reference["shares"], _shares(x, edges))


def profile_psi(reference: dict, frame: pd.DataFrame) -> dict:
    """Per column of ``reference`` present in ``frame``: ``{"psi", "missing_rate", "reference_missing_rate", "n"}``."""
    out = {}
    for column, ref in reference.items():
        if column in frame.columns:
            out[column] = {"psi": psi(ref, frame[column]), "missing_rate": missing_rate(frame[column]),
                           "reference_missing_rate": float(ref["missing_rate"]), "n": len(frame)}
    return out
