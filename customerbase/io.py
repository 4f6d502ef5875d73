"""Reading contract files (CSV or Parquet) and writing result files atomically."""

from __future__ import annotations

import codecs
import contextlib
import csv
import hashlib
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

__all__ = [
    "file_sha256",
    "publish_file",
    "read_profiles",
    "read_table",
    "read_transactions",
    "table_format",
    "write_table_atomic",
    "write_table_file",
]


def table_format(path: str | os.PathLike) -> str:
    """'parquet' or 'csv' from the file name; anything else is an error naming the file."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if ".parquet" in suffixes or ".pq" in suffixes:
        return "parquet"
    if ".csv" in suffixes or ".txt" in suffixes or ".tsv" in suffixes:
        return "csv"
    raise ValueError(f"{path}: unknown file type; expected a .csv or .parquet file")


def _check_file(path: Path) -> None:
    """A clear error for a path that is no readable file (a directory, an unknown type, nothing at all)."""
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a directory, not a file; give the .csv or .parquet file itself")
    table_format(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")


def _first_undecodable(path: Path, encoding: str) -> str | None:
    """Where ``path`` stops being ``encoding`` text: ``"row N (line L): byte 0xE9 ..."``, or None.

    Only called once a read has failed or found undecodable text, so reading the whole file
    again costs nothing on the files that are fine.
    """
    data = path.read_bytes()
    try:
        data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start:exc.end]
        # data rows as the contract's messages count them: the first row after the header is row 1
        return (f"row {line - 1} (line {line}): byte {' '.join(f'0x{b:02X}' for b in bad)} is not {encoding} text; "
                f"if the file is in another encoding, say which with --encoding (e.g. --encoding latin-1)")
    return None


def read_table(path: str | os.PathLike, string_columns: tuple[str, ...] = (), *,
               encoding: str = "utf-8") -> pd.DataFrame:
    """Read a CSV or Parquet file; ``string_columns`` are read as text (ids keep leading zeros).

    Parameters
    ----------
    path : path-like
        A .csv or .parquet file (a directory is refused, naming it).
    string_columns : tuple of str
        Columns read as text whatever they look like.
    encoding : str
        Text encoding of a CSV file (default UTF-8; a leading byte-order mark is skipped). Bytes
        that are not text in it are an error naming the row, never replaced silently.
    """
    path = Path(path)
    _check_file(path)
    fmt = table_format(path)
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ValueError(f"--encoding {encoding!r}: unknown text encoding") from None
    if fmt == "parquet":
        frame = pd.read_parquet(path)
    else:
        # pyarrow's reader is several times faster than pandas' and parses ISO dates natively
        # the header through a real CSV reader: quoted names ("customer_id") must match too,
        # or the id column is typed by inference and loses its leading zeros
        utf8 = codecs.lookup(encoding).name == "utf-8"
        with open(path, newline="", encoding="utf-8-sig" if utf8 else encoding, errors="replace") as fh:
            header = next(csv.reader(fh), [])
        types = {c: pa.string() for c in string_columns if c in header}
        read = pacsv.ReadOptions(encoding="utf8" if utf8 else encoding)
        try:
            table = pacsv.read_csv(path, read_options=read,
                                   convert_options=pacsv.ConvertOptions(column_types=types))
        except pa.ArrowInvalid as exc:
            where = _first_undecodable(path, encoding) if "utf8" in str(exc).lower() else None
            if where:
                raise ValueError(f"{path}: {where}") from exc
            # a column whose type was inferred from the first block broke later on: read all as text
            # and let the contract checks name the offending rows
            all_text = pacsv.ConvertOptions(column_types={c: pa.string() for c in header})
            try:
                table = pacsv.read_csv(path, read_options=read, convert_options=all_text)
            except pa.ArrowInvalid:
                raise ValueError(f"{path}: not a readable CSV file: {exc}") from exc
        if any(pa.types.is_binary(f.type) for f in table.schema):
            # pyarrow types a column of undecodable text as bytes instead of failing: say where
            where = _first_undecodable(path, encoding)
            raise ValueError(f"{path}: {where or 'a column holds bytes that are not text'}")
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
    encoding: str = "utf-8",
    max_abs_amount: float | None = None,
) -> tuple[pd.DataFrame, ValidationReport]:
    """Read and validate a transactions file.

    Parameters
    ----------
    path : path-like
        CSV or Parquet.
    columns : dict, optional
        Source column name -> contract name (see :func:`customerbase.parse_column_mapping`).
    as_of, dedupe, on_error, max_abs_amount
        Passed to :func:`customerbase.validate_transactions`.
    encoding : str
        Text encoding of a CSV file (see :func:`read_table`).
    """
    columns = columns or {}
    id_source = next((s for s, t in columns.items() if t == "customer_id"), "customer_id")
    frame = read_table(path, string_columns=(id_source,), encoding=encoding)
    frame = apply_column_mapping(frame, columns, str(path))
    return validate_transactions(frame, source=str(path), as_of=as_of, dedupe=dedupe, on_error=on_error,
                                 max_abs_amount=max_abs_amount)


def read_profiles(path: str | os.PathLike, *, encoding: str = "utf-8") -> pd.DataFrame:
    """Read and validate a customer-profiles file (``encoding``: of a CSV file, see :func:`read_table`)."""
    frame = read_table(path, string_columns=("customer_id",), encoding=encoding)
    return validate_profiles(frame, source=str(path))


def _file_mode() -> int:
    """The mode a new file gets from this process's umask (0o666 & ~umask), as ``open()`` would give it."""
    try:
        with open("/proc/self/status") as fh:  # Linux: read the umask without changing it
            for line in fh:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore (only at start-up of a write, never concurrently)
    os.umask(mask)
    return 0o666 & ~mask


def write_table_file(frame: pd.DataFrame, path: str | os.PathLike, fmt: str | None = None) -> Path:
    """Write a frame as Parquet or CSV to ``path``, durably.

    The file is created new (an existing one is an error), flushed to disk, and gets the mode
    the umask gives new files. Callers rename it into place (see :func:`publish_file`).
    ``fmt``: ``'parquet'`` or ``'csv'``; default from ``path``'s extension (give it for a
    temporary name such as ``.scores.parquet.1234.partial``).
    """
    path = Path(path)
    fmt = fmt or table_format(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
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
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        raise
    return path


def publish_file(partial: str | os.PathLike, final: str | os.PathLike) -> Path:
    """Rename ``partial`` over ``final`` (atomic on one file system) and make the rename durable."""
    final = Path(final)
    os.replace(partial, final)
    _fsync_dir(final.parent)
    return final


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform or file system can sync a directory
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_table_atomic(frame: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write a frame as Parquet or CSV (by extension) so that the file appears whole or not at all.

    The frame goes to a temporary file in the same directory, is flushed to disk, and is then
    renamed over the target: an interrupted run never leaves a half-written file under the
    final name. The file's mode follows the umask, as any new file's would.
    """
    path = Path(path)
    table_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    os.close(fd)
    os.unlink(tmp)  # the name only: write_table_file creates the file with the umask's mode
    try:
        write_table_file(frame, tmp, table_format(path))
        publish_file(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def file_sha256(path: str | os.PathLike, chunk_bytes: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, hex (read in chunks: files of any size)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk_bytes):
            digest.update(block)
    return digest.hexdigest()
