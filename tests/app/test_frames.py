"""crmid._frames reads and builds frames without pandas' per-call cost; the values must be pandas' own."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmid._frames import column_values, frame_of


@pytest.fixture()
def mixed():
    return pd.DataFrame({
        "n": np.array([1, 2, 3], dtype=np.int64),
        "x": [0.5, np.nan, 2.0],
        "masked": pd.array([1.5, None, 3.0], dtype="Float64"),
        "day": pd.to_datetime(["1997-01-01", None, "1998-06-30"]),
        "label": pd.Categorical(["gold", None, "iron"]),
        "text": pd.array(["a", None, "c"], dtype="str"),
        "flag": [True, False, True],
    })


@pytest.mark.parametrize("column", ["n", "x", "masked", "day", "label", "text", "flag"])
def test_a_column_reads_as_pandas_gives_it(mixed, column):
    assert pd.Series(column_values(mixed, column)).equals(pd.Series(mixed[column].array))


@pytest.mark.parametrize("column", ["n", "x", "masked", "flag"])
def test_a_column_converted_to_floats_is_pandas_to_numpy(mixed, column):
    expected = mixed[column].to_numpy(dtype=np.float64, na_value=np.nan)
    np.testing.assert_array_equal(column_values(mixed, column, np.float64), expected)
    assert column_values(mixed, column, np.float32).dtype == np.float32


def test_dates_convert_to_days_with_nat(mixed):
    days = column_values(mixed, "day", "datetime64[D]")
    assert days.dtype == np.dtype("datetime64[D]")
    assert str(days[0]) == "1997-01-01" and np.isnat(days[1])


def test_a_repeated_label_is_read_through_pandas():
    frame = pd.DataFrame([[1.0, 2.0]], columns=["a", "a"])
    assert column_values(frame, "a", np.float64).shape == (1, 2)


def test_frame_of_equals_the_public_constructor_on_typed_arrays(mixed):
    columns = {c: mixed[c].array for c in mixed.columns}
    built = frame_of(columns)
    pd.testing.assert_frame_equal(built, pd.DataFrame(columns), check_column_type=False)
    assert built.columns.dtype == object
    assert list(built.index) == [0, 1, 2]


def test_frame_of_keeps_object_text_as_objects_and_takes_an_index():
    built = frame_of({"reason": np.array(["x", "y"], dtype=object)}, index=pd.Index([7, 9]))
    assert built["reason"].dtype == object
    assert list(built.index) == [7, 9]
    assert list(built["reason"]) == ["x", "y"]


def test_frame_of_refuses_columns_of_different_lengths():
    with pytest.raises(ValueError, match="different lengths"):
        frame_of({"a": np.zeros(2), "b": np.zeros(3)})


def test_frame_of_no_columns_has_the_index_length():
    assert len(frame_of({}, index=pd.RangeIndex(4))) == 4
    assert frame_of({}).shape == (0, 0)
