"""The scores store on SQLite and on the real PostgreSQL at 127.0.0.1:5432."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from crmid.rules.families import outputs
from crmid.rules.family import NUMBER
from crmid.serving.store import RETAIN_COLUMNS, TIER_ORDER, open_store
from crmid.serving.store.sql import score_fields


def _scored(n=6, priority=None, tiers=None):
    return pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(n)],
        "churn_probability": np.linspace(0.1, 0.9, n),
        "p_purchase_30d": 0.2, "p_purchase_90d": 0.4, "next_purchase_days_median": 40.0,
        "p_purchase_180d": 0.5, "p_purchase_365d": 0.6, "next_purchase_days_p90": 400.0, "drivers": "[]",
        "expected_spend_90d": 10.0, "expected_spend_180d": 18.0, "expected_spend_365d": 30.0,
        "clv": np.linspace(100, 600, n),
        "value_at_risk": np.linspace(100, 600, n) * np.linspace(0.1, 0.9, n),
        "value_percentile": np.linspace(0, 1, n),
        "value_tier": tiers or ["lead", "iron", "iron", "gold", "gold", "platinum"][:n],
        "relationship_type": "partner", "customer_kind": "relationship", "value_type": "maintain",
        "lifecycle_stage": "maturity", "temperature": "warm", "man_class": "not_assessed",
        "action": "act", "action_text": "Do something",
        "priority": priority if priority is not None else [1, 2, 2, 3, 3, 5][:n],
        "reasons": json.dumps([{"rule": "retention.x", "reason": "because"}]),
    })


def test_latest_complete_run_and_retain_order(store):
    assert store.latest_run() is None
    assert store.retain().empty
    first = store.save_run(_scored(), as_of="2024-01-31", n_rejected=0, model_version="m1", rules_version="r1",
                           clv_reference=np.array([0.0, 1.0]))
    second = store.save_run(_scored(), as_of="2024-02-29", n_rejected=2, model_version="m2", rules_version="r1",
                            clv_reference=np.array([0.0, 2.0, 3.0]))
    latest = store.latest_run()
    assert latest.run_id == second != first
    assert latest.as_of == "2024-02-29" and latest.n_scored == 6 and latest.n_rejected == 2
    np.testing.assert_array_equal(latest.clv_reference, [0.0, 2.0, 3.0])
    top = store.retain(top=3)
    # priority first, then value at risk: c5 (5), then c4 before c3 (both 3, c4 more at risk)
    assert list(top["customer_id"]) == ["c5", "c4", "c3"]


def test_retain_filters(store):
    store.save_run(_scored(), as_of="2024-01-31", n_rejected=0, model_version="m", rules_version="r",
                   clv_reference=np.zeros(1))
    assert set(store.retain(tiers=["gold"])["customer_id"]) == {"c3", "c4"}
    assert list(store.retain(min_churn=0.8)["customer_id"]) == ["c5"]
    # unknown customers and tiers are not errors: they match nothing
    assert store.retain(customer_ids=["nobody"]).empty
    assert store.retain(tiers=["diamond"]).empty
    assert list(store.retain(customer_ids=["c1", "nobody"])["customer_id"]) == ["c1"]


def test_ties_in_priority_and_risk_go_to_the_higher_tier(store):
    frame = _scored(2, priority=[4, 4], tiers=["gold", "platinum"]).assign(value_at_risk=[50.0, 50.0])
    store.save_run(frame, as_of="2024-01-31", n_rejected=0, model_version="m", rules_version="r",
                   clv_reference=np.zeros(1))
    assert list(store.retain()["customer_id"]) == ["c1", "c0"]


def test_rows_come_back_as_they_were_written(store):
    # what a real scored frame holds: categorical labels, a prospect with no model outputs,
    # reasons whose JSON has quotes, commas, a newline and Chinese text (the bulk paths must
    # quote and escape them, and turn NaN into NULL)
    frame = _scored(3)
    frame.loc[2, ["churn_probability", "clv", "value_at_risk", "next_purchase_days_median"]] = np.nan
    frame.loc[1, "reasons"] = json.dumps([{"rule": "tier.gold", "reason": 'gold (黄金), "top" 20%,\nkeep'}],
                                         ensure_ascii=False)
    frame["value_tier"] = frame["value_tier"].astype("category")
    store.save_run(frame, as_of="2024-01-31", n_rejected=0, model_version="m", rules_version="r",
                   clv_reference=np.zeros(1))
    back = store.retain(top=10).set_index("customer_id").loc[frame["customer_id"]].reset_index()
    expected = frame.astype({"value_tier": str})[list(back.columns)]
    pd.testing.assert_frame_equal(back, expected, check_dtype=False)


def test_failed_run_is_never_latest(store):
    good = store.save_run(_scored(), as_of="2024-01-31", n_rejected=0, model_version="m", rules_version="r",
                          clv_reference=np.zeros(1))
    broken = _scored()
    broken.loc[3, "customer_id"] = broken.loc[2, "customer_id"]  # duplicate key: the insert fails midway
    with pytest.raises(sa.exc.IntegrityError):
        store.save_run(broken, as_of="2024-02-29", n_rejected=0, model_version="m", rules_version="r",
                       clv_reference=np.zeros(1), chunk_rows=2)
    assert store.latest_run().run_id == good
    with store.engine.connect() as conn:
        statuses = dict(conn.execute(sa.text("select status, count(*) from crmid_runs group by status")).all())
        leftover = conn.execute(sa.text("select count(*) from crmid_scores where run_id <> :g"), {"g": good}).scalar()
    assert statuses == {"complete": 1, "failed": 1}
    # the failed run's rows were rolled back with it
    assert leftover == 0


def test_unknown_store_backends_are_named(tmp_path):
    with pytest.raises(ValueError, match=r"unknown backend 'mysql'; expected one of sqlite://\.\.\., postgresql://"):
        open_store("mysql://root@127.0.0.1/test")
    with pytest.raises(ValueError, match="no scheme"):
        open_store(str(tmp_path / "scores.db"))


def test_one_customer_is_looked_up_in_the_latest_run(store):
    frame = _scored(5)
    store.save_run(frame.assign(value_tier="lead"), as_of="2024-01-31", n_rejected=0, model_version="m/1",
                   rules_version="r1", clv_reference=np.linspace(0, 1, 11))
    run_id = store.save_run(frame, as_of="2024-02-29", n_rejected=0, model_version="m/1", rules_version="r1",
                            clv_reference=np.linspace(0, 1, 11))
    row = store.customer(str(frame["customer_id"].iloc[2]))
    assert row["run_id"] == run_id and row["value_tier"] == frame["value_tier"].iloc[2]
    assert json.loads(row["reasons"]) == json.loads(frame["reasons"].iloc[2])
    assert store.customer("nobody") is None


# --------------------------------------------------------------------------------------------
# the bulk path (ADBC: SQLite file, PostgreSQL COPY) at a size that exercises it, and the
# coded layout behind the crmid_scores view
# --------------------------------------------------------------------------------------------
#: texts of label and text outputs, with what the bulk paths must carry unchanged
_TEXTS = ["alpha", "beta", 'with "quotes", commas', "new\nline", "黄金 客户", "x" * 300]


def _big(n=50_000, seed=0, texts=_TEXTS):
    """A scored frame of ``n`` customers, in no particular order, with every stored column.

    Labels come as categoricals (with unused categories) and as plain objects, with missing
    values; numbers have NaN; reasons repeat a few JSON texts.
    """
    rng = np.random.default_rng(seed)
    frame = {"customer_id": [f"C{i:07d}" for i in rng.permutation(n)]}
    for name in ("churn_probability", "p_purchase_30d", "p_purchase_90d", "p_purchase_180d", "p_purchase_365d",
                 "next_purchase_days_median", "next_purchase_days_p90", "clv", "value_at_risk", "value_percentile",
                 "expected_spend_90d", "expected_spend_180d", "expected_spend_365d", "recency_days", "frequency",
                 "monetary_total", "tenure_days"):
        frame[name] = np.where(rng.random(n) < 0.1, np.nan, rng.gamma(2.0, 50.0, n))
    frame["next_purchase_days_p90"][::11] = np.inf  # a quantile never reached is stored as such
    frame["drivers"] = pd.Series([f'[{{"feature": "f{k}", "effect": {k}.5}}]' for k in rng.integers(0, 9, n)]
                                 ).where(rng.random(n) > 0.05)
    for i, output in enumerate(outputs()):
        if output.kind == NUMBER:
            frame[output.name] = np.where(rng.random(n) < 0.5, np.nan, rng.random(n) * 100)
            continue
        values = np.array(list(texts) + ([TIER_ORDER[0]] if output.name == "value_tier" else []), dtype=object)
        column = pd.Series(values[rng.integers(0, len(values), n)]).where(rng.random(n) > 0.05)
        # half as categoricals (what the batch job hands over), half as plain objects
        frame[output.name] = column.astype(pd.CategoricalDtype([*values, "unused"])) if i % 2 else column
    frame["priority"] = rng.integers(0, 6, n)
    reasons = [json.dumps([{"rule": f"r.{k}", "reason": f'because "{k}", 黄金'}], ensure_ascii=False) for k in range(7)]
    frame["reasons"] = np.array(reasons, dtype=object)[rng.integers(0, len(reasons), n)]
    return pd.DataFrame(frame)


def _stored(store, run_id) -> pd.DataFrame:
    """Every stored row of a run, read back in plain SQL from the crmid_scores view, by customer id."""
    query = ("SELECT s.*, r.reasons FROM crmid_scores s JOIN crmid_reasons r "
             "ON r.run_id = s.run_id AND r.reasons_id = s.reasons_id WHERE s.run_id = :run ORDER BY s.customer_id")
    with store.engine.connect() as conn:
        return pd.DataFrame(conn.execute(sa.text(query), {"run": run_id}).mappings().all())


def _expected(frame: pd.DataFrame) -> pd.DataFrame:
    """What the store must give back for ``frame``: texts as texts, missing as None/NaN, numbers as floats."""
    out = {}
    for name in [*score_fields(), "reasons"]:
        if name == "reasons_id":
            continue
        column = frame[name].astype(object) if name in frame else pd.Series([None] * len(frame), dtype=object)
        out[name] = column.where(column.notna(), None) if name in _text_columns() else pd.to_numeric(column)
    return pd.DataFrame(out).sort_values("customer_id", ignore_index=True)


def _text_columns() -> set[str]:
    return {"customer_id", "reasons", "drivers", *(o.name for o in outputs() if o.kind != NUMBER)}


def _same(store, run_id, frame):
    got = _stored(store, run_id)
    assert (got["run_id"] == run_id).all()
    expected = _expected(frame)
    got = got[list(expected.columns)]
    for name in expected.columns:
        if name in _text_columns():  # missing texts as None on both sides, whatever pandas infers
            got[name] = got[name].astype(object).where(got[name].notna(), None)
            expected[name] = expected[name].astype(object).where(expected[name].notna(), None)
        else:
            got[name] = pd.to_numeric(got[name])
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)


def test_a_large_run_round_trips_exactly(store):
    frame = _big()
    run_id = store.save_run(frame, as_of="2024-01-31", n_rejected=3, model_version="m", rules_version="r",
                            clv_reference=np.linspace(0, 1, 5))
    assert store.latest_run().n_scored == len(frame)
    _same(store, run_id, frame)
    # a later run with texts the dictionary has not seen: both runs still read back as written
    later = _big(n=1_000, seed=1, texts=["gamma", "alpha", "δ-new"]).drop(columns=["six_c_score"])
    later_id = store.save_run(later, as_of="2024-02-29", n_rejected=0, model_version="m", rules_version="r",
                              clv_reference=np.zeros(1))
    _same(store, later_id, later)
    _same(store, run_id, frame)


def test_retain_and_customer_lookup_on_a_large_run(store):
    frame = _big()
    run_id = store.save_run(frame, as_of="2024-01-31", n_rejected=0, model_version="m", rules_version="r",
                            clv_reference=np.zeros(1))
    expected = _expected(frame)
    # the retain ranking, computed here the way it is defined: priority, value at risk (missing
    # last), tier from the top of the pyramid, customer id; customers with no action left out
    listed = expected[expected["priority"] > 0].assign(
        tier_rank=expected["value_tier"].map({t: i for i, t in enumerate(TIER_ORDER)}).fillna(len(TIER_ORDER)),
        neg_priority=-expected["priority"], neg_risk=-expected["value_at_risk"])
    ranked = listed.sort_values(["neg_priority", "neg_risk", "tier_rank", "customer_id"], na_position="last")
    top = store.retain(top=200)
    assert list(top.columns) == list(RETAIN_COLUMNS)
    assert list(top["customer_id"]) == list(ranked["customer_id"].head(200))
    pd.testing.assert_frame_equal(top.drop(columns="reasons").reset_index(drop=True),
                                  ranked[[c for c in RETAIN_COLUMNS if c != "reasons"]].head(200)
                                  .reset_index(drop=True).astype(top.drop(columns="reasons").dtypes.to_dict()),
                                  check_dtype=False)
    gold = store.retain(top=100_000, tiers=["gold"], min_churn=0.5)
    assert set(gold["customer_id"]) == set(listed[(listed["value_tier"] == "gold")
                                                  & (listed["churn_probability"] >= 0.5)]["customer_id"])
    for i in (0, 17, 49_999):
        row = expected.iloc[i]
        got = store.customer(row["customer_id"])
        assert got["run_id"] == run_id
        for name, value in row.items():
            if name in _text_columns():
                assert got[name] == value, name
            else:
                assert (got[name] is None and np.isnan(value)) or got[name] == value, name
    assert store.customer("nobody") is None


def test_a_failure_midway_through_the_bulk_path_leaves_the_previous_run_latest(store):
    good = store.save_run(_big(n=1_000), as_of="2024-01-31", n_rejected=0, model_version="m", rules_version="r",
                          clv_reference=np.zeros(1))
    broken = _big()
    broken.loc[40_000, "customer_id"] = broken.loc[10, "customer_id"]  # a repeated customer deep in the run
    with pytest.raises(sa.exc.IntegrityError):
        store.save_run(broken, as_of="2024-02-29", n_rejected=0, model_version="m", rules_version="r",
                       clv_reference=np.zeros(1))
    assert store.latest_run().run_id == good
    with store.engine.connect() as conn:
        statuses = dict(conn.execute(sa.text("select status, count(*) from crmid_runs group by status")).all())
        rows = dict(conn.execute(sa.text("select run_id, count(*) from crmid_scores group by run_id")).all())
    assert statuses == {"complete": 1, "failed": 1}
    assert rows == {good: 1_000}  # the failed run's rows went with its transaction
    assert len(store.retain(top=10)) == 10


_KILL = """
import os, sys
import numpy as np
sys.path.insert(0, sys.argv[2])
from test_store import _big
from crmid.serving.store import open_store
store = open_store(sys.argv[1])
# every row is in, the run not yet marked complete: the process dies here
store._completed_sql = lambda *args: os._exit(3)
store.save_run(_big(n=20_000), as_of="2024-02-29", n_rejected=0, model_version="m", rules_version="r",
               clv_reference=np.zeros(1))
"""


def test_a_killed_run_leaves_the_previous_run_latest(store):
    good = store.save_run(_big(n=1_000), as_of="2024-01-31", n_rejected=0, model_version="m", rules_version="r",
                          clv_reference=np.zeros(1))
    store.close()
    killed = subprocess.run([sys.executable, "-c", _KILL, store.url, str(Path(__file__).parent)],
                            capture_output=True, text=True)
    assert killed.returncode == 3, killed.stderr
    assert store.latest_run().run_id == good
    with store.engine.connect() as conn:
        statuses = sorted(conn.execute(sa.text("select status from crmid_runs")).scalars())
        rows = dict(conn.execute(sa.text("select run_id, count(*) from crmid_scores group by run_id")).all())
    assert statuses == ["complete", "running"] and rows == {good: 1_000}
    # the store goes on: the next run is complete and the latest
    after = store.save_run(_big(n=500, seed=2), as_of="2024-03-31", n_rejected=0, model_version="m",
                           rules_version="r", clv_reference=np.zeros(1))
    assert store.latest_run().run_id == after


def _legacy_layout(store) -> None:
    """Replace the store's tables by those of the layout before the coded rows (text labels in
    a crmid_scores table, runs without a run key) holding one run of ``_scored()``."""
    with store.engine.begin() as conn:
        conn.execute(sa.text("DROP VIEW crmid_scores"))
        for table in ("crmid_score_rows", "crmid_labels", "crmid_reasons", "crmid_runs"):
            conn.execute(sa.text(f"DROP TABLE {table}"))
    meta = sa.MetaData()
    runs = sa.Table("crmid_runs", meta, *[c.copy() for c in store.runs.columns if c.name != "run_key"])
    scores = sa.Table("crmid_scores", meta, sa.Column("run_id", sa.String(36), sa.ForeignKey("crmid_runs.run_id"),
                                                       primary_key=True),
                      *[sa.Column(name, kind, primary_key=(name == "customer_id"))
                        for name, kind in score_fields().items()])
    reasons = sa.Table("crmid_reasons", meta, *[c.copy() for c in store.reasons.columns])
    sa.Index("ix_crmid_scores_rank", scores.c.run_id, scores.c.priority, scores.c.value_at_risk)
    meta.create_all(store.engine)
    frame = _scored()
    with store.engine.begin() as conn:
        conn.execute(runs.insert().values(
            run_id="old-run", status="complete", as_of="2024-01-31", started_at=pd.Timestamp("2024-02-01"),
            finished_at=pd.Timestamp("2024-02-01 01:00"), n_scored=len(frame), n_rejected=0, model_version="m",
            rules_version="r", clv_reference="[0.0, 1.0]"))
        conn.execute(reasons.insert().values(run_id="old-run", reasons_id=0, reasons=frame["reasons"].iloc[0]))
        records = frame.drop(columns="reasons").assign(run_id="old-run", reasons_id=0).to_dict("records")
        conn.execute(scores.insert(), records)
    store.close()


def test_a_store_of_the_previous_layout_is_moved_into_the_coded_rows(store):
    _legacy_layout(store)
    moved = open_store(store.url)
    try:
        assert moved.latest_run().run_id == "old-run"
        assert list(moved.retain(top=3)["customer_id"]) == ["c5", "c4", "c3"]
        row = moved.customer("c3")
        assert row["value_tier"] == "gold" and row["action_text"] == "Do something" and row["priority"] == 3
        # and it takes new runs as any store does
        run_id = moved.save_run(_big(n=2_000), as_of="2024-02-29", n_rejected=0, model_version="m",
                                rules_version="r", clv_reference=np.zeros(1))
        assert moved.latest_run().run_id == run_id
        _same(moved, run_id, _big(n=2_000))
        assert open_store(store.url).customer("c3", run_id="old-run")["value_tier"] == "gold"
    finally:
        moved.close()


@pytest.mark.parametrize("store", ["postgresql"], indirect=True)
def test_postgresql_serves_a_filter_low_in_the_ranking_from_the_index_alone(store):
    """PostgreSQL: the run's partition is vacuumed after the load and the list reads that partition
    by name, so the covering indexes (the ranking's, each label's) answer a filter whose customers
    sit low in the list (minimum churn, a label) without reading the table: an index-only scan with
    no heap fetch."""
    frame = _big()
    run_id = store.save_run(frame, as_of="2024-01-31", n_rejected=0, model_version="m", rules_version="r",
                            clv_reference=np.zeros(1))
    with store.engine.connect() as conn:
        key = conn.execute(sa.select(store.runs.c.run_key).where(store.runs.c.run_id == run_id)).scalar()
    part = store._partition(key)
    statements = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        statements.append(cursor.mogrify(statement, parameters).decode())

    sa.event.listen(store.engine, "before_cursor_execute", capture)
    try:
        common = str(frame.loc[frame["priority"] > 0, "temperature"].dropna().astype(str).mode()[0])
        for filters in ({"min_churn": 0.5}, {"labels": {"temperature": [common]}, "min_churn": 0.2}):
            statements.clear()
            page = store.retain_page(top=100, run_id=run_id, **filters)
            assert len(page) == 100
            query = statements[-1]  # the page's own query, as the store sent it
            with store.engine.connect() as conn:
                vacuumed = conn.execute(sa.text("select last_vacuum from pg_stat_user_tables where relname = :t"),
                                        {"t": part}).scalar()
                assert vacuumed is not None, f"{part} was not vacuumed after the load"
                # the other plans priced out, so that the index's coverage (not 50,000 rows' size) is checked
                conn.execute(sa.text("set enable_seqscan = off"))
                conn.execute(sa.text("set enable_bitmapscan = off"))
                plan = "\n".join(conn.execute(sa.text("explain (analyze, costs off) " + query)).scalars())
            # the ranking's index or the label's, each covering every filter
            assert f"Index Only Scan using {part}_rank" in plan or f"Index Only Scan using {part}_by_" in plan, plan
            assert "Heap Fetches: 0" in plan, plan
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", capture)


def _save_in_the_shared_table(store, scored, as_of) -> str:
    """A run saved as crmid did before each SQLite run had a table of its own: into crmid_score_rows."""
    from crmid.serving.store.sql import SqlScoresStore

    store._write_run = SqlScoresStore._write_run.__get__(store)  # the generic path: one shared table
    try:
        return store.save_run(scored, as_of=as_of, n_rejected=0, model_version="m", rules_version="r",
                              clv_reference=np.zeros(1))
    finally:
        del store._write_run


def _tables(store) -> set[str]:
    with store.engine.connect() as conn:
        return set(conn.execute(sa.text("select name from sqlite_master where type = 'table'")).scalars())


def test_each_sqlite_run_has_a_table_of_its_own_that_pruning_drops(tmp_path):
    """A run's rows go into crmid_score_rows_<run_key>; the crmid_scores view shows every run's; a run
    deleted by --keep-runs takes its table with it, and the kept runs still answer in plain SQL."""
    with open_store(f"sqlite:///{tmp_path / 'scores.db'}") as store:
        runs = [store.save_run(_scored(priority=[i, 1, 2, 3, 4, 5]), as_of=f"2024-0{i + 1}-28", n_rejected=0,
                               model_version="m", rules_version="r", clv_reference=np.zeros(1)) for i in range(3)]
        with store.engine.connect() as conn:
            keys = dict(conn.execute(sa.text("select run_id, run_key from crmid_runs")).all())
        assert {f"crmid_score_rows_{keys[r]}" for r in runs} <= _tables(store)
        assert store.prune_runs(2) == [runs[0]]
        assert f"crmid_score_rows_{keys[runs[0]]}" not in _tables(store)
        assert {f"crmid_score_rows_{keys[r]}" for r in runs[1:]} <= _tables(store)
        with store.engine.connect() as conn:
            counts = dict(conn.execute(sa.text("select run_id, count(*) from crmid_scores group by run_id")).all())
            top = conn.execute(sa.text("select customer_id from crmid_scores where run_id = :r and priority > 0 "
                                       "order by priority desc, value_at_risk desc limit 1"), {"r": runs[1]}).scalar()
            legacy = conn.execute(sa.text("select count(*) from crmid_score_rows")).scalar()
        assert counts == {runs[1]: 6, runs[2]: 6} and legacy == 0
        assert top == "c5"
        assert store.customer("c1", run_id=runs[1])["priority"] == 1
        assert list(store.retain_page(top=2, run_id=runs[2])["customer_id"]) == ["c5", "c4"]
        assert store.customer_history("c0")["priority"].tolist() == [1, 2]


def test_runs_stored_in_the_shared_table_by_an_earlier_crmid_read_beside_new_runs(tmp_path):
    """A store whose runs are rows of crmid_score_rows (an earlier crmid) takes new runs in tables of
    their own: both read through the view and the retain list; pruning deletes the old run's rows."""
    with open_store(f"sqlite:///{tmp_path / 'scores.db'}") as store:
        old = _save_in_the_shared_table(store, _scored(tiers=["iron"] * 6), "2024-01-31")
        new = store.save_run(_scored(), as_of="2024-02-29", n_rejected=0, model_version="m", rules_version="r",
                             clv_reference=np.zeros(1))
        assert store.customer("c2", run_id=old)["value_tier"] == "iron"
        assert store.customer("c5", run_id=new)["value_tier"] == "platinum"
        assert list(store.retain_page(top=3, tiers=["iron"], run_id=old)["customer_id"]) == ["c5", "c4", "c3"]
        assert list(store.retain_page(top=3, tiers=["iron"], run_id=new)["customer_id"]) == ["c2", "c1"]
        assert store.count_retain(run_id=old) == store.count_retain(run_id=new) == 6
        assert store.prune_runs(1) == [old]
        with store.engine.connect() as conn:
            assert conn.execute(sa.text("select count(*) from crmid_score_rows")).scalar() == 0
            assert dict(conn.execute(sa.text("select run_id, count(*) from crmid_scores group by run_id")).all()) == {
                new: 6}


def test_a_run_table_made_before_a_stored_column_reads_it_as_empty(tmp_path):
    """A run's table written before a stored column existed lacks it: the view and the retain list show
    NULL there for that run, and a later run has the column."""
    url = f"sqlite:///{tmp_path / 'scores.db'}"
    with open_store(url) as store:
        run_id = store.save_run(_scored().assign(segment="consumer"), as_of="2024-01-31", n_rejected=0,
                                model_version="m", rules_version="r", clv_reference=np.zeros(1))
        table = next(t for t in _tables(store) if t.startswith("crmid_score_rows_"))
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # the run's table as an earlier crmid made it, without the segment
        conn.execute(sa.text("DROP VIEW crmid_scores"))
        conn.execute(sa.text(f"DROP INDEX ix_{table}_by_segment"))
        conn.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN segment"))
    engine.dispose()
    with open_store(url) as store:
        assert store.customer("c3", run_id=run_id)["segment"] is None
        assert store.retain_page(top=None, labels={"segment": ["consumer"]}, run_id=run_id).empty
        assert list(store.retain_page(top=2, run_id=run_id)["customer_id"]) == ["c5", "c4"]
        later = store.save_run(_scored().assign(segment="business"), as_of="2024-02-29", n_rejected=0,
                               model_version="m", rules_version="r", clv_reference=np.zeros(1))
        assert store.customer("c3", run_id=later)["segment"] == "business"


def test_a_store_made_before_a_stored_column_gets_it_and_its_index(tmp_path):
    """A SQLite store written by an earlier crmid, without the segment column (and so without its
    index), opens: the column is added before the indexes are made, and old runs read it as empty."""
    url = f"sqlite:///{tmp_path / 'scores.db'}"
    with open_store(url) as store:
        run_id = _save_in_the_shared_table(store, _scored(), "2024-01-31")
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # back to the earlier layout
        conn.execute(sa.text("DROP VIEW crmid_scores"))
        conn.execute(sa.text("DROP INDEX ix_crmid_score_rows_by_segment"))
        conn.execute(sa.text("ALTER TABLE crmid_score_rows DROP COLUMN segment"))
    engine.dispose()
    with open_store(url) as store:
        assert store.customer("c3", run_id=run_id)["segment"] is None
        indexes = {i["name"] for i in sa.inspect(store.engine).get_indexes("crmid_score_rows")}
        assert "ix_crmid_score_rows_by_segment" in indexes
        later = store.save_run(_scored().assign(segment="business"), as_of="2024-02-29", n_rejected=0,
                               model_version="m", rules_version="r", clv_reference=np.zeros(1))
        assert set(store.retain_page(top=None, labels={"segment": ["business"]}, run_id=later)["customer_id"]) == {
            f"c{i}" for i in range(6)}


def test_a_new_sqlite_store_has_large_pages_and_an_older_file_keeps_its_own(tmp_path):
    """A new store file gets 16 KiB pages (a million-row run writes in about 14 s instead of 22 s);
    a file made with SQLite's default 4 KiB pages (by an earlier crmid) keeps them and still works."""
    from crmid.serving.store.sqlite import _PAGE_SIZE

    new = tmp_path / "new.db"
    with open_store(f"sqlite:///{new}") as store:
        run_id = store.save_run(_scored(), as_of="2024-01-31", n_rejected=0, model_version="m",
                                rules_version="r", clv_reference=np.zeros(1))
        assert store.customer("c5", run_id=run_id)["value_tier"] == "platinum"
    old = tmp_path / "old.db"
    plain = sa.create_engine(f"sqlite:///{old}")
    with plain.begin() as conn:
        conn.execute(sa.text("PRAGMA journal_mode=WAL"))
        conn.execute(sa.text("CREATE TABLE made_before (x INTEGER)"))
    plain.dispose()
    with open_store(f"sqlite:///{old}") as store:
        run_id = store.save_run(_scored(), as_of="2024-01-31", n_rejected=0, model_version="m",
                                rules_version="r", clv_reference=np.zeros(1))
        assert list(store.retain_page(top=2, run_id=run_id)["customer_id"]) == ["c5", "c4"]

    def page_size(path):
        engine = sa.create_engine(f"sqlite:///{path}")
        with engine.connect() as conn:
            size = conn.execute(sa.text("PRAGMA page_size")).scalar()
        engine.dispose()
        return size

    assert (_PAGE_SIZE, page_size(new), page_size(old)) == (16384, 16384, 4096)


def test_a_run_deleted_by_another_process_reads_as_empty_not_as_an_error(tmp_path):
    """A service that listed a run keeps no stale handle on its table: once another process prunes
    the run, its pages are empty and the latest run still answers."""
    url = f"sqlite:///{tmp_path / 'scores.db'}"
    with open_store(url) as service, open_store(url) as batch:
        old = batch.save_run(_scored(), as_of="2024-01-31", n_rejected=0, model_version="m", rules_version="r",
                             clv_reference=np.zeros(1))
        assert list(service.retain_page(top=2, run_id=old)["customer_id"]) == ["c5", "c4"]
        # (the service is another process in real life; here the batch's write closes the
        # service's idle connections too: two SQLite libraries in one process, Python's and
        # ADBC's, must not hold one file open at once. What the service cached of the run stays)
        new = batch.save_run(_scored(priority=[0, 0, 0, 0, 1, 0]), as_of="2024-02-29", n_rejected=0,
                             model_version="m", rules_version="r", clv_reference=np.zeros(1))
        assert batch.prune_runs(1) == [old]
        assert service.retain_page(top=2, run_id=old).empty
        assert service.retain_page(top=2, run_id=old, sort="action").empty
        assert list(service.retain_page(top=2)["customer_id"]) == ["c4"] and service.latest_run().run_id == new


def test_latest_run_seen_by_a_reader_follows_another_writers_commits(store):
    """A store that answered "which run is latest" sees a run another process's store completes after.

    Two store objects on one database stand for the HTTP service (reader, which may reuse its
    answer while nothing was committed) and a batch job (writer).
    """
    writer = open_store(store.url)
    try:
        assert store.latest_run(model_version="m") is None
        first = writer.save_run(_scored(), as_of="2024-01-31", n_rejected=0, model_version="m", rules_version="r",
                                clv_reference=np.zeros(1))
        assert store.latest_run(model_version="m").run_id == first
        assert store.latest_run(model_version="m").run_id == first  # asked again: the same answer
        assert store.latest_run(model_version="other") is None
        second = writer.save_run(_scored(), as_of="2024-02-29", n_rejected=0, model_version="m", rules_version="r",
                                 clv_reference=np.ones(2))
        assert store.latest_run(model_version="m").run_id == second
        np.testing.assert_array_equal(store.latest_run(model_version="m").clv_reference, [1.0, 1.0])
    finally:
        writer.close()


def test_latest_run_seen_by_a_reader_follows_a_commit_of_another_process(tmp_path):
    """The HTTP service (this process) reuses its answer only until a batch job in another process commits."""
    url = f"sqlite:///{tmp_path / 'scores.db'}"
    reader = open_store(url)
    try:
        first = reader.save_run(_scored(), as_of="2024-01-31", n_rejected=0, model_version="m", rules_version="r",
                                clv_reference=np.zeros(1))
        assert reader.latest_run(model_version="m").run_id == first
        code = ("import sys, numpy as np; from crmid.serving.store import open_store; "
                "from tests.serving.test_store import _scored; "
                f"s = open_store({url!r}); print(s.save_run(_scored(), as_of='2024-02-29', n_rejected=0, "
                "model_version='m', rules_version='r', clv_reference=np.ones(1))); s.close()")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             cwd=Path(__file__).resolve().parents[2])
        second = out.stdout.strip().splitlines()[-1]
        assert second != first
        assert reader.latest_run(model_version="m").run_id == second
    finally:
        reader.close()
