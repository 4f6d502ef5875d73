"""The summary band above the retain list: the run's value pyramid, churn risk and value at risk.

Every figure comes from GROUP BY queries of the store (:meth:`ScoresStore.breakdown`,
:meth:`ScoresStore.distribution`): the database sums a million customers into a few hundred rows
and only those reach Python. A complete run never changes, so a run's summary is computed once
and kept (the few most recent runs per store).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from crmid.rules.config import CHURN_BANDS
from crmid.serving.store import TIER_ORDER, RunInfo, ScoresStore

from .listing import LABEL_FILTERS

__all__ = ["ActionRow", "RiskRow", "RunSummary", "TierRow", "run_summary"]

#: bins of the churn-probability histogram (equal widths from 0 to 1): a drawing choice, not a
#: business threshold (the risk bands drawn over it are the rules' own cut points)
CHURN_BINS = 10
#: summaries kept in memory (per store and run): the latest run and a few it was compared with
_KEPT = 8
#: the label for customers whose churn risk was not assessed (no churn probability)
_NOT_ASSESSED = "not_assessed"


@dataclass(frozen=True)
class TierRow:
    """One layer of the value pyramid: its customers and their share of the run's value (CLV)."""

    tier: str
    customers: int
    customer_share: float
    clv: float
    value_share: float
    listed: int
    value_at_risk: float


@dataclass(frozen=True)
class RiskRow:
    """Customers in one churn-risk band."""

    band: str
    customers: int
    share: float


@dataclass(frozen=True)
class ActionRow:
    """The retain list's value at risk for one tier and action."""

    tier: str
    action: str
    customers: int
    value_at_risk: float
    share: float


@dataclass(frozen=True)
class RunSummary:
    """What the summary band shows for one run."""

    run: RunInfo
    customers: int
    listed: int
    clv: float
    value_at_risk: float
    tiers: tuple[TierRow, ...]
    risks: tuple[RiskRow, ...]
    histogram: tuple[tuple[float, float, int], ...]
    actions: tuple[ActionRow, ...]
    #: filter parameter (``tier``, ``action`` ...) -> the values the retain list has, for the form
    options: dict[str, tuple[str, ...]]


_cache: OrderedDict[tuple[str, str], RunSummary] = OrderedDict()
_lock = threading.Lock()


def _ordered(values, order) -> list[str]:
    """``values`` in the order of ``order``, then any others alphabetically."""
    present = {str(v) for v in values if v is not None and v == v}
    return [v for v in order if v in present] + sorted(present - set(order))


def _share(part: float, whole: float) -> float:
    return float(part) / float(whole) if whole else float("nan")


def run_summary(store: ScoresStore, run: RunInfo) -> RunSummary:
    """The summary of ``run`` (a complete run of ``store``), computed once per run."""
    key = (store.url, run.run_id)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    summary = _compute(store, run)
    with _lock:
        _cache[key] = summary
        while len(_cache) > _KEPT:
            _cache.popitem(last=False)
    return summary


def _compute(store: ScoresStore, run: RunInfo) -> RunSummary:
    labels = store.label_columns
    everyone = store.breakdown([c for c in ("value_tier", "churn_risk") if c in labels], run_id=run.run_id)
    listed_by = ["value_tier", *[c for c in LABEL_FILTERS.values() if c in labels and c != "value_tier"]]
    listed = store.breakdown(listed_by, listed_only=True, run_id=run.run_id)
    edges = np.linspace(0.0, 1.0, CHURN_BINS + 1)
    histogram = store.distribution("churn_probability", edges, run_id=run.run_id)

    customers, clv = int(everyone["customers"].sum()), float(everyone["clv"].sum())
    n_listed, at_risk = int(listed["customers"].sum()), float(listed["value_at_risk"].sum())

    by_tier = everyone.groupby("value_tier", dropna=False)[["customers", "clv"]].sum()
    listed_tier = listed.groupby("value_tier", dropna=False)[["customers", "value_at_risk"]].sum()
    tiers = tuple(
        TierRow(tier=t, customers=int(by_tier.loc[t, "customers"]),
                customer_share=_share(by_tier.loc[t, "customers"], customers),
                clv=float(by_tier.loc[t, "clv"]), value_share=_share(by_tier.loc[t, "clv"], clv),
                listed=int(listed_tier["customers"].get(t, 0)),
                value_at_risk=float(listed_tier["value_at_risk"].get(t, 0.0)))
        for t in _ordered(by_tier.index, TIER_ORDER))

    risks: tuple[RiskRow, ...] = ()
    if "churn_risk" in everyone:
        by_band = everyone.groupby("churn_risk", dropna=False)["customers"].sum()
        risks = tuple(RiskRow(band=b, customers=int(by_band[b]), share=_share(by_band[b], customers))
                      for b in _ordered(by_band.index, (*CHURN_BANDS, _NOT_ASSESSED)))

    actions: list[ActionRow] = []
    if "action" in listed:
        by_action = listed.groupby(["value_tier", "action"], dropna=False)[["customers", "value_at_risk"]].sum()
        for tier in _ordered(listed["value_tier"], TIER_ORDER):
            part = by_action.loc[tier].sort_values("value_at_risk", ascending=False)
            actions += [ActionRow(tier=tier, action=str(a), customers=int(r.customers),
                                  value_at_risk=float(r.value_at_risk), share=_share(r.value_at_risk, at_risk))
                        for a, r in part.iterrows()]

    options = {"tier": tuple(_ordered(listed["value_tier"], TIER_ORDER))}
    for param, column in LABEL_FILTERS.items():
        if column in listed:
            options[param] = tuple(_ordered(listed[column], ()))
    return RunSummary(
        run=run, customers=customers, listed=n_listed, clv=clv, value_at_risk=at_risk, tiers=tiers, risks=risks,
        histogram=tuple((float(r.lower), float(r.upper), int(r.customers)) for r in histogram.itertuples()),
        actions=tuple(actions), options=options,
    )

