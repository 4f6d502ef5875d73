"""Point-in-time customer snapshots and their labels.

A snapshot describes every customer known at an as-of date using only transactions dated on or
before that date: this is the leakage guard every model relies on. Labels say what happened
after the as-of date, up to an observation end that the caller controls (the training cutoff),
with censoring made explicit.

The transactions are prepared once (:class:`TransactionLog`: sorted, one row per purchase
occasion, cumulative sums). After that a snapshot at any date is a handful of binary searches
and array subtractions per customer, so stacking monthly snapshots for training is cheap.

A *purchase occasion* is a customer-day with at least one line of amount >= 0 (several lines
on the same day are one purchase, as in the CDNOW literature); lines with amount < 0 are
returns, counted separately.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
import pandas as pd

from crmid._frames import column_values, frame_of
from crmid._texts import number_texts

__all__ = [
    "FEATURES",
    "LABELS",
    "WINDOWS",
    "DataGap",
    "TransactionLog",
    "gap_after_data",
    "label_snapshot",
    "longest_quiet_stretch",
    "snapshot",
    "snapshots",
]

#: recent windows (days) for counts, spend and trends
WINDOWS = (30, 90, 180, 365)

#: every snapshot column, documented once
FEATURES: dict[str, str] = {
    "customer_id": "customer identifier (categorical of strings)",
    "as_of": "the snapshot date; only transactions dated on or before it were read",
    "n_purchases": "purchase occasions (distinct purchase days) up to as_of",
    "frequency": "repeat purchases: n_purchases - 1 (BG/NBD's x)",
    "recency_days": "days from the last purchase to as_of (NaN without purchases)",
    "tenure_days": "days from the first purchase to as_of (BG/NBD's T)",
    "purchase_span_days": "days from the first to the last purchase (BG/NBD's t_x)",
    "monetary_total": "spend over all purchase occasions",
    "monetary_mean": "average spend per purchase occasion: the textbook CLV part s",
    "monetary_repeat_mean": ("average spend per repeat purchase occasion (every one but the first; 0 without "
                             "repeats): Gamma-Gamma's m_x as the CDNOW literature and lifetimes define it"),
    "monetary_max": "largest spend on one purchase occasion",
    "ipt_mean_days": "average days between purchases: the textbook CLV part t (NaN below 2 purchases)",
    "ipt_std_days": "standard deviation of days between purchases (NaN below 3 purchases)",
    "ipt_last_days": "days between the last two purchases (NaN below 2 purchases)",
    **{f"n_purchases_{w}d": f"purchase occasions in the last {w} days (as_of-{w}, as_of]" for w in WINDOWS},
    **{f"spend_{w}d": f"spend in the last {w} days" for w in WINDOWS},
    **{
        f"spend_trend_{w}d": (
            f"spend in the last {w} days divided by spend in the {w} days before them "
            "(NaN when the prior window has no spend)"
        )
        for w in WINDOWS
    },
    "returns_count": "lines with a negative amount up to as_of",
    "returns_amount": "money returned up to as_of (positive number)",
    "clv_s": "textbook CLV part s: average spend per purchase (= monetary_mean)",
    "clv_t": "textbook CLV part t: average purchase cycle in days (= ipt_mean_days)",
}

#: every label column, documented once
LABELS: dict[str, str] = {
    "customer_id": "customer identifier",
    "days_to_next_purchase": (
        "days from as_of to the next purchase; where none is seen before the observation end, "
        "the censoring time (observation end - as_of)"
    ),
    "next_purchase_observed": "True when the next purchase was seen; False = censored",
    "purchased_within_{w}d": (
        "True/False whether a purchase happened in (as_of, as_of+w]; <NA> when the window "
        "reaches past the observation end and no purchase was seen"
    ),
    "churned": "no purchase within the horizon H (= not purchased_within_{H}d)",
}

# money is summed in fixed point (1/10,000 of the currency unit) so that a customer's totals are
# exact and do not depend on which other customers are in the data: batch, one customer and a
# Spark partition give bit-identical features
_MONEY_SCALE = 10_000

# day numbers are shifted so that keys (customer code, day) pack into one sortable int64
_EPOCH = np.datetime64("1970-01-01", "D")
#: customers whose purchase histories are formatted together (bounds the memory, not a business number)
_HISTORY_BLOCK = 200_000


def _day_number(ts) -> int:
    return int((np.datetime64(pd.Timestamp(ts).normalize().date(), "D") - _EPOCH).astype(np.int64))


def _segment_max(values: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Max of ``values[s:e]`` for each non-empty range."""
    padded = np.append(values, np.iinfo(np.int64).min)
    bounds = np.empty(starts.size * 2, dtype=np.int64)
    bounds[0::2] = starts
    bounds[1::2] = ends
    return np.maximum.reduceat(padded, bounds)[0::2]


class TransactionLog:
    """Transactions prepared once for any number of point-in-time snapshots.

    Parameters
    ----------
    transactions : pandas.DataFrame
        A validated contract frame (``customer_id``, ``date``, ``amount``).

    Attributes
    ----------
    customer_ids : numpy.ndarray of str
        Customer id per internal code: the categories of a categorical ``customer_id`` (as
        :func:`validate_transactions` returns it), else in order of first appearance.
    data_start, data_end : pandas.Timestamp
        First and last transaction day.
    n_rows : int
    """

    def __init__(self, transactions: pd.DataFrame):
        ids = transactions["customer_id"]
        if isinstance(ids.dtype, pd.CategoricalDtype):
            # validated frames carry categorical ids: their codes are the internal codes, and the
            # dtype is reused as it is (building one checks a million categories for uniqueness);
            # a category without rows is simply never known at any date
            codes, self._id_dtype = column_values(transactions, "customer_id").codes, ids.dtype
        else:
            codes, uniques = pd.factorize(ids, sort=False)
            self._id_dtype = pd.CategoricalDtype(pd.Index(uniques, dtype="string"))
        if (codes < 0).any():
            raise ValueError("transactions contain an empty customer_id; validate them first")
        self.n_rows = len(transactions)
        n_cust = len(self._id_dtype.categories)
        days = (column_values(transactions, "date", "datetime64[D]") - _EPOCH).astype(np.int64)
        amount = column_values(transactions, "amount", np.float64)
        codes = codes.astype(np.int64)
        self.data_start = pd.Timestamp(_EPOCH + days.min()) if days.size else None
        self.data_end = pd.Timestamp(_EPOCH + days.max()) if days.size else None

        purchase = amount >= 0
        self._occ = self._occasions(codes[purchase], days[purchase], amount[purchase], n_cust)
        ret = ~purchase
        self._ret = self._occasions(codes[ret], days[ret], -amount[ret], n_cust, merge_days=False)
        # first day a customer appears at all: a customer with only returns is still known
        never = np.iinfo(np.int64).max
        self._first_seen = np.minimum(self._first_day(self._occ, never), self._first_day(self._ret, never))

    @staticmethod
    def _first_day(part: dict, never: int) -> np.ndarray:
        present = part["start"] < part["stop"]
        first = np.full(present.size, never, dtype=np.int64)
        first[present] = part["day"][part["start"][present]]
        return first

    @staticmethod
    def _occasions(codes, days, amount, n_cust, merge_days=True):
        order, codes, days = _sort_by_customer_day(codes, days)
        amount = np.rint(amount[order] * _MONEY_SCALE).astype(np.int64)
        if merge_days and codes.size:
            # several purchases on one day are one purchase occasion
            starts = np.flatnonzero(np.r_[True, (codes[1:] != codes[:-1]) | (days[1:] != days[:-1])])
            amount = np.add.reduceat(amount, starts)
            codes, days = codes[starts], days[starts]
        return _segments(days, amount, np.bincount(codes, minlength=n_cust))

    def sample_customers(self, n: int, *, seed: int) -> TransactionLog:
        """A log of ``n`` of its customers drawn at random, with their whole history.

        The data window (``data_start``, ``data_end``) stays the one of the full log: it says
        what could have been observed, not what these customers did. Returns ``self`` when the
        log has no more than ``n`` customers.
        """
        if n >= self.n_customers:
            return self
        keep = np.sort(np.random.default_rng(seed).choice(self.n_customers, size=int(n), replace=False))
        sample = object.__new__(TransactionLog)
        sample._id_dtype = pd.CategoricalDtype(self._id_dtype.categories[keep])
        sample._occ, sample._ret = _subset(self._occ, keep), _subset(self._ret, keep)
        sample._first_seen = self._first_seen[keep]
        sample.data_start, sample.data_end = self.data_start, self.data_end
        sample.n_rows = int(sample._occ["day"].size + sample._ret["day"].size)
        return sample

    def _ids(self, codes: np.ndarray) -> pd.Categorical:
        # categorical of the string ids: building a million-row string column costs more than
        # the whole snapshot, and a categorical groups and joins as fast as its codes
        return pd.Categorical.from_codes(codes, dtype=self._id_dtype)

    @property
    def customer_ids(self) -> np.ndarray:
        return np.asarray(self._id_dtype.categories, dtype=object)

    @property
    def n_customers(self) -> int:
        return len(self._id_dtype.categories)

    def _index_at(self, part: dict, codes: np.ndarray, day: int) -> np.ndarray:
        """Per customer, the index one past its last entry dated <= day."""
        # entries are sorted by day within a customer, so the index is the segment's start plus
        # its count of entries dated <= day: one pass over the entries instead of a binary
        # search per customer (three times faster on a million customers)
        upto = np.zeros(part["day"].size + 1, dtype=np.int32)
        np.cumsum(part["day"] <= day, out=upto[1:])
        start = part["start"][codes]
        return start + (upto[part["stop"][codes]] - upto[start])

    def purchase_history(self, as_of, *, last: int) -> pd.DataFrame:
        """Each known customer's last ``last`` purchase occasions on or before ``as_of``, as JSON text.

        Parameters
        ----------
        as_of : date-like
        last : int
            At most this many occasions per customer, the most recent ones.

        Returns
        -------
        pandas.DataFrame
            ``customer_id`` (the customers of :meth:`snapshot`, in its order) and
            ``purchase_history``: ``[["1997-01-01", 11.77], ...]``, oldest first (one entry per
            purchase day, its amounts summed); null for a customer with returns only.
        """
        import pyarrow as pa

        if last < 1:
            raise ValueError(f"last={last!r}: expected at least 1 purchase occasion")
        codes = self.known_codes(as_of)
        occ = self._occ
        end = self._index_at(occ, codes, _day_number(as_of))
        start = np.maximum(occ["start"][codes], end - int(last))
        # in blocks of customers: the texts of every occasion are held for one block at a time
        # (0.6 GB for a million customers at once, beside the batch job's scored rows)
        blocks = [self._history_text(start[i:i + _HISTORY_BLOCK], end[i:i + _HISTORY_BLOCK])
                  for i in range(0, max(codes.size, 1), _HISTORY_BLOCK)]
        text = blocks[0] if len(blocks) == 1 else pa.concat_arrays(blocks)
        return pd.DataFrame({"customer_id": self._ids(codes),
                             "purchase_history": text.to_pandas(types_mapper=pd.ArrowDtype)})

    def _history_text(self, start: np.ndarray, end: np.ndarray):
        """:meth:`purchase_history` of the customers whose kept occasions are ``[start, end)`` (Arrow)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        occ = self._occ
        counts = (end - start).astype(np.int64)
        offsets = np.zeros(counts.size + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        # the flat index of every kept occasion: its customer's first kept one plus its rank
        flat = np.repeat(start.astype(np.int64) - offsets[:-1], counts) + np.arange(offsets[-1], dtype=np.int64)
        # built by Arrow's kernels, not per customer in Python (seconds for a million customers)
        day = occ["day"][flat]
        # each calendar day formatted once and looked up (a cast of every row's date costs 5x more)
        first = int(day.min()) if day.size else 0
        calendar = pa.array(_EPOCH + np.arange(first, (int(day.max()) + 1) if day.size else 1), pa.date32())
        days = pa.DictionaryArray.from_arrays(pa.array(day - first, pa.int32()),
                                              calendar.cast(pa.string())).cast(pa.string())
        amounts = number_texts(pa.array(occ["amount"][flat] / _MONEY_SCALE))
        items = pc.binary_join_element_wise('["', days, '",', amounts, "]", "")
        lists = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), items)
        text = pc.binary_join_element_wise("[", pc.binary_join(lists, ","), "]", "")
        return pc.if_else(pa.array(counts > 0), text, pa.scalar(None, pa.string()))

    def known_codes(self, as_of) -> np.ndarray:
        """Codes of customers with at least one transaction dated on or before ``as_of``."""
        return np.flatnonzero(self._first_seen <= _day_number(as_of)).astype(np.int64)

    def snapshot(self, as_of) -> pd.DataFrame:
        """Features of every customer known at ``as_of`` (see :data:`FEATURES`)."""
        a = _day_number(as_of)
        codes = self.known_codes(as_of)
        occ = self._occ
        start = occ["start"][codes]
        end = self._index_at(occ, codes, a)
        n = end - start
        has = n > 0
        nan = np.full(codes.size, np.nan)

        last_idx = np.where(has, end - 1, 0)
        first_day = np.where(has, occ["day"][np.where(has, start, 0)] if occ["day"].size else 0, 0)
        last_day = np.where(has, occ["day"][last_idx] if occ["day"].size else 0, 0)
        total = (occ["cs_amount"][end] - occ["cs_amount"][start]) / _MONEY_SCALE
        span = (last_day - first_day).astype(np.float64)

        with np.errstate(invalid="ignore", divide="ignore"):
            gaps = np.maximum(n - 1, 0)
            ipt_mean = np.where(n >= 2, span / gaps, np.nan)
            sum_sq = occ["cs_gap2"][end] - occ["cs_gap2"][np.minimum(start + 1, end)]
            ipt_var = np.where(n >= 3, sum_sq / gaps - ipt_mean**2, np.nan)
            ipt_std = np.sqrt(np.clip(ipt_var, 0, None))
            prev_idx = np.where(n >= 2, end - 2, 0)
            ipt_last = np.where(n >= 2, last_day - occ["day"][prev_idx] if occ["day"].size else 0, np.nan)
            mean = np.where(has, total / np.maximum(n, 1), 0.0)
            # in fixed point, as the total: the same figure whatever else is in the data
            first = occ["amount"][np.where(has, start, 0)] if occ["amount"].size else np.zeros(n.size, np.int64)
            repeat_total = (occ["cs_amount"][end] - occ["cs_amount"][start] - first) / _MONEY_SCALE
            repeat_mean = np.where(n >= 2, repeat_total / np.maximum(n - 1, 1), 0.0)

        mmax = np.zeros(codes.size)
        if has.any():
            mmax[has] = _segment_max(occ["amount"], start[has], end[has]) / _MONEY_SCALE

        out = {
            "customer_id": self._ids(codes),
            "as_of": np.full(codes.size, np.datetime64(pd.Timestamp(as_of).normalize().date(), "ns")),
            "n_purchases": n,
            "frequency": np.maximum(n - 1, 0),
            "recency_days": np.where(has, a - last_day, nan),
            "tenure_days": np.where(has, a - first_day, nan),
            "purchase_span_days": np.where(has, span, nan),
            "monetary_total": total,
            "monetary_mean": mean,
            "monetary_repeat_mean": repeat_mean,
            "monetary_max": mmax,
            "ipt_mean_days": ipt_mean,
            "ipt_std_days": ipt_std,
            "ipt_last_days": ipt_last,
        }
        for w in WINDOWS:
            i_w = self._index_at(occ, codes, a - w)
            i_2w = self._index_at(occ, codes, a - 2 * w)
            out[f"n_purchases_{w}d"] = end - i_w
            spend = (occ["cs_amount"][end] - occ["cs_amount"][i_w]) / _MONEY_SCALE
            prior = (occ["cs_amount"][i_w] - occ["cs_amount"][i_2w]) / _MONEY_SCALE
            out[f"spend_{w}d"] = spend
            with np.errstate(invalid="ignore", divide="ignore"):
                out[f"spend_trend_{w}d"] = np.where(prior > 0, spend / np.where(prior > 0, prior, 1.0), np.nan)
        ret = self._ret
        r_start = ret["start"][codes]
        r_end = self._index_at(ret, codes, a)
        out["returns_count"] = r_end - r_start
        out["returns_amount"] = (ret["cs_amount"][r_end] - ret["cs_amount"][r_start]) / _MONEY_SCALE
        out["clv_s"] = out["monetary_mean"]
        out["clv_t"] = ipt_mean
        return frame_of(out)

    def labels(self, as_of, horizon: int, *, observed_until=None, windows: Iterable[int] = (30, 90)) -> pd.DataFrame:
        """What happened after ``as_of`` for every customer known at ``as_of`` (see :data:`LABELS`).

        Parameters
        ----------
        as_of : date-like
        horizon : int
            H in days: ``churned`` is "no purchase within H days".
        observed_until : date-like, optional
            The last day whose transactions may be read (the training cutoff). Defaults to the
            last day of the data. Nothing after it is used.
        windows : iterable of int
            Extra ``purchased_within_{w}d`` windows besides H.
        """
        a = _day_number(as_of)
        end_day = _day_number(observed_until if observed_until is not None else self.data_end)
        if end_day < a:
            raise ValueError(
                f"observation end {pd.Timestamp(_EPOCH + end_day).date()} is before the as-of date "
                f"{pd.Timestamp(as_of).date()}"
            )
        codes = self.known_codes(as_of)
        occ = self._occ
        nxt = self._index_at(occ, codes, a)
        stop = occ["stop"][codes]
        in_range = nxt < stop
        next_day = np.where(
            in_range, occ["day"][np.minimum(nxt, max(occ["day"].size - 1, 0))] if occ["day"].size else 0, 0
        )
        observed = in_range & (next_day <= end_day)
        days = np.where(observed, next_day - a, end_day - a).astype(np.int64)
        out = {
            "customer_id": self._ids(codes),
            "days_to_next_purchase": days,
            "next_purchase_observed": observed,
        }
        followed = end_day - a
        for w in sorted(set(int(x) for x in windows) | {int(horizon)}):
            value = pd.array(observed & (days <= w), dtype="boolean")
            unknown = ~observed & (followed < w)
            value[unknown] = pd.NA
            out[f"purchased_within_{w}d"] = value
        out["churned"] = ~out[f"purchased_within_{int(horizon)}d"]
        return pd.DataFrame(out)

    def spend_within(self, as_of, days: int, *, observed_until=None) -> np.ndarray:
        """Spend in (``as_of``, ``as_of + days``] of every customer known at ``as_of`` (order of :meth:`snapshot`).

        Purchases minus returns in the window, negative totals clipped at 0; all NaN when the
        window ends after ``observed_until`` (default: the last day of the data), which is
        never read past.
        """
        a, w = _day_number(as_of), int(days)
        end_day = _day_number(observed_until if observed_until is not None else self.data_end)
        codes = self.known_codes(as_of)
        if a + w > end_day:
            return np.full(codes.size, np.nan)
        bought = [(p["cs_amount"][self._index_at(p, codes, a + w)] - p["cs_amount"][self._index_at(p, codes, a)])
                  for p in (self._occ, self._ret)]
        return np.maximum(bought[0] - bought[1], 0) / _MONEY_SCALE


def _as_log(transactions) -> TransactionLog:
    return transactions if isinstance(transactions, TransactionLog) else TransactionLog(transactions)


def snapshot(transactions, as_of) -> pd.DataFrame:
    """One row per customer known at ``as_of``, computed only from transactions dated <= ``as_of``.

    Parameters
    ----------
    transactions : pandas.DataFrame or TransactionLog
        Validated contract frame, or one already prepared (faster for many dates).
    as_of : date-like

    Returns
    -------
    pandas.DataFrame
        Columns documented in :data:`FEATURES`.
    """
    return _as_log(transactions).snapshot(as_of)


def label_snapshot(transactions, as_of, horizon: int, *, observed_until=None, windows=(30, 90)) -> pd.DataFrame:
    """Labels of the snapshot at ``as_of``; see :meth:`TransactionLog.labels`."""
    return _as_log(transactions).labels(as_of, horizon, observed_until=observed_until, windows=windows)


def snapshots(transactions, as_of_dates: Iterable, *, horizon: int | None = None, observed_until=None) -> pd.DataFrame:
    """Stack snapshots at several dates; with ``horizon``, joined with their labels.

    Each snapshot is labelled only with what happened after its own as-of date and on or before
    ``observed_until``.
    """
    log = _as_log(transactions)
    parts = []
    for d in as_of_dates:
        snap = log.snapshot(d)
        if horizon is not None:
            lab = log.labels(d, horizon, observed_until=observed_until)
            snap = pd.concat([snap, lab.drop(columns="customer_id")], axis=1)
        parts.append(snap)
    return pd.concat(parts, ignore_index=True)


def _segments(day: np.ndarray, amount: np.ndarray, counts: np.ndarray) -> dict:
    """Per-customer segments of day-sorted entries, with the running sums snapshots read.

    ``counts[c]`` entries of customer ``c`` lie at ``start[c]:stop[c]``; ``amount`` is in
    1/_MONEY_SCALE units so the running sums are exact.
    """
    stop = np.cumsum(counts)
    start = stop - counts
    gap = np.r_[0, np.diff(day)] if day.size else np.zeros(0, dtype=np.int64)
    gap[start[counts > 0]] = 0  # a customer's first entry has no gap before it
    return {
        "day": day,
        "amount": amount,
        "cs_amount": np.r_[0, np.cumsum(amount)],
        "cs_gap2": np.r_[0, np.cumsum(gap**2)],
        "start": start,
        "stop": stop,
    }


def _subset(part: dict, keep: np.ndarray) -> dict:
    """The segments of the customers ``keep`` (sorted codes), renumbered 0..len(keep)-1."""
    start, counts = part["start"][keep], part["stop"][keep] - part["start"][keep]
    # entry indices of the kept segments, in order: each segment's start plus 0..count-1
    offsets = np.r_[0, np.cumsum(counts)[:-1]] if counts.size else counts
    idx = np.repeat(start - offsets, counts) + np.arange(int(counts.sum()))
    return _segments(part["day"][idx], part["amount"][idx], counts)


def _sort_by_customer_day(codes: np.ndarray, days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stable order of the rows by (customer code, day), and the codes and days in that order.

    Customer, day offset and row number are packed into one 64-bit key when they fit (a million
    customers, two years and six million rows take 53 bits) and the keys sorted by value, which
    is about five times faster than an argsort; the row number makes the order stable, and the
    sorted keys give back the sorted codes and days without gathering them.
    """
    n = codes.size
    if n == 0:
        return np.zeros(0, dtype=np.int64), codes, days
    day0 = days.min()
    b_row = int(n - 1).bit_length()
    b_day = int(days.max() - day0).bit_length()
    if int(codes.max()).bit_length() + b_day + b_row > 63:
        order = np.argsort((codes << 32) + (days - day0), kind="stable")
        return order, codes[order], days[order]
    packed = (codes << (b_day + b_row)) | ((days - day0) << b_row) | np.arange(n, dtype=np.int64)
    packed.sort()
    return (packed & ((1 << b_row) - 1), packed >> (b_day + b_row),
            ((packed >> b_row) & ((1 << b_day) - 1)) + day0)


def longest_quiet_stretch(dates: pd.Series) -> tuple[int, pd.Timestamp | None, pd.Timestamp | None]:
    """The most days the whole base went without any purchase, and between which dates."""
    days = pd.Series(pd.to_datetime(dates).dt.normalize().unique()).sort_values().reset_index(drop=True)
    if len(days) < 2:
        return 0, None, None
    gaps = days.diff().dt.days.to_numpy()[1:]
    i = int(gaps.argmax())
    return int(gaps[i]), days[i], days[i + 1]


class DataGap(NamedTuple):
    """How far an as-of date lies after the last transaction, against the base's own silences."""

    #: days from the last transaction day to the as-of date (positive)
    days: int
    #: the last transaction day
    last_day: pd.Timestamp
    #: the most days the whole base ever went without a purchase (:func:`longest_quiet_stretch`)
    quiet_days: int
    #: where that stretch lies, `` (first .. last)``, or empty when the base has one day only
    quiet_between: str


def gap_after_data(dates: pd.Series, as_of) -> DataGap | None:
    """The gap between the last transaction day and ``as_of``; None when ``as_of`` is not after it.

    Training refuses a gap longer than the base's longest quiet stretch (data may be missing)
    and scoring warns of it; both read the days of a shorter one as silence.
    """
    if len(dates) == 0:
        return None
    end = pd.Timestamp(dates.max()).normalize()
    days = int((pd.Timestamp(as_of).normalize() - end).days)
    if days <= 0:
        return None
    quiet, q_from, q_to = longest_quiet_stretch(dates)
    return DataGap(days, end, quiet, f" ({q_from.date()} .. {q_to.date()})" if q_from is not None else "")
