"""The scores store: every batch run and its scored customers, behind one small interface.

:class:`ScoresStore` (:mod:`.base`) is what the batch job, ``crmid retain``, ``crmid info`` and
the HTTP service use: ``save_run`` (written as a unit, marked complete last), ``latest_run``,
``retain``, ``customer``, ``ping``. :func:`open_store` picks the backend by the URL's scheme.

Adding a backend: a module with a :class:`ScoresStore` subclass (most SQL databases only need to
subclass :class:`~.sql.SqlScoresStore` for a faster bulk insert), and one line in
:data:`BACKENDS`.
"""

from __future__ import annotations

import importlib

from .base import RETAIN_COLUMNS, RETAIN_SORTS, TIER_ORDER, RunInfo, ScoresStore

__all__ = ["BACKENDS", "RETAIN_COLUMNS", "RETAIN_SORTS", "TIER_ORDER", "RunInfo", "ScoresStore", "open_store"]

#: URL scheme (before any ``+driver``) -> "module:class" of the backend; imported when used
BACKENDS = {
    "sqlite": "crmid.serving.store.sqlite:SqliteScoresStore",
    "postgresql": "crmid.serving.store.postgresql:PostgresScoresStore",
}


def open_store(url: str) -> ScoresStore:
    """The store at ``url``: ``sqlite:///path.db`` or ``postgresql://user@host/db``.

    Raises
    ------
    ValueError
        For a URL of no known backend, naming the ones there are.
    """
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower() if ":" in url else ""
    if scheme not in BACKENDS:
        raise ValueError(f"store URL {url!r}: unknown backend {scheme or '(no scheme)'!r}; expected one of "
                         f"{', '.join(f'{s}://...' for s in BACKENDS)}, or 'none' to turn the store off")
    module, _, name = BACKENDS[scheme].partition(":")
    return getattr(importlib.import_module(module), name)(url)
