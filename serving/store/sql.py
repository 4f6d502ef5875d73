"""The scores store on SQL, through SQLAlchemy Core: the tables, the run protocol, the queries.

Tables: ``crmid_runs`` (one row per run, with a small integer ``run_key``), ``crmid_score_rows``
(one row per run and customer: numbers as they are, every label and text output as a code of
``crmid_labels``, the reasons as an id of ``crmid_reasons``) and the two dictionaries:
``crmid_labels`` (each distinct label text once, per output column, shared by all runs) and
``crmid_reasons`` (each distinct reasons text of a run once: a million customers share about a
hundred). Every query reads ``crmid_scores``, a plain view of the rows with the run id and the
label texts decoded: the columns and values the scores table had before the rows were coded, so
``SELECT ... FROM crmid_scores WHERE run_id = ...`` still answers in SQL. Repeating the texts a
million times made saving a run the slowest stage of a nightly job.

A run is inserted as ``running``, its rows are written, and only then is it marked ``complete``
in the same transaction as the rows; queries read the latest *complete* run, so a failed or
interrupted run is never what anybody sees.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import sqlalchemy as sa

from crmid.rules.families import outputs, registered_families
from crmid.rules.family import LABEL, NUMBER, TEXT, RuleFamily

from .base import RETAIN_COLUMNS, RETAIN_SORTS, TIER_ORDER, RunInfo, ScoresStore

__all__ = ["SqlScoresStore", "score_fields"]

#: per-customer columns that come from no rule family, before the families' outputs: the model
#: outputs and facts the retain list ranks by and shows
_LEADING_FIELDS = {
    "customer_id": sa.String(128),
    "churn_probability": sa.Float,
    "p_purchase_30d": sa.Float,
    "p_purchase_90d": sa.Float,
    "p_purchase_180d": sa.Float,
    "p_purchase_365d": sa.Float,
    "next_purchase_days_median": sa.Float,
    "next_purchase_days_p90": sa.Float,
    "clv": sa.Float,
    "value_at_risk": sa.Float,
    "value_percentile": sa.Float,
    "expected_spend_90d": sa.Float,
    "expected_spend_180d": sa.Float,
    "expected_spend_365d": sa.Float,
    # the RFM facts the rules saw, for the customer page
    "recency_days": sa.Float,
    "frequency": sa.Float,
    "monetary_total": sa.Float,
    "tenure_days": sa.Float,
    # the profile's segment (consumer, business, distributor), a filter of the retain list
    "segment": sa.String(64),
    "drivers": sa.Text,
    # the customer's last purchases, JSON [[date, amount], ...] (TransactionLog.purchase_history): the
    # customer page's timeline, kept with the run because the input file may be gone when it is read
    "purchase_history": sa.Text,
}
#: leading fields a scored frame may lack (stored as NULL): the customer page's facts, drivers and history
_OPTIONAL_FIELDS = frozenset({"recency_days", "frequency", "monetary_total", "tenure_days", "segment", "drivers",
                              "purchase_history"})
#: facts (not rule outputs) stored as labels: coded like the rules' labels, and filtered on the same way
_FACT_LABELS = ("segment",)
#: ... and after them: the engine's priority and the id of the run's reasons text
_TRAILING_FIELDS = {
    "priority": sa.Float,
    "reasons_id": sa.Integer,
}
#: rule outputs of these kinds are stored as codes of crmid_labels (each a few distinct texts)
_CODED_KINDS = (LABEL, TEXT)
#: the largest code (SMALLINT), and so the most distinct texts one coded column can have
_MAX_CODE = 2**15 - 1
#: from this OFFSET on, a page of the retain list may be read from the end of the list (below it,
#: skipping rows from the front costs little): a performance choice, not a business number
_MIRROR_FROM = 10_000
#: how a rule family's output of each kind is stored
_OUTPUT_TYPES = {
    LABEL: sa.String(64),
    NUMBER: sa.Float,
    TEXT: sa.Text,
}

#: the label filters of the retain list that get an index of their own in each backend, so that
#: a filter's first page is read from its label's range in the ranking's order
_FILTER_LABELS = ("value_tier", "action", "lifecycle_stage", "temperature", "churn_risk", "segment")
#: between the host name and the process id in ``crmid_runs.owner``
_OWNER_SEP = ":"


def _text_array(column: pd.Series) -> pa.Array:
    """A column of texts (missing: NULL) as an Arrow string array; anything else is written as text."""
    dtype = column.dtype
    if isinstance(dtype, pd.ArrowDtype) or (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"):
        # already Arrow: its buffers as they are (a million drivers' JSON went through a Python
        # string each, 0.6 GB more at the store's peak)
        texts = pa.array(column)
        texts = texts.combine_chunks() if isinstance(texts, pa.ChunkedArray) else texts
        if pa.types.is_string(texts.type) or pa.types.is_large_string(texts.type):
            return texts  # both drivers take either; a cast would copy a million documents again
    try:
        # texts and missing values, the usual case, in one Arrow conversion (a Python call per
        # row took about a second for a million JSON documents)
        return pa.array(column.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        values = column.astype(object)
        return pa.array(values.where(values.notna(), None).map(
            lambda v: v if v is None or isinstance(v, str) else str(v)), type=pa.string())


def _labels_by_field(rows) -> dict[str, list[tuple[int, str]]]:
    """Rows ``(field, code, label)`` of crmid_labels as output column -> [(code, label), ...]."""
    known: dict[str, list[tuple[int, str]]] = {}
    for field, code, label in rows:
        known.setdefault(field, []).append((int(code), label))
    return known


def _alive(pid: int) -> bool:
    """Whether a process of this machine still exists (one owned by another user counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
        #: complete runs read so far, by id (see :meth:`latest_run`)
        self._complete_runs: dict[str, RunInfo] = {}
        #: model version -> (the database's change state when asked, the latest run then)
        self._latest: dict[str | None, tuple[object, RunInfo | None]] = {}
        # one snapshot of the registry: the table, the inserts and the migration agree
        families = registered_families()
        self.score_fields = score_fields(families)
        self._output_names = frozenset(o.name for o in outputs(families))
        self._label_names = (*(o.name for o in outputs(families) if o.kind == LABEL), *_FACT_LABELS)
        #: stored as codes of crmid_labels (labels and texts: a few distinct values each)
        self._coded = (*(o.name for o in outputs(families) if o.kind in _CODED_KINDS), *_FACT_LABELS)
        self.engine = sa.create_engine(self._engine_url(url), future=True)
        self._configure_engine(self.engine)
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
            # the run's number in crmid_score_rows: 4 bytes a row instead of a 36-character id
            sa.Column("run_key", sa.Integer),
            # who writes a running run ("host:pid"): a later run can tell one killed from one in progress
            sa.Column("owner", sa.String(300)),
            # why a run failed (its error, or that its process was killed)
            sa.Column("note", sa.Text),
        )
        self._run_key_index = sa.Index("ux_crmid_runs_key", self.runs.c.run_key, unique=True)
        self.reasons = sa.Table(
            "crmid_reasons", self.meta,
            sa.Column("run_id", sa.String(36), sa.ForeignKey("crmid_runs.run_id"), primary_key=True),
            sa.Column("reasons_id", sa.Integer, primary_key=True),
            sa.Column("reasons", sa.Text, nullable=False),
        )
        self.labels = sa.Table(
            "crmid_labels", self.meta,
            sa.Column("field", sa.String(64), primary_key=True),
            sa.Column("code", sa.SmallInteger, primary_key=True, autoincrement=False),
            sa.Column("label", sa.Text, nullable=False),
            sa.UniqueConstraint("field", "label", name="uq_crmid_labels_label"),
        )
        # no foreign key to crmid_runs: PostgreSQL would check it row by row during the load
        key = self._rows_primary_key
        run_column = (sa.Column("run_key", sa.Integer, primary_key=key, autoincrement=False, nullable=False)
                      if self._rows_run_column == "run_key" else
                      sa.Column("run_id", sa.String(36), primary_key=key, nullable=False))
        self.score_rows = sa.Table(
            "crmid_score_rows", self.meta,
            run_column,
            *[sa.Column(name, self._customer_id_type if name == "customer_id" else
                        sa.SmallInteger if name in self._coded else kind,
                        primary_key=key and name == "customer_id", nullable=name != "customer_id")
              for name, kind in self.score_fields.items()],
            **self._score_rows_options(),
        )
        self._score_rows_indexes(self.score_rows)
        #: what every query reads: the view of crmid_score_rows with each run's id and every
        #: label decoded, the columns the scores table had before the coded layout
        self.scores = sa.Table(
            "crmid_scores", sa.MetaData(),
            sa.Column("run_id", sa.String(36), primary_key=True),
            *[sa.Column(name, kind, primary_key=(name == "customer_id")) for name, kind in self.score_fields.items()],
        )
        legacy = "crmid_scores" in sa.inspect(self.engine).get_table_names()
        self.meta.create_all(self.engine)
        self._add_run_columns()
        self._add_output_columns()  # before the indexes: a new index may be on a new column
        for index in self.score_rows.indexes:  # create_all adds none to a table that exists already
            index.create(self.engine, checkfirst=True)
        with self.engine.begin() as conn:
            if legacy:
                self._migrate_legacy(conn)
            if legacy or self._view_columns(conn) != [c.name for c in self.scores.columns]:
                self._create_view(conn)

    # ------------------------------------------------------------------ layout, set up when opened
    #: how crmid_score_rows names a row's run: ``run_key`` (4 bytes, the view joins crmid_runs
    #: for the id) or ``run_id`` itself (PostgreSQL: a constant in every query's WHERE lets the
    #: planner prune partitions and walk an index in the ranking's order, which a join hides)
    _rows_run_column = "run_key"
    #: whether crmid_score_rows has its primary key (run, customer); PostgreSQL keeps one per partition
    _rows_primary_key = True
    #: the type of crmid_score_rows.customer_id
    _customer_id_type = sa.String(128)

    def _configure_engine(self, engine: sa.Engine) -> None:
        """Per-connection settings of a backend (SQLite: WAL); none by default."""

    def _score_rows_options(self) -> dict:
        """Backend options of the crmid_score_rows table (SQLite: no rowid; PostgreSQL: a partition per run)."""
        return {}

    def _score_rows_indexes(self, table: sa.Table) -> None:
        """Indexes of crmid_score_rows beyond its key (SQLite: the retain list's); none by default."""

    def _create_partitions(self, conn, runs: Sequence[tuple[int, str]]) -> None:
        """Make room for the rows of these runs, ``(run_key, run_id)`` (PostgreSQL: their partitions)."""

    def _add_run_columns(self) -> None:
        """Add the bookkeeping columns (owner, note) a store made by an earlier crmid lacks."""
        existing = {c["name"] for c in sa.inspect(self.engine).get_columns(self.runs.name)}
        absent = [c for c in self.runs.columns if c.name not in existing and c.name in ("owner", "note")]
        if not absent:
            return
        with self.engine.begin() as conn:
            quote = conn.dialect.identifier_preparer.quote
            for column in absent:
                kind = column.type.compile(dialect=conn.dialect)
                conn.execute(sa.text(f"ALTER TABLE {quote(self.runs.name)} ADD COLUMN {quote(column.name)} {kind}"))

    def _add_output_columns(self) -> None:
        """Add the per-customer columns crmid_score_rows lacks (create_all adds none); the view follows.

        A rule family registered since the store was made, or a model output a newer crmid stores
        (nullable: earlier runs have none).
        """
        existing = {c["name"] for c in sa.inspect(self.engine).get_columns(self.score_rows.name)}
        absent = [c for c in self.score_rows.columns if c.name not in existing
                  and (c.name in self._output_names or c.name in _LEADING_FIELDS)]
        if not absent:
            return
        with self.engine.begin() as conn:
            quote = conn.dialect.identifier_preparer.quote
            table = quote(self.score_rows.name)
            for column in absent:
                kind = column.type.compile(dialect=conn.dialect)
                conn.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN {quote(column.name)} {kind}"))

    def _view_columns(self, conn) -> list[str]:
        inspector = sa.inspect(conn)
        if self.scores.name not in inspector.get_view_names():
            return []
        return [c["name"] for c in inspector.get_columns(self.scores.name)]

    def _create_view(self, conn) -> None:
        """(Re)create the crmid_scores view: codes decoded by CASE over the dictionary as it is now.

        A CASE over a few constants, not a join per label: a scan of a million rows decodes
        them at no measurable cost, and the view stays a plain SELECT of one table and the runs.
        """
        body = self._view_select(self._known_labels(conn)).compile(dialect=conn.dialect,
                                                                    compile_kwargs={"literal_binds": True})
        quote = conn.dialect.identifier_preparer.quote
        conn.execute(sa.text(f"DROP VIEW IF EXISTS {quote(self.scores.name)}"))
        conn.execute(sa.text(f"CREATE VIEW {quote(self.scores.name)} AS {body}"))

    def _known_labels(self, conn) -> dict[str, list[tuple[int, str]]]:
        """The label dictionary as it is now: output column -> [(code, label), ...]."""
        return _labels_by_field(conn.execute(sa.select(self.labels.c.field, self.labels.c.code, self.labels.c.label)
                                             .order_by(self.labels.c.field, self.labels.c.code)))

    def _view_select(self, known: Mapping[str, list[tuple[int, str]]]):
        """The SELECT behind the crmid_scores view (a backend may add the runs it keeps elsewhere)."""
        s, r = self.score_rows.c, self.runs.c
        if self._rows_run_column == "run_id":
            return sa.select(s.run_id.label("run_id"), *self._decoded_columns(s, known)).select_from(self.score_rows)
        return (sa.select(r.run_id.label("run_id"), *self._decoded_columns(s, known))
                .select_from(self.score_rows.join(self.runs, r.run_key == s.run_key)))

    def _decoded_columns(self, stored, known: Mapping[str, list[tuple[int, str]]]) -> list:
        """The view's per-customer columns over the stored columns ``stored``: each label decoded by a
        CASE over the dictionary ``known``; a column ``stored`` lacks (a table made before it) is NULL."""
        columns = []
        for name, kind in self.score_fields.items():
            if name not in stored:
                kind = sa.Text if name in self._coded else kind
                columns.append(sa.cast(sa.null(), kind() if isinstance(kind, type) else kind).label(name))
            elif name not in self._coded:
                columns.append(stored[name].label(name))
            elif known.get(name):
                columns.append(sa.case(dict(known[name]), value=stored[name]).label(name))
            else:
                columns.append(sa.cast(sa.null(), sa.Text).label(name))
        return columns

    def _migrate_legacy(self, conn) -> None:
        """Move a store made before the coded layout (a crmid_scores table with text labels) into it, once."""
        quote = conn.dialect.identifier_preparer.quote
        if "run_key" not in {c["name"] for c in sa.inspect(conn).get_columns(self.runs.name)}:
            conn.execute(sa.text(f"ALTER TABLE {quote(self.runs.name)} ADD COLUMN run_key INTEGER"))
        run_ids = conn.execute(sa.select(self.runs.c.run_id).order_by(self.runs.c.started_at, self.runs.c.run_id))
        run_ids = run_ids.scalars().all()
        for key, run_id in enumerate(run_ids, start=1):
            conn.execute(self.runs.update().where(self.runs.c.run_id == run_id).values(run_key=key))
        self._run_key_index.create(conn, checkfirst=True)
        legacy = sa.Table("crmid_scores", sa.MetaData(), autoload_with=conn)
        self._create_partitions(conn, list(enumerate(run_ids, start=1)))
        run = self._rows_run_column
        values = {run: self.runs.c[run]}
        for column in self.score_rows.columns:
            if column.name == run or column.name not in legacy.c:
                continue
            if column.name not in self._coded:
                values[column.name] = legacy.c[column.name]
                continue
            texts = conn.execute(sa.select(legacy.c[column.name]).distinct()
                                 .where(legacy.c[column.name].is_not(None))).scalars().all()
            codes, _ = self._add_labels(conn, column.name, [str(t) for t in texts])
            if codes:
                values[column.name] = sa.case(codes, value=legacy.c[column.name])
        select = sa.select(*values.values()).join_from(legacy, self.runs, self.runs.c.run_id == legacy.c.run_id)
        conn.execute(self.score_rows.insert().from_select(list(values), select))
        legacy.drop(conn)

    def _add_labels(self, conn, field: str, texts: Sequence[str]) -> tuple[dict[str, int], bool]:
        """The codes of ``texts`` in the dictionary of ``field``, adding those it lacks (and whether it did)."""
        known = dict(conn.execute(sa.select(self.labels.c.label, self.labels.c.code)
                                  .where(self.labels.c.field == field)).all())
        new = [t for t in dict.fromkeys(texts) if t not in known]
        if new:
            start = max(known.values(), default=-1) + 1
            if start + len(new) > _MAX_CODE + 1:
                raise ValueError(f"rule output {field!r} has more than {_MAX_CODE + 1} distinct texts; the store "
                                 f"keeps label and text outputs as codes of a small dictionary")
            conn.execute(self.labels.insert(), [{"field": field, "code": start + i, "label": t}
                                                for i, t in enumerate(new)])
            known.update({t: start + i for i, t in enumerate(new)})
        return {t: known[t] for t in texts}, bool(new)

    # ------------------------------------------------------------------ writing a run
    def save_run(self, scored: pd.DataFrame, *, as_of, n_rejected: int, model_version: str,
                 rules_version: str, clv_reference: np.ndarray, run_id: str | None = None,
                 on_step: Callable[[str], None] | None = None, chunk_rows: int = 20_000) -> str:
        """Store a scored run; it becomes visible as latest only once every row is in.

        The run is recorded as ``running`` (with a new run key and its owner, ``host:pid``), new
        label texts join the dictionary (and the view), then one transaction writes the reasons
        and every row and marks the run ``complete``. Returns the run id. On any failure the run
        is marked ``failed`` with the error and the error re-raised; a killed process leaves it
        ``running`` until :meth:`fail_interrupted_runs` finds it. Either way the previous
        complete run stays the latest. ``on_step``: see :meth:`ScoresStore.save_run`.
        """
        run_id = str(run_id or uuid.uuid4())
        started = pd.Timestamp.now(tz="UTC").tz_localize(None).to_pydatetime()
        record = dict(run_id=run_id, status="running", as_of=str(pd.Timestamp(as_of).date()), started_at=started,
                      n_scored=0, n_rejected=int(n_rejected), model_version=str(model_version),
                      rules_version=str(rules_version), clv_reference=json.dumps([float(x) for x in clv_reference]),
                      owner=_OWNER_SEP.join((socket.gethostname(), str(os.getpid()))))
        run_key = self._insert_run(record)
        try:
            if on_step is not None:
                on_step("running")
            rows, reasons = self._rows(scored, run_id, run_key)
            if on_step is not None:
                on_step("rows")
            before_commit = None if on_step is None else (lambda: on_step("commit"))
            self._write_run(run_id, run_key, rows, reasons, chunk_rows, before_commit=before_commit)
        except BaseException as exc:
            with self.engine.begin() as conn:
                conn.execute(self.runs.update().where(self.runs.c.run_id == run_id)
                             .values(status="failed", note=f"{type(exc).__name__}: {exc}"[:2000]))
            raise
        return run_id

    def run_status(self, run_id: str) -> str | None:
        """``running``, ``complete`` or ``failed``; None for an id the store does not have."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(self.runs.c.status).where(self.runs.c.run_id == str(run_id))).scalar()

    def fail_interrupted_runs(self) -> list[str]:
        """Mark ``failed`` the runs left ``running`` by a process that has ended (see the interface)."""
        r = self.runs.c
        with self.engine.connect() as conn:
            running = conn.execute(sa.select(r.run_id, r.owner).where(r.status == "running")).all()
        here = socket.gethostname()
        ended = {}
        for run_id, owner in running:
            host, _, pid = (owner or "").rpartition(_OWNER_SEP)
            if not owner:
                ended[run_id] = "interrupted: left running by a process that recorded no owner; found by a later run"
            elif host == here and pid.isdigit() and not _alive(int(pid)):
                ended[run_id] = (f"interrupted: process {pid} on {host} ended before the run was complete "
                                 f"(killed?); found by a later run")
        if ended:
            with self.engine.begin() as conn:
                for run_id, note in ended.items():
                    conn.execute(self.runs.update().where(r.run_id == run_id, r.status == "running")
                                 .values(status="failed", note=note))
        return list(ended)

    def prune_runs(self, keep: int) -> list[str]:
        """Keep the ``keep`` most recent complete runs; delete older runs and their rows (see the interface)."""
        if int(keep) < 1:
            raise ValueError(f"keep-runs {keep}: keep at least the latest run")
        r = self.runs.c
        with self.engine.connect() as conn:
            complete = conn.execute(sa.select(r.run_id, r.run_key, r.started_at).where(r.status == "complete")
                                    .order_by(r.finished_at.desc())).all()
            if len(complete) <= keep:
                oldest_kept = complete[-1].started_at if complete else None
            else:
                oldest_kept = complete[keep - 1].started_at
            doomed = [(row.run_id, row.run_key) for row in complete[keep:]]
            if oldest_kept is not None:
                doomed += [tuple(row) for row in conn.execute(
                    sa.select(r.run_id, r.run_key).where(r.status == "failed", r.started_at < oldest_kept))]
        if not doomed:
            return []
        self._delete_runs(doomed)
        return [run_id for run_id, _ in doomed]

    def _delete_runs(self, runs: Sequence[tuple[str, int]]) -> None:
        """Delete runs, their reasons and their rows, in one transaction."""
        run_ids = [run_id for run_id, _ in runs]
        with self.engine.begin() as conn:
            self._delete_run_rows(conn, runs)
            conn.execute(self.reasons.delete().where(self.reasons.c.run_id.in_(run_ids)))
            conn.execute(self.runs.delete().where(self.runs.c.run_id.in_(run_ids)))

    def _delete_run_rows(self, conn, runs: Sequence[tuple[str, int]]) -> None:
        """Delete the rows of these runs ``(run_id, run_key)`` in the caller's transaction (a backend
        that keeps a run in a table of its own drops that table)."""
        if self._rows_run_column == "run_key":
            keys = [int(key) for _, key in runs if key is not None]
            if keys:
                conn.execute(self.score_rows.delete().where(self.score_rows.c.run_key.in_(keys)))
        else:
            conn.execute(self.score_rows.delete().where(self.score_rows.c.run_id.in_([run_id for run_id, _ in runs])))

    def _insert_run(self, record: dict) -> int:
        """Insert the run as ``running`` under the next run key; return the key.

        Two processes saving at once may take the same key: the unique index refuses the
        second, which takes the next one.
        """
        for attempt in range(5):
            try:
                with self.engine.begin() as conn:
                    key = conn.execute(sa.select(sa.func.coalesce(sa.func.max(self.runs.c.run_key), 0) + 1)).scalar()
                    conn.execute(self.runs.insert().values(**record, run_key=int(key)))
                return int(key)
            except sa.exc.IntegrityError:
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

    def _rows(self, scored: pd.DataFrame, run_id: str, run_key: int) -> tuple[pa.Table, pa.Table]:
        """The run's rows as stored (crmid_score_rows, as Arrow) and its distinct reasons texts.

        Labels become codes of the dictionary (new texts are added to it, and to the view, in a
        short transaction of their own); missing numbers and labels become NULL. A rule output
        the frame lacks is stored as NULL: a frame scored by code that predates a family (or
        before it was registered) still stores; so is a fact kept for the customer page only
        (:data:`_OPTIONAL_FIELDS`). Any other column is required.
        """
        wanted = [c for c in self.score_fields if c != "reasons_id"]
        required = [c for c in wanted
                    if c not in self._output_names and c not in _OPTIONAL_FIELDS and c not in scored.columns]
        if required:
            raise KeyError(f"the scored frame lacks the stored columns {required}")
        n = len(scored)
        local = {}
        for name in self._coded:
            if name not in scored.columns:
                continue
            column = scored[name]
            if isinstance(column.dtype, pd.CategoricalDtype):
                codes, texts = column.cat.codes.to_numpy(), column.cat.categories
            else:
                codes, texts = pd.factorize(column, use_na_sentinel=True)
            local[name] = (codes, [str(t) for t in texts])
        for attempt in range(5):
            try:
                with self.engine.begin() as conn:
                    added = {name: self._add_labels(conn, name, texts) for name, (_, texts) in local.items()}
                    if any(new for _, new in added.values()):
                        self._create_view(conn)
                break
            except sa.exc.IntegrityError:  # another run added the same text at the same time
                if attempt == 4:
                    raise
        if self._rows_run_column == "run_key":
            arrays = {"run_key": pa.array(np.full(n, run_key, dtype=np.int32))}
        else:
            arrays = {"run_id": pa.DictionaryArray.from_arrays(np.zeros(n, dtype=np.int8), [run_id]).cast(pa.string())}
        for name in wanted:
            if name == "customer_id":
                arrays[name] = pa.array(scored[name].astype(str), from_pandas=True).cast(pa.string())
            elif name in local:
                codes, texts = local[name]
                # local code -> dictionary code; the appended -1 maps pandas' missing (-1) to NULL
                lookup = np.array([added[name][0][t] for t in texts] + [-1], dtype=np.int16)
                coded = lookup[codes]
                arrays[name] = pa.array(coded, mask=coded < 0)
            elif name not in scored.columns:  # a rule output or an optional fact the frame lacks
                kind = pa.int16() if name in self._coded else pa.string() if self._is_text(name) else pa.float64()
                arrays[name] = pa.nulls(n, kind)
            elif self._is_text(name):  # a text field stored as it is (e.g. a JSON document per customer)
                arrays[name] = _text_array(scored[name])
            else:
                values = pd.to_numeric(scored[name]).to_numpy(dtype=np.float64, na_value=np.nan)
                arrays[name] = pa.array(values, mask=np.isnan(values))
        reasons_id, texts = pd.factorize(scored["reasons"], use_na_sentinel=False)
        arrays["reasons_id"] = pa.array(reasons_id.astype(np.int32))
        order = self._row_order(arrays["customer_id"])
        if order is not None:
            for name in arrays:  # one column at a time: the run is never held twice
                arrays[name] = arrays[name].take(order)
        reasons = pa.table({
            "run_id": pa.array([run_id] * len(texts), pa.string()),
            "reasons_id": pa.array(np.arange(len(texts), dtype=np.int32)),
            "reasons": pa.array(["[]" if pd.isna(t) else str(t) for t in texts], pa.string()),
        })
        return pa.table(arrays), reasons

    def _row_order(self, customer_ids: pa.Array) -> pa.Array | None:
        """The order a backend takes a run's rows in (indices into them); None: as they come."""
        return None

    def _is_text(self, name: str) -> bool:
        """Whether a stored per-customer field that is no coded label holds text (not a number)."""
        kind = self.score_fields.get(name)
        kind = kind() if isinstance(kind, type) else kind
        return isinstance(kind, sa.String)  # sa.Text is a String too

    def _completed(self, run_id: str, n_scored: int):
        """The UPDATE that marks a run complete (the last statement of its transaction)."""
        return self.runs.update().where(self.runs.c.run_id == run_id).values(
            status="complete", n_scored=int(n_scored),
            finished_at=pd.Timestamp.now(tz="UTC").tz_localize(None).to_pydatetime())

    def _completed_sql(self, run_id: str, n_scored: int) -> str:
        """:meth:`_completed` as SQL text, for a bulk connection that is not SQLAlchemy's."""
        return str(self._completed(run_id, n_scored).compile(dialect=self.engine.dialect,
                                                             compile_kwargs={"literal_binds": True}))

    def _write_run(self, run_id: str, run_key: int, rows: pa.Table, reasons: pa.Table, chunk_rows: int,
                   before_commit=None) -> None:
        """One transaction: the reasons, every row, the run marked complete. Backends override
        this with their bulk path; this generic one goes through SQLAlchemy."""
        with self.engine.begin() as conn:
            conn.execute(self.reasons.insert(), reasons.to_pylist())
            self._insert_scores(conn, rows, chunk_rows)
            if before_commit is not None:
                before_commit()
            conn.execute(self._completed(run_id, rows.num_rows))

    def _engine_url(self, url: str) -> str:
        """The URL SQLAlchemy connects with (a backend may pick its driver here)."""
        return url

    def _insert_scores(self, conn, rows: pa.Table, chunk_rows: int) -> None:
        """Insert the rows in the caller's transaction (SQLAlchemy executemany): the generic, slow way.

        It serves any database SQLAlchemy speaks, and SQLite in memory; the SQLite file and
        PostgreSQL backends ingest the Arrow table in bulk through ADBC instead.
        """
        for batch in rows.to_batches(max_chunksize=chunk_rows):
            conn.execute(self.score_rows.insert(), batch.to_pylist())

    @staticmethod
    def _adbc_error(exc: Exception, statement: str) -> sa.exc.DBAPIError:
        """An ADBC driver error as SQLAlchemy's own (IntegrityError for a broken key ...), as the
        generic path would raise it."""
        import adbc_driver_manager

        if "constraint failed" in str(exc).lower() or "duplicate key" in str(exc).lower():
            return sa.exc.IntegrityError(statement, None, exc)
        return sa.exc.DBAPIError.instance(statement, None, exc, adbc_driver_manager.Error)

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

    def _change_state(self):
        """Something that differs whenever anyone committed to the database since, read without a query.

        None where the backend has no such thing (every :meth:`latest_run` then asks the database).
        """
        return None

    def latest_run(self, model_version: str | None = None) -> RunInfo | None:
        """The most recent complete run (of ``model_version`` when given), or None.

        Every online request asks which run to rank against; where the backend can tell cheaply
        that nobody committed since the last answer (:meth:`_change_state`) that answer is reused.
        """
        state = self._change_state()  # before the query: a commit that lands meanwhile is a change
        if state is not None:
            seen = self._latest.get(model_version)
            if seen is not None and seen[0] == state:
                return seen[1]
        info = self._query_latest_run(model_version)
        if state is not None:
            self._latest[model_version] = (state, info)
        return info

    def _query_latest_run(self, model_version: str | None) -> RunInfo | None:
        runs = self.runs.c
        query = sa.select(runs.run_id).where(runs.status == "complete")
        if model_version is not None:
            query = query.where(runs.model_version == str(model_version))
        with self.engine.connect() as conn:
            run_id = conn.execute(query.order_by(runs.finished_at.desc()).limit(1)).scalar()
            if run_id is None:
                return None
            # a complete run never changes: its row and CLV table (a thousand numbers of JSON)
            # are read and parsed once, not by every online request ranked against it;
            # read-only, as every caller shares it
            info = self._complete_runs.get(run_id)
            if info is None:
                row = conn.execute(sa.select(self.runs).where(runs.run_id == run_id)).mappings().first()
                info = self._run_info(row)
                info.clv_reference.flags.writeable = False
                self._complete_runs[info.run_id] = info
        return info

    @staticmethod
    def _run_info(row) -> RunInfo:
        """A ``crmid_runs`` row as a :class:`RunInfo`."""
        return RunInfo(
            run_id=row["run_id"], status=row["status"], as_of=row["as_of"],
            started_at=pd.Timestamp(row["started_at"]),
            finished_at=pd.Timestamp(row["finished_at"]) if row["finished_at"] else None,
            n_scored=row["n_scored"], n_rejected=row["n_rejected"], model_version=row["model_version"],
            rules_version=row["rules_version"], clv_reference=np.asarray(json.loads(row["clv_reference"]), dtype=float),
            note=row.get("note"),
        )

    def retain(self, *, top: int = 20, tiers: Sequence[str] | None = None, min_churn: float | None = None,
               customer_ids: Sequence[str] | None = None, run_id: str | None = None) -> pd.DataFrame:
        """Who to retain now, from the latest complete run.

        Ranked by priority, then value at risk, then tier (platinum first). Customers with no
        action to take (priority 0 or missing) are not listed. An unknown customer id or tier in
        the filters simply matches nothing.
        """
        return self.retain_page(top=top, tiers=tiers, min_churn=min_churn, customer_ids=customer_ids, run_id=run_id)

    # ------------------------------------------------------------------ the retain list, paged
    def _run_or_latest(self, run_id: str | None) -> str | None:
        if run_id is not None:
            return run_id
        latest = self.latest_run()
        return None if latest is None else latest.run_id

    @property
    def label_columns(self) -> tuple[str, ...]:
        """The stored label columns (rule outputs of kind label), the ones a list can be filtered on."""
        return self._label_names

    def _tier_rank(self, scores=None):
        s = (self.scores if scores is None else scores).c
        return sa.case({t: i for i, t in enumerate(TIER_ORDER)}, value=s.value_tier, else_=len(TIER_ORDER))

    def _order(self, sort: str, descending: bool, *, mirrored: bool = False, tier_codes: dict | None = None,
               rows: sa.Table | None = None, scores=None) -> list:
        """ORDER BY terms: the sort column (if any), then the one retain ranking (reversed for ``rank`` descending).

        ``mirrored``: the exact reverse of that order (the last row first), NULLs included.
        ``tier_codes``: order the stored rows themselves (labels as codes; tier label -> its code),
        not the view: those of ``rows`` (default crmid_score_rows; see :meth:`_run_rows`).
        ``scores``: the view's rows to order, when not the view itself (:meth:`_scores_of_run`).
        """
        if sort not in RETAIN_SORTS:
            raise ValueError(f"sort {sort!r}: expected one of {', '.join(RETAIN_SORTS)}")
        if tier_codes is None:
            s = (self.scores if scores is None else scores).c
            tier_rank = self._tier_rank(scores)
        else:
            s = (self.score_rows if rows is None else rows).c
            tier_rank = sa.case({tier_codes[t]: i for i, t in enumerate(TIER_ORDER) if t in tier_codes},
                                value=s.value_tier, else_=len(TIER_ORDER))
        # (expression, ascending, where NULLs go); None where the column has none among listed rows
        terms = [(s.priority, False, None), (s.value_at_risk, False, "last"), (tier_rank, True, None),
                 (s.customer_id, True, None)]

        def reverse(terms):
            return [(e, not asc, {"last": "first", "first": "last"}.get(nulls)) for e, asc, nulls in terms]

        if sort == "rank" and descending:
            terms = reverse(terms)
        elif sort != "rank":
            key = tier_rank if sort == "value_tier" else s[sort]
            # a missing value is shown last whichever way the column is sorted: it is no answer
            terms = [(key, not descending, "last"), *terms]
        if mirrored:
            terms = reverse(terms)
        order = []
        for e, asc, nulls in terms:
            term = e.asc() if asc else e.desc()
            order.append(term if nulls is None else term.nulls_last() if nulls == "last" else term.nulls_first())
        return order

    def _retain_conditions(self, run_id: str, *, tiers=None, min_churn=None, labels=None, min_value_at_risk=None,
                           customer_ids=None) -> list:
        """WHERE terms of the retain list: the run, an action to take, then each filter given."""
        s = self.scores.c
        conditions = [s.run_id == run_id, s.priority > 0]
        if tiers:
            conditions.append(s.value_tier.in_([str(t) for t in tiers]))
        if min_churn is not None:
            conditions.append(s.churn_probability >= float(min_churn))
        for column, values in (labels or {}).items():
            if column not in self._label_names:
                raise ValueError(f"label filter {column!r}: the store's label columns are "
                                 f"{', '.join(self._label_names)}")
            if values:
                conditions.append(s[column].in_([str(v) for v in values]))
        if min_value_at_risk is not None:
            conditions.append(s.value_at_risk >= float(min_value_at_risk))
        if customer_ids:
            conditions.append(s.customer_id.in_([str(c) for c in customer_ids]))
        return conditions

    def _coded_retain(self, conn, run_id: str, *, tiers=None, min_churn=None, labels=None, min_value_at_risk=None,
                      customer_ids=None) -> tuple[list, dict, sa.Table] | None:
        """The retain list's WHERE terms on the stored rows, the tier codes, and the table the rows
        are read from (:meth:`_run_rows`); None when nothing can match.

        Label filters become conditions on the stored codes, which the per-label indexes serve
        (on the view the labels are decoded by a CASE, which no index can); the run is its key
        (SQLite) or its partition, read by name (PostgreSQL).
        """
        rows, conditions = self._run_rows(conn, run_id)
        if rows is None:
            return None
        r = rows.c
        conditions.append(r.priority > 0)
        wanted: list[tuple[str, list[str]]] = []
        if tiers:
            wanted.append(("value_tier", [str(t) for t in tiers]))
        for column, values in (labels or {}).items():
            if column not in self._label_names:
                raise ValueError(f"label filter {column!r}: the store's label columns are "
                                 f"{', '.join(self._label_names)}")
            if values:
                wanted.append((column, [str(v) for v in values]))
        fields = {"value_tier", *(column for column, _ in wanted)}
        known: dict[str, dict[str, int]] = {}
        for field, label, code in conn.execute(sa.select(self.labels.c.field, self.labels.c.label, self.labels.c.code)
                                               .where(self.labels.c.field.in_(sorted(fields)))):
            known.setdefault(field, {})[label] = int(code)
        for column, values in wanted:
            codes = sorted({known.get(column, {})[v] for v in values if v in known.get(column, {})})
            if not codes or column not in r:
                return None  # no stored customer has any of these labels (or the run has no such column)
            conditions.append(r[column].in_(codes))
        if min_churn is not None:
            conditions.append(r.churn_probability >= float(min_churn))
        if min_value_at_risk is not None:
            conditions.append(r.value_at_risk >= float(min_value_at_risk))
        if customer_ids:
            conditions.append(r.customer_id.in_([str(c) for c in customer_ids]))
        return conditions, known.get("value_tier", {}), rows

    def _run_rows(self, conn, run_id: str) -> tuple[sa.Table | None, list]:
        """The table a run's stored rows are read from, and the WHERE terms that pick them there (None: no such run)."""
        key = conn.execute(sa.select(self.runs.c.run_key).where(self.runs.c.run_id == run_id)).scalar()
        if key is None:
            return None, []
        return self._rows_of_run(conn, int(key), run_id)

    def _rows_of_run(self, conn, run_key: int, run_id: str) -> tuple[sa.Table, list]:
        """The table holding one run's rows and the terms that pick them there (PostgreSQL: its partition)."""
        run = self.score_rows.c[self._rows_run_column]
        return self.score_rows, [run == (run_key if self._rows_run_column == "run_key" else run_id)]

    def _retain_columns(self, scores=None) -> list:
        s, r = (self.scores if scores is None else scores).c, self.reasons.c
        return [r.reasons if c == "reasons" else s[c] for c in RETAIN_COLUMNS]

    def _retain_select(self, conditions: list, order: list):
        s, r = self.scores.c, self.reasons.c
        return (sa.select(*self._retain_columns())
                .join_from(self.scores, self.reasons, sa.and_(r.run_id == s.run_id, r.reasons_id == s.reasons_id))
                .where(*conditions).order_by(*order))

    def retain_page(self, *, top: int | None = 20, offset: int = 0, sort: str = "rank", descending: bool = False,
                    tiers: Sequence[str] | None = None, min_churn: float | None = None,
                    labels: Mapping[str, Sequence[str]] | None = None, min_value_at_risk: float | None = None,
                    customer_ids: Sequence[str] | None = None, run_id: str | None = None) -> pd.DataFrame:
        """One page of the retain list, filtered, sorted and cut (LIMIT/OFFSET) by the database."""
        order = self._order(sort, descending)
        run_id = self._run_or_latest(run_id)
        if run_id is None:
            return pd.DataFrame(columns=list(RETAIN_COLUMNS))
        conditions = self._retain_conditions(run_id, tiers=tiers, min_churn=min_churn, labels=labels,
                                             min_value_at_risk=min_value_at_risk, customer_ids=customer_ids)
        with self.engine.connect() as conn:
            if top is None:
                query = self._retain_select(conditions, order).offset(int(offset) or None)
            else:
                top, offset, inner = int(top), int(offset), order
                if offset >= _MIRROR_FROM:
                    # a page in the back half of the list is read from the end: the database skips
                    # the rows after it instead of every row before it (the last page of a million
                    # took 4.5 s from the front)
                    total = self.count_retain(run_id=run_id, tiers=tiers, min_churn=min_churn, labels=labels,
                                              min_value_at_risk=min_value_at_risk, customer_ids=customer_ids)
                    if offset >= total:
                        return pd.DataFrame(columns=list(RETAIN_COLUMNS))
                    if offset + top / 2 > total / 2:
                        top, offset = min(top, total - offset), max(total - offset - top, 0)
                        inner = self._order(sort, descending, mirrored=True)
                # the page's customer ids first, sorted and cut; then only their rows are read and
                # joined to their reasons. Selecting whole rows in one query carried every row of the
                # run through the sort (2.5 s for a million customers instead of 0.3 s); joined, not
                # `IN (page)`, which SQLite answered by walking an index of the whole run
                s, r = self.scores.c, self.reasons.c
                page = (sa.select(s.customer_id).where(*conditions).order_by(*inner).limit(top).offset(offset)
                        .subquery("page"))
                if sort not in self._coded or sort == "value_tier":
                    # on the stored rows, labels as codes: a label filter is then an index's range, and
                    # the page is the first rows of that index in the ranking's order (a tier filter
                    # read every row of a million-customer run through the view's decoding CASE)
                    coded = self._coded_retain(conn, run_id, tiers=tiers, min_churn=min_churn, labels=labels,
                                               min_value_at_risk=min_value_at_risk, customer_ids=customer_ids)
                    if coded is None:
                        return pd.DataFrame(columns=list(RETAIN_COLUMNS))
                    where, tier_codes, rows = coded
                    mirrored = inner is not order
                    rows_order = self._order(sort, descending, mirrored=mirrored, tier_codes=tier_codes, rows=rows)
                    page = (sa.select(rows.c.customer_id).where(*where).order_by(*rows_order).limit(top)
                            .offset(offset).subquery("page"))
                # the page's rows from the run's own rows: a view over several tables would answer
                # the join once per table
                scores = self._scores_of_run(conn, run_id)
                s = scores.c
                query = (sa.select(*self._retain_columns(scores)).select_from(page)
                         .join(scores, sa.and_(s.run_id == run_id, s.customer_id == page.c.customer_id))
                         .join(self.reasons, sa.and_(r.run_id == s.run_id, r.reasons_id == s.reasons_id))
                         .order_by(*self._order(sort, descending, scores=scores)))
            return pd.DataFrame(conn.execute(query).mappings().all(), columns=list(RETAIN_COLUMNS))

    def _scores_of_run(self, conn, run_id: str):
        """One run's rows as the crmid_scores view shows them (run id, labels decoded): the view itself
        by default; a backend that keeps a run in a table of its own reads that table."""
        return self.scores

    def count_retain(self, *, tiers: Sequence[str] | None = None, min_churn: float | None = None,
                     labels: Mapping[str, Sequence[str]] | None = None, min_value_at_risk: float | None = None,
                     customer_ids: Sequence[str] | None = None, run_id: str | None = None) -> int:
        """How many customers the retain list has with these filters."""
        run_id = self._run_or_latest(run_id)
        if run_id is None:
            return 0
        with self.engine.connect() as conn:
            coded = self._coded_retain(conn, run_id, tiers=tiers, min_churn=min_churn, labels=labels,
                                       min_value_at_risk=min_value_at_risk, customer_ids=customer_ids)
            if coded is None:
                return 0
            where, _, rows = coded
            query = sa.select(sa.func.count()).select_from(rows).where(*where)
            return int(conn.execute(query).scalar())

    def iter_retain(self, *, chunk_rows: int = 50_000, sort: str = "rank", descending: bool = False,
                    tiers: Sequence[str] | None = None, min_churn: float | None = None,
                    labels: Mapping[str, Sequence[str]] | None = None, min_value_at_risk: float | None = None,
                    customer_ids: Sequence[str] | None = None, run_id: str | None = None) -> Iterator[pd.DataFrame]:
        """The whole filtered list in frames of at most ``chunk_rows``, read from one query as they are used.

        One query, not pages: OFFSET paging re-reads every skipped row, which grows with the
        square of a million-row list. The connection stays open until the last frame is taken
        (or the iterator is closed).
        """
        order = self._order(sort, descending)
        run_id = self._run_or_latest(run_id)
        if run_id is None:
            return
        conditions = self._retain_conditions(run_id, tiers=tiers, min_churn=min_churn, labels=labels,
                                             min_value_at_risk=min_value_at_risk, customer_ids=customer_ids)
        with self.engine.connect() as conn:
            result = conn.execution_options(yield_per=int(chunk_rows)).execute(self._retain_select(conditions, order))
            for part in result.mappings().partitions():
                yield pd.DataFrame(part, columns=list(RETAIN_COLUMNS))

    # ------------------------------------------------------------------ summaries of a run
    def breakdown(self, by: Sequence[str], *, listed_only: bool = False, run_id: str | None = None) -> pd.DataFrame:
        """Customers, CLV and value at risk per combination of the label columns ``by`` (GROUP BY)."""
        by = list(by)
        unknown = [c for c in by if c not in self._label_names]
        if unknown:
            raise ValueError(f"breakdown by {unknown}: the store's label columns are {', '.join(self._label_names)}")
        columns = [*by, "customers", "clv", "value_at_risk"]
        run_id = self._run_or_latest(run_id)
        if run_id is None:
            return pd.DataFrame(columns=columns)
        s = self.scores.c
        keys = [s[c] for c in by]
        query = (sa.select(*keys, sa.func.count().label("customers"),
                           sa.func.coalesce(sa.func.sum(s.clv), 0.0).label("clv"),
                           sa.func.coalesce(sa.func.sum(s.value_at_risk), 0.0).label("value_at_risk"))
                 .where(s.run_id == run_id).group_by(*keys))
        if listed_only:
            query = query.where(s.priority > 0)
        with self.engine.connect() as conn:
            frame = pd.DataFrame(conn.execute(query).mappings().all(), columns=columns)
        return frame.astype({"customers": "int64", "clv": "float64", "value_at_risk": "float64"})

    def distribution(self, column: str, edges: Sequence[float], *, run_id: str | None = None) -> pd.DataFrame:
        """Customers per bin of a stored number column (GROUP BY on the bin), empty bins included."""
        edges = [float(e) for e in edges]
        if len(edges) < 2 or any(b <= a for a, b in itertools.pairwise(edges)):
            raise ValueError(f"distribution edges {edges}: need at least two, strictly increasing")
        if self.score_fields.get(column) is not sa.Float:
            numbers = [c for c, kind in self.score_fields.items() if kind is sa.Float]
            raise ValueError(f"distribution of {column!r}: the store's number columns are {', '.join(numbers)}")
        bins = len(edges) - 1
        counts = np.zeros(bins, dtype=np.int64)
        run_id = self._run_or_latest(run_id)
        if run_id is not None:
            s = self.scores.c
            value = s[column]
            # the bin by comparisons, not FLOOR: SQLite has no FLOOR unless built with its math
            # functions, and a CAST to integer rounds on PostgreSQL but truncates on SQLite
            bin_of = sa.case(*[(value < edges[i + 1], i) for i in range(bins - 1)], else_=bins - 1)
            query = (sa.select(bin_of.label("bin"), sa.func.count().label("customers"))
                     .where(s.run_id == run_id, value >= edges[0], value <= edges[-1]).group_by(bin_of))
            with self.engine.connect() as conn:
                for row in conn.execute(query):
                    counts[int(row.bin)] = int(row.customers)
        return pd.DataFrame({"lower": edges[:-1], "upper": edges[1:], "customers": counts})

    def list_runs(self, limit: int | None = None) -> list[RunInfo]:
        """Stored runs of every status (running, complete, failed), the most recently started first."""
        query = sa.select(self.runs).order_by(self.runs.c.started_at.desc())
        if limit is not None:
            query = query.limit(int(limit))
        with self.engine.connect() as conn:
            return [self._run_info(row) for row in conn.execute(query).mappings()]

    def customer_history(self, customer_id: str, *, runs: int | None = None) -> pd.DataFrame:
        """One customer's stored row in each complete run that has it, oldest first.

        Looked up by the primary key (run id, customer id) once per run, so no index on the
        customer id alone is needed and a run of a million customers costs one lookup.
        """
        run_fields = ["run_id", "as_of", "finished_at", "model_version", "rules_version"]
        score_columns = [c for c in self.score_fields if c != "reasons_id"]
        columns = [*run_fields, *score_columns]
        r = self.runs.c
        query = (sa.select(*[r[c] for c in run_fields]).where(r.status == "complete")
                 .order_by(r.finished_at.desc()))
        if runs is not None:
            query = query.limit(int(runs))
        with self.engine.connect() as conn:
            run_rows = pd.DataFrame(conn.execute(query).mappings().all(), columns=run_fields)
            if run_rows.empty:
                return pd.DataFrame(columns=columns)
            s = self.scores.c
            rows = conn.execute(sa.select(s.run_id, *[s[c] for c in score_columns])
                                .where(s.run_id.in_(list(run_rows["run_id"])), s.customer_id == str(customer_id)))
            scores = pd.DataFrame(rows.mappings().all(), columns=["run_id", *score_columns])
        merged = run_rows.merge(scores, on="run_id", how="inner")
        return merged.sort_values("finished_at", kind="stable").reset_index(drop=True)[columns]
