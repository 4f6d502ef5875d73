"""SQLite backend: a file, created with its directory; bulk insert by the driver's executemany."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from .sql import SqlScoresStore

__all__ = ["SqliteScoresStore"]


class SqliteScoresStore(SqlScoresStore):
    """Scores in a SQLite file (``sqlite:///path/scores.db``), the workspace's default store."""

    def _engine_url(self, url: str) -> str:
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        return url

    def _insert_scores(self, conn, rows: pd.DataFrame, chunk_rows: int) -> None:
        # the driver's executemany of plain tuples: 10-20x faster than SQLAlchemy's dictionaries
        values = rows.astype(object).where(rows.notna(), None)
        statement = (f"INSERT INTO {self.scores.name} ({', '.join(rows.columns)}) "
                     f"VALUES ({', '.join('?' * len(rows.columns))})")
        dbapi_error = conn.dialect.loaded_dbapi.Error
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            for start in range(0, len(values), chunk_rows):
                cursor.executemany(statement, values.iloc[start:start + chunk_rows].itertuples(index=False, name=None))
        except dbapi_error as exc:
            # raised as SQLAlchemy's own (IntegrityError ...), whichever way the rows went in
            raise sa.exc.DBAPIError.instance(statement, None, exc, dbapi_error, dialect=conn.dialect) from exc
        finally:
            cursor.close()
