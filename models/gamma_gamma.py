"""The Gamma-Gamma model of spend per purchase (Fader & Hardie 2013), fitted by maximum likelihood.

Each purchase value is Gamma(p, nu) with the customer's ``nu ~ Gamma(q, gamma)``; the model
shrinks a customer's observed average spend towards the population mean, the more so the fewer
purchases it rests on. It serves the textbook CLV part ``s`` (average spend per purchase).
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, special

from .defaults import GAMMA_GAMMA_PARAMS

__all__ = ["GammaGammaModel"]


def _neg_ll(log_params, x, m, penalty):
    p, q, g = np.exp(log_params)
    px = p * x
    ll = (special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q) + q * np.log(g)
          + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * np.log(g + m * x))
    return -np.mean(ll) + penalty * np.sum(np.exp(log_params) ** 2)


class GammaGammaModel:
    """Gamma-Gamma spend model.

    Parameters
    ----------
    penalizer : float, optional
        L2 penalty on ``(p, q, gamma)``; default from :data:`models.defaults.GAMMA_GAMMA_PARAMS`.

    Attributes
    ----------
    p_, q_, gamma_ : float
        Fitted parameters.
    n_customers_ : int
        Customers the fit used (frequency > 0 and positive spend).
    """

    def __init__(self, penalizer: float | None = None):
        self.penalizer = penalizer

    def fit(self, frequency, monetary_value) -> GammaGammaModel:
        """Fit on customers with at least one purchase counted in ``frequency`` and spend > 0.

        Parameters
        ----------
        frequency : array-like
            Number of purchases the average rests on (customers with 0 are skipped).
        monetary_value : array-like
            Average spend of those purchases.

        Returns
        -------
        self
        """
        x = np.asarray(frequency, dtype=np.float64)
        m = np.asarray(monetary_value, dtype=np.float64)
        if x.shape != m.shape:
            raise ValueError("frequency and monetary_value must have one length")
        keep = np.isfinite(x) & np.isfinite(m) & (x > 0) & (m > 0)
        if keep.sum() < 2:
            raise ValueError("Gamma-Gamma needs at least 2 customers with repeat purchases and spend > 0, "
                             f"got {int(keep.sum())}")
        x, m = x[keep], m[keep]
        penalty = GAMMA_GAMMA_PARAMS["penalizer"] if self.penalizer is None else float(self.penalizer)
        start = np.log([1.0, 1.0, max(float(np.mean(m)), 1e-6)])
        with np.errstate(all="ignore"):
            res = optimize.minimize(_neg_ll, start, args=(x, m, penalty), method="Nelder-Mead",
                                    options={"maxiter": 4000, "xatol": 1e-8, "fatol": 1e-12})
            res = optimize.minimize(_neg_ll, res.x, args=(x, m, penalty), method="L-BFGS-B",
                                    bounds=[(-12.0, 12.0)] * 3)
        self.p_, self.q_, self.gamma_ = (float(v) for v in np.exp(res.x))
        self.n_customers_ = int(x.size)
        self.mean_spend_ = float(np.mean(m))
        return self

    def population_mean(self) -> float:
        """E[M] = p * gamma / (q - 1) when q > 1, else the observed mean of the fit."""
        self._check()
        return self.p_ * self.gamma_ / (self.q_ - 1) if self.q_ > 1 else self.mean_spend_

    def conditional_expected_spend(self, frequency, monetary_value) -> np.ndarray:
        """Expected spend per purchase given x purchases averaging ``monetary_value``; never NaN.

        Customers with x = 0 or no valid average get the population mean.
        """
        self._check()
        x = np.nan_to_num(np.asarray(frequency, dtype=np.float64), nan=0.0)
        m = np.nan_to_num(np.asarray(monetary_value, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        x = np.where(m > 0, np.maximum(x, 0.0), 0.0)
        pop = self.population_mean()
        p, q = self.p_, self.q_
        if q <= 1:  # mean undefined under the model: fall back to shrinking towards the observed mean
            return np.where(x > 0, m, pop)
        denom = p * x + q - 1
        return (q - 1) / denom * pop + p * x / denom * m

    def get_state(self) -> dict:
        self._check()
        return {"p": self.p_, "q": self.q_, "gamma": self.gamma_,
                "n_customers": self.n_customers_, "mean_spend": self.mean_spend_}

    @classmethod
    def from_state(cls, state: dict) -> GammaGammaModel:
        model = cls()
        model.p_, model.q_, model.gamma_ = float(state["p"]), float(state["q"]), float(state["gamma"])
        model.n_customers_ = int(state.get("n_customers", 0))
        model.mean_spend_ = float(state.get("mean_spend", np.nan))
        return model

    def _check(self):
        if not hasattr(self, "p_"):
            raise RuntimeError("GammaGammaModel is not fitted; call fit first")
