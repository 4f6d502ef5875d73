"""Extra feature step on top of :func:`customerbase.snapshot`: baseline-model outputs and ratios.

The snapshot columns (:data:`customerbase.snapshot.FEATURES`) describe a customer's history;
this step adds what the LightGBM models cannot easily learn from trees on raw counts. Features
come in *families*. Each training run offers :data:`OFFERED_FAMILIES` to its models and keeps a
family only where it validates better out of time on that run's own data
(:mod:`training.feature_selection`); the scorer records the kept ones and computes only those.
:data:`KEPT_FAMILIES` is the default of :func:`model_features` and of scorers saved before
training chose (``bench/bench_baselines.py`` prints the ablation on CDNOW).

Always present (``base``)
    ``bg_p_alive``, ``bg_rate``, ``bg_p_purchase_{w}d`` -- BG/NBD probability alive, posterior
    purchase rate per day, P(purchase within w days); ``recency_over_ipt`` (days since the last
    purchase / average purchase cycle), ``recency_over_tenure``, ``purchases_per_year``.
``pnbd`` (only when a Pareto/NBD model is passed)
    ``pnbd_p_alive``, ``pnbd_p_purchase_{w}d`` -- the same from Pareto/NBD.
``regularity``
    ``ipt_cv`` (std / mean of the gaps between purchases: 0 = clockwork), ``ipt_last_over_mean``
    (last gap / usual gap: above 1 = slowing down).
``silence``
    The current silence against the customer's own rhythm: ``recency_z`` ((days since the last
    purchase - usual gap) / gap std), ``recency_over_ipt_last`` (silence / last gap),
    ``recency_minus_ipt`` (days overdue: silence - usual gap).
``decay``
    ``decayed_purchases_{h}d``: purchase occasions weighted by ``2^(-age / h)`` for half-lives h
    of :data:`DECAY_HALF_LIVES`. The snapshot gives counts per window (30/90/180/365 days and
    all time), the last and the first purchase day; the weight of the last and first purchase is
    exact, the others are spread evenly over their window.
``trend``
    ``basket_trend_{w}d`` (average spend per purchase in the last w days / over all time) and
    ``rate_trend_{w}d`` (purchases per day in the last w days / over the whole tenure).
``returns``
    ``returns_share`` (money returned / money bought and returned), ``returns_per_purchase``.

Tenure (``tenure_days``) is a snapshot column already and always used.

Every baseline model passed in must itself have been fitted only on data up to the as-of date of
the rows it describes (the training code fits one per snapshot date).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from crmid._frames import column_labels, column_values

from .bgnbd import BetaGeoModel, rfm_arrays

__all__ = [
    "DECAY_HALF_LIVES",
    "FAMILIES",
    "FEATURE_LABELS",
    "KEPT_FAMILIES",
    "OFFERED_FAMILIES",
    "SNAPSHOT_FEATURES",
    "add_model_features",
    "extra_feature_names",
    "family_features",
    "feature_label",
    "feature_matrix",
    "model_features",
]

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

#: half-lives (days) of the recency-weighted purchase counts
DECAY_HALF_LIVES: tuple[int, ...] = (30, 90, 365)
#: windows (days) of the basket-size and purchase-rate trends
TREND_WINDOWS: tuple[int, ...] = (90, 365)
# the snapshot's count windows, oldest edge last (customerbase.snapshot.WINDOWS)
_COUNT_WINDOWS: tuple[int, ...] = (30, 90, 180, 365)

#: optional feature families; the horizon-dependent ``pnbd`` names are added by family_features
FAMILIES: dict[str, tuple[str, ...]] = {
    "pnbd": ("pnbd_p_alive",),
    "regularity": ("ipt_cv", "ipt_last_over_mean"),
    "silence": ("recency_z", "recency_over_ipt_last", "recency_minus_ipt"),
    "decay": tuple(f"decayed_purchases_{h}d" for h in DECAY_HALF_LIVES),
    "trend": (*(f"basket_trend_{w}d" for w in TREND_WINDOWS), *(f"rate_trend_{w}d" for w in TREND_WINDOWS)),
    "returns": ("returns_share", "returns_per_purchase"),
}

#: families in :func:`model_features`, chosen by out-of-time validation inside the training window
#: (bench/bench_baselines.py); ``pnbd`` is used only when a Pareto/NBD model is given. On CDNOW
#: (both protocols, h = 30/90/H, three validation snapshots each) only ``pnbd`` raised the mean
#: validation AUC (+0.0004) without raising the Brier score; regularity, silence, decay and trend
#: moved it by -0.0001..+0.0002, within the fold-to-fold noise (+-0.001), and stay out. Returns
#: cannot be judged on CDNOW (no returns) and stay out until data with returns shows a gain.
KEPT_FAMILIES: tuple[str, ...] = ("pnbd",)

#: families every training run offers to its models, each kept only where it validates better out
#: of time on that run's own data (training.feature_selection; the model card lists the verdicts).
#: ``pnbd`` is not among them: it needs a Pareto/NBD fit per training snapshot.
OFFERED_FAMILIES: tuple[str, ...] = ("regularity", "silence", "decay", "trend", "returns")


def family_features(family: str, horizons) -> list[str]:
    """Feature names of one family (``pnbd`` has one probability per horizon)."""
    if family not in FAMILIES:
        raise ValueError(f"unknown feature family {family!r}; known: {sorted(FAMILIES)}")
    names = list(FAMILIES[family])
    if family == "pnbd":
        names += [f"pnbd_p_purchase_{h}d" for h in sorted({int(h) for h in horizons})]
    return names


def extra_feature_names(horizons) -> list[str]:
    """The always-present features computed here (BG/NBD outputs and ratios)."""
    hs = sorted({int(h) for h in horizons})
    return (["bg_p_alive", "bg_rate"]
            + [f"bg_p_purchase_{h}d" for h in hs]
            + ["recency_over_ipt", "recency_over_tenure", "purchases_per_year"])


def model_features(horizons, *, pareto: bool = False, families=None) -> list[str]:
    """All feature names the LightGBM models use, in order.

    Parameters
    ----------
    horizons : iterable of int
    pareto : bool
        Whether a Pareto/NBD model is given to :func:`add_model_features` (the ``pnbd`` family
        exists only then).
    families : iterable of str, optional
        Optional families to include; default :data:`KEPT_FAMILIES`.
    """
    chosen = KEPT_FAMILIES if families is None else tuple(families)
    names = list(SNAPSHOT_FEATURES) + extra_feature_names(horizons)
    for family in FAMILIES:  # a fixed order, whatever order they were asked in
        if family in chosen and (family != "pnbd" or pareto):
            names += family_features(family, horizons)
    return names


def add_model_features(
    features: pd.DataFrame, bgnbd: BetaGeoModel, horizons, *, cache: dict | None = None,
    pareto=None, families=None,
) -> pd.DataFrame:
    """Return a float32 frame of :func:`model_features` for every row of a snapshot frame.

    Parameters
    ----------
    features : pandas.DataFrame
        Output of :func:`customerbase.snapshot` (extra columns are ignored).
    bgnbd : BetaGeoModel
        Fitted on data up to the rows' as-of date.
    horizons : iterable of int
        Days for the ``bg_p_purchase_{w}d`` (and ``pnbd_p_purchase_{w}d``) columns.
    cache : dict, optional
        Receives the float64 arrays computed on the way (``p_alive``, ``rate``, ``p_purchase`` =
        {w: array}, ``x``, ``t_x``, ``T``; with Pareto/NBD also ``pnbd_p_alive`` and
        ``pnbd_p_purchase`` = {w: array}) so callers need not recompute them.
    pareto : ParetoNBDModel, optional
        Fitted on the same history as ``bgnbd``; None leaves the ``pnbd`` family out.
    families : iterable of str, optional
        Optional families to compute; default :data:`KEPT_FAMILIES`.

    Returns
    -------
    pandas.DataFrame
        Columns ``model_features(horizons, pareto=pareto is not None, families=families)``,
        float32, index of ``features``.
    """
    missing = [c for c in SNAPSHOT_FEATURES if c not in features.columns]
    if missing:
        raise ValueError(f"snapshot frame lacks columns {missing}; pass the output of customerbase.snapshot")
    chosen = set(KEPT_FAMILIES if families is None else families)
    unknown = chosen - set(FAMILIES)
    if unknown:
        raise ValueError(f"unknown feature families {sorted(unknown)}; known: {sorted(FAMILIES)}")
    out = {c: column_values(features, c, np.float32) for c in SNAPSHOT_FEATURES}
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
    if pareto is not None and "pnbd" in chosen:
        p_alive, pp = pareto.alive_and_purchase(hs, x, t_x, T)
        out["pnbd_p_alive"] = p_alive.astype(np.float32)
        for h in hs:
            out[f"pnbd_p_purchase_{h}d"] = pp[h].astype(np.float32)
        if cache is not None:
            cache.update(pnbd_p_alive=p_alive, pnbd_p_purchase=pp)
    with np.errstate(divide="ignore", invalid="ignore"):
        for family, compute in _COMPUTE.items():
            if family in chosen:
                for name, values in compute(features, out).items():
                    out[name] = np.asarray(values, dtype=np.float32)
    names = model_features(hs, pareto=pareto is not None, families=chosen)
    # one column-major block: LightGBM then reads it without a copy (feature_matrix), and a column
    # is a view of it (a frame of separate columns made every matrix a copy of all of them)
    matrix = np.empty((len(features), len(names)), dtype=np.float32, order="F")
    for j, n in enumerate(names):
        matrix[:, j] = out[n]
    return pd.DataFrame(matrix, columns=column_labels(tuple(names)), index=features.index, copy=False)


def feature_matrix(frame: pd.DataFrame, names, extra=None) -> np.ndarray:
    """The columns ``names`` as one column-major float32 matrix (rows x names), what LightGBM reads.

    Parameters
    ----------
    frame : pandas.DataFrame
        Model features (:func:`add_model_features`; float32, so one block read without a copy).
    names : sequence of str
        The booster's feature names, in its order.
    extra : mapping of str to array-like, optional
        Columns not in ``frame`` (e.g. the spend model's classical quantities), same rows.

    The frame is converted once and its columns taken by position: selecting them one by one
    through pandas costs tens of microseconds each, paid about a hundred times by every
    one-customer request. When ``names`` are the frame's columns in order, the frame's own block
    is returned (read-only use: it is shared with the frame).
    """
    values = frame.to_numpy(dtype=np.float32)
    columns = frame.columns.tolist()
    if list(names) == columns and values.flags.f_contiguous:
        return values
    position = {c: j for j, c in enumerate(columns)}
    out = np.empty((len(frame), len(names)), dtype=np.float32, order="F")
    for j, name in enumerate(names):
        if name in position:
            out[:, j] = values[:, position[name]]
        elif extra is not None and name in extra:
            column = column_values(extra, name) if isinstance(extra, pd.DataFrame) else extra[name]
            out[:, j] = np.asarray(column, dtype=np.float32)
        else:
            raise ValueError(f"model feature missing: {name}")
    return out


# --------------------------------------------------------------------------- families
def _col(features: pd.DataFrame, name: str) -> np.ndarray:
    return column_values(features, name, np.float64)


def _ratio(num, den) -> np.ndarray:
    """num / den where den > 0, else NaN (LightGBM reads NaN as 'not applicable')."""
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _regularity(features, out):
    mean, std, last = (_col(features, c) for c in ("ipt_mean_days", "ipt_std_days", "ipt_last_days"))
    return {"ipt_cv": _ratio(std, mean), "ipt_last_over_mean": _ratio(last, mean)}


def _silence(features, out):
    rec, mean, std, last = (_col(features, c) for c in ("recency_days", "ipt_mean_days", "ipt_std_days",
                                                          "ipt_last_days"))
    return {"recency_z": _ratio(rec - mean, std), "recency_over_ipt_last": _ratio(rec, last),
            "recency_minus_ipt": rec - mean}


def _decay(features, out):
    """Purchases weighted by 2^(-age/h), from the window counts of the snapshot.

    Window i covers ages [e_i, e_{i+1}) days (the last one up to the tenure). The last and the
    first purchase have known ages (recency and tenure) and their exact weights; the others get
    the average weight of the part of their window between those two ages (a uniform spread).
    """
    n = np.nan_to_num(_col(features, "n_purchases"), nan=0.0)
    rec = _col(features, "recency_days")
    ten = _col(features, "tenure_days")
    has = n > 0
    edges = [0.0, *(float(w) for w in _COUNT_WINDOWS)]
    cum = [np.zeros_like(n)] + [np.nan_to_num(_col(features, f"n_purchases_{w}d"), nan=0.0) for w in _COUNT_WINDOWS]
    cum.append(n)
    rec0, ten0 = np.nan_to_num(rec, nan=-1.0), np.nan_to_num(ten, nan=-1.0)
    result = {}
    for h in DECAY_HALF_LIVES:
        k = np.log(2.0) / h
        total = np.zeros_like(n)
        for i in range(len(cum) - 1):
            # window i holds the purchases aged [lo, hi) days (the snapshot's windows end at as_of)
            lo = edges[i]
            hi = edges[i + 1] if i + 1 < len(edges) else np.inf
            count = cum[i + 1] - cum[i]
            # the last and the first purchase are taken out of their window and weighted exactly below
            count = count - (has & (rec0 >= lo) & (rec0 < hi)) - ((n >= 2) & (ten0 >= lo) & (ten0 < hi))
            # the others lie between the last and the first purchase: spread over that part of the window
            low = np.maximum(lo, rec0)
            top = np.maximum(np.minimum(hi, ten0), low)
            width = np.maximum(top - low, 1e-9)
            mean_w = np.where(top > low, (np.exp(-k * low) - np.exp(-k * top)) / (k * width), np.exp(-k * low))
            total += np.maximum(count, 0.0) * mean_w
        total += has * np.exp(-k * np.maximum(rec0, 0.0)) + (n >= 2) * np.exp(-k * np.maximum(ten0, 0.0))
        result[f"decayed_purchases_{h}d"] = np.where(has, total, 0.0)
    return result


def _trend(features, out):
    n = _col(features, "n_purchases")
    mean = _col(features, "monetary_mean")
    ten = _col(features, "tenure_days")
    result = {}
    for w in TREND_WINDOWS:
        n_w, s_w = _col(features, f"n_purchases_{w}d"), _col(features, f"spend_{w}d")
        result[f"basket_trend_{w}d"] = _ratio(_ratio(s_w, n_w), mean)
    for w in TREND_WINDOWS:
        n_w = _col(features, f"n_purchases_{w}d")
        # a customer younger than the window is measured over the window all the same
        overall = _ratio(n, np.maximum(np.nan_to_num(ten, nan=0.0), float(w)))
        result[f"rate_trend_{w}d"] = _ratio(n_w / w, overall)
    return result


def _returns(features, out):
    bought = _col(features, "monetary_total")
    back = _col(features, "returns_amount")
    return {"returns_share": _ratio(back, bought + back),
            "returns_per_purchase": _ratio(_col(features, "returns_count"), _col(features, "n_purchases"))}


_COMPUTE = {"regularity": _regularity, "silence": _silence, "decay": _decay, "trend": _trend,
            "returns": _returns}


# --------------------------------------------------------------------------- labels
class _Labels(dict):
    """Feature name -> readable label; names with a horizon resolve through their pattern.

    ``labels["bg_p_purchase_45d"]`` and ``labels.get(...)`` work for any horizon; iteration shows
    the fixed names and the patterns (``{w}`` standing for the days).
    """

    _PATTERNS = (
        (re.compile(r"^bg_p_purchase_(\d+)d$"), "BG/NBD chance of a purchase within {w} days"),
        (re.compile(r"^pnbd_p_purchase_(\d+)d$"), "Pareto/NBD chance of a purchase within {w} days"),
    )

    def _resolve(self, name):
        for pattern, text in self._PATTERNS:
            m = pattern.match(name) if isinstance(name, str) else None
            if m:
                return text.format(w=m.group(1))
        return None

    def __missing__(self, name):
        label = self._resolve(name)
        if label is None:
            raise KeyError(name)
        return label

    def get(self, name, default=None):
        if dict.__contains__(self, name):
            return dict.__getitem__(self, name)
        label = self._resolve(name)
        return default if label is None else label

    def __contains__(self, name):
        return dict.__contains__(self, name) or self._resolve(name) is not None


#: a short readable English label for every model feature (per-customer drivers read these)
FEATURE_LABELS: dict[str, str] = _Labels({
    "n_purchases": "purchases so far",
    "frequency": "repeat purchases so far",
    "recency_days": "days since last purchase",
    "tenure_days": "days since first purchase",
    "purchase_span_days": "days from first to last purchase",
    "monetary_total": "total spend",
    "monetary_mean": "average spend per purchase",
    "monetary_max": "largest single purchase",
    "ipt_mean_days": "usual days between purchases",
    "ipt_std_days": "spread of days between purchases",
    "ipt_last_days": "days between the last two purchases",
    **{f"n_purchases_{w}d": f"purchases in the last {w} days" for w in _COUNT_WINDOWS},
    **{f"spend_{w}d": f"spend in the last {w} days" for w in _COUNT_WINDOWS},
    **{f"spend_trend_{w}d": f"spend in the last {w} days vs the {w} days before" for w in _COUNT_WINDOWS},
    "returns_count": "returns so far",
    "returns_amount": "money returned so far",
    "bg_p_alive": "BG/NBD chance still active",
    "bg_rate": "expected purchases per day while active",
    "bg_p_purchase_{w}d": "BG/NBD chance of a purchase within {w} days",
    "recency_over_ipt": "silence vs usual gap between purchases",
    "recency_over_tenure": "share of tenure spent silent",
    "purchases_per_year": "purchases per year",
    "pnbd_p_alive": "Pareto/NBD chance still active",
    "pnbd_p_purchase_{w}d": "Pareto/NBD chance of a purchase within {w} days",
    "ipt_cv": "irregularity of gaps between purchases",
    "ipt_last_over_mean": "last gap vs usual gap",
    "recency_z": "silence vs usual gap, in spreads",
    "recency_over_ipt_last": "silence vs last gap",
    "recency_minus_ipt": "days overdue vs usual gap",
    **{f"decayed_purchases_{h}d": f"recent-weighted purchases (half-life {h} days)" for h in DECAY_HALF_LIVES},
    **{f"basket_trend_{w}d": f"average purchase in the last {w} days vs overall" for w in TREND_WINDOWS},
    **{f"rate_trend_{w}d": f"purchase pace in the last {w} days vs overall" for w in TREND_WINDOWS},
    "returns_share": "share of spend returned",
    "returns_per_purchase": "returns per purchase",
})


def feature_label(name: str) -> str:
    """Readable label of a model feature; the name itself, spaced, when it has none."""
    if name not in FEATURE_LABELS and name.startswith("profile_"):  # models.profile_features
        return "profile: " + name.removeprefix("profile_").replace("_", " ")
    return FEATURE_LABELS.get(name, name.replace("_", " "))
