"""The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987), fitted by maximum likelihood.

The second classical peer beside BG/NBD. Each customer buys by a Poisson process with rate
``lambda ~ Gamma(r, alpha)`` while alive, and dies at an exponential time of rate
``mu ~ Gamma(s, beta)`` -- at any moment, not only right after a purchase as in BG/NBD. Like
BG/NBD it needs only ``frequency`` (x), ``purchase_span_days`` (t_x) and ``tenure_days`` (T).

Likelihood (Fader & Hardie 2005, "A note on deriving the Pareto/NBD model", eq. 18-20)::

    L(x, t_x, T) = Gamma(r+x) alpha^r beta^s / Gamma(r)
                   * [ (alpha+T)^-(r+x) (beta+T)^-s + s/(r+s+x) * A0(t_x, T) ]

with ``A0 = B(t_x) - B(T)`` and, with the usual branch on alpha vs beta so that the
hypergeometric argument lies in [0, 1)::

    B(t) = 2F1(r+s+x, s+1;   r+s+x+1; (alpha-beta)/(alpha+t)) / (alpha+t)^(r+s+x)   alpha >= beta
    B(t) = 2F1(r+s+x, r+x;   r+s+x+1; (beta-alpha)/(beta+t))  / (beta+t)^(r+s+x)    alpha <  beta

Both are evaluated after Euler's transformation ``2F1(a,b;c;z) = (1-z)^(c-a-b) 2F1(c-a,c-b;c;z)``
with ``c - a = 1``: the remaining series starts at 1, its terms shrink geometrically and never
overflow, so everything stays in log space even for customers with hundreds of purchases.

The probability of no purchase in (T, T+h] given the history is exactly the likelihood ratio
``L(x, t_x, T+h) / L(x, t_x, T)``: the data "x purchases, the last at t_x, none after" observed
up to T+h instead of T.

Everything is vectorised with :mod:`scipy.special`; time is measured in days (``time_unit`` lets
the fit run in weeks, as the published CDNOW parameters are).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize, special

from .bgnbd import fit_histories, rfm_arrays
from .defaults import PARETO_NBD_PARAMS

__all__ = ["ParetoNBDFitError", "ParetoNBDModel"]

_NAMES = ("r", "alpha", "s", "beta")


class ParetoNBDFitError(RuntimeError):
    """The Pareto/NBD likelihood could not be maximised on the data; the message says why."""


def _log_b(r, alpha, s, beta, x, t):
    """log B(t) (see the module docstring), vectorised over x and t, after Euler's transformation.

    alpha >= beta: B = (alpha+t)^-(r+x) (beta+t)^-s 2F1(1, r+x; r+s+x+1; (alpha-beta)/(alpha+t))
    alpha <  beta: B = (alpha+t)^-(r+x) (beta+t)^-s (alpha+t)/(beta+t) 2F1(1, s+1; r+s+x+1; (beta-alpha)/(beta+t))
    """
    c = r + s + x + 1.0
    base = -(r + x) * np.log(alpha + t) - s * np.log(beta + t)
    if alpha >= beta:
        f = special.hyp2f1(1.0, r + x, c, (alpha - beta) / (alpha + t))
        return base + np.log(f)
    f = special.hyp2f1(1.0, s + 1.0, c, (beta - alpha) / (beta + t))
    return base + np.log(alpha + t) - np.log(beta + t) + np.log(f)


def _log_lik_terms(params, x, t_x, T, lb_tx=None):
    """(log Gamma(r+x) alpha^r beta^s / Gamma(r), log of the bracket, log of its 'alive' part).

    The bracket is written ``e^aT (1 - k G(T)) + k B(t_x)`` with ``k = s/(r+s+x)`` and
    ``G(T) = B(T) e^-aT``: both parts are non-negative, so no difference of large numbers is taken.
    ``lb_tx``: log B(t_x) when the caller has it (it does not depend on T: a prediction at several
    horizons computes it once; each is a hypergeometric function per customer).
    """
    r, alpha, s, beta = params
    a_T = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    log_k = np.log(s) - np.log(r + s + x)
    if lb_tx is None:
        lb_tx = _log_b(r, alpha, s, beta, x, t_x)
    lb_T = _log_b(r, alpha, s, beta, x, T)
    # 1 - k G(T) in (0, 1]: the probability-like share of "alive at T" paths not yet counted
    rest = np.log1p(-np.minimum(np.exp(log_k + lb_T - a_T), 1.0 - 1e-16))
    bracket = np.logaddexp(a_T + rest, log_k + lb_tx)
    head = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    return head, bracket, a_T


def _neg_ll(log_params, x, t_x, T, weights, total, penalty):
    params = np.exp(log_params)
    with np.errstate(all="ignore"):
        head, bracket, _ = _log_lik_terms(params, x, t_x, T)
        ll = np.sum(weights * (head + bracket)) / total
    if not np.isfinite(ll):
        return 1e100  # outside the region the special functions handle: the optimiser backs off
    return -ll + penalty * float(np.sum(params**2))


class ParetoNBDModel:
    """Pareto/NBD model of repeat purchasing.

    Parameters
    ----------
    time_unit : float, default 1.0
        Days per model time unit used during fitting (7.0 fits in weeks). Predictions always
        take and return days; the fitted ``alpha_`` and ``beta_`` are in the fitting unit.
    penalizer : float, optional
        L2 penalty on the four parameters (0 = plain maximum likelihood); default
        :data:`models.defaults.PARETO_NBD_PARAMS` ``["penalizer"]``.
    n_starts : int, optional
        Starting points of the optimiser (the best optimum is kept); default from
        :data:`models.defaults.PARETO_NBD_PARAMS`.

    Attributes
    ----------
    r_, alpha_, s_, beta_ : float
        Fitted parameters (``alpha_``, ``beta_`` in ``time_unit`` days).
    log_likelihood_ : float
        Mean log-likelihood per customer at the optimum.
    n_customers_ : int
    """

    def __init__(self, time_unit: float = 1.0, penalizer: float | None = None, n_starts: int | None = None):
        self.time_unit = time_unit
        self.penalizer = penalizer
        self.n_starts = n_starts

    # ------------------------------------------------------------------ fitting
    def fit(self, frequency, recency, T, weights=None, *, init=None) -> ParetoNBDModel:
        """Fit by maximum likelihood.

        Parameters
        ----------
        frequency, recency, T : array-like
            Repeat purchases x, days from first to last purchase t_x, days from first purchase
            to the end of the calibration period.
        weights : array-like, optional
            Number of customers per row (to fit on aggregated rows).
        init : ParetoNBDModel, optional
            A fitted model whose parameters are the one starting point (warm start: consecutive
            training snapshots have close optima); the usual starts are tried only if it fails.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            Inputs that cannot describe purchase histories (the message counts them).
        ParetoNBDFitError
            No starting point reaches a finite optimum; the message describes the data.
        """
        x, _, T_, (xs, ts, Ts, ws) = fit_histories(frequency, recency, T, weights, time_unit=self.time_unit,
                                                   model="Pareto/NBD")
        if not np.any(T_ > 0):
            raise ValueError(f"Pareto/NBD needs observed time; all {x.size} customers have T = 0")
        settings = PARETO_NBD_PARAMS
        penalty = settings["penalizer"] if self.penalizer is None else float(self.penalizer)
        n_starts = int(settings["n_starts"] if self.n_starts is None else self.n_starts)
        # the optimiser works on time rescaled so that the mean T is 1: alpha and beta then start
        # near 1 whatever the unit, and the log-parameter bounds mean the same on every data set
        scale = float(np.mean(T_[T_ > 0]))
        ts_s, Ts_s = ts / scale, Ts / scale
        total = float(np.sum(ws))
        bounds = [tuple(b) for b in settings["log_bounds"]]
        full = (xs, ts_s, Ts_s, ws, total, penalty)
        # the starts race on a sample of customers when there are many distinct histories; only
        # the winner is polished on all of them (the optimum moves little, the cost is ~1/n_starts)
        race = full
        most = int(settings["race_rows"])
        if xs.size > most:
            rng = np.random.default_rng(int(settings["seed"]))
            # a sample of customers (not of distinct rows, which would over-weight rare histories)
            counts = rng.multinomial(most, ws / total).astype(np.float64)
            pick = counts > 0
            race = (xs[pick], ts_s[pick], Ts_s[pick], counts[pick], float(most), penalty)
        results = []
        if init is not None:
            # the warm start's alpha and beta are in days / init.time_unit; ours in days / (time_unit * scale)
            days_per_unit = float(init.time_unit) / (self.time_unit * scale)
            start = np.log([init.r_, init.alpha_ * days_per_unit, init.s_, init.beta_ * days_per_unit])
            lower, upper = zip(*bounds, strict=True)
            warm = self._minimise(np.clip(start, lower, upper), full, bounds, settings)
            results = [warm] if warm is not None else []
        if not results:
            results = [res for res in (self._minimise(np.log(start), race, bounds, settings)
                                       for start in settings["starts"][:max(n_starts, 1)]) if res is not None]
            if results and race is not full:
                polished = self._minimise(min(results, key=lambda res: res.fun).x, full, bounds, settings)
                results = [polished] if polished is not None else []
        if not results:
            raise ParetoNBDFitError(
                f"Pareto/NBD fit failed from {n_starts} starting points on {x.size} customers "
                f"({int(np.sum(x > 0))} with repeat purchases, mean x {np.mean(x):.2f}, "
                f"mean T {np.mean(T_) * self.time_unit:.0f} days): the likelihood is not finite anywhere tried")
        best = min(results, key=lambda res: res.fun)
        r, alpha, s, beta = np.exp(best.x)
        self.r_, self.alpha_, self.s_, self.beta_ = float(r), float(alpha * scale), float(s), float(beta * scale)
        # the mean log-likelihood in the fitting unit (rescaling time shifts it by a constant)
        with np.errstate(all="ignore"):
            head, bracket, _ = _log_lik_terms(self._params(), xs, ts, Ts)
        self.log_likelihood_ = float(np.sum(ws * (head + bracket)) / total)
        if not np.isfinite(self.log_likelihood_):
            raise ParetoNBDFitError(
                f"Pareto/NBD fit on {x.size} customers ended at parameters whose likelihood is not finite "
                f"(r={r:.3g}, alpha={alpha * scale:.3g}, s={s:.3g}, beta={beta * scale:.3g})")
        self.converged_ = bool(best.success)
        self.n_customers_ = int(x.size)
        return self

    @staticmethod
    def _minimise(start, args, bounds, settings):
        try:
            res = optimize.minimize(_neg_ll, start, args=args, method="L-BFGS-B", bounds=bounds,
                                    options={"maxiter": int(settings["maxiter"]), "ftol": 1e-12, "gtol": 1e-8})
        except (FloatingPointError, ValueError, OverflowError):
            return None
        if np.all(np.isfinite(res.x)) and np.isfinite(res.fun) and res.fun < 1e99:
            return res
        return None

    def fit_features(self, features: pd.DataFrame, *, init=None) -> ParetoNBDModel:
        """Fit on the customers of a :func:`customerbase.snapshot` frame who have purchases (``init``: see fit)."""
        x, t_x, T = rfm_arrays(features)
        has = features["n_purchases"].to_numpy() > 0
        return self.fit(x[has], t_x[has], T[has], init=init)

    # ------------------------------------------------------------------ persistence
    def get_state(self) -> dict:
        """Fitted parameters as a JSON-ready dict."""
        self._check()
        return {"r": self.r_, "alpha": self.alpha_, "s": self.s_, "beta": self.beta_,
                "time_unit": self.time_unit, "log_likelihood": self.log_likelihood_,
                "n_customers": self.n_customers_}

    @classmethod
    def from_state(cls, state: dict) -> ParetoNBDModel:
        """Rebuild a fitted model from :meth:`get_state` output."""
        model = cls(time_unit=float(state["time_unit"]))
        model.r_, model.alpha_, model.s_, model.beta_ = (float(state[k]) for k in _NAMES)
        model.log_likelihood_ = float(state.get("log_likelihood", np.nan))
        model.n_customers_ = int(state.get("n_customers", 0))
        return model

    # ------------------------------------------------------------------ predictions
    def _check(self):
        if not hasattr(self, "r_"):
            raise RuntimeError("ParetoNBDModel is not fitted; call fit first")

    def _params(self):
        return self.r_, self.alpha_, self.s_, self.beta_

    def _scaled(self, x, t_x, T):
        x = np.asarray(x, dtype=np.float64)
        return x, np.asarray(t_x, dtype=np.float64) / self.time_unit, np.asarray(T, dtype=np.float64) / self.time_unit

    def _log_bracket(self, x, t_x, T, lb_tx=None):
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            _, bracket, a_T = _log_lik_terms(self._params(), x, t_x, T, lb_tx)
        return bracket, a_T

    def _log_b_at_last_purchase(self, x, t_x):
        """log B(t_x) of each (scaled) history: the part of the bracket every horizon shares."""
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return _log_b(*self._params(), x, t_x)

    def log_likelihood(self, x, t_x, T) -> np.ndarray:
        """Log-likelihood of each history (x, t_x and T in days), in the fitting unit."""
        self._check()
        x, t_x, T = self._scaled(x, t_x, T)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            head, bracket, _ = _log_lik_terms(self._params(), x, t_x, T)
        return head + bracket

    def p_alive(self, x, t_x, T) -> np.ndarray:
        """Probability the customer is still alive at T (days): ``e^aT / bracket``."""
        self._check()
        bracket, a_T = self._log_bracket(*self._scaled(x, t_x, T))
        return np.clip(np.exp(a_T - bracket), 0.0, 1.0)

    def _log_no_purchase(self, t, x, t_x, T) -> np.ndarray:
        """log P(no purchase in (T, T + t]) = log L(x, t_x, T + t) - log L(x, t_x, T); ``t`` in days."""
        self._check()
        x, t_x, T = self._scaled(x, t_x, T)
        t = np.asarray(t, dtype=np.float64) / self.time_unit
        lb_tx = self._log_b_at_last_purchase(x, t_x)
        now, _ = self._log_bracket(x, t_x, T, lb_tx)
        later, _ = self._log_bracket(x, t_x, T + t, lb_tx)
        return later - now

    def p_no_purchase_within(self, t, x, t_x, T) -> np.ndarray:
        """P(no purchase in (T, T + t]) = L(x, t_x, T + t) / L(x, t_x, T); ``t`` in days."""
        return np.clip(np.exp(self._log_no_purchase(t, x, t_x, T)), 0.0, 1.0)

    def p_purchase_within(self, t, x, t_x, T) -> np.ndarray:
        """P(at least one purchase in (T, T + t]) given the history; ``t`` in days (scalar or array)."""
        # expm1: a small probability keeps its digits, which 1 - exp(.) would cancel away
        return np.clip(-np.expm1(self._log_no_purchase(t, x, t_x, T)), 0.0, 1.0)

    def alive_and_purchase(self, horizons, x, t_x, T) -> tuple[np.ndarray, dict]:
        """``p_alive`` and ``{t: P(purchase within t)}`` for several horizons, sharing the work."""
        self._check()
        x, t_x, T = self._scaled(x, t_x, T)
        lb_tx = self._log_b_at_last_purchase(x, t_x)
        now, a_T = self._log_bracket(x, t_x, T, lb_tx)
        alive = np.clip(np.exp(a_T - now), 0.0, 1.0)
        out = {}
        for t in horizons:
            later, _ = self._log_bracket(x, t_x, T + float(t) / self.time_unit, lb_tx)
            out[t] = np.clip(-np.expm1(later - now), 0.0, 1.0)
        return alive, out

    def days_until_no_purchase_probability(self, s, x, t_x, T, *, iterations: int = 48) -> np.ndarray:
        """Days ``t`` after T at which P(no purchase in (T, T + t]) falls to ``s`` (inf when it never does).

        No closed form: P(no purchase) falls monotonically from 1 to ``k B(t_x) / bracket(T)``
        (the chance of never buying again); below that level the answer is inf, otherwise it is
        found by bisection on log t (``iterations`` halvings of a 1e-4 .. 1e8 unit bracket).
        """
        self._check()
        x, t_x, T = self._scaled(x, t_x, T)
        s = np.broadcast_to(np.asarray(s, dtype=np.float64), x.shape)
        r, _, s_, _ = self._params()
        lb_tx = self._log_b_at_last_purchase(x, t_x)
        now, _ = self._log_bracket(x, t_x, T, lb_tx)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            never = np.exp(np.log(s_) - np.log(r + s_ + x) + lb_tx - now)
        log_s = np.log(np.clip(s, 1e-300, None))
        lo = np.full(x.shape, np.log(1e-4))
        hi = np.full(x.shape, np.log(1e8))
        for _ in range(iterations):
            mid = 0.5 * (lo + hi)
            later, _ = self._log_bracket(x, t_x, T + np.exp(mid), lb_tx)
            above = (later - now) > log_s  # still more likely than s to see no purchase: go later
            lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
        t = np.exp(0.5 * (lo + hi))
        t = np.where(s >= 1.0, 0.0, t)
        return np.where(s > never, t, np.inf) * self.time_unit

    def expected_purchases(self, t, x, t_x, T) -> np.ndarray:
        """Conditional expected number of purchases in (T, T + t], ``t`` in days.

        ``p_alive * (r+x)(beta+T) / ((alpha+T)(s-1)) * (1 - ((beta+T)/(beta+T+t))^(s-1))``
        (Fader & Hardie 2005, eq. 41); the limit ``log((beta+T+t)/(beta+T))`` at s = 1.
        """
        alive = self.p_alive(x, t_x, T)
        x, t_x, T = self._scaled(x, t_x, T)
        t = np.asarray(t, dtype=np.float64) / self.time_unit
        r, alpha, s, beta = self._params()
        log_ratio = np.log(beta + T + t) - np.log(beta + T)
        life = log_ratio if abs(s - 1.0) < 1e-8 else -np.expm1(-(s - 1.0) * log_ratio) / (s - 1.0)
        return alive * (r + x) * (beta + T) / (alpha + T) * life

    def expected_rate(self, x, t_x, T) -> np.ndarray:
        """Posterior mean purchase rate per day of an alive customer: (r + x) / (alpha + T)."""
        self._check()
        x, t_x, T = self._scaled(x, t_x, T)
        return (self.r_ + x) / (self.alpha_ + T) / self.time_unit

    def population_p_purchase(self, t) -> np.ndarray:
        """Unconditional P(X(t) > 0) for a new customer (t in days): 1 - L(0, 0, t) / L(0, 0, 0)."""
        self._check()
        t = np.asarray(t, dtype=np.float64) / self.time_unit
        zero = np.zeros_like(t)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            head, bracket, _ = _log_lik_terms(self._params(), zero, zero, t)
        # with no purchase, the likelihood of "none up to t" is P(X(t) = 0) itself
        return -np.expm1(head + bracket)
