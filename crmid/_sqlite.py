"""What a SQLite database's files look like now: a cheap way to tell that nobody committed since.

A commit changes the database file (rollback journal) or the write-ahead log: its size, its time,
or its header. Times are kept to the kernel's clock tick, so the headers are read too: SQLite
counts every commit in the database header (bytes 24-27), and a write-ahead log's header (its
salts) changes when the log restarts from its beginning.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["database_state"]


def database_state(path: str | os.PathLike) -> list:
    """Inode, size, modification time and header of the database, its ``-wal`` and ``-journal`` (None when absent).

    Equal states taken before and after a read mean no commit happened in between; a reader's
    checkpoint may change the state without a commit (a needless re-read, never a stale one).
    """
    db = Path(path)
    out = []
    for file in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-journal")):
        try:
            with open(file, "rb") as fh:
                st = os.fstat(fh.fileno())
                header = fh.read(32)
        except FileNotFoundError:
            out.append(None)
        else:
            out.append([st.st_ino, st.st_size, st.st_mtime_ns, header.hex()])
    return out
