"""Per-customer drivers of the churn probability: which features push it up or down, and by how much.

Method
------
LightGBM's exact tree contributions (TreeSHAP, ``pred_contrib=True``) split each row's raw
score, a log-odds, into one term per feature plus the model's expected value; they add up to the
raw score exactly. Log-odds terms do not add up on the probability scale, so they are
apportioned to probability along the secant from the base probability ``p0 = sigmoid(base)``
to the served probability ``p``::

    effect_i = c_i * (p - p0) / sum_j c_j        (slope p (1 - p) when sum_j c_j is ~0)

The effects then add up exactly to ``p - p0``, keep the sign of each log-odds term and their
ranking; they are reported in percentage points of churn probability.

For many rows the exact terms are read from tables (:func:`tree_contributions`): with trees of
a few splits, a row's TreeSHAP terms for one tree depend only on which way it goes at each
split (the hot and cold branches of the algorithm), so each tree has at most ``2**splits``
distinct term vectors. LightGBM computes them for one row of each pattern present; every row
then adds its patterns' vectors. A million customers took 9 s through ``pred_contrib`` and
take about 1 s this way, with the same numbers.

Which model explains the served probability:

* churn served by LightGBM (source ``'model'``): the churn classifier itself (its terms are
  negated: it predicts a purchase; the calibration's shift is part of the base);
* churn served by BG/NBD or the blend: :class:`DriverSurrogate`, a small LightGBM regression
  fitted at training to the served churn log-odds of every customer at the cutoff, so that the
  drivers come from one method and are never empty.

Output schema
-------------
``drivers`` is a JSON list of at most :data:`models.defaults.DRIVERS_TOP` objects ordered by
``|effect|``: ``{"feature", "label", "value", "effect"}`` (``value`` the customer's feature
value, null when missing; ``effect`` in percentage points, positive raises churn).
"""

from __future__ import annotations

import functools
import json
import os
import warnings
import weakref

import numpy as np
import pandas as pd
from scipy import special

from crmid._texts import number_texts

from . import defaults
from .calibration import logit
from .features import feature_label
from .lgbm import predict_threads, training_params

__all__ = ["DriverSurrogate", "apportion", "classifier_contributions", "driver_phrases", "top_drivers",
           "tree_contributions"]

#: share of rows explained per LightGBM call: bounds the rows x features contribution matrix
_CHUNK = 200_000
#: rows of drivers' texts assembled together (one block per thread): bounds the temporaries of
#: rows x features each, and small inputs (one customer online) stay on the calling thread. A
#: block's five driver columns are formatted at once, so 100,000 rows hold what 125,000 did when
#: they were formatted column by column (the batch's peak is near its 3 GB target)
_TEXT_BLOCK = 100_000
#: from this many rows, contributions come from per-tree tables (below it LightGBM's own
#: pred_contrib is as fast: a table costs a LightGBM call per tree); a speed choice only
_TABLES_FROM = 20_000
#: trees with at most this many splits get a table (2**splits rows at most; the defaults' trees
#: have 7 splits or fewer); a booster with a larger tree goes through pred_contrib
_TABLE_MAX_SPLITS = 10
#: LightGBM's kZeroThreshold: a cell with |x| at most this is read as 0
_ZERO = float(np.float32(1e-35))  # LightGBM: const double kZeroThreshold = 1e-35f
#: rows of each call checked against pred_contrib, so that a booster the tables misread is caught
_CHECK_ROWS = 64
#: booster -> its trees' splits, parsed once (False: it has a tree the tables do not serve)
_SPLITS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _splits(booster):
    """Each tree's splits as (feature, threshold, default_left, missing_type), or None if one is not tabulable."""
    if booster not in _SPLITS:
        trees = []
        for info in booster.dump_model()["tree_info"]:
            nodes, stack = [], [info["tree_structure"]]
            while stack:
                node = stack.pop()
                if "split_index" not in node:
                    continue
                if node.get("decision_type") != "<=":  # a categorical split: not read here
                    trees = False
                    break
                nodes.append((int(node["split_feature"]), float(node["threshold"]), bool(node["default_left"]),
                              str(node["missing_type"])))
                stack += [node["left_child"], node["right_child"]]
            if trees is False or len(nodes) > _TABLE_MAX_SPLITS:
                trees = False
                break
            trees.append(nodes)
        _SPLITS[booster] = trees
    return _SPLITS[booster] or None


def _goes_left(x: np.ndarray, threshold: float, default_left: bool, missing_type: str) -> np.ndarray:
    """LightGBM's numerical decision (tree.h, NumericalDecision) for a column as :func:`_as_read`."""
    nan = np.isnan(x)
    if missing_type == "NaN":
        return np.where(nan, default_left, x <= threshold)
    x = np.where(nan, 0.0, x)  # NaN reads as 0 unless the split has a direction for it
    if missing_type == "Zero":
        return np.where(np.abs(x) <= _ZERO, default_left, x <= threshold)
    return x <= threshold


def _as_read(column: np.ndarray) -> np.ndarray:
    """A feature column as LightGBM's predictor reads it: doubles, and cells with |x| <= kZeroThreshold
    dropped from the row, so 0."""
    x = column.astype(np.float64)
    return np.where(np.abs(x) <= _ZERO, 0.0, x)


def _tabled(booster, trees, arr: np.ndarray) -> np.ndarray:
    n, width = arr.shape[0], arr.shape[1] + 1
    out = np.zeros((width, n))  # a term's column contiguous: each tree adds to a few of them
    columns: dict[int, np.ndarray] = {}
    order = np.arange(n - 1, -1, -1)
    for t, nodes in enumerate(trees):
        pattern = np.zeros(n, dtype=np.int64)
        for k, (feature, threshold, default_left, missing_type) in enumerate(nodes):
            if feature not in columns:  # once per feature, however many splits read it
                columns[feature] = _as_read(arr[:, feature])
            pattern |= _goes_left(columns[feature], threshold, default_left, missing_type).astype(np.int64) << k
        first = np.full(1 << len(nodes), -1, dtype=np.int64)
        first[pattern[::-1]] = order  # the first row of each pattern (the last write wins)
        present = np.flatnonzero(first >= 0)
        table = np.zeros((first.size, width))
        table[present] = booster.predict(arr[first[present]], pred_contrib=True, start_iteration=t,
                                         num_iteration=1, num_threads=1)
        for j in np.flatnonzero(np.any(table != 0, axis=0)):
            out[j] += table[:, j][pattern]
    return out.T


def tree_contributions(booster, arr: np.ndarray) -> np.ndarray:
    """LightGBM's ``pred_contrib`` of ``arr`` (rows x (features + 1), the last the base), exactly.

    Many rows of a booster of small trees are read from per-tree tables (see the module notes);
    the first rows are checked against ``pred_contrib`` itself, which serves the call if they differ.
    """
    trees = _splits(booster) if len(arr) >= _TABLES_FROM else None
    if trees is not None:
        out = _tabled(booster, trees, arr)
        check = booster.predict(arr[:_CHECK_ROWS], pred_contrib=True, num_threads=1)
        if np.allclose(out[:_CHECK_ROWS], check, rtol=1e-9, atol=1e-9):
            return out
        warnings.warn("drivers: the per-tree tables disagree with LightGBM's pred_contrib on this booster; "
                      "pred_contrib serves it (slower)", RuntimeWarning, stacklevel=2)
    return booster.predict(arr, pred_contrib=True, num_threads=predict_threads(len(arr)))


def classifier_contributions(classifier, arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Churn log-odds terms of a purchase classifier: (rows x features, base per row).

    ``classifier`` is a :class:`models.horizon.HorizonClassifier` estimating P(purchase within H);
    churn is its complement, so every term changes sign, and the calibrator's shift joins the base.
    """
    contrib = tree_contributions(classifier.booster_, arr)
    shift = 0.0 if classifier.calibrator_ is None else float(classifier.calibrator_.shift_)
    return -contrib[:, :-1], -(contrib[:, -1] + shift)


def apportion(contrib: np.ndarray, base: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Log-odds terms -> probability effects that add up to ``p - sigmoid(base)`` (see the module notes)."""
    p0 = special.expit(base)
    total = contrib.sum(axis=1)
    small = np.abs(total) < 1e-9
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(small, p * (1.0 - p), (p - p0) / np.where(small, 1.0, total))
    return contrib * slope[:, None]


def top_drivers(effects: np.ndarray, values: np.ndarray, feature_names, top: int | None = None,
                labels: dict | None = None):
    """The ``drivers`` JSON text of each row: the ``top`` largest |effect|, ordered, in percentage points.

    ``labels`` overrides :func:`models.features.feature_label` for some features (a profile
    column's label names its categories).

    Returns a pandas string column backed by Arrow. The texts are assembled by Arrow's compute
    kernels, column by column: formatting a million rows' numbers one by one in Python took
    tens of seconds. A large input is cut into blocks of rows assembled on every core (numpy's
    and Arrow's kernels let go of the GIL): 3.7 -> 2.4 s for a million rows on two cores.
    """
    import pyarrow as pa

    n = effects.shape[0]
    k = min(defaults.DRIVERS_TOP if top is None else int(top), effects.shape[1])
    if n == 0 or k == 0:
        return pd.array(["[]"] * n, dtype="string")
    heads = _json_heads(tuple(feature_names), tuple(sorted((labels or {}).items())))
    blocks = [slice(start, start + _TEXT_BLOCK) for start in range(0, n, _TEXT_BLOCK)]
    if len(blocks) == 1:
        text = _drivers_text(effects, values, heads, k)
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=min(len(blocks), os.cpu_count() or 1),
                                thread_name_prefix="crmid-drivers") as pool:
            text = pa.concat_arrays(list(pool.map(
                lambda rows: _drivers_text(effects[rows], values[rows], heads, k), blocks)))
    return pd.array(text, dtype="string[pyarrow]")


def _drivers_text(effects: np.ndarray, values: np.ndarray, heads, k: int):
    """:func:`top_drivers` of a block of rows, as an Arrow string array."""
    import pyarrow as pa
    import pyarrow.compute as pc

    width = effects.shape[1]
    size = np.abs(effects)
    # the k largest per row (unordered, O(features)), then ordered among themselves
    part = np.argpartition(size, width - k, axis=1)[:, width - k:] if k < width else np.tile(
        np.arange(k), (len(size), 1))
    rows = np.arange(len(size))[:, None]
    order = part[rows, np.argsort(-size[rows, part], axis=1, kind="stable")]
    picked_effects = np.round(effects[rows, order] * 100.0, 2)
    picked_values = values[rows, order].astype(np.float64)
    # every column's numbers in one array, column after column (a column is then a zero-copy
    # slice): each kernel runs once, not once per driver column, which was most of one online
    # customer's drivers (~50 Arrow calls, 1.1 ms; the texts are the same element by element)
    n = len(size)
    value = pa.array(picked_values.ravel(order="F"))
    value_text = pc.if_else(pc.is_finite(value), number_texts(pc.round(value, 4)), "null")
    effect_text = number_texts(pa.array(picked_effects.ravel(order="F")))
    head_text = heads.take(pa.array(order.ravel(order="F")))
    # the constant text between two columns is one piece: Arrow's join took 1.3 s for a million
    # rows with the brackets, commas and an empty string as separate pieces, 0.3 s merged
    pieces: list = []
    for j in range(k):
        pieces += ["}, " if j else "[", head_text.slice(j * n, n), value_text.slice(j * n, n), ', "effect": ',
                   effect_text.slice(j * n, n)]
    pieces.append("}]")
    return pc.binary_join_element_wise(*[p if isinstance(p, pa.Array) else pa.scalar(p) for p in pieces], "")


@functools.lru_cache(maxsize=64)
def _json_heads(feature_names: tuple, labels: tuple):
    """Each feature's JSON head (``{"feature": ..., "label": ..., "value": ``), as an Arrow array.

    Built once per model's features and labels, not once per scoring call: a few hundred
    microseconds of every online request.
    """
    import pyarrow as pa

    given = dict(labels)
    return pa.array([json.dumps({"feature": name, "label": given.get(name) or feature_label(name)})[:-1]
                     + ', "value": ' for name in feature_names])


#: how a driver reads in a sentence, per feature ({v}: the customer's value); other features read
#: as "<label> <value>". Wording only: no business numbers
_PHRASES = {
    "recency_days": "silent {v:.0f} days",
    "recency_over_ipt": "{v:.1f}x their usual gap between purchases",
    "recency_over_tenure": "silent for {v:.0%} of their time as a customer",
    "frequency": "{v:.0f} repeat purchases",
    "n_purchases": "{v:.0f} purchases in all",
    "tenure_days": "a customer for {v:.0f} days",
    "monetary_total": "spent {v:,.2f} in all",
    "monetary_mean": "spends {v:,.2f} per purchase",
    "bg_p_alive": "{v:.0%} likely still active (BG/NBD)",
    "ipt_mean_days": "buys every {v:.0f} days on average",
    "ipt_last_days": "last gap between purchases {v:.0f} days",
    "purchases_per_year": "{v:.1f} purchases a year",
}


def driver_phrases(drivers_json: str | None, n: int = 2, *, raising_first: bool = False) -> str:
    """The first ``n`` drivers of a ``drivers`` JSON text as one readable line.

    ``raising_first``: the drivers that raise churn before those that lower it (the retain list
    answers "why at risk"). Effects are against the average customer's churn probability.
    Example: ``"silent 210 days (+12.0 pts of churn vs the average customer); 3.0x their usual gap
    between purchases (+8.1 pts)"``.
    """
    if not isinstance(drivers_json, str) or not drivers_json:  # None, or NaN from a frame: no drivers stored
        return ""
    drivers = json.loads(drivers_json)
    if raising_first:
        drivers = [d for d in drivers if d["effect"] > 0] + [d for d in drivers if d["effect"] <= 0]
    parts = []
    for i, d in enumerate(drivers[:n]):
        value, feature = d.get("value"), d["feature"]
        template = _PHRASES.get(feature)
        if value is None:
            text = f"{d['label']} unknown"
        elif template is not None:
            text = template.format(v=value)
        else:
            text = f"{d['label']} {value:g}"
        sign = "+" if d["effect"] >= 0 else ""
        parts.append(f"{text} ({sign}{d['effect']:.1f} pts{' of churn vs the average customer' if i == 0 else ''})")
    return "; ".join(parts)


class DriverSurrogate:
    """LightGBM regression of the served churn log-odds on the model features, for its drivers.

    Parameters
    ----------
    params : dict, optional
        Overrides :data:`models.defaults.SURROGATE_PARAMS`.
    num_boost_round : int, optional
        Default :data:`models.defaults.SURROGATE_NUM_BOOST_ROUND`.
    seed : int, optional

    Attributes
    ----------
    booster_ : lightgbm.Booster
    feature_names_ : list of str
    r2_ : float
        Share of the served log-odds' variance the surrogate explains on its training rows.
    """

    def __init__(self, params: dict | None = None, num_boost_round: int | None = None, seed: int | None = None):
        self.params = params
        self.num_boost_round = num_boost_round
        self.seed = seed

    def fit(self, X, churn_probability) -> DriverSurrogate:
        """Fit to ``logit(churn_probability)`` of the rows of the feature frame ``X``."""
        import lightgbm as lgb  # here, not at import: the retain list reads drivers without LightGBM

        target = logit(churn_probability)
        if len(X) != target.size:
            raise ValueError(f"X has {len(X)} rows but churn_probability has {target.size}")
        if target.size == 0:
            raise ValueError("no customers to fit the drivers' surrogate on")
        self.feature_names_ = list(X.columns)
        params = training_params(defaults.SURROGATE_PARAMS, self.params, self.seed)
        rounds = defaults.SURROGATE_NUM_BOOST_ROUND if self.num_boost_round is None else int(self.num_boost_round)
        data = lgb.Dataset(np.asarray(X, dtype=np.float32), label=target, feature_name=self.feature_names_)
        self.booster_ = lgb.train(params, data, num_boost_round=rounds)
        fitted = self.booster_.predict(np.asarray(X, dtype=np.float32), num_threads=0)
        var = float(np.var(target))
        self.r2_ = 1.0 - float(np.mean((target - fitted) ** 2)) / var if var > 0 else 1.0
        return self

    def contributions(self, arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Churn log-odds terms (rows x features) and the base per row."""
        contrib = tree_contributions(self.booster_, arr)
        return contrib[:, :-1], contrib[:, -1]

    def get_state(self) -> tuple[dict, str]:
        return {"feature_names": self.feature_names_, "r2": self.r2_}, self.booster_.model_to_string()

    @classmethod
    def from_state(cls, meta: dict, model_text: str) -> DriverSurrogate:
        import lightgbm as lgb

        model = cls()
        model.booster_ = lgb.Booster(model_str=model_text)
        model.feature_names_ = list(meta["feature_names"])
        model.r2_ = float(meta.get("r2", float("nan")))
        return model


def churn_effects(explainer, arr: np.ndarray, churn: np.ndarray) -> np.ndarray:
    """Effects (probability, rows x features) of the served churn, in chunks of rows."""
    out = np.empty(arr.shape, dtype=np.float64)
    for start in range(0, arr.shape[0], _CHUNK):
        part = slice(start, start + _CHUNK)
        contrib, base = explainer(arr[part])
        out[part] = apportion(contrib, base, churn[part])
    return out
