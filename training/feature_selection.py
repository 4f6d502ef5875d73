"""Whether an optional feature family earns its place, decided inside the training window.

The horizon classifier is trained with and without a family's columns on every training
snapshot but the latest one observing the horizon, and both are judged on that latest snapshot
(the gate's own validation snapshot, :mod:`training.gate`), with the gate's own criterion and a
minimum gain: the family is kept only when, with it, the AUC is higher by at least
:data:`models.defaults.FAMILY_MIN_AUC_GAIN` and the Brier score is lower with a paired bootstrap
probability of at least :data:`models.defaults.GATE_CONFIDENCE` (a kept family costs time and
memory for every customer scored). The evaluation
protocol's future is never read. Each family is judged on its own against the same base
(the columns every model has), so the base classifier is fitted once.
"""

from __future__ import annotations

import numpy as np

from crmid.models import defaults
from crmid.models.horizon import HorizonClassifier, usable_rows
from crmid.models.metrics import binary_metrics

from .gate import brier_win_probability
from .stacking import PointInTime, stack

__all__ = ["validate_families"]


def validate_families(points: list[PointInTime], horizon: int, families: dict, base: list[str], *, seed=None,
                      params=None, num_boost_round=None) -> dict:
    """Out-of-time verdict on each feature family, each against the ``base`` columns alone.

    Parameters
    ----------
    points : list of PointInTime
        Training snapshots whose ``X`` holds ``base`` and every family's columns.
    horizon : int
        The churn horizon H: the classifier judged is the one at H.
    families : dict
        Family name -> its column names.
    base : list of str
        The columns every model has.

    Returns
    -------
    dict
        Family name -> ``family``, ``features``, ``kept`` (bool), ``reason``, and when a
        comparison was made ``validation_date``, ``with`` / ``without``
        (:func:`models.metrics.binary_metrics`) and ``p_better_brier``.
    """
    h = int(horizon)
    verdicts = {name: {"family": name, "features": list(cols), "kept": False} for name, cols in families.items()}
    observed = [p for p in points if p.followup >= h]
    if len(observed) < 2:
        for name, v in verdicts.items():
            v["reason"] = (f"only {len(observed)} training snapshot(s) observe {h} days: nothing to validate the "
                           f"{name} features on, not used")
        return verdicts
    val, train = observed[-1], observed[:-1]
    data = stack(train)
    mask, y = usable_rows(data.duration, data.event, data.followup, h)
    _, y_val = usable_rows(val.labels["days_to_next_purchase"], val.labels["next_purchase_observed"],
                           np.full(len(val.X), val.followup), h)
    n_pos = int(y.sum())
    if min(n_pos, y.size - n_pos) < defaults.MIN_POSITIVES or y_val.all() or not y_val.any():
        for name, v in verdicts.items():
            v["reason"] = (f"too few outcomes of each kind to compare ({n_pos} purchases in {y.size} training rows) "
                           f"at {h} days: the {name} features are not used")
        return verdicts
    target = float(val.X[f"bg_p_purchase_{h}d"].mean())  # the same calibration in the large for every fit

    def probabilities(names):
        clf = HorizonClassifier(h, params, num_boost_round, seed).fit(
            data.X.loc[mask, names], y, reference_X=val.X[names], reference_target=target)
        return clf.predict_proba(val.X[names])

    p_without = probabilities(list(base))
    m_without = binary_metrics(y_val, p_without)
    for name, v in verdicts.items():
        p_with = probabilities([*base, *v["features"]])
        m_with = binary_metrics(y_val, p_with)
        win = brier_win_probability(y_val, p_with, p_without, seed=0 if seed is None else int(seed))
        kept = (m_with["auc"] >= m_without["auc"] + defaults.FAMILY_MIN_AUC_GAIN
                and m_with["brier"] <= m_without["brier"] and win >= defaults.GATE_CONFIDENCE)
        v.update(kept=bool(kept), validation_date=str(val.as_of.date()), p_better_brier=win,
                 **{"with": m_with, "without": m_without})
        v["reason"] = (
            f"{'kept' if kept else 'not used'}: at {h} days on the validation snapshot {val.as_of.date()} "
            f"({m_with['n']} customers) AUC {m_with['auc']:.4f} / Brier {m_with['brier']:.4f} with the {name} "
            f"features against {m_without['auc']:.4f} / {m_without['brier']:.4f} without "
            f"(AUC gain {m_with['auc'] - m_without['auc']:+.4f}, {defaults.FAMILY_MIN_AUC_GAIN} needed; "
            f"P[better Brier] {win:.2f}, {defaults.GATE_CONFIDENCE:.2f} needed)")
    return verdicts
