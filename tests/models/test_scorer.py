"""CustomerScorer: outputs, save/load round trip, and load errors naming the location."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from crmid.customerbase.snapshot import TransactionLog
from crmid.models import OUTPUT_COLUMNS, CustomerScorer, ScorerLoadError, load_scorer
from crmid.training import fit_scorer


@pytest.fixture(scope="module")
def fitted(cdnow_3k):
    return fit_scorer(cdnow_3k, cutoff="1997-12-31", horizon=90)


@pytest.fixture(scope="module")
def snap(cdnow_3k):
    return TransactionLog(cdnow_3k).snapshot("1998-02-28")


def test_predict_outputs(fitted, snap):
    out = fitted.predict(snap)
    assert list(out.columns) == list(OUTPUT_COLUMNS)
    assert len(out) == len(snap) and out.index.equals(snap.index)
    assert not out.isna().any().any()
    ps = [f"p_purchase_{t}d" for t in (30, 90, 180, 365)]
    for early, late in itertools.pairwise(ps):
        assert (out[early] <= out[late] + 1e-12).all()
    for c in ("churn_probability", *ps, "p_alive"):
        assert out[c].between(0, 1).all()
    # never capped at the training horizon: past the last knot the tail answers
    median, p90 = out["next_purchase_days_median"], out["next_purchase_days_p90"]
    assert (median > max(fitted.knots)).any() and (median <= p90).all()
    assert (median[median > 365] > 365).all() and out["next_purchase_median_beyond_365d"].equals(median > 365)
    assert out["next_purchase_median_beyond_365d"].dtype == bool
    # the median is where P(purchase) reaches 50%: the curve agrees on both sides of it
    finite = median[np.isfinite(median) & (median > 1)]
    curve = fitted.next_purchase_curve(snap.loc[finite.index])
    for i, days in enumerate(finite.to_numpy()[:200]):
        assert curve.probability(days)[i] == pytest.approx(0.5, abs=1e-6)
    assert (out["expected_lifetime_days"] >= 0).all() and (out["expected_purchase_cycle_days"] > 0).all()
    assert fitted.version == "local" and fitted.horizon_days == 90 and fitted.feature_names_


def test_predict_keeps_row_order_and_handles_any_row_count(fitted, snap):
    out = fitted.predict(snap)
    shuffled = snap.sample(frac=1.0, random_state=1)
    pd.testing.assert_frame_equal(fitted.predict(shuffled), out.loc[shuffled.index])
    assert len(fitted.predict(snap.head(1))) == 1
    empty = fitted.predict(snap.head(0))
    assert list(empty.columns) == list(OUTPUT_COLUMNS) and len(empty) == 0


def test_save_load_round_trip_is_identical(fitted, snap, tmp_path):
    fitted.save(tmp_path / "s")
    again = CustomerScorer.load(tmp_path / "s")
    pd.testing.assert_frame_equal(again.predict(snap), fitted.predict(snap))
    assert again.sources == fitted.sources
    via_uri = load_scorer(str(tmp_path / "s"))
    pd.testing.assert_frame_equal(via_uri.predict(snap), fitted.predict(snap))
    assert not list((tmp_path / "s").glob("*.pkl"))


def test_corrupted_or_missing_scorer_names_the_location(fitted, tmp_path):
    with pytest.raises(ScorerLoadError, match="nowhere"):
        load_scorer(str(tmp_path / "nowhere"))
    fitted.save(tmp_path / "bad")
    booster = next((tmp_path / "bad").glob("*.lgb.txt"))
    booster.write_text("tree\ngarbage")
    with pytest.raises(ScorerLoadError, match=str(tmp_path / "bad")):
        load_scorer(str(tmp_path / "bad"))
    fitted.save(tmp_path / "bad2")
    (tmp_path / "bad2" / "scorer.json").write_text("{not json")
    with pytest.raises(ScorerLoadError, match="corrupted"):
        CustomerScorer.load(tmp_path / "bad2")
