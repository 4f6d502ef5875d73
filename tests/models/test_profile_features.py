"""Profile columns as model features: numbers as they are, categories as codes, missing as NaN."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmid.customerbase import validate_profiles
from crmid.models.profile_features import ProfileFeatures


@pytest.fixture
def profiles():
    return validate_profiles(pd.DataFrame({
        "customer_id": ["a", "b", "c", "d"],
        "segment": ["business", "consumer", None, "business"],
        "price_sensitive": ["yes", "no", "yes", None],
        "cost_to_serve": [10.0, None, 2.5, 4.0],
        "region": ["north", "south", "north", "east"],  # a column of the user's own
        "note": [f"free text {i}" for i in range(4)],
        "empty": [None] * 4,
    }))


def test_numbers_flags_and_categories_become_columns_and_the_rest_is_said(profiles):
    enc = ProfileFeatures(max_categories=3).fit(profiles)
    assert enc.feature_names_ == ["profile_segment", "profile_price_sensitive", "profile_cost_to_serve",
                                  "profile_region"]
    assert set(enc.skipped_) == {"note", "empty"} and "4 distinct values" in enc.skipped_["note"]
    X = enc.transform(["d", "a", "zz", "c"], profiles)  # another order, and a customer without a profile
    assert list(X.columns) == enc.feature_names_ and (X.dtypes == np.float32).all()
    # categories coded in sorted order: business 0, consumer 1; east 0, north 1, south 2
    np.testing.assert_array_equal(X["profile_segment"], [0, 0, np.nan, np.nan])
    np.testing.assert_array_equal(X["profile_price_sensitive"], [np.nan, 1, np.nan, 1])
    np.testing.assert_array_equal(X["profile_cost_to_serve"], [4.0, 10.0, np.nan, 2.5])
    np.testing.assert_array_equal(X["profile_region"], [0, 1, np.nan, 1])


def test_unknown_categories_absent_columns_and_no_profiles_are_missing(profiles):
    enc = ProfileFeatures().fit(profiles)
    later = pd.DataFrame({"customer_id": ["a", "b"], "region": ["west", "south"], "segment": ["consumer", None]})
    X = enc.transform(["a", "b"], later)
    np.testing.assert_array_equal(X["profile_region"], [np.nan, 2])  # 'west' was never seen at training
    np.testing.assert_array_equal(X["profile_segment"], [1, np.nan])
    assert X["profile_cost_to_serve"].isna().all()  # not in this file
    assert enc.transform(["a", "b"], None).isna().all().all()
    assert enc.transform([], profiles).shape == (0, len(enc.feature_names_))


def test_state_round_trip_and_labels(profiles):
    enc = ProfileFeatures().fit(profiles)
    back = ProfileFeatures.from_state(enc.get_state())
    pd.testing.assert_frame_equal(back.transform(["c", "a"], profiles), enc.transform(["c", "a"], profiles))
    assert back.label("profile_region") == "profile: region (0=east, 1=north, 2=south)"
    assert back.label("profile_cost_to_serve") == "profile: cost to serve"
    with pytest.raises(RuntimeError, match="not fitted"):
        ProfileFeatures().transform(["a"], profiles)
