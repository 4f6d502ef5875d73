"""The scores store's interface: what every backend offers, whatever database holds the runs.

A backend stores batch runs and answers the questions the product asks of them: the latest
complete run (the CLV reference and the retain list come from it), the retain ranking with its
filters, and one customer's stored row. :mod:`crmid.serving.store.sql` implements it on
SQLAlchemy; :mod:`~crmid.serving.store.sqlite` and :mod:`~crmid.serving.store.postgresql` add
each database's fast bulk insert.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["RETAIN_COLUMNS", "TIER_ORDER", "RunInfo", "ScoresStore"]

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
    "expected_days_to_next_purchase",
    "clv",
    "value_at_risk",
    "value_percentile",
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


class ScoresStore(abc.ABC):
    """Runs and scored customers. Open one with :func:`crmid.serving.store.open_store`.

    A run is written as a unit: it becomes the latest complete run only once every row is in,
    so a failed or interrupted run is never what a reader sees.
    """

    url: str

    @abc.abstractmethod
    def save_run(self, scored: pd.DataFrame, *, as_of, n_rejected: int, model_version: str,
                 rules_version: str, clv_reference: np.ndarray) -> str:
        """Write a scored run and mark it complete last; return its id (failed runs are marked so)."""

    @abc.abstractmethod
    def latest_run(self, model_version: str | None = None) -> RunInfo | None:
        """The most recent complete run (of ``model_version`` when given), or None."""

    @abc.abstractmethod
    def retain(self, *, top: int = 20, tiers: Sequence[str] | None = None, min_churn: float | None = None,
               customer_ids: Sequence[str] | None = None, run_id: str | None = None) -> pd.DataFrame:
        """Who to retain, ranked by priority, value at risk, then tier (columns ``RETAIN_COLUMNS``)."""

    @abc.abstractmethod
    def customer(self, customer_id: str, run_id: str | None = None) -> dict | None:
        """One customer's stored row in a run (default: the latest complete), or None."""

    @abc.abstractmethod
    def ping(self) -> None:
        """Raise when the database cannot be reached."""

    def close(self) -> None:  # noqa: B027 - optional: backends without connections have nothing to release
        """Release connections."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"
