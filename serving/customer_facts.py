"""From snapshot features and model predictions to the facts the rules decide on.

This is where the textbook's quantities are computed per customer:

* CLV = (s / t) x T (客户终身价值) and the value percentile, by :mod:`crmid.models.value`, with
  the lifetime cap of the configuration's ``facts.clv_max_lifetime_days``.
* loyalty in [0, 1]: a weighted mix of tenure, purchase regularity and retention (1 - churn
  risk), weights from the configuration's ``facts.loyalty``.
* profit: CLV minus the cost to serve over the same lifetime, where the profile gives the cost.

Every number used here comes from the ``facts`` section of the rules configuration.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from crmid._frames import column_values, frame_of
from crmid.models import value as model_value
from crmid.models.value import clv_reference, value_percentile

__all__ = ["FACT_COLUMNS", "build_facts", "clv", "clv_reference", "loyalty", "value_percentile"]

#: facts columns handed to the rules, besides the profile's own (MAN flags, 6C, segment ...)
FACT_COLUMNS = (
    "customer_id",
    "value_percentile",
    "clv",
    "profit",
    "churn_probability",
    "p_purchase_30d",
    "p_purchase_90d",
    "expected_days_to_next_purchase",
    "recency_days",
    "frequency",
    "monetary",
    "tenure_days",
    "spend_trend",
    "loyalty",
)


def _net_spend(customers: pd.DataFrame) -> np.ndarray:
    """Spend over all purchase occasions minus the money returned (a frame without returns: the spend)."""
    spend = column_values(customers, "monetary_total", float)
    if "returns_amount" not in customers.columns:
        return spend
    return spend - np.nan_to_num(column_values(customers, "returns_amount", float))


def _finite_or_nan(series: pd.Series) -> np.ndarray:
    values = series.to_numpy(dtype=float)
    return np.where(np.isfinite(values), values, np.nan)


def clv(predictions: pd.DataFrame, policy: Mapping) -> np.ndarray:
    """Textbook CLV = (s / t) x T, T capped at the configuration's ``clv_max_lifetime_days``."""
    return model_value.clv(predictions, policy["clv_max_lifetime_days"])


def loyalty(features: pd.DataFrame, churn_probability: np.ndarray, policy: Mapping) -> np.ndarray:
    """Loyalty in [0, 1] from tenure, regularity of purchases and retention.

    ``policy['loyalty']`` holds ``weights`` (tenure, regularity, retention; summing to 1),
    ``full_tenure_days`` (tenure at which the tenure part is full) and
    ``regularity_when_unknown`` (for customers with fewer than three purchases).
    """
    cfg = policy["loyalty"]
    w = cfg["weights"]
    tenure = np.clip(column_values(features, "tenure_days", float) / cfg["full_tenure_days"], 0.0, 1.0)
    mean = column_values(features, "ipt_mean_days", float)
    std = column_values(features, "ipt_std_days", float)
    with np.errstate(divide="ignore", invalid="ignore"):
        regularity = 1.0 / (1.0 + std / mean)
    regularity = np.where(np.isfinite(regularity), regularity, cfg["regularity_when_unknown"])
    retention = 1.0 - np.asarray(churn_probability, dtype=float)
    value = w["tenure"] * np.nan_to_num(tenure) + w["regularity"] * regularity + w["retention"] * retention
    return np.clip(value, 0.0, 1.0)


def build_facts(
    customers: pd.DataFrame,
    *,
    reference: np.ndarray,
    policy: Mapping,
    profiles: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The rules' input facts, one row per customer, in the order of ``customers``.

    Parameters
    ----------
    customers : pandas.DataFrame
        Snapshot rows (see ``customerbase.FEATURES``) with the scorer's outputs and ``clv``
        (the output of :func:`serving.scoring.predict_stage`).
    reference : numpy.ndarray
        CLV quantile table (see :func:`clv_reference`).
    policy : mapping
        The ``facts`` section of the rules configuration.
    profiles : pandas.DataFrame, optional
        Validated profiles; joined on ``customer_id``; their columns pass through.
    """
    value = column_values(customers, "clv", float)
    churn = column_values(customers, "churn_probability", float)
    columns = {
        # the ids' text, as pandas' str dtype (the rules read Python strings from it)
        "customer_id": pd.array(customers["customer_id"].to_numpy(), dtype="str"),
        "value_percentile": value_percentile(value, reference),
        "clv": value,
        "churn_probability": churn,
        "p_purchase_30d": column_values(customers, "p_purchase_30d", float),
        "p_purchase_90d": column_values(customers, "p_purchase_90d", float),
        # the rules' fact keeps its name. A median that is never reached (inf) is no number of
        # days: left unknown, the purchase probabilities (always present) decide the temperature
        "expected_days_to_next_purchase": _finite_or_nan(customers["next_purchase_days_median"]),
        "recency_days": column_values(customers, "recency_days", float),
        "frequency": column_values(customers, "frequency", float),
        # net spend, purchases minus returns: below zero (returns only) the rules say so
        "monetary": _net_spend(customers),
        "tenure_days": column_values(customers, "tenure_days", float),
        "spend_trend": column_values(customers, f"spend_trend_{policy['spend_trend_window_days']}d", float),
        "loyalty": loyalty(customers, churn, policy),
    }
    if profiles is None or not len(profiles):
        # without a profile there is no cost to serve, hence no profit
        return frame_of({**columns, "profit": np.full(len(value), np.nan)})
    facts = frame_of(columns).merge(profiles, on="customer_id", how="left", validate="one_to_one")
    if "cost_to_serve" in facts.columns:
        life_years = np.minimum(column_values(customers, "expected_lifetime_days", float),
                                policy["clv_max_lifetime_days"]) / 365.0
        # the profile's cost to serve is per year; profit is over the same lifetime as CLV
        facts["profit"] = facts["clv"] - column_values(facts, "cost_to_serve", float) * life_years
    else:
        facts["profit"] = np.nan
    return facts
