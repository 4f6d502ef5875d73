"""The BG/NBD "buy till you die" model (Fader, Hardie & Lee 2005), fitted by maximum likelihood.

The classic peer every churn / next-purchase model here is compared with. Each customer buys
by a Poisson process with rate ``lambda ~ Gamma(r, alpha)`` while alive and drops out after any
purchase with probability ``p ~ Beta(a, b)``. The model needs only each customer's
``frequency`` (repeat purchases x), ``purchase_span_days`` (t_x) and ``tenure_days`` (T), which
:func:`customerbase.snapshot` provides.

Everything is vectorised with :mod:`scipy.special`; time is measured in days (``time_unit`` lets
the fit run in weeks, as the published CDNOW parameters are).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize, special

from crmid._frames import column_values

from .defaults import BGNBD_PARAMS

__all__ = ["BetaGeoModel", "fit_histories", "rfm_arrays"]


def rfm_arrays(features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x, t_x, T)`` in days from snapshot columns; customers without purchases get zeros."""
    x = np.nan_to_num(column_values(features, "frequency", np.float64), nan=0.0)
    t_x = np.nan_to_num(column_values(features, "purchase_span_days", np.float64), nan=0.0)
    T = np.nan_to_num(column_values(features, "tenure_days", np.float64), nan=0.0)
    return x, t_x, T


def fit_histories(frequency, recency, T, weights, *, time_unit: float, model: str):
    """Check the histories a buy-till-you-die model is fitted on; aggregate identical ones.

    Shared by BG/NBD and Pareto/NBD, whose likelihoods read the same ``(x, t_x, T)``.

    Returns
    -------
    x, t_x, T : numpy.ndarray
        Per customer, times divided by ``time_unit``.
    rows : tuple of numpy.ndarray
        ``(x, t_x, T, weight)`` of the distinct histories: far fewer likelihood terms (a million
        customers in days are ~10^5 distinct rows).

    Raises
    ------
    ValueError
        Inputs that cannot describe purchase histories, naming ``model`` and counting them.
    """
    x = np.asarray(frequency, dtype=np.float64)
    t_x = np.asarray(recency, dtype=np.float64) / time_unit
    T_ = np.asarray(T, dtype=np.float64) / time_unit
    if not (x.shape == t_x.shape == T_.shape) or x.ndim != 1:
        raise ValueError("frequency, recency and T must be 1-d arrays of one length")
    if x.size == 0:
        raise ValueError(f"{model} needs at least one customer to fit, got 0")
    bad = ~np.isfinite(x) | ~np.isfinite(t_x) | ~np.isfinite(T_) | (x < 0) | (t_x < 0) | (t_x > T_ + 1e-9)
    if bad.any():
        raise ValueError(f"{model} inputs invalid for {int(bad.sum())} customers (need 0 <= t_x <= T, x >= 0)")
    if np.all(x == 0):
        raise ValueError(f"{model} needs repeat purchases to fit; all {x.size} customers have frequency 0")
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=np.float64)
    key = (pd.DataFrame({"x": x, "t": t_x, "T": T_, "w": w})
           .groupby(["x", "t", "T"], sort=False)["w"].sum().reset_index())
    return x, t_x, T_, tuple(key[c].to_numpy() for c in ("x", "t", "T", "w"))


def _neg_ll_and_grad(log_params, x, t_x, T, weights, penalty):
    """Mean negative log-likelihood and its gradient in log-parameters."""
    params = np.exp(log_params)
    r, alpha, a, b = params
    has = x > 0
    bx1 = np.where(has, b + x - 1, 1.0)
    a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    a2 = special.gammaln(a + b) + special.gammaln(b + x) - special.gammaln(b) - special.gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    a4 = np.where(has, np.log(a) - np.log(bx1) - (r + x) * np.log(alpha + t_x), -np.inf)
    lse = np.logaddexp(a3, a4)
    w3 = np.exp(a3 - lse)
    w4 = np.where(has, np.exp(a4 - lse), 0.0)
    psi_ab, psi_abx = special.digamma(a + b), special.digamma(a + b + x)
    d_r = (special.digamma(r + x) - special.digamma(r) + np.log(alpha)
           - w3 * np.log(alpha + T) - w4 * np.log(alpha + t_x))
    d_alpha = r / alpha - w3 * (r + x) / (alpha + T) - w4 * (r + x) / (alpha + t_x)
    d_a = psi_ab - psi_abx + w4 / a
    d_b = psi_ab + special.digamma(b + x) - special.digamma(b) - psi_abx - w4 / bx1
    total = np.sum(weights)
    ll = np.sum(weights * (a1 + a2 + lse)) / total
    grad = np.array([np.sum(weights * g) for g in (d_r, d_alpha, d_a, d_b)]) / total * params
    value = -ll + penalty * np.sum(params**2)
    return value, -grad + 2 * penalty * params**2


class BetaGeoModel:
    """BG/NBD model of repeat purchasing.

    Parameters
    ----------
    time_unit : float, default 1.0
        Days per model time unit used during fitting (7.0 fits in weeks). Predictions always
        take and return days; the fitted ``alpha_`` is in the fitting unit.
    penalizer : float, default from :data:`models.defaults.BGNBD_PARAMS`
        L2 penalty on the four parameters (0 = plain maximum likelihood).

    Attributes
    ----------
    r_, alpha_, a_, b_ : float
        Fitted parameters (``alpha_`` in ``time_unit`` days).
    log_likelihood_ : float
        Mean log-likelihood per customer at the optimum.
    n_customers_ : int
    """

    def __init__(self, time_unit: float = 1.0, penalizer: float | None = None):
        self.time_unit = time_unit
        self.penalizer = penalizer

    # ------------------------------------------------------------------ fitting
    def fit(self, frequency, recency, T, weights=None) -> BetaGeoModel:
        """Fit by maximum likelihood.

        Parameters
        ----------
        frequency, recency, T : array-like
            Repeat purchases x, days from first to last purchase t_x, days from first purchase
            to the end of the calibration period.
        weights : array-like, optional
            Number of customers per row (to fit on aggregated rows).

        Returns
        -------
        self
        """
        x, _, T_, (xs, ts, Ts, ws) = fit_histories(frequency, recency, T, weights, time_unit=self.time_unit,
                                                   model="BG/NBD")
        penalty = BGNBD_PARAMS["penalizer"] if self.penalizer is None else float(self.penalizer)
        scale = max(float(np.mean(T_)), 1e-9)
        start = np.log([1.0, scale, 1.0, 1.0])
        # bounded log-parameters keep the optimiser away from overflow on small samples
        bounds = [(-12.0, 8.0), (-12.0, 16.0), (-12.0, 8.0), (-12.0, 8.0)]
        with np.errstate(all="ignore"):
            res = optimize.minimize(_neg_ll_and_grad, start, args=(xs, ts, Ts, ws, penalty), jac=True,
                                    method="L-BFGS-B", bounds=bounds,
                                    options={"maxiter": 1000, "ftol": 1e-13, "gtol": 1e-9})
        if not np.all(np.isfinite(res.x)):
            raise RuntimeError("BG/NBD fit did not converge")
        self.r_, self.alpha_, self.a_, self.b_ = (float(v) for v in np.exp(res.x))
        self.log_likelihood_ = float(-res.fun)
        self.n_customers_ = int(x.size)
        return self

    def fit_features(self, features: pd.DataFrame) -> BetaGeoModel:
        """Fit on the customers of a :func:`customerbase.snapshot` frame who have purchases."""
        x, t_x, T = rfm_arrays(features)
        has = features["n_purchases"].to_numpy() > 0
        return self.fit(x[has], t_x[has], T[has])

    # ------------------------------------------------------------------ persistence
    def get_state(self) -> dict:
        """Fitted parameters as a JSON-ready dict."""
        self._check()
        return {"r": self.r_, "alpha": self.alpha_, "a": self.a_, "b": self.b_,
                "time_unit": self.time_unit, "log_likelihood": self.log_likelihood_,
                "n_customers": self.n_customers_}

    @classmethod
    def from_state(cls, state: dict) -> BetaGeoModel:
        """Rebuild a fitted model from :meth:`get_state` output."""
        model = cls(time_unit=float(state["time_unit"]))
        model.r_, model.alpha_, model.a_, model.b_ = (float(state[k]) for k in ("r", "alpha", "a", "b"))
        model.log_likelihood_ = float(state.get("log_likelihood", np.nan))
        model.n_customers_ = int(state.get("n_customers", 0))
        return model

    # ------------------------------------------------------------------ predictions
    def _check(self):
        if not hasattr(self, "r_"):
            raise RuntimeError("BetaGeoModel is not fitted; call fit first")

    def _scaled(self, x, t_x, T):
        x = np.asarray(x, dtype=np.float64)
        return x, np.asarray(t_x, dtype=np.float64) / self.time_unit, np.asarray(T, dtype=np.float64) / self.time_unit

    def _odds_dead(self, x, t_x, T):
        """a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x) for x > 0, else 0."""
        r, alpha, a, b = self.r_, self.alpha_, self.a_, self.b_
        has = x > 0
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_odds = (np.log(a) - np.log(np.where(has, b + x - 1, 1.0))
                        + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)))
            return np.where(has, np.exp(np.minimum(log_odds, 700.0)), 0.0)

    def p_alive(self, x, t_x, T) -> np.ndarray:
        """Probability the customer is still alive at T (days)."""
        self._check()
        x, t_x, T = self._scaled(x, t_x, T)
        return 1.0 / (1.0 + self._odds_dead(x, t_x, T))

    def p_purchase_within(self, t, x, t_x, T) -> np.ndarray:
        """P(at least one purchase in (T, T + t]) given the history; ``t`` in days (scalar or array).

        Alive at T, the rate's posterior is Gamma(r + x, alpha + T) and an alive customer can only
        die right after a purchase, so ``P = p_alive * (1 - ((alpha+T)/(alpha+T+t))^(r+x))``.
        """
        self._check()
        x, t_x, T = self._scaled(x, t_x, T)
        t = np.asarray(t, dtype=np.float64) / self.time_unit
        alive = 1.0 / (1.0 + self._odds_dead(x, t_x, T))
        r, alpha = self.r_, self.alpha_
        none_if_alive = np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t)))
        return alive * (1.0 - none_if_alive)

    def alive_and_purchase(self, horizons, x, t_x, T) -> tuple[np.ndarray, dict]:
        """``p_alive`` and ``{t: P(purchase within t)}`` for several horizons, sharing the work."""
        self._check()
        x, t_x, T = self._scaled(x, t_x, T)
        alive = 1.0 / (1.0 + self._odds_dead(x, t_x, T))
        r, alpha = self.r_, self.alpha_
        log_at = np.log(alpha + T)
        rx = r + x
        out = {}
        for t in horizons:
            t_u = float(t) / self.time_unit
            out[t] = alive * -np.expm1(rx * (log_at - np.log(alpha + T + t_u)))
        return alive, out

    def days_until_no_purchase_probability(self, s, x, t_x, T) -> np.ndarray:
        """Days ``t`` after T at which P(no purchase in (T, T + t]) falls to ``s`` (inf when it never does).

        The inverse of :meth:`p_purchase_within` in t, in closed form: with ``A = p_alive`` and
        ``u(t) = ((alpha+T)/(alpha+T+t))^(r+x)``, ``1 - A (1 - u) = s`` gives
        ``t = (alpha+T) (u^(-1/(r+x)) - 1)`` for ``u = (s - 1 + A) / A``; when ``s <= 1 - A`` the
        probability of no purchase never gets that low (a customer who is gone stays gone).
        """
        self._check()
        x, t_x, T = self._scaled(x, t_x, T)
        s = np.asarray(s, dtype=np.float64)
        alive = 1.0 / (1.0 + self._odds_dead(x, t_x, T))
        with np.errstate(divide="ignore", invalid="ignore"):
            u = (s - 1.0 + alive) / alive
            t = (self.alpha_ + T) * np.expm1(-np.log(u) / (self.r_ + x))
        t = np.where(u >= 1.0, 0.0, t)
        return np.where(u > 0.0, np.maximum(t, 0.0), np.inf) * self.time_unit

    def expected_purchases(self, t, x, t_x, T) -> np.ndarray:
        """Conditional expected number of purchases in (T, T + t], ``t`` in days."""
        self._check()
        x, t_x, T = self._scaled(x, t_x, T)
        t = np.asarray(t, dtype=np.float64) / self.time_unit
        r, alpha, a, b = self.r_, self.alpha_, self.a_, self.b_
        z = t / (alpha + T + t)
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
        num = (a + b + x - 1) / (a - 1) * (1.0 - np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t))) * hyp)
        return num / (1.0 + self._odds_dead(x, t_x, T))

    def expected_rate(self, x, t_x, T) -> np.ndarray:
        """Posterior mean purchase rate per day of an alive customer: (r + x) / (alpha + T)."""
        self._check()
        x, t_x, T = self._scaled(x, t_x, T)
        return (self.r_ + x) / (self.alpha_ + T) / self.time_unit

    def population_p_purchase(self, t) -> np.ndarray:
        """Unconditional P(X(t) > 0) for a new customer (t in days)."""
        self._check()
        t = np.asarray(t, dtype=np.float64) / self.time_unit
        return 1.0 - (self.alpha_ / (self.alpha_ + t)) ** self.r_
