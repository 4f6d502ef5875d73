"""Synthetic customer bases: SYNTHETIC data for scale tests and profile-rich examples.

Nothing produced here is real. The purchase process is the Pareto/NBD story ("buy till you
die"): each customer is acquired on a day of the acquisition period, buys as a Poisson process
with a customer-specific rate, and drops out after an exponentially distributed lifetime. Spend
per purchase follows the Gamma-Gamma model. A small share of lines are returns. Profiles carry
B2B attributes (segment, MAN flags, 6C scores, distributor criteria) drawn independently of
the purchase process except where stated.

All draws come from one :class:`numpy.random.Generator` seeded by the caller: the same seed
gives the same data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .contract import SIX_C_DIMENSIONS

__all__ = ["DISTRIBUTOR_CRITERIA", "generate_profiles", "generate_transactions"]

#: criteria of the textbook's scored selection of distributors (评分法)
DISTRIBUTOR_CRITERIA = (
    "market_coverage",
    "reputation",
    "history",
    "cooperation",
    "product_fit",
    "finances",
    "location",
    "service_capacity",
    "price",
    "public_relations",
)


def generate_transactions(
    n_customers: int,
    *,
    start: str = "2024-01-01",
    days: int = 730,
    acquisition_days: int = 365,
    purchase_rate_shape: float = 0.6,
    purchase_rate_scale: float = 0.025,
    dropout_rate_shape: float = 0.8,
    dropout_rate_scale: float = 1 / 300,
    spend_shape: float = 3.0,
    spend_scale: float = 12.0,
    return_share: float = 0.01,
    seed: int = 0,
) -> pd.DataFrame:
    """Generate a SYNTHETIC transaction log in the contract's format.

    Parameters
    ----------
    n_customers : int
    start : str
        First possible acquisition day.
    days : int
        Length of the observed period from ``start``.
    acquisition_days : int
        Customers are acquired uniformly over the first ``acquisition_days`` days.
    purchase_rate_shape, purchase_rate_scale : float
        Gamma distribution of daily purchase rates (mean = shape * scale).
    dropout_rate_shape, dropout_rate_scale : float
        Gamma distribution of daily dropout rates.
    spend_shape, spend_scale : float
        Mean spend per purchase is Gamma distributed per customer; each purchase's spend is
        Gamma around it (Gamma-Gamma).
    return_share : float
        Probability that a purchase is followed by a return line of part of its amount.
    seed : int

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, ``date``, ``amount``, ``quantity``, ``order_id``; sorted by date.
        With the defaults about 6 lines per customer.
    """
    rng = np.random.default_rng(seed)
    n = int(n_customers)
    birth = rng.integers(0, acquisition_days, n)
    lam = rng.gamma(purchase_rate_shape, purchase_rate_scale, n)
    mu = rng.gamma(dropout_rate_shape, dropout_rate_scale, n)
    death = birth + rng.exponential(1.0 / np.maximum(mu, 1e-9))
    alive_until = np.minimum(death, days - 1)
    # the acquisition purchase, then Poisson purchases while alive and observed
    extra = rng.poisson(lam * np.maximum(alive_until - birth, 0))
    owner = np.repeat(np.arange(n), extra)
    when = birth[owner] + rng.uniform(0, 1, owner.size) * (alive_until[owner] - birth[owner])
    cust = np.concatenate([np.arange(n), owner])
    day = np.concatenate([birth, np.floor(when).astype(np.int64)])
    mean_spend = rng.gamma(spend_shape, spend_scale, n)
    amount = np.round(rng.gamma(4.0, mean_spend[cust] / 4.0), 2)
    quantity = 1 + rng.poisson(amount / 25.0)

    is_ret = rng.uniform(size=cust.size) < return_share
    r_cust = cust[is_ret]
    r_day = np.minimum(day[is_ret] + rng.integers(1, 30, r_cust.size), days - 1)
    r_amount = -np.round(amount[is_ret] * rng.uniform(0.2, 1.0, r_cust.size), 2)

    all_cust = np.concatenate([cust, r_cust])
    all_day = np.concatenate([day, r_day])
    order = np.argsort(all_day, kind="stable")
    width = max(len(str(n)), 6)
    ids = np.char.add("S", np.char.zfill(np.arange(n).astype(str), width))
    dates = np.datetime64(start, "D") + all_day[order]
    return pd.DataFrame(
        {
            "customer_id": pd.array(ids[all_cust[order]], dtype="string"),
            "date": dates.astype("datetime64[ns]"),
            "amount": np.concatenate([amount, r_amount])[order],
            "quantity": np.concatenate([quantity, np.ones(r_cust.size, dtype=np.int64)])[order],
            "order_id": np.arange(all_cust.size),
        }
    )


def generate_profiles(customer_ids, *, business_share: float = 0.3, distributor_share: float = 0.1,
                      seed: int = 0) -> pd.DataFrame:
    """Generate SYNTHETIC customer profiles in the contract's format.

    Consumers get no MAN or 6C inputs (they are not assessed on them); business customers get
    MAN flags and 6C scores; distributors additionally get distributor criteria scores. About a
    tenth of the business values are left missing, as in real CRM exports.

    Parameters
    ----------
    customer_ids : array-like of str
    business_share, distributor_share : float
        Shares of business customers and of distributors.
    seed : int
    """
    rng = np.random.default_rng(seed)
    ids = pd.array(np.asarray(customer_ids, dtype=object), dtype="string")
    n = len(ids)
    u = rng.uniform(size=n)
    segment = np.where(u < distributor_share, "distributor",
                       np.where(u < distributor_share + business_share, "business", "consumer"))
    b2b = segment != "consumer"
    frame = pd.DataFrame({"customer_id": ids, "segment": segment})
    # one latent "strength" makes 6C dimensions and MAN flags correlated, as they are in practice
    strength = rng.normal(0, 1, n)
    for flag in ("money", "authority", "need"):
        val = pd.array(rng.normal(0, 1, n) + 0.8 * strength > 0, dtype="boolean")
        val[~b2b | (rng.uniform(size=n) < 0.1)] = pd.NA
        frame[flag] = val
    for dim in SIX_C_DIMENSIONS:
        score = np.clip(np.round(60 + 15 * strength + rng.normal(0, 10, n)), 0, 100)
        frame[f"six_c_{dim}"] = np.where(b2b & (rng.uniform(size=n) > 0.1), score, np.nan)
    dist = segment == "distributor"
    for crit in DISTRIBUTOR_CRITERIA:
        frame[f"distributor_{crit}"] = np.where(dist, np.clip(np.round(rng.normal(72, 12, n)), 0, 100), np.nan)
    frame["price_sensitive"] = pd.array(rng.uniform(size=n) < 0.35, dtype="boolean")
    frame["cost_to_serve"] = np.round(rng.gamma(2.0, 5.0, n) * np.where(b2b, 4.0, 1.0), 2)
    return frame
