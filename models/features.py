"""Extra feature step on top of :func:`customerbase.snapshot`: BG/NBD predictions and ratios.

The snapshot columns (:data:`customerbase.snapshot.FEATURES`) describe a customer's history;
this step adds what the LightGBM models cannot easily learn from trees on raw counts:

``bg_p_alive``
    BG/NBD probability the customer is still alive at the as-of date.
``bg_p_purchase_{w}d``
    BG/NBD probability of at least one purchase in the next ``w`` days.
``bg_rate``
    BG/NBD posterior mean purchase rate (per day) of an alive customer.
``recency_over_ipt``
    Days since the last purchase divided by the average purchase cycle (how overdue).
``recency_over_tenure``
    Share of the customer's tenure spent silent since the last purchase.
``purchases_per_year``
    Purchase occasions per 365 days of tenure (tenure floored at one day).

The BG/NBD model passed in must itself have been fitted only on data up to the as-of date of
the rows it describes (the training code fits one per snapshot date).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .bgnbd import BetaGeoModel, rfm_arrays

__all__ = ["SNAPSHOT_FEATURES", "add_model_features", "extra_feature_names", "model_features"]

#: snapshot columns used by the models (identifiers and the date itself are not features)
SNAPSHOT_FEATURES: tuple[str, ...] = (
    "n_purchases", "frequency", "recency_days", "tenure_days", "purchase_span_days",
    "monetary_total", "monetary_mean", "monetary_max", "ipt_mean_days", "ipt_std_days",
    "ipt_last_days",
    "n_purchases_30d", "n_purchases_90d", "n_purchases_180d", "n_purchases_365d",
    "spend_30d", "spend_90d", "spend_180d", "spend_365d",
    "spend_trend_30d", "spend_trend_90d", "spend_trend_180d", "spend_trend_365d",
    "returns_count", "returns_amount",
)


def extra_feature_names(horizons) -> list[str]:
    hs = sorted({int(h) for h in horizons})
    return (["bg_p_alive", "bg_rate"]
            + [f"bg_p_purchase_{h}d" for h in hs]
            + ["recency_over_ipt", "recency_over_tenure", "purchases_per_year"])





def model_features(horizons) -> list[str]:
    """All feature names the LightGBM models use, in order."""
    return list(SNAPSHOT_FEATURES) + extra_feature_names(horizons)


def add_model_features(
    features: pd.DataFrame, bgnbd: BetaGeoModel, horizons, *, cache: dict | None = None
) -> pd.DataFrame:
    """Return a float32 frame of :func:`model_features` for every row of a snapshot frame.

    Parameters
    ----------
    features : pandas.DataFrame
        Output of :func:`customerbase.snapshot` (extra columns are ignored).
    bgnbd : BetaGeoModel
        Fitted on data up to the rows' as-of date.
    horizons : iterable of int
        Days for the ``bg_p_purchase_{w}d`` columns.
    cache : dict, optional
        Receives the float64 BG/NBD arrays computed on the way (``p_alive``, ``rate``,
        ``p_purchase`` = {w: array}, and ``x``, ``t_x``, ``T``) so callers need not recompute them.
    """
    missing = [c for c in SNAPSHOT_FEATURES if c not in features.columns]
    if missing:
        raise ValueError(f"snapshot frame lacks columns {missing}; pass the output of customerbase.snapshot")
    out = {c: features[c].to_numpy(dtype=np.float32, na_value=np.nan) for c in SNAPSHOT_FEATURES}
    x, t_x, T = rfm_arrays(features)
    hs = sorted({int(h) for h in horizons})
    alive, p = bgnbd.alive_and_purchase(hs, x, t_x, T)
    rate = bgnbd.expected_rate(x, t_x, T)
    out["bg_p_alive"] = alive.astype(np.float32)
    out["bg_rate"] = rate.astype(np.float32)
    for h in hs:
        out[f"bg_p_purchase_{h}d"] = p[h].astype(np.float32)
    rec, ipt, ten = out["recency_days"], out["ipt_mean_days"], out["tenure_days"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["recency_over_ipt"] = np.where(ipt > 0, rec / ipt, np.float32(np.nan)).astype(np.float32)
        out["recency_over_tenure"] = np.where(ten > 0, rec / ten, np.float32(np.nan)).astype(np.float32)
        out["purchases_per_year"] = (out["n_purchases"] * np.float32(365.0)
                                     / np.maximum(np.nan_to_num(ten, nan=0.0), np.float32(1.0))).astype(np.float32)
    if cache is not None:
        cache.update(p_alive=alive, rate=rate, p_purchase=p, x=x, t_x=t_x, T=T)
    return pd.DataFrame(out, index=features.index, copy=False)
