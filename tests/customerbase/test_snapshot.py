"""Point-in-time snapshots: features from hand-made histories, the leakage guard, labels with censoring."""

import numpy as np
import pandas as pd
import pytest

from crmid.customerbase import FEATURES, LABELS, TransactionLog, label_snapshot, snapshots, validate_transactions
from crmid.customerbase.snapshot import snapshot


def _tx(rows):
    frame = pd.DataFrame(rows, columns=["customer_id", "date", "amount"])
    return validate_transactions(frame)[0]


@pytest.fixture
def history():
    return _tx([
        # a: buys on days 1, 11, 31 (gaps 10 and 20); two lines on day 11 make one occasion
        ("a", "2024-01-01", 10.0),
        ("a", "2024-01-11", 5.0),
        ("a", "2024-01-11", 15.0),
        ("a", "2024-01-31", 30.0),
        ("a", "2024-02-05", -8.0),
        # b: one purchase, then a purchase after the as-of date
        ("b", "2024-01-20", 40.0),
        ("b", "2024-03-15", 60.0),
        # c: appears only after the as-of date
        ("c", "2024-03-01", 12.0),
    ])


def _row(frame, cid):
    return frame.loc[frame["customer_id"].astype(str) == cid].iloc[0]


def test_features_on_hand_made_history(history):
    snap = snapshot(history, "2024-02-10")
    assert sorted(snap["customer_id"].astype(str)) == ["a", "b"]
    a = _row(snap, "a")
    assert a["n_purchases"] == 3 and a["frequency"] == 2
    assert a["recency_days"] == 10  # 2024-01-31 -> 2024-02-10
    assert a["tenure_days"] == 40
    assert a["monetary_total"] == 60.0 and a["monetary_mean"] == 20.0 and a["monetary_max"] == 30.0
    assert a["ipt_mean_days"] == 15.0 and a["ipt_last_days"] == 20.0
    assert a["ipt_std_days"] == pytest.approx(5.0)
    # the window (2024-01-11, 2024-02-10] excludes its first day: only 2024-01-31 is in it
    assert a["n_purchases_30d"] == 1 and a["spend_30d"] == 30.0
    # the prior window (2023-12-12, 2024-01-11] holds 10 + 20
    assert a["spend_trend_30d"] == pytest.approx(30.0 / 30.0)
    assert a["n_purchases_90d"] == 3 and a["spend_90d"] == 60.0
    assert a["returns_count"] == 1 and a["returns_amount"] == 8.0
    assert a["clv_s"] == 20.0 and a["clv_t"] == 15.0
    # Gamma-Gamma's m_x: the repeat occasions only (day 11: 5 + 15, day 31: 30), the return not counted
    assert a["monetary_repeat_mean"] == 25.0
    b = _row(snap, "b")
    assert b["frequency"] == 0 and np.isnan(b["ipt_mean_days"]) and np.isnan(b["spend_trend_30d"])
    assert b["monetary_repeat_mean"] == 0.0  # no repeat purchase yet (the later one is after as_of)
    # at a later date b's second purchase is its one repeat purchase
    assert _row(snapshot(history, "2024-03-31"), "b")["monetary_repeat_mean"] == 60.0


def test_every_column_documented_once(history):
    assert set(snapshot(history, "2024-02-10").columns) == set(FEATURES)


def test_leakage_guard_future_rows_change_nothing(history):
    """A snapshot at as_of is identical whether or not later transactions exist."""
    as_of = "2024-02-10"
    with_future = snapshot(history, as_of)
    without_future = snapshot(history[history["date"] <= as_of].reset_index(drop=True), as_of)

    def key(f):
        return f.assign(customer_id=f["customer_id"].astype(str)).sort_values("customer_id").reset_index(drop=True)

    pd.testing.assert_frame_equal(key(with_future), key(without_future))


def test_leakage_guard_randomised():
    rng = np.random.default_rng(7)
    n = 3000
    frame = pd.DataFrame({
        "customer_id": rng.integers(0, 300, n).astype(str),
        "date": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D"),
        "amount": np.round(rng.normal(30, 20, n), 2),
    })
    tx = validate_transactions(frame)[0]
    log = TransactionLog(tx)
    for as_of in ["2023-03-01", "2023-09-15", "2024-06-30"]:
        past = tx[tx["date"] <= as_of].reset_index(drop=True)
        a = log.snapshot(as_of)
        b = snapshot(past, as_of)
        a = a.assign(customer_id=a["customer_id"].astype(str)).sort_values("customer_id").reset_index(drop=True)
        b = b.assign(customer_id=b["customer_id"].astype(str)).sort_values("customer_id").reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b, check_exact=True)


def test_one_customer_alone_gets_bit_identical_features():
    """Money is summed in fixed point: a customer's features never depend on the other customers,
    so batch, one customer (HTTP) and a Spark partition agree exactly."""
    rng = np.random.default_rng(11)
    n = 5000
    frame = pd.DataFrame({
        "customer_id": rng.integers(0, 400, n).astype(str),
        "date": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 500, n), unit="D"),
        "amount": np.round(rng.gamma(2.0, 17.3, n), 2) + rng.uniform(0, 1e-3, n),
    })
    tx = validate_transactions(frame)[0]
    batch = snapshot(tx, "2024-03-01")
    batch["customer_id"] = batch["customer_id"].astype(str)
    for cid in ["7", "123", "399"]:
        alone = snapshot(tx[tx["customer_id"].astype(str) == cid].reset_index(drop=True), "2024-03-01")
        alone["customer_id"] = alone["customer_id"].astype(str)
        pd.testing.assert_frame_equal(alone, batch[batch["customer_id"] == cid].reset_index(drop=True),
                                      check_exact=True)


def test_a_customer_sample_keeps_each_customers_rows_and_the_data_window(cdnow):
    log = TransactionLog(cdnow)
    sample = log.sample_customers(2000, seed=3)
    assert sample.n_customers == 2000
    assert (sample.data_start, sample.data_end) == (log.data_start, log.data_end)
    assert sample.sample_customers(5000, seed=3) is sample  # nothing to draw from a smaller log
    for as_of in ("1997-03-31", "1998-06-30"):
        mine = sample.snapshot(as_of).astype({"customer_id": str}).set_index("customer_id")
        full = log.snapshot(as_of).astype({"customer_id": str}).set_index("customer_id")
        assert 0 < len(mine) == full.index.isin(sample.customer_ids).sum()
        pd.testing.assert_frame_equal(mine, full.loc[mine.index], check_exact=True)
        # labels read the data window of the whole log: censoring is the same for the sample
        lab = sample.labels(as_of, 90).astype({"customer_id": str}).set_index("customer_id")
        full_lab = log.labels(as_of, 90).astype({"customer_id": str}).set_index("customer_id").loc[lab.index]
        pd.testing.assert_frame_equal(lab, full_lab, check_exact=True)


def test_labels_with_censoring(history):
    lab = label_snapshot(history, "2024-02-10", horizon=60, observed_until="2024-03-31")
    assert set(lab.columns) == {"customer_id", "days_to_next_purchase", "next_purchase_observed",
                                "purchased_within_30d", "purchased_within_60d", "purchased_within_90d", "churned"}
    a, b = _row(lab, "a"), _row(lab, "b")
    # a never buys again: censored at the observation end, 50 days after as_of
    assert not a["next_purchase_observed"] and a["days_to_next_purchase"] == 50
    assert a["purchased_within_30d"] is False or a["purchased_within_30d"] == False  # noqa: E712
    # 50 days followed, no purchase: a 60- or 90-day window is not fully observed, so unknown
    assert pd.isna(a["purchased_within_60d"]) and pd.isna(a["purchased_within_90d"]) and pd.isna(a["churned"])
    # b buys 34 days after as_of
    assert b["next_purchase_observed"] and b["days_to_next_purchase"] == 34
    assert not b["purchased_within_30d"] and b["purchased_within_60d"] and b["purchased_within_90d"]
    assert not b["churned"]


def test_labels_never_read_past_observation_end(history):
    lab = label_snapshot(history, "2024-02-10", horizon=30, observed_until="2024-03-10")
    b = _row(lab, "b")
    # b's purchase on 2024-03-15 lies after the observation end: censored, not seen
    assert not b["next_purchase_observed"] and b["days_to_next_purchase"] == 29
    with pytest.raises(ValueError, match="before the as-of date"):
        label_snapshot(history, "2024-02-10", horizon=30, observed_until="2024-01-01")


def test_stacked_snapshots_carry_their_own_dates(history):
    stacked = snapshots(history, ["2024-01-15", "2024-02-10"], horizon=30, observed_until="2024-03-31")
    assert list(stacked["as_of"].drop_duplicates()) == [pd.Timestamp("2024-01-15"), pd.Timestamp("2024-02-10")]
    first = stacked[stacked["as_of"] == "2024-01-15"]
    assert sorted(first["customer_id"].astype(str)) == ["a"]
    assert _row(first, "a")["days_to_next_purchase"] == 16  # 2024-01-15 -> 2024-01-31
    assert set(LABELS) - {"purchased_within_{w}d"} <= set(stacked.columns)


def test_return_only_customer_is_known_not_dropped():
    tx = _tx([("r", "2024-01-05", -5.0), ("s", "2024-01-01", 5.0)])
    snap = snapshot(tx, "2024-01-10")
    r = _row(snap, "r")
    assert r["n_purchases"] == 0 and r["returns_count"] == 1 and np.isnan(r["recency_days"])


def test_purchase_history_is_the_last_purchase_days_up_to_as_of():
    import json

    tx = pd.DataFrame({
        "customer_id": ["a", "a", "a", "a", "a", "b", "c", "c"],
        "date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-02-01", "2024-03-01", "2024-05-01",
                                "2024-01-10", "2024-01-05", "2024-02-05"]),
        "amount": [10.0, 5.5, 20.0, 30.25, 99.0, -8.0, 7.0, -7.0],
    })
    log = TransactionLog(tx)
    history = log.purchase_history("2024-03-31", last=2)
    # the snapshot's customers, in its order
    assert list(history["customer_id"].astype(str)) == list(log.snapshot("2024-03-31")["customer_id"].astype(str))
    got = dict(zip(history["customer_id"].astype(str), history["purchase_history"], strict=True))
    # a: the last two purchase days on or before as-of (the May purchase is after it)
    assert json.loads(got["a"]) == [["2024-02-01", 20.0], ["2024-03-01", 30.25]]
    # one day's purchases are summed; returns are not purchases
    assert json.loads(log.purchase_history("2024-03-31", last=5).set_index("customer_id")
                      .loc["a", "purchase_history"])[0] == ["2024-01-01", 15.5]
    assert pd.isna(got["b"])  # returns only
    assert json.loads(got["c"]) == [["2024-01-05", 7.0]]
    with pytest.raises(ValueError, match="at least 1"):
        log.purchase_history("2024-03-31", last=0)


def test_purchase_histories_formatted_in_blocks_of_customers_are_the_same_texts(monkeypatch, cdnow):
    # a million customers are formatted 200,000 at a time; blocks of 7 here cut every few customers,
    # returns-only customers (null) and the last, short block included
    import crmid.customerbase.snapshot as module

    log = TransactionLog(cdnow[cdnow["customer_id"].isin(cdnow["customer_id"].unique()[:60])])
    whole = log.purchase_history("1998-03-31", last=24)
    monkeypatch.setattr(module, "_HISTORY_BLOCK", 7)
    blocks = log.purchase_history("1998-03-31", last=24)
    assert len(whole) == 60 and whole["purchase_history"].notna().sum() > 50
    pd.testing.assert_frame_equal(blocks, whole)
