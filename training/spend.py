"""Fit the spend forecaster (:class:`models.spend.SpendForecaster`) from a transaction log at a cutoff.

Everything is read from the log cut at the cutoff: each training snapshot is labelled with the
spend that followed it up to the cutoff, described with its own BG/NBD (the one of its
:class:`~training.stacking.PointInTime`) and a Gamma-Gamma fitted on the same history; the
level, the gate and the hyper-parameters are all decided inside that window.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmid.customerbase.snapshot import TransactionLog
from crmid.models import defaults
from crmid.models.gamma_gamma import GammaGammaModel
from crmid.models.spend import SpendForecaster, SpendWindow, classical_quantities, repeat_spend_or_none

from .stacking import PointInTime, point_in_time

__all__ = ["fit_gamma_gamma", "fit_spend_forecaster", "spend_window"]


def fit_gamma_gamma(snapshot: pd.DataFrame) -> GammaGammaModel:
    """Gamma-Gamma on the repeat customers of a snapshot, as the served scorer fits it."""
    repeat = snapshot["frequency"].to_numpy() > 0
    return GammaGammaModel().fit(snapshot["n_purchases"].to_numpy()[repeat],
                                 snapshot["monetary_mean"].to_numpy()[repeat])


def _spend(log: TransactionLog, point: PointInTime, h: int, cutoff) -> np.ndarray:
    """Spend in (as_of, as_of + h] of the point's customers, in the point's row order."""
    y = log.spend_within(point.as_of, h, observed_until=cutoff)
    ids = point.snapshot["customer_id"]
    known = log.customer_ids[log.known_codes(point.as_of)]
    if len(known) == len(ids) and np.array_equal(known, ids.to_numpy(dtype=object)):
        return y
    # the point was taken on another log (e.g. a sample of this one): align by customer id
    return pd.Series(y, index=pd.Index(known, dtype=object)).reindex(ids.to_numpy(dtype=object)).to_numpy()


def spend_window(log: TransactionLog, point: PointInTime, horizons, cutoff=None, *,
                 gamma_gamma: GammaGammaModel | None = None) -> SpendWindow:
    """A snapshot with its classical quantities and, with ``cutoff``, its spend labels (NaN past ``cutoff``).

    Without ``cutoff`` (the reference window at the training cutoff) it also has the Gamma-Gamma
    on repeat purchases and the ``bgnbd_gg_spend_<h>d`` forecast; a training window keeps its
    snapshot and fits that Gamma-Gamma only if it validates (one more fit per window otherwise).
    ``gamma_gamma``: the one :func:`fit_gamma_gamma` gives on ``point.snapshot``, when the caller
    has it already (a fit on a million customers takes seconds).
    """
    gg = fit_gamma_gamma(point.snapshot) if gamma_gamma is None else gamma_gamma
    repeat = repeat_spend_or_none(point.snapshot) if cutoff is None else None
    classical = classical_quantities(point.snapshot, point.bgnbd, gg, horizons,
                                     repeat_spend=repeat).reset_index(drop=True)
    spend = {}
    if cutoff is not None:
        cutoff = pd.Timestamp(cutoff).normalize()
        n = len(point.snapshot)
        spend = {int(h): (_spend(log, point, int(h), cutoff) if (cutoff - point.as_of).days >= int(h)
                          else np.full(n, np.nan)) for h in horizons}
    return SpendWindow(point.as_of, point.X.reset_index(drop=True), classical, spend, repeat,
                       point.snapshot.reset_index(drop=True))


def fit_spend_forecaster(log: TransactionLog, points: list[PointInTime], cutoff, *, horizons=None,
                         seed: int | None = None, reference: PointInTime | None = None,
                         gamma_gamma: GammaGammaModel | None = None, gate: bool = True,
                         params: dict | None = None, num_boost_round: int | None = None) -> SpendForecaster:
    """Train, calibrate and gate the spend forecaster on the training window.

    Parameters
    ----------
    log : customerbase.snapshot.TransactionLog
        The log cut at ``cutoff`` (nothing after it is read) -- the one the points were taken on,
        or a superset of their customers.
    points : list of PointInTime
        Training snapshots before ``cutoff`` (as :func:`training.fitting.fit_scorer` stacks them).
    cutoff : date-like
        The training cutoff: the last day whose transactions are read.
    horizons : sequence of int, optional
        Default :data:`models.defaults.SPEND_HORIZONS`.
    seed : int, optional
        LightGBM seed (default :data:`models.defaults.SEED`).
    reference : PointInTime, optional
        The snapshot at ``cutoff`` with the BG/NBD served (computed when not given); its
        feature horizons must be those of ``points``.
    gamma_gamma : GammaGammaModel, optional
        :func:`fit_gamma_gamma` of ``reference`` when the caller has fitted it (the scorer's).
    gate : bool
        False serves the model at every horizon it can train (for comparisons).
    params, num_boost_round
        LightGBM settings (defaults in :mod:`models.defaults`).

    Returns
    -------
    SpendForecaster
    """
    cutoff = pd.Timestamp(cutoff).normalize()
    model = SpendForecaster(horizons=horizons, params=params, num_boost_round=num_boost_round, seed=seed, gate=gate)
    hs = sorted({int(h) for h in (defaults.SPEND_HORIZONS if horizons is None else horizons)})
    points = [p for p in points if p.as_of < cutoff]
    if reference is None:
        feature_horizons = _feature_horizons(points)
        reference = point_in_time(log, cutoff, feature_horizons)
        if reference is None:
            raise ValueError(f"no customer has a repeat purchase by {cutoff.date()}: BG/NBD cannot be fitted")
    windows = [spend_window(log, p, hs, cutoff) for p in points]
    ref = spend_window(log, reference, hs, gamma_gamma=gamma_gamma)
    return model.fit(windows, ref)


def _feature_horizons(points) -> list[int]:
    cols = points[0].X.columns if points else []
    hs = sorted(int(c[len("bg_p_purchase_"):-1]) for c in cols if c.startswith("bg_p_purchase_"))
    return hs or [30, 90]


# ---------------------------------------------------------------------------------------------
# the acceptance protocol of issue 21: train at an as-of date on the log cut there, score the same
# customers at that date, judge on what each spent next


def lifetimes_baseline(transactions: pd.DataFrame, as_of, horizons) -> pd.DataFrame:
    """BG/NBD x Gamma-Gamma as lifetimes defines it, fitted on transactions dated <= ``as_of`` only.

    Daily purchases summed (``summary_data_from_transaction_data``): ``frequency`` = purchase
    days - 1, ``recency`` = days from the first to the last, ``T`` = days from the first to
    ``as_of``, ``monetary_value`` = mean of the repeat days' amounts (0 without repeats);
    Gamma-Gamma on repeat customers with positive ``monetary_value``; forecast = expected
    purchases x ``conditional_expected_average_profit``.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_id`` (every customer with a transaction on or before ``as_of``):
        ``past_spend`` and ``classical_spend_<h>d`` per horizon.
    """
    from crmid.models.bgnbd import BetaGeoModel

    as_of = pd.Timestamp(as_of).normalize()
    tx = transactions[transactions["date"] <= as_of]
    day = tx["date"].dt.normalize()
    daily = (pd.DataFrame({"customer_id": tx["customer_id"].astype(str).to_numpy(), "day": day.to_numpy(),
                           "amount": tx["amount"].to_numpy()})
             .groupby(["customer_id", "day"], as_index=False)["amount"].sum()
             .sort_values(["customer_id", "day"]))
    g = daily.groupby("customer_id", sort=True)
    first, last, n = g["day"].min(), g["day"].max(), g.size()
    total, first_amount = g["amount"].sum(), g["amount"].first()
    freq = (n - 1).astype(float)
    monetary = np.where(freq > 0, (total - first_amount) / freq.clip(lower=1), 0.0)
    recency = (last - first).dt.days.astype(float).to_numpy()
    T = (as_of - first).dt.days.astype(float).to_numpy()
    bg = BetaGeoModel().fit(freq.to_numpy(), recency, T)
    repeat = (freq.to_numpy() > 0) & (monetary > 0)
    gg = GammaGammaModel().fit(freq.to_numpy()[repeat], monetary[repeat])
    spend = gg.conditional_expected_spend(freq.to_numpy(), monetary)
    out = {"past_spend": total.to_numpy()}
    for h in horizons:
        out[f"classical_spend_{int(h)}d"] = bg.expected_purchases(int(h), freq.to_numpy(), recency, T) * spend
    return pd.DataFrame(out, index=freq.index)


def training_points(log: TransactionLog, cutoff, horizon: int) -> list[PointInTime]:
    """The training snapshots :func:`training.fitting.fit_scorer` stacks for ``horizon`` (default settings)."""
    from .fitting import curve_knots
    from .stacking import snapshot_dates

    cutoff = pd.Timestamp(cutoff).normalize()
    dates = snapshot_dates(log.data_start, cutoff)
    feature_horizons = sorted(set(curve_knots(dates, cutoff, horizon)) | {int(horizon)})
    points = [point_in_time(log, d, feature_horizons, observed_until=cutoff) for d in dates]
    return [p for p in points if p is not None]


def spend_protocol(transactions: pd.DataFrame, as_of, horizon: int, *, horizons=None, seed: int | None = None,
                   forecaster: SpendForecaster | None = None, gate: bool = True,
                   params: dict | None = None) -> dict:
    """Issue 21's protocol: the forecaster, BG/NBD x Gamma-Gamma and past spend judged side by side.

    The forecaster is trained on ``transactions`` cut at ``as_of`` (as ``crmid train --as-of
    --horizon`` would), every customer known at ``as_of`` is scored, and each forecast is judged
    at every horizon whose window (as_of, as_of + h] the data covers.

    Returns
    -------
    dict
        ``{"as_of", "horizon", "customers", "sources", "report", "results": {h: {"forecaster",
        "bgnbd_gg", "past_spend": value_metrics}}, "forecast", "actual"}``; ``forecast`` is the
        forecaster's ``expected_spend_<h>d`` columns and ``actual`` the spend each judgement read
        (``spend_<h>d`` per judged horizon), both indexed by customer id.
    """
    from crmid.models.value_metrics import value_metrics

    as_of = pd.Timestamp(as_of).normalize()
    hs = sorted({int(h) for h in (defaults.SPEND_HORIZONS if horizons is None else horizons)})
    cut = transactions[transactions["date"] <= as_of].reset_index(drop=True)
    log = TransactionLog(cut)
    points = training_points(log, as_of, horizon)
    ref = point_in_time(log, as_of, _feature_horizons(points))
    gg = fit_gamma_gamma(ref.snapshot)
    if forecaster is None:
        forecaster = fit_spend_forecaster(log, points, as_of, horizons=hs, seed=seed, reference=ref,
                                          gamma_gamma=gg, gate=gate, params=params)
    forecast = forecaster.predict(ref.X, forecaster.classical(ref.snapshot, ref.bgnbd, gg))
    ids = ref.snapshot["customer_id"].astype(str).to_numpy()
    base = lifetimes_baseline(cut, as_of, hs).reindex(ids)
    full = TransactionLog(transactions)
    known = full.customer_ids[full.known_codes(as_of)].astype(str)
    data_end = full.data_end.normalize()
    results, actuals = {}, {}
    for h in hs:
        if as_of + pd.Timedelta(days=h) > data_end:
            continue
        actual = actuals[f"spend_{h}d"] = pd.Series(full.spend_within(as_of, h), index=known).reindex(ids).to_numpy()
        results[h] = {
            "forecaster": value_metrics(forecast[f"expected_spend_{h}d"].to_numpy(), actual),
            "bgnbd_gg": value_metrics(base[f"classical_spend_{h}d"].to_numpy(), actual),
            "past_spend": value_metrics(base["past_spend"].to_numpy(), actual),
        }
    return {"as_of": str(as_of.date()), "horizon": int(horizon), "customers": len(ids),
            "sources": dict(forecaster.sources_), "report": forecaster.report_, "results": results,
            "forecast": forecast.set_axis(pd.Index(ids, name="customer_id")),
            "actual": pd.DataFrame(actuals, index=pd.Index(ids, name="customer_id"))}
