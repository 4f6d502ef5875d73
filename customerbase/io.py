"""Reading contract files (CSV or Parquet) and writing result files atomically."""

from __future__ import annotations

import contextlib
import csv
import os
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from .contract import (
    ValidationReport,
    apply_column_mapping,
    validate_profiles,
    validate_transactions,
)

__all__ = ["read_profiles", "read_table", "read_transactions", "table_format", "write_table_atomic"]


def table_format(path: str | os.PathLike) -> str:
    """'parquet' or 'csv' from the file name; anything else is an error naming the file."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if ".parquet" in suffixes or ".pq" in suffixes:
        return "parquet"
    if ".csv" in suffixes or ".txt" in suffixes or ".tsv" in suffixes:
        return "csv"
    raise ValueError(f"{path}: unknown file type; expected a .csv or .parquet file")


def read_table(path: str | os.PathLike, string_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read a CSV or Parquet file; ``string_columns`` are read as text (ids keep leading zeros)."""
    path = Path(path)
    fmt = table_format(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if fmt == "parquet":
        frame = pd.read_parquet(path)
    else:
        # pyarrow's reader is several times faster than pandas' and parses ISO dates natively
        # the header through a real CSV reader: quoted names ("customer_id") must match too,
        # or the id column is typed by inference and loses its leading zeros
        with open(path, newline="", encoding="utf-8-sig", errors="replace") as fh:
            header = next(csv.reader(fh), [])
        types = {c: pa.string() for c in string_columns if c in header}
        try:
            table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(column_types=types))
        except pa.ArrowInvalid as exc:
            # a column whose type was inferred from the first block broke later on: read all as text
            # and let the contract checks name the offending rows
            all_text = pacsv.ConvertOptions(column_types={c: pa.string() for c in header})
            try:
                table = pacsv.read_csv(path, convert_options=all_text)
            except pa.ArrowInvalid:
                raise ValueError(f"{path}: not a readable CSV file: {exc}") from exc
        frame = table.to_pandas()
    for c in string_columns:
        if c in frame.columns:
            frame[c] = frame[c].astype("string")
    return frame


def read_transactions(
    path: str | os.PathLike,
    *,
    columns: dict[str, str] | None = None,
    as_of=None,
    dedupe: bool = False,
    on_error: str = "raise",
) -> tuple[pd.DataFrame, ValidationReport]:
    """Read and validate a transactions file.

    Parameters
    ----------
    path : path-like
        CSV or Parquet.
    columns : dict, optional
        Source column name -> contract name (see :func:`customerbase.parse_column_mapping`).
    as_of, dedupe, on_error
        Passed to :func:`customerbase.validate_transactions`.
    """
    columns = columns or {}
    id_source = next((s for s, t in columns.items() if t == "customer_id"), "customer_id")
    frame = read_table(path, string_columns=(id_source,))
    frame = apply_column_mapping(frame, columns, str(path))
    return validate_transactions(frame, source=str(path), as_of=as_of, dedupe=dedupe, on_error=on_error)


def read_profiles(path: str | os.PathLike) -> pd.DataFrame:
    """Read and validate a customer-profiles file."""
    frame = read_table(path, string_columns=("customer_id",))
    return validate_profiles(frame, source=str(path))


def write_table_atomic(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a frame as Parquet or CSV (by extension) so that the file appears whole or not at all.

    The frame goes to a temporary file in the same directory, is flushed to disk, and is then
    renamed over the target: an interrupted run never leaves a half-written file under the
    final name.
    """
    path = Path(path)
    fmt = table_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            if fmt == "parquet":
                # microsecond timestamps: Spark and most engines cannot read nanosecond ones.
                # Dictionary encoding only for text: on a million distinct floats it is tried and
                # abandoned, which doubles the write time
                text = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)
                        or pd.api.types.is_string_dtype(frame[c].dtype)]
                frame.to_parquet(fh, index=False, coerce_timestamps="us", allow_truncated_timestamps=True,
                                 use_dictionary=[str(c) for c in text])
            else:
                frame.to_csv(fh, index=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path

