"""PostgreSQL backend: bulk insert by COPY from CSV that Arrow writes."""

from __future__ import annotations

import importlib.util
import io

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import sqlalchemy as sa

from .sql import SqlScoresStore

__all__ = ["PostgresScoresStore"]


class PostgresScoresStore(SqlScoresStore):
    """Scores in PostgreSQL (``postgresql://user@host/db``)."""

    def _engine_url(self, url: str) -> str:
        # SQLAlchemy 2.1 reads a plain postgresql:// URL as psycopg 3; crmid ships psycopg2, so
        # a URL that names no driver uses the one that is installed
        if url.startswith("postgresql://") and importlib.util.find_spec("psycopg") is None:
            return "postgresql+psycopg2://" + url[len("postgresql://"):]
        return url

    def _insert_scores(self, conn, rows: pd.DataFrame, chunk_rows: int) -> None:
        if conn.dialect.driver != "psycopg2":
            super()._insert_scores(conn, rows, chunk_rows)
            return
        statement = f"COPY {self.scores.name} ({', '.join(rows.columns)}) FROM STDIN WITH (FORMAT csv)"
        dbapi_error = conn.dialect.loaded_dbapi.Error
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            for start in range(0, len(rows), chunk_rows):
                # Arrow writes CSV ten times faster than pandas; missing values (NaN included)
                # become unquoted empty fields, which COPY's CSV format reads as NULL
                buffer = io.BytesIO()
                part = pa.Table.from_pandas(rows.iloc[start:start + chunk_rows], preserve_index=False)
                pa_csv.write_csv(part, buffer, pa_csv.WriteOptions(include_header=False))
                buffer.seek(0)
                cursor.copy_expert(statement, buffer)
        except dbapi_error as exc:
            raise sa.exc.DBAPIError.instance(statement, None, exc, dbapi_error, dialect=conn.dialect) from exc
        finally:
            cursor.close()
