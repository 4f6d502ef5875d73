"""Property-based tests of the readers: whatever ids, quoting, BOM and blank cells a file has, no
customer is lost and every id comes back exactly as written (hypothesis generates the files)."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest

hypothesis = pytest.importorskip("hypothesis")  # in the dev extra
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from crmid.customerbase.io import read_transactions  # noqa: E402

#: id characters: letters and digits of any script, punctuation a CSV must quote (comma, quote,
#: semicolon), spaces inside; no line breaks (a value spanning lines is not a transactions row)
_ID_CHARS = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp"),
                          exclude_characters="\r\n\x85")
_DIGIT_IDS = st.text("0123456789", min_size=1, max_size=8)  # leading zeros: 007, 0042
_TEXT_IDS = st.text(_ID_CHARS, min_size=1, max_size=12).map(str.strip).filter(bool)
_IDS = st.one_of(_DIGIT_IDS, _TEXT_IDS)

_ROWS = st.lists(
    st.tuples(
        st.one_of(_IDS, st.just("")),                                        # blank id: rejected by row
        st.one_of(st.dates(min_value=pd.Timestamp("1990-01-01").date(),
                           max_value=pd.Timestamp("2030-12-31").date()).map(str), st.just("")),
        st.one_of(st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False).map(str),
                  st.just("")),
    ),
    min_size=1, max_size=25,
)


def _write_csv(rows, quoting: int, bom: bool) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=quoting, lineterminator="\n")
    writer.writerow(["customer_id", "date", "amount"])
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig" if bom else "utf-8")


def _check(rows, frame, report):
    written = {r[0] for r in rows if r[0] != ""}
    kept = set(frame["customer_id"].astype(str))
    rejected = set(report.rejected["customer_id"].astype(str))
    # no customer lost, none invented, ids exactly as written
    assert kept | rejected == written
    assert not kept & rejected
    assert report.customers_in == len(written)
    assert report.rows_in == len(rows) == report.rows_out + sum(report.rows_dropped.values())
    assert report.rejected_rows_without_customer == sum(r[0] == "" for r in rows)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=_ROWS, quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]),
       bom=st.booleans())
def test_csv_reader_loses_no_customer_and_keeps_ids(tmp_path_factory, rows, quoting, bom):
    path = tmp_path_factory.mktemp("csv") / "tx.csv"
    path.write_bytes(_write_csv(rows, quoting, bom))
    frame, report = read_transactions(path, on_error="reject")
    _check(rows, frame, report)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=_ROWS)
def test_parquet_reader_loses_no_customer_and_keeps_ids(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("pq") / "tx.parquet"
    frame = pd.DataFrame(rows, columns=["customer_id", "date", "amount"])
    # blank cells as a Parquet file has them: missing values
    frame = frame.replace("", None)
    frame.to_parquet(path, index=False)
    read, report = read_transactions(path, on_error="reject")
    _check(rows, read, report)
