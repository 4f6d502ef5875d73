"""PSI and reference profiles against values worked out by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from crmid.models.drift import MIN_SHARE, missing_rate, psi, psi_from_shares, reference_profile


def test_psi_of_shares_is_the_textbook_sum():
    # (0.9 - 0.5) ln(0.9 / 0.5) + (0.1 - 0.5) ln(0.1 / 0.5) = 0.4 ln 1.8 + 0.4 ln 5
    assert psi_from_shares([0.5, 0.5], [0.9, 0.1]) == pytest.approx(0.4 * math.log(1.8) + 0.4 * math.log(5))
    assert psi_from_shares([0.25] * 4, [0.25] * 4) == 0.0
    # an empty bin is floored, not infinite
    assert psi_from_shares([0.5, 0.5], [1.0, 0.0]) == pytest.approx(
        0.5 * math.log(1.0 / 0.5) + (MIN_SHARE - 0.5) * math.log(MIN_SHARE / 0.5))


def test_reference_profile_deciles_and_psi_of_a_shift():
    reference = pd.DataFrame({"x": np.arange(100, dtype=float), "name": ["a"] * 100})
    profile = reference_profile(reference)
    assert list(profile) == ["x"]  # numeric columns only
    assert profile["x"]["edges"] == pytest.approx([9.9, 19.8, 29.7, 39.6, 49.5, 59.4, 69.3, 79.2, 89.1])
    assert profile["x"]["shares"] == pytest.approx([0.1] * 10)
    json.dumps(profile)  # saved with the model as JSON
    assert psi(profile["x"], np.arange(100)) == pytest.approx(0.0)
    # everything in the two lowest bins: 2 x (0.5 - 0.1) ln 5 + 8 x (1e-4 - 0.1) ln(1e-3)
    shifted = np.r_[np.zeros(50), np.full(50, 15.0)]
    expected = 2 * 0.4 * math.log(5) + 8 * (MIN_SHARE - 0.1) * math.log(MIN_SHARE / 0.1)
    assert psi(profile["x"], shifted) == pytest.approx(expected)


def test_discrete_columns_missing_values_and_values_outside_the_range():
    frame = pd.DataFrame({"k": [0.0] * 60 + [1.0] * 30 + [np.nan] * 10})
    profile = reference_profile(frame, ["k", "absent"])["k"]
    assert profile["edges"] == [0.0, 1.0]  # repeated quantiles collapse
    assert profile["shares"] == pytest.approx([0.0, 60 / 90, 30 / 90])
    assert profile["missing_rate"] == pytest.approx(0.1) and profile["n"] == 100
    assert missing_rate([1.0, None, np.nan, 2.0]) == 0.5
    # -5 falls below the lowest edge, 7 above the highest: both still counted
    assert psi(profile, [-5.0, 7.0, 0.0]) > 1.0
    assert math.isnan(psi(profile, [np.nan, np.nan]))
