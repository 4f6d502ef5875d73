"""The store's queries behind the web page, on SQLite and on the real PostgreSQL at 127.0.0.1:5432.

Paging, sorting, filtering and counting are done by the database; they must agree with the one
retain ranking (``retain``), whatever way the list is cut.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from crmid.serving.store import TIER_ORDER, open_store
from crmid.serving.store.base import RETAIN_SORTS


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Equal rows; a page whose values of a column are all missing holds them as None, not NaN."""
    def plain(f):
        return f.astype(object).where(f.notna(), None).reset_index(drop=True)

    pd.testing.assert_frame_equal(plain(a), plain(b))


def _scored(n: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tiers = rng.choice(["platinum", "gold", "iron", "lead"], n)
    churn = rng.choice([0.1, 0.35, 0.65, 0.85], n)  # repeated values: ties that the ranking breaks
    churn[::9] = np.nan
    clv = rng.choice([50.0, 100.0, 200.0], n)
    var = clv * churn
    return pd.DataFrame({
        "customer_id": [f"c{i:03d}" for i in range(n)],
        "churn_probability": churn,
        "p_purchase_30d": 0.2, "p_purchase_90d": 0.4,
        "next_purchase_days_median": rng.choice([10.0, 45.0, np.nan], n),
        "next_purchase_days_p90": rng.choice([100.0, np.inf, np.nan], n),
        "p_purchase_180d": rng.uniform(0, 1, n),
        "p_purchase_365d": rng.uniform(0, 1, n),
        "expected_spend_90d": rng.gamma(2.0, 10.0, n),
        "expected_spend_180d": rng.gamma(2.0, 18.0, n),
        "expected_spend_365d": rng.gamma(2.0, 30.0, n),
        "drivers": None,
        "clv": clv, "value_at_risk": var, "value_percentile": rng.random(n),
        "value_tier": tiers,
        "churn_risk": np.where(np.isnan(churn), "not_assessed", np.where(churn >= 0.6, "high", "low")),
        "lifecycle_stage": rng.choice(["growth", "decline"], n),
        "temperature": rng.choice(["hot", "cold"], n),
        "action": rng.choice(["call", "mail", "offer"], n),
        "action_text": "do it",
        "priority": rng.choice([0.0, 10.0, 50.0, 80.0], n),
        "reasons": json.dumps([{"rule": "retention.x", "reason": "because"}]),
    })


def test_pages_and_offsets_cut_the_one_ranking(store):
    store.save_run(_scored(), as_of="2024-01-31", n_rejected=0, model_version="m", rules_version="r",
                   clv_reference=np.array([0.0, 1.0]))
    everyone = store.retain(top=1000)
    assert store.count_retain() == len(everyone) > 10
    pages = pd.concat([store.retain_page(top=7, offset=o) for o in range(0, len(everyone), 7)], ignore_index=True)
    _same(pages, everyone)
    assert store.retain_page(top=5).equals(store.retain(top=5))
    assert store.retain_page(top=None, offset=3).equals(everyone.iloc[3:].reset_index(drop=True))
    assert store.retain_page(top=10, offset=10_000).empty
    chunks = list(store.iter_retain(chunk_rows=6))
    assert len(chunks) > 1 and all(len(c) <= 6 for c in chunks)
    _same(pd.concat(chunks, ignore_index=True), everyone)
    assert store.retain_page(top=None, sort="rank", descending=True).equals(
        everyone.iloc[::-1].reset_index(drop=True))


@pytest.mark.parametrize("sort", [s for s in RETAIN_SORTS if s != "rank"])
@pytest.mark.parametrize("descending", [False, True])
def test_any_column_sorts_with_the_ranking_breaking_ties(store, sort, descending):
    store.save_run(_scored(), as_of="2024-01-31", n_rejected=0, model_version="m", rules_version="r",
                   clv_reference=np.array([0.0, 1.0]))
    rank = {cid: i for i, cid in enumerate(store.retain(top=1000)["customer_id"])}
    got = store.retain_page(top=None, sort=sort, descending=descending)
    key = got["value_tier"].map({t: i for i, t in enumerate(TIER_ORDER)}) if sort == "value_tier" else got[sort]
    frame = pd.DataFrame({"key": key.astype(object), "rank": got["customer_id"].map(rank)})
    known = frame[frame["key"].notna()]
    # missing values last, whichever way; the rest by the column, then by the retain ranking
    assert frame["key"].isna().tolist() == sorted(frame["key"].isna().tolist())
    expected = known.sort_values(["key", "rank"], ascending=[not descending, True])
    assert known["rank"].tolist() == expected["rank"].tolist()
    paged = pd.concat([store.retain_page(top=4, offset=o, sort=sort, descending=descending)
                       for o in range(0, len(got), 4)], ignore_index=True)
    _same(paged, got)


def test_filters_and_counts(store):
    scored = _scored()
    store.save_run(scored, as_of="2024-01-31", n_rejected=0, model_version="m", rules_version="r",
                   clv_reference=np.array([0.0, 1.0]))
    listed = scored[scored["priority"] > 0]
    cases = [
        ({"tiers": ["gold"]}, listed["value_tier"] == "gold"),
        ({"labels": {"action": ["call", "offer"]}}, listed["action"].isin(["call", "offer"])),
        ({"labels": {"lifecycle_stage": ["decline"], "temperature": ["hot"]}},
         (listed["lifecycle_stage"] == "decline") & (listed["temperature"] == "hot")),
        ({"min_value_at_risk": 60.0}, listed["value_at_risk"] >= 60.0),
        ({"min_churn": 0.6, "tiers": ["iron", "lead"]},
         (listed["churn_probability"] >= 0.6) & listed["value_tier"].isin(["iron", "lead"])),
        ({"labels": {"action": []}}, listed["priority"] > 0),
        ({"labels": {"action": ["nothing"]}}, listed["priority"] < 0),
    ]
    for filters, mask in cases:
        expected = set(listed.loc[mask, "customer_id"])
        assert set(store.retain_page(top=None, **filters)["customer_id"]) == expected, filters
        assert store.count_retain(**filters) == len(expected), filters
        assert sum(len(c) for c in store.iter_retain(chunk_rows=5, **filters)) == len(expected)
    with pytest.raises(ValueError, match="label columns"):
        store.retain_page(labels={"customer_id": ["c001"]})
    with pytest.raises(ValueError, match="sort"):
        store.retain_page(sort="reasons")


def test_breakdown_distribution_runs_and_history(store):
    first = _scored(seed=1)
    second = _scored(seed=2).iloc[5:]  # c000..c004 left this run
    store.save_run(first, as_of="2023-12-31", n_rejected=1, model_version="m", rules_version="r",
                   clv_reference=np.array([0.0, 1.0]))
    run = store.save_run(second, as_of="2024-01-31", n_rejected=0, model_version="m", rules_version="r",
                         clv_reference=np.array([0.0, 1.0]))

    everyone = store.breakdown(["value_tier", "churn_risk"])
    assert everyone["customers"].sum() == len(second)
    by_tier = everyone.groupby("value_tier")[["customers", "clv"]].sum()
    expected = second.groupby("value_tier").agg(customers=("customer_id", "size"), clv=("clv", "sum"))
    pd.testing.assert_frame_equal(by_tier, expected, check_dtype=False)
    listed = store.breakdown(["action"], listed_only=True, run_id=run)
    mine = second[second["priority"] > 0]
    assert listed.set_index("action")["customers"].sort_index().tolist() == \
        mine.groupby("action").size().sort_index().tolist()
    assert listed["value_at_risk"].sum() == pytest.approx(mine["value_at_risk"].sum())
    with pytest.raises(ValueError, match="label columns"):
        store.breakdown(["clv"])

    hist = store.distribution("churn_probability", [0.0, 0.25, 0.5, 0.75, 1.0])
    churn = second["churn_probability"].dropna()
    assert hist["customers"].tolist() == [((churn >= lo) & ((churn < hi) | (hi == 1.0) & (churn <= hi))).sum()
                                         for lo, hi in zip(hist["lower"], hist["upper"], strict=True)]
    assert hist["customers"].sum() == churn.size  # missing values are not counted
    with pytest.raises(ValueError, match="number columns"):
        store.distribution("value_tier", [0, 1])

    runs = store.list_runs()
    assert [r.as_of for r in runs] == ["2024-01-31", "2023-12-31"] and runs[1].n_rejected == 1

    history = store.customer_history("c007")
    assert history["as_of"].tolist() == ["2023-12-31", "2024-01-31"]
    assert history["value_tier"].tolist() == [first.loc[7, "value_tier"], second.loc[7, "value_tier"]]
    assert store.customer_history("c001")["as_of"].tolist() == ["2023-12-31"]
    assert store.customer_history("c007", runs=1)["as_of"].tolist() == ["2024-01-31"]
    assert store.customer_history("nobody").empty


def test_the_database_cuts_sorts_and_sums(tmp_path):
    """No query of the page loads a run: a page is cut by LIMIT/OFFSET, a count and a summary are
    computed by the database (COUNT, GROUP BY), and only their few rows come back."""
    store = open_store(f"sqlite:///{tmp_path / 'scores.db'}")
    store.save_run(_scored(), as_of="2024-01-31", n_rejected=0, model_version="m", rules_version="r",
                   clv_reference=np.array([0.0, 1.0]))
    statements: list[str] = []

    def record(conn, cursor, statement, params, context, many):
        statements.append(" ".join(statement.split()))

    sa.event.listen(store.engine, "before_cursor_execute", record)

    def sql_of(call) -> str:
        statements.clear()
        call()
        return statements[-1]

    page = sql_of(lambda: store.retain_page(top=5, offset=10, sort="clv", descending=True, tiers=["gold"]))
    assert "LIMIT" in page and "OFFSET" in page and "ORDER BY" in page
    assert "count(*)" in sql_of(lambda: store.count_retain(labels={"action": ["call"]})).lower()
    assert "GROUP BY" in sql_of(lambda: store.breakdown(["value_tier", "action"], listed_only=True))
    assert "GROUP BY" in sql_of(lambda: store.distribution("churn_probability", [0.0, 0.5, 1.0]))
    store.close()


@pytest.mark.parametrize("sort", RETAIN_SORTS)
@pytest.mark.parametrize("descending", [False, True])
def test_pages_at_the_back_read_from_the_end_give_the_same_rows(store, sort, descending, monkeypatch):
    import crmid.serving.store.sql as sql

    store.save_run(_scored(), as_of="2024-01-31", n_rejected=0, model_version="m", rules_version="r",
                   clv_reference=np.array([0.0, 1.0]))
    whole = store.retain_page(top=None, sort=sort, descending=descending, tiers=["gold", "iron", "lead"])
    monkeypatch.setattr(sql, "_MIRROR_FROM", 1)  # every page after the first is read from the end
    paged = pd.concat([store.retain_page(top=3, offset=o, sort=sort, descending=descending,
                                         tiers=["gold", "iron", "lead"]) for o in range(0, len(whole), 3)],
                      ignore_index=True)
    _same(paged, whole)
    assert store.retain_page(top=3, offset=len(whole), sort=sort, descending=descending,
                             tiers=["gold", "iron", "lead"]).empty
