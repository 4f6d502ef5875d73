"""Stacked point-in-time training data.

Training snapshots are taken every :data:`models.defaults.SNAPSHOT_STEP_DAYS` days going back
from the cutoff (``cutoff - step``, ``cutoff - 2 step``, ...), as long as they have at least one
step of history. Each is described only by transactions on or before its own date, described
further by a BG/NBD model fitted on that same history (:mod:`models.features`), and labelled
only with what happened after its date and on or before the cutoff; rows carry their
follow-up (cutoff - date) so each horizon uses only the snapshots it can observe.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crmid.customerbase.snapshot import TransactionLog
from crmid.models import defaults
from crmid.models.bgnbd import BetaGeoModel
from crmid.models.features import add_model_features

__all__ = ["PointInTime", "StackedData", "as_log", "point_in_time", "snapshot_dates", "stack"]


def as_log(log_or_transactions, cutoff=None) -> TransactionLog:
    """A TransactionLog; a frame is first cut to rows dated on or before ``cutoff``."""
    if isinstance(log_or_transactions, TransactionLog):
        return log_or_transactions
    frame = log_or_transactions
    if cutoff is not None:
        frame = frame[frame["date"] <= pd.Timestamp(cutoff).normalize()].reset_index(drop=True)
    return TransactionLog(frame)


def snapshot_dates(data_start, cutoff, *, step_days: int | None = None, max_snapshots: int | None = None) -> list:
    """Dates ``cutoff - k * step`` (k >= 1) with at least ``step`` days of history, oldest first."""
    step = defaults.SNAPSHOT_STEP_DAYS if step_days is None else int(step_days)
    most = defaults.MAX_SNAPSHOTS if max_snapshots is None else int(max_snapshots)
    cutoff = pd.Timestamp(cutoff).normalize()
    first_ok = pd.Timestamp(data_start).normalize() + pd.Timedelta(days=step)
    dates = []
    k = 1
    while len(dates) < most:
        d = cutoff - pd.Timedelta(days=k * step)
        if d < first_ok:
            break
        dates.append(d)
        k += 1
    return dates[::-1]


@dataclass
class PointInTime:
    """One snapshot with its features, its own BG/NBD fit and (optionally) its labels."""

    as_of: pd.Timestamp
    snapshot: pd.DataFrame
    bgnbd: BetaGeoModel
    X: pd.DataFrame
    labels: pd.DataFrame | None = None
    followup: int = 0


def point_in_time(log: TransactionLog, as_of, feature_horizons, *, observed_until=None,
                  families=None) -> PointInTime | None:
    """Snapshot at ``as_of`` + BG/NBD fitted on it + model features (+ labels up to ``observed_until``).

    ``families`` are the optional feature families computed (default
    :data:`models.features.KEPT_FAMILIES`). Returns None when nobody has a repeat purchase yet
    (BG/NBD cannot be fitted).
    """
    as_of = pd.Timestamp(as_of).normalize()
    snap = log.snapshot(as_of)
    if not (snap["frequency"] > 0).any():
        return None
    bg = BetaGeoModel().fit_features(snap)
    X = add_model_features(snap, bg, feature_horizons, families=families)
    labels, followup = None, 0
    if observed_until is not None:
        until = pd.Timestamp(observed_until).normalize()
        labels = log.labels(as_of, max(int((until - as_of).days), 1), observed_until=until, windows=())
        followup = int((until - as_of).days)
    return PointInTime(as_of, snap, bg, X, labels, followup)


@dataclass
class StackedData:
    """Rows of several snapshots, ready for :meth:`models.churn.ChurnModel.fit` and friends."""

    X: pd.DataFrame
    duration: np.ndarray
    event: np.ndarray
    followup: np.ndarray
    as_of: np.ndarray
    customer_id: np.ndarray
    dates: list = field(default_factory=list)

    def __len__(self):
        return len(self.X)


def stack(points: list[PointInTime]) -> StackedData:
    """Concatenate labelled snapshots."""
    if not points:
        raise ValueError("no training snapshots to stack")
    X = pd.concat([p.X for p in points], ignore_index=True)
    duration = np.concatenate([p.labels["days_to_next_purchase"].to_numpy(dtype=np.float64) for p in points])
    event = np.concatenate([p.labels["next_purchase_observed"].to_numpy(dtype=bool) for p in points])
    followup = np.concatenate([np.full(len(p.X), p.followup, dtype=np.float64) for p in points])
    as_of = np.concatenate([np.full(len(p.X), p.as_of.to_datetime64()) for p in points])
    cid = np.concatenate([p.snapshot["customer_id"].to_numpy(dtype=object) for p in points])
    return StackedData(X, duration, event, followup, as_of, cid, [p.as_of for p in points])
