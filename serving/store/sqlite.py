"""SQLite backend: a file, created with its directory, in WAL mode; each run ingested from Arrow through
ADBC into a table of its own."""

from __future__ import annotations

import os
import threading
import weakref
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from .sql import _FILTER_LABELS, SqlScoresStore, _labels_by_field

__all__ = ["SqliteScoresStore"]

#: the columns of the retain list's index (those of a family not registered are left out)
_LIST_COLUMNS = ("run_key", "priority", "customer_id", "value_at_risk", "value_tier", "churn_risk", "action",
                 "lifecycle_stage", "temperature", "churn_probability", "clv", "next_purchase_days_median")

#: settings of the connection that writes a run: no fsync at each commit in WAL mode (a power
#: cut may lose the last run, never make a partial one visible), wait for another writer rather
#: than fail, and a page cache (256 MB at most) that holds a million-row run's new pages
_WRITER_PRAGMAS = ("PRAGMA synchronous=NORMAL", "PRAGMA busy_timeout=60000", "PRAGMA cache_size=-262144")


#: bytes per page of a new store file (SQLite's default is 4096): a million-customer run (rows of
#: about 1 KB with their drivers and purchase history, and the list's indexes) is written in 14 s
#: instead of 22 s: fewer, fuller B-tree pages to split and to log. A file made before keeps its
#: page size
_PAGE_SIZE = 16384

#: compact the file (VACUUM) when more than this share of its pages is free after deleting runs
_VACUUM_WHEN_FREE = 0.5

#: this process's stores, by database file: an ADBC write closes every idle connection of them
#: all first (see _write_run), not only its own store's
_STORES_BY_FILE: dict[str, weakref.WeakSet] = {}

#: runs whose decoded rows a store keeps ready for the retain list's pages (the oldest is dropped)
_RUNS_KEPT_READY = 16


class SqliteScoresStore(SqlScoresStore):
    """Scores in a SQLite file (``sqlite:///path/scores.db``), the workspace's default store.

    The file is in WAL mode: the HTTP service keeps reading the latest run while a batch job
    writes the next one. Runs are written by the ADBC SQLite driver straight from Arrow (binding
    Python tuples through ``sqlite3`` took 18 s a million customers).

    Each run's rows go into a table of its own, ``crmid_score_rows_<run_key>``, created in the
    run's transaction: no rowid, keyed by customer, rows in key order (each appended to the
    B-tree), with the retain list's indexes. Deleting a run (``--keep-runs``) drops its table:
    deleting a million rows and their index entries from one shared table took about 22 s, a
    dropped table 0.3 s. ``crmid_scores`` is a view over ``crmid_score_rows`` (runs stored by an
    earlier crmid, and runs in memory) and every run's table (UNION ALL), re-created in the
    transaction that adds or drops a run; a query that names a run reads only its table. In
    memory (``sqlite://``) everything goes through SQLAlchemy into ``crmid_score_rows``.
    """

    def __init__(self, url: str):
        #: a run's own table, reflected once (a complete run's table never changes), by run key
        self._run_tables: dict[int, sa.Table] = {}
        #: a run's rows as the view shows them, by run id (see _scores_of_run)
        self._run_scores: dict[str, Any] = {}
        #: the connection that reads PRAGMA data_version (see _change_state), taken when first asked
        self._version_conn: Any = None
        self._version_generation = 0
        self._version_lock = threading.Lock()
        super().__init__(url)

    def _engine_url(self, url: str) -> str:
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        return url

    @property
    def _path(self) -> str | None:
        """The database file, or None in memory."""
        database = self.engine.url.database
        return None if database in (None, "", ":memory:") or database.startswith("file:") else database

    def _change_state(self):
        # SQLite's own count of commits by other connections (PRAGMA data_version), read on a
        # connection of the engine kept for it alone (its own commits would not count, and it
        # makes none), instead of a query: 0.7 ms of each online request went to asking for the
        # latest run. The files are never opened by hand: closing a descriptor of the database
        # drops every POSIX lock the process's connections hold on it. Closed with the idle
        # connections before an ADBC write; the generation tells a reopened one's counts apart
        if self._path is None:
            return None
        with self._version_lock:
            if self._version_conn is None:
                self._version_conn = self.engine.raw_connection()
                self._version_generation += 1
            cursor = self._version_conn.cursor()
            try:
                return self._version_generation, cursor.execute("PRAGMA data_version").fetchone()[0]
            finally:
                cursor.close()

    def _close_idle_connections(self) -> None:
        """Close the pool's idle connections and the data_version one (they reopen when next used)."""
        with self._version_lock:
            if self._version_conn is not None:
                self._version_conn.invalidate()  # closed, not returned to a pool about to be disposed
                self._version_conn = None
        self.engine.dispose()

    def close(self) -> None:
        self._close_idle_connections()
        super().close()

    def _configure_engine(self, engine: sa.Engine) -> None:
        in_file = self._path is not None
        if in_file:
            _STORES_BY_FILE.setdefault(os.path.realpath(self._path), weakref.WeakSet()).add(self)

        @sa.event.listens_for(engine, "connect")
        def _connect(dbapi_connection, _record):
            # SQLAlchemy, not the sqlite3 module, begins transactions: DDL (the view, a
            # migration) is then inside them too, as on PostgreSQL
            dbapi_connection.isolation_level = None
            if in_file:
                cursor = dbapi_connection.cursor()
                # before WAL, which writes a new file's header: it has no effect on a file that exists
                cursor.execute(f"PRAGMA page_size={_PAGE_SIZE}")
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.close()
            # Debian's SQLite zeroes every freed page (secure_delete on): dropping a million-row run's
            # table then took 14 s instead of 0.3 s. FAST still clears what is cleared at no extra I/O
            dbapi_connection.execute("PRAGMA secure_delete=FAST")

        @sa.event.listens_for(engine, "begin")
        def _begin(conn):
            conn.exec_driver_sql("BEGIN")

    def _score_rows_options(self) -> dict:
        # the rows are the primary key's B-tree (run, customer): one structure to write, and a
        # run's rows are contiguous on disk for the scans of the retain list
        return {"sqlite_with_rowid": False}

    def _score_rows_indexes(self, table: sa.Table) -> None:
        # the retain list's index: ordered by run, priority and customer, so that rows written in
        # customer order land at one append point per priority (about 25), not at random places
        # (ordering by value at risk too cost 3-5 s more per million rows); it carries every
        # column the list filters, counts, sorts and sums on, which such queries then read alone.
        # The list's order beyond priority is sorted per priority group (a few ms for a page)
        columns = [c for c in _LIST_COLUMNS if c in table.c]
        sa.Index(f"ix_{table.name}_list", *[table.c[c] for c in columns])
        # one per label a list can be filtered on: the filter is a range of it, walked in the
        # ranking's order (priority, then value at risk), so the first page of any such filter
        # reads about a page of entries instead of every row of the run
        # Ordered by run, label, priority and customer like the list index, so that rows written in
        # customer order are appended (ordering by value at risk too tripled the store stage);
        # it carries what the ranking's ties and the other filters read, so the walk never leaves
        # it (the planner took the list index over one it would have to leave)
        for label in _FILTER_LABELS:
            if label in table.c:
                extra = [c for c in ("value_at_risk", "value_tier", "churn_probability") if c != label and c in table.c]
                sa.Index(f"ix_{table.name}_by_{label}", table.c.run_key, table.c[label], table.c.priority,
                         table.c.customer_id, *[table.c[c] for c in extra])

    # ------------------------------------------------------------------ a table per run
    def _run_table_name(self, run_key: int) -> str:
        return f"{self.score_rows.name}_{int(run_key)}"

    def _new_run_table(self, run_key: int) -> sa.Table:
        """The table a new run's rows go into: crmid_score_rows' columns, keyed by customer, with the
        retain list's indexes.

        The run key stays in every row and leads every index, as in crmid_score_rows, though it is
        the same throughout (a byte a row): the queries then name it, and SQLite plans them as it
        did on the shared table. Without it the planner, with no statistics, chose a label's index
        and sorted every match for a two-tier filter (26 -> 400 ms for the top 100 of 800,000).
        """
        columns = [sa.Column(c.name, c.type, primary_key=c.name == "customer_id", nullable=c.name != "customer_id")
                   for c in self.score_rows.columns]
        table = sa.Table(self._run_table_name(run_key), sa.MetaData(), *columns, **self._score_rows_options())
        self._score_rows_indexes(table)
        return table

    def _run_table(self, conn, run_key: int) -> sa.Table | None:
        """A run's own table as it is in the file (a run stored before a family existed lacks its
        columns), or None for a run kept in crmid_score_rows."""
        table = self._run_tables.get(int(run_key))
        if table is None:
            name = self._run_table_name(run_key)
            if not sa.inspect(conn).has_table(name):
                return None
            table = self._run_tables[int(run_key)] = sa.Table(name, sa.MetaData(), autoload_with=conn)
        return table

    def _rows_of_run(self, conn, run_key: int, run_id: str) -> tuple[sa.Table, list]:
        table = self._run_table(conn, run_key)
        if table is None:
            return super()._rows_of_run(conn, run_key, run_id)
        return table, [table.c.run_key == int(run_key)]  # the indexes' leading column (see _new_run_table)

    def _scores_of_run(self, conn, run_id: str):
        # kept per run: a run's table exists once the run is complete, and every label code it
        # uses is in the dictionary by then (building and compiling it anew cost each page 5-10 ms)
        key = conn.execute(sa.select(self.runs.c.run_key).where(self.runs.c.run_id == run_id)).scalar()
        if key is None:  # deleted meanwhile (by another process too): the view, where it has no rows
            self._run_scores.pop(run_id, None)
            return super()._scores_of_run(conn, run_id)
        scores = self._run_scores.get(run_id)
        if scores is None:
            table = self._run_table(conn, key)
            if table is None:
                return super()._scores_of_run(conn, run_id)
            scores = self._run_select(run_id, table.c, self._known_labels(conn)).subquery(self.scores.name)
            while len(self._run_scores) >= _RUNS_KEPT_READY:
                self._run_scores.pop(next(iter(self._run_scores)))
            self._run_scores[run_id] = scores
        return scores

    def _run_select(self, run_id: str, stored, known):
        """One run's table as the view shows it: the run's id, each label decoded."""
        return sa.select(sa.literal(str(run_id), sa.String(36)).label("run_id"), *self._decoded_columns(stored, known))

    def _view_select_of(self, known, fetch):
        """crmid_score_rows (earlier runs) and each run's table, UNION ALL; ``fetch(sql)`` reads the
        catalogue on the connection that will create the view."""
        arms = [super()._view_select(known)]
        # each run's own table (named as _run_table_name does) and the run it holds, from SQLite's catalogue
        run_tables = (f"SELECT r.run_id, m.name FROM sqlite_master AS m JOIN {self.runs.name} AS r "
                      f"ON m.name = '{self.score_rows.name}_' || r.run_key WHERE m.type = 'table' ORDER BY r.run_key")
        for run_id, name in fetch(run_tables):
            stored = {column: sa.column(column) for (column,) in fetch(f"SELECT name FROM pragma_table_info('{name}')")}
            arms.append(self._run_select(run_id, stored, known).select_from(sa.table(name)))
        return arms[0] if len(arms) == 1 else sa.union_all(*arms)

    def _view_statements(self, fetch) -> list[str]:
        """DROP and CREATE of the crmid_scores view, from what ``fetch(sql)`` reads now."""
        known = _labels_by_field(fetch(f"SELECT field, code, label FROM {self.labels.name} ORDER BY field, code"))
        body = self._view_select_of(known, fetch).compile(dialect=self.engine.dialect,
                                                          compile_kwargs={"literal_binds": True})
        return [f"DROP VIEW IF EXISTS {self.scores.name}", f"CREATE VIEW {self.scores.name} AS {body}"]

    def _create_view(self, conn) -> None:
        # through the driver: label texts are literals of the view, and a colon in one is no bind
        # parameter there
        for statement in self._view_statements(lambda sql: list(conn.exec_driver_sql(sql))):
            conn.exec_driver_sql(statement)

    def _delete_run_rows(self, conn, runs) -> None:
        for run_id, key in runs:
            if key is not None:
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS {self._run_table_name(key)}")
                self._run_tables.pop(int(key), None)
            self._run_scores.pop(run_id, None)
        super()._delete_run_rows(conn, runs)
        self._create_view(conn)

    def _delete_runs(self, runs) -> None:
        """Delete the runs' rows; compact the file when most of it is then free pages.

        Freed pages are reused by the next run's rows, so a store that keeps N runs stops growing
        at about N + 1 runs without compacting; VACUUM (which rewrites the whole file) is worth
        its time only when much more was freed than a run will take again, e.g. after lowering
        ``--keep-runs``.
        """
        super()._delete_runs(runs)
        if self._path is None:
            return
        with self.engine.connect() as conn:
            free = conn.exec_driver_sql("PRAGMA freelist_count").scalar()
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
        if pages and free > pages * _VACUUM_WHEN_FREE:
            # on the driver's connection: it begins no transaction itself, and VACUUM refuses to run in one
            raw = self.engine.raw_connection()
            try:
                raw.driver_connection.execute("VACUUM")
            finally:
                raw.close()

    def _row_order(self, customer_ids: pa.Array) -> pa.Array | None:
        # key order: appended to the B-tree, not inserted at random places (4.8 s -> 2.3 s a million).
        # A batch run's rows come in that order already (validation sorts the ids): taken as they are
        # (sorting and moving a million rows of documents took 2-4 s)
        if self._path is None or len(customer_ids) < 2:
            return None
        if pc.all(pc.less(customer_ids[:-1], customer_ids[1:])).as_py():
            return None
        return pc.sort_indices(customer_ids)

    def _write_run(self, run_id: str, run_key: int, rows: pa.Table, reasons: pa.Table, chunk_rows: int,
                   before_commit=None) -> None:
        path = self._path
        if path is None:
            super()._write_run(run_id, run_key, rows, reasons, chunk_rows, before_commit=before_commit)
            return
        import adbc_driver_manager
        import adbc_driver_sqlite.dbapi

        table = self._new_run_table(run_key)
        ddl = [str(sa.schema.CreateTable(table).compile(dialect=self.engine.dialect)),
               *(str(sa.schema.CreateIndex(index).compile(dialect=self.engine.dialect)) for index in table.indexes)]
        statement = ddl[0]
        # the ADBC driver carries its own copy of SQLite. Two copies must never have one file open
        # in one process at once: closing it in one drops the other's POSIX locks (a run was lost
        # that way; with a second store on the file open in the process, the file was reported
        # malformed). So the idle connections of every store of this process on this file are
        # closed first; they reopen when next used. One in use by another thread meanwhile is not
        # covered: a process that writes runs reads the file through the store that writes
        for store in {self, *_STORES_BY_FILE.get(os.path.realpath(path), ())}:
            store._close_idle_connections()
        conn = adbc_driver_sqlite.dbapi.connect(path, autocommit=True)
        try:
            with conn.cursor() as cur:
                for pragma in _WRITER_PRAGMAS:  # outside any transaction: SQLite refuses them inside
                    cur.execute(pragma)
                conn.adbc_connection.set_autocommit(False)  # one transaction from here to the commit
                try:
                    for statement in ddl:  # the first write takes the file's write lock
                        cur.execute(statement)
                    statement = f"INSERT INTO {self.reasons.name}"
                    cur.adbc_ingest(self.reasons.name, reasons, mode="append")
                    statement = f"INSERT INTO {table.name}"
                    cur.adbc_ingest(table.name, rows, mode="append")
                    if before_commit is not None:
                        before_commit()

                    def fetch(sql):
                        cur.execute(sql)
                        return cur.fetchall()

                    # the view gains the run's table; read under the write lock, so a run another
                    # process added meanwhile is in it too
                    for statement in self._view_statements(fetch):
                        cur.execute(statement)
                    statement = self._completed_sql(run_id, rows.num_rows)
                    cur.execute(statement)
                    conn.adbc_connection.commit()
                except adbc_driver_manager.Error as exc:
                    conn.adbc_connection.rollback()
                    raise self._adbc_error(exc, statement) from exc
                except BaseException:
                    conn.adbc_connection.rollback()
                    raise
        finally:
            conn.close()
