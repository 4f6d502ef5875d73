"""Monitoring's own tables in the scores database (SQLAlchemy Core on the store's engine).

``crmid_backtests``: one row per judged run (the realized accuracy ``crmid backtest`` measured);
``crmid_drift``: one row per run and feature (what ``crmid monitor`` measured), read by the web
page's runs view and by ``/metrics``. Both are created when absent and never touch the store's
own tables; the runs' scores are read through the store's ``crmid_scores`` view.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pandas as pd
import sqlalchemy as sa

__all__ = ["BACKTEST_COLUMNS", "DriftTables", "accuracy_by_run", "read_run_scores"]

#: the per-run numbers of a backtest, stored and printed in this order
BACKTEST_COLUMNS = ("n_customers", "base_rate", "mean_predicted", "auc", "brier", "auc_30d", "brier_30d",
                    "auc_90d", "brier_90d", "top_decile_lift")


class DriftTables:
    """``crmid_backtests`` and ``crmid_drift`` on an engine (created if absent).

    Parameters
    ----------
    engine : sqlalchemy.Engine
        The scores store's engine (``store.engine``).
    """

    def __init__(self, engine: sa.Engine):
        self.engine = engine
        self.meta = sa.MetaData()
        self.backtests = sa.Table(
            "crmid_backtests", self.meta,
            sa.Column("run_id", sa.String(36), primary_key=True),
            sa.Column("as_of", sa.String(10), nullable=False),
            sa.Column("horizon_days", sa.Integer, nullable=False),
            sa.Column("model_version", sa.String(256), nullable=False),
            sa.Column("observed_until", sa.String(10), nullable=False),
            *[sa.Column(c, sa.Integer if c == "n_customers" else sa.Float) for c in BACKTEST_COLUMNS],
            sa.Column("calibration", sa.Text, nullable=False),
            sa.Column("config_version", sa.String(64), nullable=False),
            sa.Column("mlflow_run_id", sa.String(64)),
            sa.Column("judged_at", sa.DateTime, nullable=False),
        )
        self.drift = sa.Table(
            "crmid_drift", self.meta,
            sa.Column("run_id", sa.String(36), primary_key=True),
            sa.Column("feature", sa.String(128), primary_key=True),
            sa.Column("kind", sa.String(16), nullable=False),
            sa.Column("psi", sa.Float),
            sa.Column("missing_rate", sa.Float),
            sa.Column("reference_missing_rate", sa.Float),
            sa.Column("drift", sa.Boolean, nullable=False),
            sa.Column("model_version", sa.String(256), nullable=False),
            sa.Column("measured_at", sa.DateTime, nullable=False),
        )
        self.meta.create_all(engine)

    # ------------------------------------------------------------------ backtests
    def save_backtest(self, row: dict) -> None:
        """Insert or replace one run's backtest (``calibration`` a list, stored as JSON)."""
        values = {c.name: row.get(c.name) for c in self.backtests.columns}
        values["calibration"] = json.dumps(row.get("calibration") or [])
        with self.engine.begin() as conn:
            conn.execute(sa.delete(self.backtests).where(self.backtests.c.run_id == row["run_id"]))
            conn.execute(sa.insert(self.backtests), [values])

    def backtests_by_run(self, run_ids: Sequence[str] | None = None) -> dict[str, dict]:
        """Stored backtests, ``{run_id: row}`` (``calibration`` decoded)."""
        query = sa.select(self.backtests)
        if run_ids is not None:
            query = query.where(self.backtests.c.run_id.in_(list(run_ids)))
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query)]
        for r in rows:
            r["calibration"] = json.loads(r["calibration"])
        return {r["run_id"]: r for r in rows}

    # ------------------------------------------------------------------ drift
    def save_drift(self, run_id: str, model_version: str, features: Sequence[dict], measured_at) -> None:
        """Replace the drift rows of one run (``features``: the monitor's per-feature dicts)."""
        rows = [{"run_id": run_id, "feature": f["feature"], "kind": f["kind"], "psi": _finite(f.get("psi")),
                 "missing_rate": f.get("missing_rate"), "reference_missing_rate": f.get("reference_missing_rate"),
                 "drift": bool(f["drift"]), "model_version": model_version, "measured_at": measured_at}
                for f in features]
        with self.engine.begin() as conn:
            conn.execute(sa.delete(self.drift).where(self.drift.c.run_id == run_id))
            if rows:
                conn.execute(sa.insert(self.drift), rows)

    def drift_of(self, run_id: str) -> list[dict]:
        """The stored drift rows of a run (empty when ``crmid monitor`` has not measured it)."""
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(
                sa.select(self.drift).where(self.drift.c.run_id == run_id).order_by(self.drift.c.feature))]


def _finite(value):
    return None if value is None or value != value else float(value)


def read_run_scores(engine: sa.Engine, run_id: str, columns: Sequence[str]) -> pd.DataFrame:
    """Columns of one stored run, read through the store's ``crmid_scores`` view (one row per customer)."""
    view = sa.table("crmid_scores", *(sa.column(c) for c in ("run_id", *columns)))
    query = sa.select(*(view.c[c] for c in columns)).where(view.c.run_id == run_id)
    with engine.connect() as conn:
        result = conn.execute(query)
        return pd.DataFrame(result.fetchall(), columns=list(columns))


def accuracy_by_run(store, run_ids: Sequence[str]) -> dict[str, dict]:
    """``{run_id: {"auc", "brier", "n_customers", "horizon_days"}}`` of the runs ``crmid backtest`` judged.

    Read-only: empty when the store has no SQL engine or nothing was judged yet (the table is not
    created by a reader).
    """
    engine = getattr(store, "engine", None)
    if engine is None or not run_ids or not sa.inspect(engine).has_table("crmid_backtests"):
        return {}
    t = sa.table("crmid_backtests", *(sa.column(c) for c in ("run_id", "auc", "brier", "n_customers",
                                                               "horizon_days")))
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t).where(t.c.run_id.in_(list(run_ids))))
        return {r.run_id: dict(r._mapping) for r in rows}
