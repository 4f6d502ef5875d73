"""One column of a data frame as an array, without the Series that ``frame[name]`` builds.

The scoring function runs on a million customers in a batch and on one customer per online
request. For one customer, pandas' fixed cost per call is the whole cost: ``frame[name]`` builds
a Series (about 60 microseconds on this 2-core machine), and one request reads a few hundred
columns on its way through snapshot, models, facts and rules. :func:`column_values` reads the
column's array directly (under a microsecond), whatever the frame's size, so batch and online
keep one code path.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

__all__ = ["column_labels", "column_values", "frame_of"]


def column_values(frame: pd.DataFrame, name, dtype=None, na_value=np.nan):
    """The values of column ``name`` of ``frame``: ``frame[name].to_numpy(dtype, na_value=...)``.

    Parameters
    ----------
    frame : pandas.DataFrame
    name : column label
        A label that names one column (a repeated label gives its columns' 2-d block).
    dtype : numpy dtype, optional
        Convert to this dtype; without it the column's own array is returned (a NumPy array or
        a pandas extension array such as a Categorical), not copied: do not write to it.
    na_value : scalar
        What missing values of an extension array become when ``dtype`` is given.

    Returns
    -------
    numpy.ndarray or pandas.api.extensions.ExtensionArray
    """
    loc = frame.columns.get_loc(name)
    if not isinstance(loc, (int, np.integer)):  # a repeated label: pandas gives its columns as a block
        return frame[name].to_numpy() if dtype is None else frame[name].to_numpy(dtype=dtype, na_value=na_value)
    # pandas' own accessor of a column's array (DataFrame._get_column_array, pandas 1.3 to 3):
    # private, so the public path stands in if it ever goes (a test compares the two)
    getter = getattr(frame, "_get_column_array", None)
    values = getter(int(loc)) if getter is not None else frame[name].array
    if dtype is None:
        return values
    if isinstance(values, np.ndarray):
        return values.astype(dtype, copy=False)
    if np.dtype(dtype).kind != "f":  # NaN stands for missing in floats only (dates keep NaT)
        return values.to_numpy(dtype=dtype)
    return values.to_numpy(dtype=dtype, na_value=na_value)


def frame_of(columns: dict, index: pd.Index | None = None) -> pd.DataFrame:
    """A frame of ready arrays: ``pd.DataFrame(columns)`` without its inference and checks.

    Parameters
    ----------
    columns : dict of str to array
        One-dimensional NumPy or pandas extension arrays (or Series: their arrays are taken), all
        of one length, typed as the frame should hold them: an object array stays object (pandas
        would turn an object array of text into its ``str`` dtype, a conversion that cost 3 ms for
        the 15 labels of one decided customer).
    index : pandas.Index, optional
        Default: a RangeIndex.

    Returns
    -------
    pandas.DataFrame
        Its column labels are an object Index (looked up twice as fast as pandas' ``str`` labels).
    """
    arrays = [v.array if isinstance(v, pd.Series) else v for v in columns.values()]
    n = len(arrays[0]) if arrays else (0 if index is None else len(index))
    if any(len(a) != n for a in arrays):
        raise ValueError(f"columns of different lengths: { {k: len(a) for k, a in zip(columns, arrays, strict=True)} }")
    labels = column_labels(tuple(columns))
    index = pd.RangeIndex(n) if index is None else index
    builder = getattr(pd.DataFrame, "_from_arrays", None)
    if builder is None:  # pandas' private constructor gone: the public one, same values
        return pd.DataFrame(dict(zip(labels, arrays, strict=True)), index=index, columns=labels, copy=False)
    return builder(arrays, columns=labels, index=index, verify_integrity=False)


@functools.lru_cache(maxsize=256)
def column_labels(names: tuple) -> pd.Index:
    """An object Index of ``names``, built once per set of names (a frame's columns repeat per call).

    Index objects are immutable, so frames may share one.
    """
    return pd.Index(list(names), dtype=object)
