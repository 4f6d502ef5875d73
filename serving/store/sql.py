"""The scores store on SQL, through SQLAlchemy Core: the tables, the run protocol, the queries.

Three tables: ``crmid_runs`` (one row per run), ``crmid_scores`` (one row per run and
customer) and ``crmid_reasons`` (each distinct reasons text of a run, once: a million customers
share about a hundred, and repeating 1.4 kB of JSON per customer made the store the slowest
stage of a nightly run). A run is inserted as ``running``, its scores are written, and only then
is it marked ``complete`` in the same transaction as the last scores; queries read the latest
*complete* run, so a failed or interrupted run is never what anybody sees.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from crmid.rules.families import outputs, registered_families
from crmid.rules.family import LABEL, NUMBER, TEXT, RuleFamily

from .base import RETAIN_COLUMNS, TIER_ORDER, RunInfo, ScoresStore

__all__ = ["SqlScoresStore", "score_fields"]

#: per-customer columns that come from no rule family, before the families' outputs: the model
#: outputs and facts the retain list ranks by and shows
_LEADING_FIELDS = {
    "customer_id": sa.String(128),
    "churn_probability": sa.Float,
    "p_purchase_30d": sa.Float,
    "p_purchase_90d": sa.Float,
    "expected_days_to_next_purchase": sa.Float,
    "clv": sa.Float,
    "value_at_risk": sa.Float,
    "value_percentile": sa.Float,
}
#: ... and after them: the engine's priority and the id of the run's reasons text
_TRAILING_FIELDS = {
    "priority": sa.Float,
    "reasons_id": sa.Integer,
}
#: how a rule family's output of each kind is stored
_OUTPUT_TYPES = {
    LABEL: sa.String(64),
    NUMBER: sa.Float,
    TEXT: sa.Text,
}

def score_fields(families: Sequence[RuleFamily] | None = None) -> dict[str, Any]:
    """Per-customer columns of the store, in order: leading fields, every family output, priority, reasons id.

    Parameters
    ----------
    families : sequence of RuleFamily, optional
        Default: the rule families registered now (:func:`crmid.rules.families.registered_families`).
    """
    return {**_LEADING_FIELDS, **{o.name: _OUTPUT_TYPES[o.kind] for o in outputs(families)}, **_TRAILING_FIELDS}


class SqlScoresStore(ScoresStore):
    """Runs and scores in a SQL database, through SQLAlchemy Core (any database it speaks).

    Parameters
    ----------
    url : str
        SQLAlchemy URL (the workspace's ``store_url``); the directory of a SQLite file is created.

    Notes
    -----
    The per-customer columns (:func:`score_fields`) follow the rule families registered when the
    store is constructed, so a family registered before then gets its columns. A database made
    when a family did not exist yet gets that family's columns added (nullable: earlier runs
    read as NULL there).
    """

    def __init__(self, url: str):
        self.url = url
        # one snapshot of the registry: the table, the inserts and the migration agree
        families = registered_families()
        self.score_fields = score_fields(families)
        self._output_names = frozenset(o.name for o in outputs(families))
        self.engine = sa.create_engine(self._engine_url(url), future=True)
        self.meta = sa.MetaData()
        self.runs = sa.Table(
            "crmid_runs", self.meta,
            sa.Column("run_id", sa.String(36), primary_key=True),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("as_of", sa.String(10), nullable=False),
            sa.Column("started_at", sa.DateTime, nullable=False),
            sa.Column("finished_at", sa.DateTime),
            sa.Column("n_scored", sa.Integer, nullable=False, default=0),
            sa.Column("n_rejected", sa.Integer, nullable=False, default=0),
            sa.Column("model_version", sa.String(256), nullable=False),
            sa.Column("rules_version", sa.String(64), nullable=False),
            sa.Column("clv_reference", sa.Text, nullable=False),
        )
        self.scores = sa.Table(
            "crmid_scores", self.meta,
            sa.Column("run_id", sa.String(36), sa.ForeignKey("crmid_runs.run_id"), primary_key=True),
            *[sa.Column(name, kind, primary_key=(name == "customer_id")) for name, kind in self.score_fields.items()],
        )
        self.reasons = sa.Table(
            "crmid_reasons", self.meta,
            sa.Column("run_id", sa.String(36), sa.ForeignKey("crmid_runs.run_id"), primary_key=True),
            sa.Column("reasons_id", sa.Integer, primary_key=True),
            sa.Column("reasons", sa.Text, nullable=False),
        )
        sa.Index("ix_crmid_scores_rank", self.scores.c.run_id, self.scores.c.priority, self.scores.c.value_at_risk)
        self.meta.create_all(self.engine)
        self._add_output_columns()

    def _add_output_columns(self) -> None:
        """Add the columns of rule outputs the existing scores table lacks (create_all adds none)."""
        existing = {c["name"] for c in sa.inspect(self.engine).get_columns(self.scores.name)}
        absent = [c for c in self.scores.columns if c.name not in existing and c.name in self._output_names]
        if not absent:
            return
        with self.engine.begin() as conn:
            quote = conn.dialect.identifier_preparer.quote
            for column in absent:
                kind = column.type.compile(dialect=conn.dialect)
                conn.execute(sa.text(f"ALTER TABLE {quote(self.scores.name)} ADD COLUMN {quote(column.name)} {kind}"))

    def save_run(self, scored: pd.DataFrame, *, as_of, n_rejected: int, model_version: str,
                 rules_version: str, clv_reference: np.ndarray, chunk_rows: int = 20_000) -> str:
        """Store a scored run; it becomes visible as latest only once every row is in.

        Returns the run id. On any failure the run is marked ``failed`` and the error re-raised.
        """
        run_id = str(uuid.uuid4())
        started = pd.Timestamp.now(tz="UTC").tz_localize(None).to_pydatetime()
        with self.engine.begin() as conn:
            conn.execute(self.runs.insert().values(
                run_id=run_id, status="running", as_of=str(pd.Timestamp(as_of).date()), started_at=started,
                n_scored=0, n_rejected=int(n_rejected), model_version=str(model_version),
                rules_version=str(rules_version), clv_reference=json.dumps([float(x) for x in clv_reference]),
            ))
        try:
            reasons_id, texts = pd.factorize(scored["reasons"], use_na_sentinel=False)
            rows = self._rows(scored)
            rows["customer_id"] = rows["customer_id"].astype(str)
            rows["reasons_id"] = reasons_id
            rows.insert(0, "run_id", run_id)
            with self.engine.begin() as conn:
                conn.execute(self.reasons.insert(), [
                    {"run_id": run_id, "reasons_id": i, "reasons": "[]" if pd.isna(t) else str(t)}
                    for i, t in enumerate(texts)])
                self._insert_scores(conn, rows, chunk_rows)
                conn.execute(self.runs.update().where(self.runs.c.run_id == run_id).values(
                    status="complete", n_scored=len(rows),
                    finished_at=pd.Timestamp.now(tz="UTC").tz_localize(None).to_pydatetime(),
                ))
        except BaseException:
            with self.engine.begin() as conn:
                conn.execute(self.runs.update().where(self.runs.c.run_id == run_id).values(status="failed"))
            raise
        return run_id

    def _rows(self, scored: pd.DataFrame) -> pd.DataFrame:
        """The stored columns of ``scored`` (a copy), without the reasons id.

        A rule output the frame lacks is stored as NULL: a frame scored by code that predates a
        family (or before it was registered) still stores. Any other column is required.
        """
        wanted = [c for c in self.score_fields if c != "reasons_id"]
        required = [c for c in wanted if c not in self._output_names and c not in scored.columns]
        if required:
            raise KeyError(f"the scored frame lacks the stored columns {required}")
        return scored.reindex(columns=wanted)

    def _engine_url(self, url: str) -> str:
        """The URL SQLAlchemy connects with (a backend may pick its driver here)."""
        return url

    def _insert_scores(self, conn, rows: pd.DataFrame, chunk_rows: int) -> None:
        """Insert the rows in the caller's transaction; backends override with their fastest bulk path.

        This generic way (SQLAlchemy executemany of dictionaries) took 84 s for a million
        customers on SQLite; :mod:`~crmid.serving.store.sqlite` and
        :mod:`~crmid.serving.store.postgresql` are 10-20x faster.
        """
        records = rows.astype(object).where(rows.notna(), None).to_dict("records")
        for start in range(0, len(records), chunk_rows):
            conn.execute(self.scores.insert(), records[start:start + chunk_rows])

    def ping(self) -> None:
        """Raise when the database cannot be reached."""
        with self.engine.connect() as conn:
            conn.execute(sa.select(sa.literal(1)))

    def close(self) -> None:
        self.engine.dispose()

    def customer(self, customer_id: str, run_id: str | None = None) -> dict | None:
        """One customer's stored row (reasons as text) in ``run_id`` or the latest complete run."""
        if run_id is None:
            latest = self.latest_run()
            if latest is None:
                return None
            run_id = latest.run_id
        s, r = self.scores.c, self.reasons.c
        query = (sa.select(*[c for c in self.scores.c if c.name != "reasons_id"], r.reasons)
                 .join_from(self.scores, self.reasons, sa.and_(r.run_id == s.run_id, r.reasons_id == s.reasons_id))
                 .where(s.run_id == run_id, s.customer_id == str(customer_id)))
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else dict(row)

    def latest_run(self, model_version: str | None = None) -> RunInfo | None:
        """The most recent complete run (of ``model_version`` when given), or None."""
        query = sa.select(self.runs).where(self.runs.c.status == "complete")
        if model_version is not None:
            query = query.where(self.runs.c.model_version == str(model_version))
        with self.engine.connect() as conn:
            row = conn.execute(query.order_by(self.runs.c.finished_at.desc()).limit(1)).mappings().first()
        if row is None:
            return None
        return RunInfo(
            run_id=row["run_id"], status=row["status"], as_of=row["as_of"],
            started_at=pd.Timestamp(row["started_at"]),
            finished_at=pd.Timestamp(row["finished_at"]) if row["finished_at"] else None,
            n_scored=row["n_scored"], n_rejected=row["n_rejected"], model_version=row["model_version"],
            rules_version=row["rules_version"], clv_reference=np.asarray(json.loads(row["clv_reference"]), dtype=float),
        )

    def retain(self, *, top: int = 20, tiers: Sequence[str] | None = None, min_churn: float | None = None,
               customer_ids: Sequence[str] | None = None, run_id: str | None = None) -> pd.DataFrame:
        """Who to retain now, from the latest complete run.

        Ranked by priority, then value at risk, then tier (platinum first). Customers with no
        action to take (priority 0 or missing) are not listed. An unknown customer id or tier in
        the filters simply matches nothing.
        """
        if run_id is None:
            latest = self.latest_run()
            if latest is None:
                return pd.DataFrame(columns=list(RETAIN_COLUMNS))
            run_id = latest.run_id
        s = self.scores.c
        tier_rank = sa.case({t: i for i, t in enumerate(TIER_ORDER)}, value=s.value_tier, else_=len(TIER_ORDER))
        r = self.reasons.c
        query = (sa.select(*[r.reasons if c == "reasons" else s[c] for c in RETAIN_COLUMNS])
                 .join_from(self.scores, self.reasons, sa.and_(r.run_id == s.run_id, r.reasons_id == s.reasons_id))
                 .where(s.run_id == run_id, s.priority > 0))
        if tiers:
            query = query.where(s.value_tier.in_(list(tiers)))
        if min_churn is not None:
            query = query.where(s.churn_probability >= float(min_churn))
        if customer_ids:
            query = query.where(s.customer_id.in_([str(c) for c in customer_ids]))
        query = query.order_by(s.priority.desc(), s.value_at_risk.desc().nulls_last(), tier_rank, s.customer_id)
        query = query.limit(int(top))
        with self.engine.connect() as conn:
            frame = pd.DataFrame(conn.execute(query).mappings().all(), columns=list(RETAIN_COLUMNS))
        return frame
