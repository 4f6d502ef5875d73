"""The data contract: what a transactions file and a customer-profiles file must hold.

One place checks a frame against the contract. Problems are collected, not raised one at a
time, so a user sees everything wrong with a file in one go; each problem names the file, the
column, the first offending rows and how many there are.

Transactions
------------
customer_id : str
    Required. Never empty.
date : date or datetime
    Required. ISO 8601 text (``1997-01-01``, ``19970101``, ``1997-01-01T10:00``) or a datetime
    column. Only the calendar day is used.
amount : float
    Required. Money of the line; negative means a return.
order_id, quantity, product, category, channel, discount : optional
    Kept as they are.

Customer profiles
-----------------
customer_id : str
    Required, unique.
money, authority, need, price_sensitive : bool, optional
    MAN flags and price sensitivity (true/false, yes/no, 1/0).
six_c_character, six_c_capacity, six_c_capital, six_c_collateral, six_c_condition,
six_c_continuity : float in [0, 100], optional
    6C scores.
distributor_<criterion> : float in [0, 100], optional
    Distributor selection criteria scores.
segment : {'consumer', 'business', 'distributor'}, optional
cost_to_serve : float, optional
Any other column is kept and passed through unchanged.
"""

from __future__ import annotations

import functools
import logging
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crmid._frames import column_values

__all__ = [
    "PROFILE_BOOLEAN",
    "SEGMENTS",
    "SIX_C_DIMENSIONS",
    "TRANSACTION_OPTIONAL",
    "TRANSACTION_REQUIRED",
    "ContractError",
    "Problem",
    "ValidationReport",
    "apply_column_mapping",
    "empty_rejects",
    "parse_column_mapping",
    "validate_profiles",
    "validate_transactions",
]

log = logging.getLogger(__name__)

TRANSACTION_REQUIRED = ("customer_id", "date", "amount")
TRANSACTION_OPTIONAL = ("order_id", "quantity", "product", "category", "channel", "discount")
PROFILE_BOOLEAN = ("money", "authority", "need", "price_sensitive")
SIX_C_DIMENSIONS = ("character", "capacity", "capital", "collateral", "condition", "continuity")
SEGMENTS = ("consumer", "business", "distributor")

#: how many offending rows a message quotes
_SHOWN_ROWS = 5

_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}


@dataclass(frozen=True)
class Problem:
    """One violation of the contract in one column."""

    source: str
    column: str
    what: str
    expected: str
    rows: tuple[int, ...] = ()
    count: int = 0
    values: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = f"{self.source}: column '{self.column}': {self.what}"
        if self.count:
            shown = ", ".join(
                f"row {r} ({v!r})" if v != "" else f"row {r}"
                for r, v in zip(self.rows, self.values or ("",) * len(self.rows), strict=True)
            )
            more = f" and {self.count - len(self.rows)} more" if self.count > len(self.rows) else ""
            where += f" in {self.count} row(s): {shown}{more}"
        return f"{where}; expected {self.expected}"


class ContractError(ValueError):
    """A frame does not meet the data contract. ``problems`` lists every violation found."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass
class ValidationReport:
    """What validation did to a frame; every excluded row and customer is counted here.

    Attributes
    ----------
    rows_in, rows_out : int
        Rows before and after validation.
    customers_in : int
        Distinct non-empty customer ids in the input.
    future_rows : int
        Rows dated after ``as_of``; ignored, with a warning.
    future_only_customers : list of str
        Customers whose every row is after ``as_of``: they are not known yet at ``as_of``.
    duplicate_rows : int
        Fully identical rows found (removed only when de-duplication was asked for).
    rejected : pandas.DataFrame
        Customers rejected, with columns ``customer_id`` and ``reason`` (``on_error='reject'``).
    rejected_rows_without_customer : int
        Rows that could not be attributed to any customer (empty id).
    rows_without_customer : list of int
        Their row numbers (1-based, as in the file after its header), for the rejects list.
    rows_dropped : dict
        Rows not used, by reason: ``rows_in == rows_out + sum(rows_dropped.values())`` always.
    warnings : list of str
    """

    source: str
    rows_in: int = 0
    rows_out: int = 0
    customers_in: int = 0
    future_rows: int = 0
    future_only_customers: list[str] = field(default_factory=list)
    duplicate_rows: int = 0
    duplicates_removed: bool = False
    rejected: pd.DataFrame = field(default_factory=lambda: empty_rejects())
    rejected_rows_without_customer: int = 0
    rows_without_customer: list[int] = field(default_factory=list)
    rows_dropped: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def rows_line(self) -> str:
        """``rows 1,230 = used 1,227 + rejected 3 (empty customer id 3)``: every row accounted for."""
        dropped = {k: v for k, v in self.rows_dropped.items() if v}
        detail = f" ({', '.join(f'{k} {v:,}' for k, v in dropped.items())})" if dropped else ""
        return f"rows {self.rows_in:,} = used {self.rows_out:,} + not used {sum(dropped.values()):,}{detail}"

    def summary(self) -> str:
        """A few lines a person can read after a run."""
        lines = [
            f"{self.source}: {self.rows_in} rows, {self.customers_in} customers read; {self.rows_out} rows kept",
            f"  {self.rows_line()}",
        ]
        if self.duplicate_rows:
            done = "removed" if self.duplicates_removed else "kept (pass --dedupe to remove)"
            lines.append(f"  {self.duplicate_rows} duplicated rows {done}")
        if self.future_rows:
            lines.append(
                f"  {self.future_rows} rows dated after the as-of date ignored; "
                f"{len(self.future_only_customers)} customers appear only after it"
            )
        if len(self.rejected):
            lines.append(f"  {len(self.rejected)} customers rejected (see the rejects list)")
        if self.rejected_rows_without_customer:
            lines.append(f"  {self.rejected_rows_without_customer} rows without a customer id rejected")
        return "\n".join(lines)


def parse_column_mapping(text: str | None) -> dict[str, str]:
    """Parse ``"customer_id=cust,date=ts"`` into ``{"cust": "customer_id", "ts": "date"}``.

    The mapping on the command line reads contract-name=source-name; the returned dict maps a
    source column to its contract name, ready for :meth:`pandas.DataFrame.rename`.
    """
    if not text:
        return {}
    known = set(TRANSACTION_REQUIRED) | set(TRANSACTION_OPTIONAL)
    mapping: dict[str, str] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            raise ValueError(f"--columns: '{part}' is not of the form contract_name=your_column")
        target, source = (s.strip() for s in part.split("=", 1))
        if target not in known:
            raise ValueError(
                f"--columns: '{target}' is not a contract column; expected one of {sorted(known)}"
            )
        if not source:
            raise ValueError(f"--columns: no source column given for '{target}'")
        mapping[source] = target
    return mapping


def apply_column_mapping(frame: pd.DataFrame, mapping: dict[str, str], source: str) -> pd.DataFrame:
    """Rename source columns to contract names; a mapped column that is absent is a problem."""
    if not mapping:
        return frame
    missing = [s for s in mapping if s not in frame.columns]
    if missing:
        raise ContractError(
            [
                Problem(source, s, f"column mapped to '{mapping[s]}' is not in the file",
                        f"one of the file's columns {list(frame.columns)}")
                for s in missing
            ]
        )
    return frame.rename(columns=mapping)


def _offending(mask: np.ndarray, frame: pd.DataFrame, column: str) -> tuple[tuple[int, ...], int, tuple[str, ...]]:
    """(first row numbers, how many, their values), in :class:`Problem`'s field order."""
    idx = np.flatnonzero(mask)
    shown = idx[:_SHOWN_ROWS]
    values = tuple("" if pd.isna(v) else str(v) for v in frame[column].to_numpy()[shown])
    # data row numbers as a user counts them in the file: first data row is 1
    return tuple(int(i) + 1 for i in shown), int(idx.size), values


def empty_rejects() -> pd.DataFrame:
    """A rejects list with nobody on it: ``customer_id`` and ``reason``, both ``string``."""
    return _empty_rejects_built_once().copy()


@functools.cache
def _empty_rejects_built_once() -> pd.DataFrame:
    # built once and copied: a frame of two empty text columns costs 0.6 ms to build, paid by
    # every validation (one per online request) that rejects nobody
    return pd.DataFrame({"customer_id": pd.array([], dtype="string"), "reason": pd.array([], dtype="string")})


def _as_customer_id(series: pd.Series) -> pd.Series:
    """Customer ids as text (``string`` dtype, missing as NA), surrounding blanks removed."""
    return pd.Series(_customer_id_array(series), index=series.index, name=series.name)


def _customer_id_array(series: pd.Series):
    """:func:`_as_customer_id`'s values, as a pandas ``string`` array."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pd.api.types.is_string_dtype(series.dtype) and not pd.api.types.is_object_dtype(series.dtype):
        # already text: trimmed by Arrow directly (pandas' astype + str.strip cost 0.3 ms on any
        # column, most of it fixed: one online request's ids)
        return pd.array(pc.utf8_trim_whitespace(pa.array(series.array)), dtype="string")
    return series.astype("string").str.strip().array


def _empty_or_missing(ids) -> np.ndarray:
    """True where a customer id (as :func:`_as_customer_id` gives it) is missing or empty."""
    import pyarrow as pa
    import pyarrow.compute as pc

    lengths = pc.binary_length(pa.array(getattr(ids, "array", ids)))
    return pc.fill_null(pc.equal(lengths, 0), True).to_numpy(zero_copy_only=False)


#: customer ids of at most this many bytes are factorized as one 64-bit integer each: their bytes,
#: first byte highest (so the integers sort as the ids do), and, unless every id has the same
#: length, the length in the lowest byte ("ab" before "ab" + NUL, both before "b")
_PACKED_ID_BYTES = 8


def _factorize_ids(cid: pd.Series) -> tuple[np.ndarray, object]:
    """``pd.factorize(cid, sort=True)``: each row's code, and the distinct ids in byte order.

    Sorted, so that every per-customer output (the snapshot, the scores file, the store's rows)
    comes in customer id order whatever the order of the input rows, and the store takes the rows
    as they come instead of sorting a million of them. Hashing 6.2 million id strings took 2.8 s,
    most of read+validate at a million customers: short ids (most systems' numbers and codes)
    without a missing one are packed into integers first; any other column goes to pandas as it is.
    """
    import pyarrow as pa

    try:
        arr = pa.array(getattr(cid, "array", cid))
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return pd.factorize(cid, sort=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    width = {pa.string(): np.int32, pa.large_string(): np.int64}.get(arr.type)
    if width is None or arr.null_count or len(arr) == 0 or arr.buffers()[2] is None:
        return pd.factorize(cid, sort=True)
    offsets = np.frombuffer(arr.buffers()[1], dtype=width)[arr.offset:arr.offset + len(arr) + 1].astype(np.int64)
    lengths = np.diff(offsets)
    longest = int(lengths.max())
    uniform = longest == int(lengths.min())
    if longest == 0 or longest > (_PACKED_ID_BYTES if uniform else _PACKED_ID_BYTES - 1):
        return pd.factorize(cid, sort=True)
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)
    if uniform:  # the ids' bytes lie back to back: an (ids x length) block, padded to 8 bytes
        block = np.zeros((len(lengths), 8), dtype=np.uint8)
        block[:, :longest] = data[offsets[0]:offsets[0] + len(lengths) * longest].reshape(-1, longest)
        keys = block.view(">u8").ravel().astype(np.uint64)
    else:
        keys = lengths.astype(np.uint64)
        for j in range(longest):
            byte = data[np.minimum(offsets[:-1] + j, data.size - 1)].astype(np.uint64)
            keys |= np.where(lengths > j, byte, np.uint64(0)) << np.uint64(8 * (_PACKED_ID_BYTES - 1 - j))
    # hashed times an odd constant (one-to-one on 64 bits): ids that differ in a few digits then
    # spread over the hash table instead of crowding it
    codes, _ = pd.factorize(keys * np.uint64(0x9E3779B97F4A7C15))
    first = np.empty(codes.max() + 1, dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)  # the first row of each id: the last write wins
    order = np.argsort(keys[first], kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[codes], pd.array(arr.take(pa.array(first[order])), dtype=cid.dtype)


def validate_transactions(
    frame: pd.DataFrame,
    *,
    source: str = "<transactions>",
    as_of: pd.Timestamp | str | None = None,
    dedupe: bool = False,
    on_error: str = "raise",
    max_abs_amount: float | None = None,
) -> tuple[pd.DataFrame, ValidationReport]:
    """Check a transactions frame against the contract and return a clean copy.

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns already renamed to contract names.
    source : str
        File name used in messages.
    as_of : date-like, optional
        Rows dated after it are ignored with a warning (they are the future at ``as_of``).
    dedupe : bool
        Remove fully duplicated rows. Without it they are reported and kept.
    on_error : {'raise', 'reject'}
        ``'raise'``: any bad value raises :class:`ContractError` listing every problem.
        ``'reject'``: customers with a bad row are removed whole (their history would be wrong)
        and listed in ``report.rejected`` with the reason; a missing required column still raises.
    max_abs_amount : float, optional
        Largest absolute amount a row may have (the rules configuration's ``input.max_abs_amount``);
        a larger one is a bad value like a non-numeric one. Amounts must be finite in any case.

    Returns
    -------
    clean : pandas.DataFrame
        ``customer_id`` (categorical of strings: factorized once, cheap to group by; its
        categories sorted, so per-customer outputs come in customer id order),
        ``date`` (datetime64[ns], day precision), ``amount`` (float64)
        and any optional columns present.
    report : ValidationReport
    """
    if on_error not in ("raise", "reject"):
        raise ValueError(f"on_error must be 'raise' or 'reject', got {on_error!r}")
    report = ValidationReport(source=source, rows_in=len(frame))
    missing = [c for c in TRANSACTION_REQUIRED if c not in frame.columns]
    if missing:
        raise ContractError(
            [
                Problem(source, c, "required column is missing",
                        f"a column named '{c}' (found {list(frame.columns)}; map yours with --columns {c}=YOUR_NAME)")
                for c in missing
            ]
        )
    keep = list(TRANSACTION_REQUIRED) + [c for c in frame.columns if c not in TRANSACTION_REQUIRED]
    # the column checks work on arrays: pandas' per-call cost is most of a small frame's validation
    # (one online request's rows); selecting and re-indexing only when needed for the same reason
    if list(frame.columns) != keep:
        frame = frame[keep]
    if not frame.index.equals(pd.RangeIndex(len(frame))):
        frame = frame.reset_index(drop=True)

    cid = _customer_id_array(frame["customer_id"])
    date = _parse_dates(frame["date"])
    amount = _parse_amounts(frame["amount"])

    bad_id = _empty_or_missing(cid)
    bad_date = np.isnat(date)  # a missing date parses to NaT too
    bad_amount = ~np.isfinite(amount)
    # finite but beyond the configured bound: sums of such values overflow or drown every real one
    huge_amount = np.zeros(len(frame), dtype=bool)
    bound = "" if max_abs_amount is None else f"{float(max_abs_amount):g}"
    if max_abs_amount is not None:
        huge_amount = ~bad_amount & (np.abs(np.where(bad_amount, 0.0, amount)) > float(max_abs_amount))

    checks = [
        (bad_id, "customer_id", "empty customer id", "a non-empty customer id"),
        (bad_date, "date", "unparseable date", "an ISO 8601 date such as 1997-01-31"),
        (bad_amount, "amount", "non-numeric amount", "a finite number (negative for a return)"),
        (huge_amount, "amount", "amount out of bounds",
         f"an amount of at most {bound} in absolute value (input.max_abs_amount of the rules)"),
    ]
    problems = []
    for mask, column, what, expected in checks:
        if mask.any():
            problems.append(Problem(source, column, what, expected, *_offending(mask, frame, column)))
    # customer ids are factorized once here; everything downstream works on the codes
    if bad_id.any():  # an empty id is no customer: missing, as a missing one
        cid = cid.copy()
        cid[bad_id] = pd.NA
    codes, uniques = _factorize_ids(cid)
    report.customers_in = len(uniques)
    # the codes come from the factorization: no need to check them again
    cid = pd.Categorical.from_codes(codes, categories=pd.Index(uniques, dtype="string"), validate=False)

    if problems and on_error == "raise":
        raise ContractError(problems)

    clean = frame.assign(customer_id=cid, date=date, amount=amount)
    bad_row = bad_id | bad_date | bad_amount | huge_amount
    if bad_row.any():
        for p in problems:
            report.warnings.append(str(p))
        report.rejected_rows_without_customer = int(bad_id.sum())
        report.rows_without_customer = [int(i) + 1 for i in np.flatnonzero(bad_id)]
        report.rows_dropped["empty customer id"] = int(bad_id.sum())
        bad_customers = clean.loc[bad_row & ~bad_id, ["customer_id"]].astype("string")
        named = bad_row & ~bad_id
        reason = np.where(bad_date[named], "unparseable date",
                          np.where(bad_amount[named], "non-numeric amount",
                                   f"amount out of bounds (|amount| > {bound})"))
        bad_customers["reason"] = [
            f"{source}: {r} in row {i + 1}" for r, i in zip(reason, np.flatnonzero(bad_row & ~bad_id), strict=True)
        ]
        bad_customers = bad_customers.drop_duplicates("customer_id", keep="first").reset_index(drop=True)
        report.rejected = bad_customers
        codes_all = clean["customer_id"].cat.codes.to_numpy()
        # one slot more than there are customers: rows without one (code -1) index that slot, never
        # another customer's (and a file whose every id is blank has no customer at all)
        rejected_code = np.zeros(len(clean["customer_id"].cat.categories) + 1, dtype=bool)
        rejected_code[codes_all[bad_row & ~bad_id]] = True
        keep = ~bad_row & ~rejected_code[codes_all]
        report.rows_dropped["rows of rejected customers"] = int((~keep & ~bad_id).sum())
        clean = clean[keep]

    dup = _duplicated(clean, column_values(clean, "customer_id").codes)
    report.duplicate_rows = int(dup.sum())
    if report.duplicate_rows:
        msg = f"{source}: {report.duplicate_rows} fully duplicated rows"
        if dedupe:
            clean = clean[~dup]
            report.duplicates_removed = True
            report.rows_dropped["duplicates removed"] = int(dup.sum())
            msg += " removed"
        else:
            msg += " kept (de-duplicate with dedupe=True / --dedupe)"
        report.warnings.append(msg)
        warnings.warn(msg, stacklevel=2)

    if as_of is not None:
        as_of_ts = pd.Timestamp(as_of).normalize()
        future = clean["date"].to_numpy() > as_of_ts.to_datetime64()
        report.future_rows = int(future.sum())
        if report.future_rows:
            codes_now = clean["customer_id"].cat.codes.to_numpy()
            n_cat = len(clean["customer_id"].cat.categories)
            seen_before = np.bincount(codes_now[~future], minlength=n_cat) > 0
            seen_after = np.bincount(codes_now[future], minlength=n_cat) > 0
            only_after = np.flatnonzero(seen_after & ~seen_before)
            report.future_only_customers = sorted(clean["customer_id"].cat.categories[only_after])
            msg = (
                f"{source}: {report.future_rows} rows dated after the as-of date {as_of_ts.date()} ignored; "
                f"{len(report.future_only_customers)} customers appear only after it"
            )
            report.warnings.append(msg)
            warnings.warn(msg, stacklevel=2)
            report.rows_dropped["dated after the as-of date"] = report.future_rows
            clean = clean[~future]

    if len(clean) < report.rows_in:  # rows were set aside: their customers may be gone too
        clean = clean.reset_index(drop=True)
        clean["customer_id"] = _drop_unused_categories(clean["customer_id"])
    report.rows_out = len(clean)
    if report.rows_in != report.rows_out + sum(report.rows_dropped.values()):
        # nothing may vanish between the file and the scores: a bug, never a data problem
        raise AssertionError(f"{source}: {report.rows_in} rows in, {report.rows_out} used, "
                             f"{report.rows_dropped} not used: rows unaccounted for")
    return clean, report


def _drop_unused_categories(ids: pd.Series) -> pd.Series:
    """``cat.remove_unused_categories`` by counting codes instead of sorting them (seconds at 6M rows)."""
    codes = ids.cat.codes.to_numpy()
    used = np.bincount(codes[codes >= 0], minlength=len(ids.cat.categories)) > 0
    if used.all():
        return ids
    new_code = np.cumsum(used) - 1
    return pd.Series(pd.Categorical.from_codes(np.where(codes >= 0, new_code[codes], -1),
                                               categories=ids.cat.categories[used]), index=ids.index)


def _duplicated(frame: pd.DataFrame, customer_codes: np.ndarray) -> np.ndarray:
    """Rows identical to an earlier row, like ``DataFrame.duplicated`` but fast on millions of rows.

    Identical rows share customer, day and amount, so those three are mixed into one 64-bit key
    and only rows whose key repeats are compared exactly on every column (a hash collision can
    never report a false duplicate).
    """
    if len(frame) == 0:
        return np.zeros(0, dtype=bool)
    parts = (
        customer_codes.astype(np.uint64),
        column_values(frame, "date", "datetime64[ns]").view(np.uint64),
        column_values(frame, "amount", np.float64).view(np.uint64),
    )
    key = np.zeros(len(frame), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for part in parts:
            key = (key ^ (part + np.uint64(0x9E3779B97F4A7C15))) * np.uint64(0xBF58476D1CE4E5B9)
            key ^= key >> np.uint64(31)
    ordered = np.sort(key)
    repeated = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    candidates = np.zeros(len(frame), dtype=bool)
    if repeated.size:
        # a hash lookup: np.isin sorts all keys again, a binary search is slow when many repeat
        candidates = pd.Series(key).isin(repeated).to_numpy()
    out = np.zeros(len(frame), dtype=bool)
    if candidates.any():
        out[candidates] = frame[candidates].duplicated(keep="first").to_numpy()
    return out


def _parse_dates(raw: pd.Series) -> np.ndarray:
    """Parse a date column to day-precision datetime64[ns] values; unparseable values become NaT."""
    if pd.api.types.is_datetime64_any_dtype(raw):
        parsed = raw
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_localize(None)
    else:
        text = raw.astype("string").str.strip()
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
        # pandas' ISO8601 parser rejects the basic form YYYYMMDD that many exports use
        basic = parsed.isna() & text.str.fullmatch(r"\d{8}").fillna(False)
        if basic.any():
            parsed = parsed.copy()
            parsed[basic] = pd.to_datetime(text[basic], format="%Y%m%d", errors="coerce")
    # the day, by NumPy's unit cast (it floors, before 1970 too; NaT stays NaT)
    return parsed.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]").astype("datetime64[ns]")


def _parse_amounts(raw: pd.Series) -> np.ndarray:
    """Amounts as float64 values; text that is no number, and missing values, become NaN."""
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        return raw.to_numpy(dtype=np.float64, na_value=np.nan)
    return pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _parse_bool(series: pd.Series) -> tuple[pd.Series, np.ndarray]:
    if pd.api.types.is_bool_dtype(series):
        return series.astype("boolean"), np.zeros(len(series), dtype=bool)
    text = series.astype("string").str.strip().str.lower()
    out = pd.Series(pd.NA, index=series.index, dtype="boolean")
    out[text.isin(_TRUE).fillna(False)] = True
    out[text.isin(_FALSE).fillna(False)] = False
    bad = (out.isna() & text.notna() & (text != "")).to_numpy(dtype=bool)
    return out, bad


def validate_profiles(frame: pd.DataFrame, *, source: str = "<customers>") -> pd.DataFrame:
    """Check a customer-profiles frame against the contract and return a typed copy.

    Every problem is collected and raised together as :class:`ContractError`. Unknown columns
    are kept unchanged. Missing values are allowed everywhere except ``customer_id``: a customer
    without MAN flags or 6C scores is simply not assessed on them.
    """
    if "customer_id" not in frame.columns:
        raise ContractError([Problem(source, "customer_id", "required column is missing",
                                     f"a column named 'customer_id' (found {list(frame.columns)})")])
    frame = frame.reset_index(drop=True).copy()
    problems: list[Problem] = []
    cid = _as_customer_id(frame["customer_id"])
    bad = _empty_or_missing(cid)
    if bad.any():
        problems.append(Problem(source, "customer_id", "empty customer id", "a non-empty customer id",
                                *_offending(bad, frame, "customer_id")))
    dup = cid.duplicated(keep=False).to_numpy() & ~bad
    if dup.any():
        problems.append(Problem(source, "customer_id", "customer id appears more than once",
                                "one profile row per customer", *_offending(dup, frame, "customer_id")))
    frame["customer_id"] = cid

    for col in PROFILE_BOOLEAN:
        if col in frame.columns:
            parsed, bad = _parse_bool(frame[col])
            if bad.any():
                problems.append(Problem(source, col, "not a boolean", "true/false, yes/no or 1/0",
                                        *_offending(bad, frame, col)))
            frame[col] = parsed

    score_cols = [f"six_c_{d}" for d in SIX_C_DIMENSIONS if f"six_c_{d}" in frame.columns]
    score_cols += [c for c in frame.columns if c.startswith("distributor_")]
    for col in score_cols:
        num = pd.to_numeric(frame[col], errors="coerce")
        bad = ((num.isna() & frame[col].notna()) | (num < 0) | (num > 100)).to_numpy(dtype=bool)
        if bad.any():
            problems.append(Problem(source, col, "score not a number in 0..100", "a number from 0 to 100",
                                    *_offending(bad, frame, col)))
        frame[col] = num.astype("float64")

    if "cost_to_serve" in frame.columns:
        num = pd.to_numeric(frame["cost_to_serve"], errors="coerce")
        bad = (num.isna() & frame["cost_to_serve"].notna()).to_numpy(dtype=bool)
        if bad.any():
            problems.append(Problem(source, "cost_to_serve", "non-numeric cost", "a number",
                                    *_offending(bad, frame, "cost_to_serve")))
        frame["cost_to_serve"] = num.astype("float64")

    if "segment" in frame.columns:
        seg = frame["segment"].astype("string").str.strip().str.lower()
        bad = (seg.notna() & ~seg.isin(SEGMENTS)).to_numpy(dtype=bool)
        if bad.any():
            problems.append(Problem(source, "segment", "unknown segment", " | ".join(SEGMENTS),
                                    *_offending(bad, frame, "segment")))
        frame["segment"] = seg

    if problems:
        raise ContractError(problems)
    return frame
