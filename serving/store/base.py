"""The scores store's interface: what every backend offers, whatever database holds the runs.

A backend stores batch runs and answers the questions the product asks of them: the latest
complete run (the CLV reference and the retain list come from it), the retain ranking with its
filters, and one customer's stored row. :mod:`crmid.serving.store.sql` implements it on
SQLAlchemy; :mod:`~crmid.serving.store.sqlite` and :mod:`~crmid.serving.store.postgresql` add
each database's fast bulk insert.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["RETAIN_COLUMNS", "RETAIN_SORTS", "TIER_ORDER", "RunInfo", "ScoresStore"]

#: value tiers from the top of the pyramid down; ties in priority and value at risk go to the higher tier
TIER_ORDER = ("platinum", "gold", "iron", "lead", "not_assessed")

#: columns of the retain list, in order. Fixed rather than derived: its readers (the table
#: format, the API's RetainEntry, CSV and JSON consumers) expect these; a newer family's outputs
#: are stored but not listed here
RETAIN_COLUMNS = (
    "customer_id",
    "churn_probability",
    "p_purchase_30d",
    "p_purchase_90d",
    "next_purchase_days_median",
    "clv",
    "value_at_risk",
    "value_percentile",
    "expected_spend_90d",
    "expected_spend_180d",
    "expected_spend_365d",
    "value_tier",
    "relationship_type",
    "customer_kind",
    "value_type",
    "lifecycle_stage",
    "temperature",
    "man_class",
    "action",
    "action_text",
    "priority",
    "reasons",
    "drivers",
)

#: what the retain list can be sorted by: ``rank`` (the retain ranking itself) or one of its
#: columns; ``value_tier`` sorts by the pyramid (platinum first), not alphabetically, and ``action``
#: by the action's code, which groups each action's customers together. Any sort ends with the
#: retain ranking, so equal values keep the order ``crmid retain`` gives them
RETAIN_SORTS = (
    "rank",
    "customer_id",
    "value_tier",
    "churn_probability",
    "clv",
    "value_at_risk",
    "next_purchase_days_median",
    "expected_spend_90d",
    "expected_spend_180d",
    "expected_spend_365d",
    "action",
)


@dataclass(frozen=True)
class RunInfo:
    """One stored batch run (``clv_reference``: the CLV quantile table of the population it scored)."""

    run_id: str
    status: str
    as_of: str
    started_at: pd.Timestamp
    finished_at: pd.Timestamp | None
    n_scored: int
    n_rejected: int
    model_version: str
    rules_version: str
    clv_reference: np.ndarray
    #: why a run failed (the error, or "interrupted" for a killed process); None otherwise
    note: str | None = None


class ScoresStore(abc.ABC):
    """Runs and scored customers. Open one with :func:`crmid.serving.store.open_store`.

    A run is written as a unit: it becomes the latest complete run only once every row is in,
    so a failed or interrupted run is never what a reader sees.
    """

    url: str

    @abc.abstractmethod
    def save_run(self, scored: pd.DataFrame, *, as_of, n_rejected: int, model_version: str,
                 rules_version: str, clv_reference: np.ndarray, run_id: str | None = None,
                 on_step: Callable[[str], None] | None = None) -> str:
        """Write a scored run and mark it complete last; return its id (failed runs are marked so).

        ``run_id``: the id to store it under (default: a new UUID), so that a caller can name the
        run in its own files before the store has it. ``on_step(name)`` is called as the run is
        recorded ``"running"``, once its rows are ready to go in (``"rows"``), and last inside the
        run's transaction, just before it is marked complete (``"commit"``): an error raised there
        fails the run, so whatever must be done before the run becomes visible is done there.
        """

    @abc.abstractmethod
    def run_status(self, run_id: str) -> str | None:
        """``running``, ``complete`` or ``failed`` for a stored run; None for an id the store does not have."""

    @abc.abstractmethod
    def fail_interrupted_runs(self) -> list[str]:
        """Mark ``failed`` (with the reason) the runs left ``running`` by a process that has ended; return their ids.

        Only runs whose process is known to be gone are touched: one started on this machine by a
        process that no longer exists, or one that records no process at all (an older crmid). A
        run of a live process, or of another machine, is left to finish.
        """

    @abc.abstractmethod
    def prune_runs(self, keep: int) -> list[str]:
        """Keep the ``keep`` most recent complete runs; delete older ones and their rows; return the deleted ids.

        Failed runs started before the oldest kept run go too. The space is given back to the
        database (PostgreSQL drops the run's partition; SQLite reuses the freed pages for the next
        run, and compacts the file when most of it is free).
        """

    @abc.abstractmethod
    def latest_run(self, model_version: str | None = None) -> RunInfo | None:
        """The most recent complete run (of ``model_version`` when given), or None."""

    @abc.abstractmethod
    def retain(self, *, top: int = 20, tiers: Sequence[str] | None = None, min_churn: float | None = None,
               customer_ids: Sequence[str] | None = None, run_id: str | None = None) -> pd.DataFrame:
        """Who to retain, ranked by priority, value at risk, then tier (columns ``RETAIN_COLUMNS``)."""

    @abc.abstractmethod
    def retain_page(self, *, top: int | None = 20, offset: int = 0, sort: str = "rank", descending: bool = False,
                    tiers: Sequence[str] | None = None, min_churn: float | None = None,
                    labels: Mapping[str, Sequence[str]] | None = None, min_value_at_risk: float | None = None,
                    customer_ids: Sequence[str] | None = None, run_id: str | None = None) -> pd.DataFrame:
        """One page of the retain list, filtered and sorted on the database (columns ``RETAIN_COLUMNS``).

        Parameters
        ----------
        top : int or None
            Rows in the page; None: every row from ``offset`` on.
        offset : int
            Rows of the sorted, filtered list skipped before the page.
        sort : str
            One of :data:`RETAIN_SORTS`; ties (and ``"rank"``) follow the retain ranking.
        descending : bool
            Reverse the sort column (for ``"rank"``: the whole ranking).
        tiers, min_churn, customer_ids, run_id
            As in :meth:`retain`.
        labels : mapping of str to sequence of str, optional
            Stored label column (one of :attr:`label_columns`, e.g. ``action``) -> the values kept.
        min_value_at_risk : float, optional
            Only customers with at least this value at risk.

        Raises
        ------
        ValueError
            For a sort or label column the store does not have.
        """

    @abc.abstractmethod
    def count_retain(self, *, tiers: Sequence[str] | None = None, min_churn: float | None = None,
                     labels: Mapping[str, Sequence[str]] | None = None, min_value_at_risk: float | None = None,
                     customer_ids: Sequence[str] | None = None, run_id: str | None = None) -> int:
        """How many customers the retain list has with these filters (those of :meth:`retain_page`)."""

    @abc.abstractmethod
    def iter_retain(self, *, chunk_rows: int = 50_000, sort: str = "rank", descending: bool = False,
                    tiers: Sequence[str] | None = None, min_churn: float | None = None,
                    labels: Mapping[str, Sequence[str]] | None = None, min_value_at_risk: float | None = None,
                    customer_ids: Sequence[str] | None = None, run_id: str | None = None) -> Iterator[pd.DataFrame]:
        """The whole filtered retain list in frames of at most ``chunk_rows``, in order, read as they are used."""

    @property
    @abc.abstractmethod
    def label_columns(self) -> tuple[str, ...]:
        """The stored per-customer label columns (``value_tier``, ``action`` ...) a list can be filtered on."""

    @abc.abstractmethod
    def breakdown(self, by: Sequence[str], *, listed_only: bool = False, run_id: str | None = None) -> pd.DataFrame:
        """Customers, CLV and value at risk per combination of the label columns ``by`` in a run.

        Computed by the database (GROUP BY), so its cost does not depend on holding the run in
        memory. Columns: ``by``, then ``customers``, ``clv`` and ``value_at_risk`` (sums; missing
        values count as nothing). ``listed_only``: only the customers of the retain list.
        """

    @abc.abstractmethod
    def distribution(self, column: str, edges: Sequence[float], *, run_id: str | None = None) -> pd.DataFrame:
        """A histogram of a stored number column: customers per bin ``[edges[i], edges[i+1])`` (last bin closed).

        Columns ``lower``, ``upper``, ``customers``, one row per bin (empty bins included);
        missing values and values outside the edges are not counted.
        """

    @abc.abstractmethod
    def list_runs(self, limit: int | None = None) -> list[RunInfo]:
        """Stored runs of every status, the most recently started first."""

    @abc.abstractmethod
    def customer_history(self, customer_id: str, *, runs: int | None = None) -> pd.DataFrame:
        """One customer's stored row in each complete run that has it, oldest first.

        Columns: the run's ``run_id``, ``as_of``, ``finished_at``, ``model_version``,
        ``rules_version``, then the customer's stored score columns (without the reasons).
        ``runs``: look only at that many most recent complete runs.
        """

    @abc.abstractmethod
    def customer(self, customer_id: str, run_id: str | None = None) -> dict | None:
        """One customer's stored row in a run (default: the latest complete), or None."""

    @abc.abstractmethod
    def ping(self) -> None:
        """Raise when the database cannot be reached."""

    def close(self) -> None:  # noqa: B027 - optional: backends without connections have nothing to release
        """Release connections."""

    def __enter__(self) -> ScoresStore:
        return self

    def __exit__(self, *exc) -> None:
        # a command that ends holds no connection: a SQLite file in WAL mode is then never kept
        # open by a finished command while another process (a service) checkpoints and removes
        # its -wal and -shm files, which the stale connection would read as a disk I/O error
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"
