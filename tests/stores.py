"""The scores store as tests use it: an empty store on SQLite, and on the real PostgreSQL in a schema of its own.

``store`` is made a fixture of the whole suite by ``tests/conftest.py``.
"""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from crmid.serving.store import open_store

#: the URL as the README writes it: no driver named (SQLAlchemy alone would pick psycopg 3)
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
_PG_ADMIN_URL = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"


def pg_available() -> bool:
    try:
        with sa.create_engine(_PG_ADMIN_URL).connect() as conn:
            conn.execute(sa.text("select 1"))
        return True
    except Exception:
        return False


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    """An empty store on SQLite, and on PostgreSQL in a schema of its own (dropped after)."""
    if request.param == "sqlite":
        s = open_store(f"sqlite:///{tmp_path / 'scores.db'}")
        yield s
        s.close()
        return
    if not pg_available():
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
