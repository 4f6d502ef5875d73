"""The data contract: every violation is rejected with a message naming file, column, rows, count."""

import pandas as pd
import pytest

from crmid.customerbase import (
    ContractError,
    parse_column_mapping,
    read_transactions,
    validate_profiles,
    validate_transactions,
)


def _frame(**over):
    base = {
        "customer_id": ["a", "a", "b", "c"],
        "date": ["2024-01-01", "2024-01-05", "2024-01-02", "2024-01-03"],
        "amount": [10.0, 20.0, 5.0, -3.0],
    }
    base.update(over)
    return pd.DataFrame(base)


def test_clean_frame_passes_with_types():
    clean, report = validate_transactions(_frame(), source="tx.csv")
    assert report.rows_in == report.rows_out == 4
    assert report.customers_in == 3
    assert clean["date"].dtype == "datetime64[ns]"
    assert clean["amount"].dtype == "float64"
    assert list(clean["customer_id"].astype(str)) == ["a", "a", "b", "c"]


def test_missing_required_column_names_file_and_column():
    with pytest.raises(ContractError) as exc:
        validate_transactions(_frame().drop(columns="amount"), source="tx.csv")
    msg = str(exc.value)
    assert "tx.csv" in msg and "'amount'" in msg and "missing" in msg and "--columns" in msg


@pytest.mark.parametrize(
    "column, values, what",
    [
        ("date", ["2024-01-01", "not a date", "2024-01-02", "2024-13-45"], "unparseable date"),
        ("amount", [10.0, "ten", 5.0, "x"], "non-numeric amount"),
        ("customer_id", ["a", "", "b", None], "empty customer id"),
    ],
)
def test_bad_values_rejected_with_rows_and_count(column, values, what):
    with pytest.raises(ContractError) as exc:
        validate_transactions(_frame(**{column: values}), source="tx.csv")
    (problem,) = exc.value.problems
    assert problem.column == column and problem.what == what
    assert problem.count == 2
    # rows are counted as a user counts data rows in the file: the first data row is 1
    assert problem.rows == (2, 4)
    msg = str(exc.value)
    assert "tx.csv" in msg and f"'{column}'" in msg and "2 row(s)" in msg and "expected" in msg


def test_all_problems_reported_together():
    bad = _frame(date=["x", "2024-01-01", "2024-01-01", "2024-01-01"], amount=[1, 2, "?", 4])
    with pytest.raises(ContractError) as exc:
        validate_transactions(bad, source="tx.csv")
    assert {p.column for p in exc.value.problems} == {"date", "amount"}


def test_reject_mode_drops_whole_customer_and_says_why():
    bad = _frame(amount=[10.0, "oops", 5.0, 1.0])
    clean, report = validate_transactions(bad, source="tx.csv", on_error="reject")
    assert set(clean["customer_id"].astype(str)) == {"b", "c"}
    assert list(report.rejected["customer_id"]) == ["a"]
    assert "non-numeric amount" in report.rejected["reason"][0] and "row 2" in report.rejected["reason"][0]
    # nothing lost silently: kept customers + rejected customers = input customers
    assert clean["customer_id"].nunique() + len(report.rejected) == report.customers_in


def test_future_rows_ignored_with_warning_and_counted():
    with pytest.warns(UserWarning, match="after the as-of date"):
        clean, report = validate_transactions(_frame(), source="tx.csv", as_of="2024-01-02")
    assert report.future_rows == 2
    assert report.future_only_customers == ["c"]
    assert clean["date"].max() == pd.Timestamp("2024-01-02")


def test_duplicates_reported_and_removed_only_on_request():
    dup = pd.concat([_frame(), _frame().iloc[[0]]], ignore_index=True)
    with pytest.warns(UserWarning, match="1 fully duplicated rows kept"):
        kept, report = validate_transactions(dup, source="tx.csv")
    assert report.duplicate_rows == 1 and len(kept) == 5
    with pytest.warns(UserWarning, match="removed"):
        removed, report = validate_transactions(dup, source="tx.csv", dedupe=True)
    assert report.duplicate_rows == 1 and len(removed) == 4


def test_same_day_same_amount_with_different_quantity_is_not_a_duplicate():
    frame = _frame(quantity=[1, 2, 3, 4])
    frame.loc[1, ["date", "amount"]] = ["2024-01-01", 10.0]
    _, report = validate_transactions(frame, source="tx.csv")
    assert report.duplicate_rows == 0


def test_basic_iso_dates_and_datetimes_parse():
    clean, _ = validate_transactions(_frame(date=["20240101", "2024-01-05T13:45:00", "2024-01-02", "2024-01-03 08:00"]))
    assert list(clean["date"].dt.day) == [1, 5, 2, 3]
    assert (clean["date"].dt.hour == 0).all()


def test_column_mapping_from_command_line(tmp_path):
    path = tmp_path / "export.csv"
    pd.DataFrame({"cust": ["007", "008"], "ts": ["2024-01-01", "2024-01-02"], "value": [1.5, 2.5]}).to_csv(
        path, index=False
    )
    clean, _ = read_transactions(path, columns=parse_column_mapping("customer_id=cust,date=ts,amount=value"))
    # ids keep their leading zeros
    assert list(clean["customer_id"].astype(str)) == ["007", "008"]
    with pytest.raises(ValueError, match="not a contract column"):
        parse_column_mapping("client=cust")
    with pytest.raises(ContractError, match=r"column 'nope'.*not in the file"):
        read_transactions(path, columns={"nope": "customer_id"})


def test_unknown_file_type_and_missing_file(tmp_path):
    with pytest.raises(ValueError, match=r"expected a \.csv or \.parquet"):
        read_transactions(tmp_path / "x.xlsx")
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_transactions(tmp_path / "x.csv")


def test_profiles_typed_and_extra_columns_kept():
    prof = pd.DataFrame({
        "customer_id": ["a", "b"], "money": ["yes", "0"], "need": [True, None],
        "six_c_capital": ["80", 55], "segment": ["Business", None], "favourite_colour": ["red", "blue"],
    })
    out = validate_profiles(prof, source="p.csv")
    assert out["money"].tolist() == [True, False]
    assert out["need"].isna().tolist() == [False, True]
    assert out["six_c_capital"].tolist() == [80.0, 55.0]
    assert out["segment"].tolist()[0] == "business"
    assert out["favourite_colour"].tolist() == ["red", "blue"]


@pytest.mark.parametrize(
    "column, value, what",
    [
        ("money", "perhaps", "not a boolean"),
        ("six_c_character", 130, "score not a number in 0..100"),
        ("segment", "martian", "unknown segment"),
        ("customer_id", "a", "customer id appears more than once"),
    ],
)
def test_bad_profiles_rejected(column, value, what):
    prof = pd.DataFrame({"customer_id": ["a", "b"], column: ["a" if column == "customer_id" else None, value]})
    if column != "customer_id":
        prof["customer_id"] = ["a", "b"]
    with pytest.raises(ContractError) as exc:
        validate_profiles(prof, source="p.csv")
    assert any(p.column == column and p.what == what for p in exc.value.problems)
    assert "p.csv" in str(exc.value)


@pytest.mark.parametrize("ids", [
    ["S0001408", "S0001481", "S0001408", "S0000001"],     # one length, 8 bytes: packed as they are
    ["ab", "ab\0", "a", "ab", "zzzzzzz", "a", "b"],         # mixed lengths up to 7: the length is in the key
    ["1234567", "12345678", "1234567"],                   # mixed, one of 8 bytes: pandas' own factorize
    ["é", "e", "é", "客户1", "e"],                         # multi-byte text
    ["x"],
    ["", "", ""],                                           # every id empty (validation makes them missing)
    [f"{i % 997:05d}" for i in range(20_000)][::-1],      # many repeats, in no order
])
def test_customer_ids_get_the_codes_of_pandas_factorize_in_sorted_order(ids):
    import numpy as np

    from crmid.customerbase.contract import _as_customer_id, _factorize_ids

    cid = _as_customer_id(pd.Series(ids, dtype=object))
    expected_codes, expected_uniques = pd.factorize(cid, sort=True)
    codes, uniques = _factorize_ids(cid)
    assert np.array_equal(codes, expected_codes)
    assert list(uniques) == list(expected_uniques)
