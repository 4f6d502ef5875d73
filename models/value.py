"""Customer value: the textbook CLV and its rank in a reference population.

* CLV = (s / t) x T (客户终身价值): ``s`` the expected spend per purchase, ``t`` the expected
  purchase cycle in days, ``T`` the expected remaining lifetime in days, capped by the caller
  (the rules configuration's ``facts.clv_max_lifetime_days``).
* value percentile: the share of a reference population with a lower CLV. The reference is a
  quantile table of the population's CLV, so that one customer (HTTP), one partition (Spark) and
  the whole base (batch) get the same percentile for the same CLV. A trained scorer carries the
  table of its training population; a batch run stores the table of the base it scored.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmid._frames import column_values

__all__ = ["REFERENCE_POINTS", "clv", "clv_reference", "value_percentile"]

#: size of the CLV quantile table that defines value percentiles
REFERENCE_POINTS = 1001


def clv(predictions: pd.DataFrame, max_lifetime_days: float) -> np.ndarray:
    """Textbook CLV = (s / t) x T per customer; NaN where the inputs give no finite value.

    Parameters
    ----------
    predictions : pandas.DataFrame
        ``expected_spend_per_purchase`` (s), ``expected_purchase_cycle_days`` (t) and
        ``expected_lifetime_days`` (T), as :class:`crmid.models.CustomerScorer` outputs them.
    max_lifetime_days : float
        Cap on T.
    """
    s = column_values(predictions, "expected_spend_per_purchase", float)
    t = column_values(predictions, "expected_purchase_cycle_days", float)
    life = np.minimum(column_values(predictions, "expected_lifetime_days", float), max_lifetime_days)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = s / t * life
    return np.where(np.isfinite(value), np.maximum(value, 0.0), np.nan)


def clv_reference(values: np.ndarray) -> np.ndarray:
    """Quantile table of a population's CLV (:data:`REFERENCE_POINTS` points; empty when none is finite)."""
    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return np.zeros(0)
    return np.quantile(finite, np.linspace(0.0, 1.0, REFERENCE_POINTS))


def value_percentile(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Share of the reference population with a lower value, in [0, 1]; NaN where unknown."""
    values = np.asarray(values, dtype=float)
    if reference.size == 0:
        return np.full(values.shape, np.nan)
    # quantile points strictly below the value: ties (e.g. many one-time buyers with the same
    # CLV) share one percentile, and a higher value never gets a lower one
    pct = np.searchsorted(reference, values, side="left") / reference.size
    return np.where(np.isfinite(values), pct, np.nan)
