"""PostgreSQL backend: one partition per run, loaded by binary COPY from Arrow (ADBC), indexed after the load."""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Sequence

import pyarrow as pa
import sqlalchemy as sa

from .sql import _FILTER_LABELS, SqlScoresStore

__all__ = ["PostgresScoresStore"]


def _literal(run_id: str) -> str:
    """A run id (a UUID the store made) as an SQL string literal."""
    return "'" + str(run_id).replace("'", "''") + "'"


class PostgresScoresStore(SqlScoresStore):
    """Scores in PostgreSQL (``postgresql://user@host/db``).

    ``crmid_score_rows`` is partitioned by run id: a run's rows go into a table of their own,
    created in the run's transaction and loaded by the ADBC driver's binary COPY from Arrow
    with no index to maintain; its indexes, the customer's (unique) and the retain ranking's,
    are then built in one sort each, and the table is attached as the run's partition just
    before the run is marked complete. A query names the run (``WHERE run_id = ...``), so the
    planner goes to that one partition. Maintaining the indexes row by row during the COPY took
    twice as long, and leading them with the (constant) run id made each build 2-3 times slower.
    """

    _rows_run_column = "run_id"
    # uniqueness of (run, customer) is the partition's unique index on the customer: its run is
    # fixed by the partition bound. A key on the parent would have to lead with the run id
    _rows_primary_key = False
    # byte order, as on SQLite; and the index on a million ids builds in half the time
    _customer_id_type = sa.String(128, collation="C")

    def __init__(self, url: str):
        #: partition name -> its table, for the queries that read one run (see _run_rows)
        self._partition_tables: dict[str, sa.Table] = {}
        super().__init__(url)

    def _engine_url(self, url: str) -> str:
        # SQLAlchemy 2.1 reads a plain postgresql:// URL as psycopg 3; crmid ships psycopg2, so
        # a URL that names no driver uses the one that is installed
        if url.startswith("postgresql://") and importlib.util.find_spec("psycopg") is None:
            return "postgresql+psycopg2://" + url[len("postgresql://"):]
        return url

    def _score_rows_options(self) -> dict:
        return {"postgresql_partition_by": "LIST (run_id)"}

    def _partition(self, run_key: int) -> str:
        return f"{self.score_rows.name}_{int(run_key)}"

    def _partition_indexes(self, part: str) -> list[str]:
        """The indexes of a run's partition: its customers (unique), the retain ranking's order."""
        # one per label the retain list filters on, in the ranking's order: a filter's first page
        # is the first entries of its label's range, however rare the label
        # covering like the ranking's (below): a label low in the ranking (lead, let go) or with
        # another filter beside it (lead and cold) is then read from its own index alone; with the
        # table to visit, the planner walked the ranking's index instead (120 ms for 700k entries)
        by_label = [f"CREATE INDEX {part}_by_{label} ON {part} ({label}, priority DESC, value_at_risk DESC NULLS LAST) "
                    f"INCLUDE ({', '.join(c for c in self._rank_covers() if c != label)})"
                    for label in _FILTER_LABELS if label in self.score_rows.c]
        return [f"CREATE UNIQUE INDEX {part}_customer ON {part} (customer_id)",  # a repeated customer fails here
                # in the ranking's own order (NULLs of value at risk last): a filter on a number (minimum
                # churn) walks it and stops at the page's end, where the ascending index made the
                # planner sort every matching row (1 s for half a million)
                # and covering every filter of the list: once the partition is vacuumed (_write_run), a
                # filter whose customers sit low in the ranking (minimum churn, iron and lead, a tier and a
                # temperature together) is read from the index alone, never from the table (1M customers:
                # 0.5-2.2 s -> 30-130 ms for the top 100)
                f"CREATE INDEX {part}_rank ON {part} (priority DESC, value_at_risk DESC NULLS LAST) "
                f"INCLUDE ({', '.join(self._rank_covers())})", *by_label]

    def _rank_covers(self) -> list[str]:
        """Columns the ranking's index carries besides its keys: the customer and every filter of the retain list."""
        # not the run id: the list reads the run's partition by name (_run_rows), so no query
        # tests it, and the index is 40% narrower than with it
        return ["customer_id", "churn_probability", *(label for label in _FILTER_LABELS if label in self.score_rows.c)]

    def _rows_of_run(self, conn, run_key: int, run_id: str) -> tuple[sa.Table, list]:
        # the run's partition itself, by name: no run id left to test on each row (a condition on
        # a column the covering index lacks would send every row to the table)
        name = self._partition(run_key)
        if name not in self._partition_tables:
            self._partition_tables[name] = sa.Table(name, sa.MetaData(),
                                                    *[sa.Column(c.name, c.type) for c in self.score_rows.columns])
        return self._partition_tables[name], []

    def _create_partitions(self, conn, runs: Sequence[tuple[int, str]]) -> None:
        for key, run_id in runs:
            part = self._partition(key)
            conn.execute(sa.text(f"CREATE TABLE {part} PARTITION OF {self.score_rows.name} "
                                 f"FOR VALUES IN ({_literal(run_id)})"))
            for statement in self._partition_indexes(part):
                conn.execute(sa.text(statement))

    def _delete_run_rows(self, conn, runs: Sequence[tuple[str, int]]) -> None:
        """Drop each run's partition (its space goes back at once, no row-by-row delete)."""
        for _, key in runs:
            if key is not None:
                conn.execute(sa.text(f"DROP TABLE IF EXISTS {self._partition(key)}"))
        super()._delete_run_rows(conn, runs)

    def _write_run(self, run_id: str, run_key: int, rows: pa.Table, reasons: pa.Table, chunk_rows: int,
                   before_commit=None) -> None:
        import adbc_driver_manager
        import adbc_driver_postgresql.dbapi

        part, run = self._partition(run_key), _literal(run_id)
        before = [
            f"CREATE TABLE {part} (LIKE {self.score_rows.name} INCLUDING DEFAULTS)",
            # the partition's bound as a constraint: ATTACH then needs no scan to prove it
            f"ALTER TABLE {part} ADD CONSTRAINT {part}_run CHECK (run_id IS NOT NULL AND run_id = {run})",
        ]
        after = [
            *self._partition_indexes(part),
            f"ALTER TABLE {self.score_rows.name} ATTACH PARTITION {part} FOR VALUES IN ({run})",
            # statistics now, not whenever autovacuum comes by; a small sample is plenty (0.1 s)
            "SET LOCAL default_statistics_target = 10",
            f"ANALYZE {part}",
        ]
        uri = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        conn = adbc_driver_postgresql.dbapi.connect(uri)  # not autocommit: all of it is one transaction
        statement = before[0]
        try:
            with conn.cursor() as cur:
                try:
                    for statement in before:
                        cur.execute(statement)
                    statement = f"COPY {self.reasons.name}"
                    cur.adbc_ingest(self.reasons.name, reasons, mode="append")
                    statement = f"COPY {part}"
                    cur.adbc_ingest(part, rows, mode="append")
                    for statement in after:
                        cur.execute(statement)
                    if before_commit is not None:
                        before_commit()
                    statement = self._completed_sql(run_id, rows.num_rows)  # last: the run becomes complete
                    cur.execute(statement)
                    conn.commit()
                except adbc_driver_manager.Error as exc:
                    conn.rollback()
                    raise self._adbc_error(exc, statement) from exc
                except BaseException:
                    conn.rollback()
                    raise
        finally:
            conn.close()
        self._mark_visible(part)

    def _mark_visible(self, part: str) -> None:
        """VACUUM a loaded partition so that its pages are known all-visible and index-only scans skip the table.

        Outside the load's transaction (VACUUM cannot run in one), so the run is already complete:
        if it fails, the retain list is slower on this run until autovacuum comes by, and nothing
        else changes; hence a warning, not an error (about 0.5 s for a million customers).
        """
        try:
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text(f"VACUUM {part}"))
        except sa.exc.SQLAlchemyError as exc:
            where = self.engine.url.render_as_string(hide_password=True)
            warnings.warn(f"{where}: VACUUM {part} failed ({exc.__class__.__name__}: {str(exc).splitlines()[0]}); "
                          "the retain list reads this run more slowly until autovacuum runs", RuntimeWarning,
                          stacklevel=2)
