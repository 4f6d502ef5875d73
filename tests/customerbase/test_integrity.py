"""Nothing lost, nothing let in: ids stay text, and every row read is used or rejected with a reason."""

from __future__ import annotations

import pandas as pd
import pytest

from crmid.customerbase import load_cdnow
from crmid.customerbase.io import read_transactions


def test_quoted_header_keeps_ids_as_text(tmp_path):
    path = tmp_path / "quoted.csv"
    path.write_text('"customer_id","date","amount"\n"00123",2024-01-01,10\n"123",2024-01-02,20\n'
                    '"0042",2024-01-03,30\n')
    frame, report = read_transactions(path)
    assert sorted(frame["customer_id"].astype(str)) == ["00123", "0042", "123"]
    assert report.customers_in == 3


def test_unquoted_ids_with_leading_zeros_stay_text(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("customer_id,date,amount\n00123,2024-01-01,10\n123,2024-01-02,20\n")
    frame, _ = read_transactions(path)
    assert sorted(frame["customer_id"].astype(str)) == ["00123", "123"]


def test_every_row_is_used_or_rejected_with_its_reason(tmp_path):
    from crmid.serving.scoring import rejects_from_report

    path = tmp_path / "mixed.csv"
    path.write_text("customer_id,date,amount\n"
                    "a,2024-01-01,10\n"      # used
                    ",2024-01-02,5\n"        # no customer: rejected by row
                    "b,2024-01-03,oops\n"    # bad amount: customer b rejected whole
                    "b,2024-01-04,7\n"       # ... with this row
                    "c,2024-03-01,1\n"       # after the as-of date
                    " ,2024-01-05,5\n")      # blank id: rejected by row
    frame, report = read_transactions(path, as_of="2024-02-01", on_error="reject")
    assert list(frame["customer_id"].astype(str)) == ["a"]
    assert report.rows_in == 6 and report.rows_out == 1
    assert report.rows_dropped == {"empty customer id": 2, "rows of rejected customers": 2,
                                   "dated after the as-of date": 1}
    assert report.rows_line() == ("rows 6 = used 1 + not used 5 (empty customer id 2, rows of rejected customers 2, "
                                  "dated after the as-of date 1)")
    rejects = rejects_from_report(report)
    by_customer = rejects.dropna(subset=["customer_id"]).set_index("customer_id")["reason"].to_dict()
    assert set(by_customer) == {"b", "c"}
    assert "non-numeric amount in row 3" in by_customer["b"]
    assert sorted(rejects.loc[rejects["customer_id"].isna(), "reason"]) == [
        f"{path}: empty customer id in row 2", f"{path}: empty customer id in row 6"]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_cdnow_round_trips_without_losing_a_customer(tmp_path, fmt):
    tx = load_cdnow()
    path = tmp_path / f"tx.{fmt}"
    (tx.to_csv(path, index=False) if fmt == "csv" else tx.to_parquet(path, index=False))
    frame, report = read_transactions(path)
    assert report.customers_in == tx["customer_id"].nunique() == frame["customer_id"].nunique()
    assert set(frame["customer_id"].astype(str)) == set(tx["customer_id"].astype(str))
    assert report.rows_line() == f"rows {len(tx):,} = used {len(tx):,} + not used 0"
    assert isinstance(frame["customer_id"].dtype, pd.CategoricalDtype)
