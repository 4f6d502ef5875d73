"""The scores store on SQLite and on the real PostgreSQL at 127.0.0.1:5432."""

import json
import uuid

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from crmid.serving.store import open_store

#: the URL as the README writes it: no driver named (SQLAlchemy alone would pick psycopg 3)
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
_PG_ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"


def _pg_available() -> bool:
    try:
        with sa.create_engine(_PG_ADMIN_URL).connect() as conn:
            conn.execute(sa.text("select 1"))
        return True
    except Exception:
        return False


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        yield open_store(f"sqlite:///{tmp_path / 'scores.db'}")
        return
    if not _pg_available():
        pytest.fail("PostgreSQL is expected on 127.0.0.1:5432 (database 'test', trust auth)")
    schema = f"crmid_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(_PG_ADMIN_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'create schema "{schema}"'))
    try:
        s = open_store(f"{PG_URL}?options=-csearch_path%3D{schema}")
        assert type(s).__name__ == "PostgresScoresStore"
        yield s
        s.close()
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'drop schema "{schema}" cascade'))
        admin.dispose()


def _scored(n=6, priority=None, tiers=None):
    return pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(n)],
        "churn_probability": np.linspace(0.1, 0.9, n),
        "p_purchase_30d": 0.2, "p_purchase_90d": 0.4, "expected_days_to_next_purchase": 40.0,
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
    frame.loc[2, ["churn_probability", "clv", "value_at_risk", "expected_days_to_next_purchase"]] = np.nan
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
