"""Model hyper-parameters: the one place they are set.

Everything here is a modelling choice, not a business threshold. Estimators read these values
when their own arguments are left at ``None``; the training pipeline reads the rest.
"""

from __future__ import annotations

#: BG/NBD maximum-likelihood fit (0 = plain maximum likelihood)
BGNBD_PARAMS: dict = {"penalizer": 0.0}

#: Gamma-Gamma maximum-likelihood fit
GAMMA_GAMMA_PARAMS: dict = {"penalizer": 0.0}

#: LightGBM parameters of every horizon classifier (churn and next-purchase knots). Shallow trees,
#: large leaves and few rounds: the models correct BG/NBD-informed features, and scoring a
#: million customers must stay within seconds.
LGBM_PARAMS: dict = {
    "objective": "binary",
    "learning_rate": 0.15,
    "num_leaves": 7,
    "min_child_samples": 500,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "reg_lambda": 10.0,
    "max_bin": 255,
    "verbose": -1,
    "deterministic": True,
    "force_row_wise": True,
}
LGBM_NUM_BOOST_ROUND: int = 40
SEED: int = 0

#: horizons (days) of the next-purchase survival curve's knots besides 30, 90 and H; a knot is
#: used only when the training history can observe it. Every knot is one more booster to
#: evaluate per scored customer, so none are added by default.
SURVIVAL_EXTRA_KNOTS: tuple[int, ...] = ()

#: the most customers whose stacked snapshots train the LightGBM models and the gate; a larger
#: base is sampled (seeded by SEED). Serving-side fits (BG/NBD, Gamma-Gamma, the calibration
#: targets) use every customer. 200,000 customers x 24 snapshots is millions of rows already.
MAX_TRAINING_CUSTOMERS: int = 200_000

#: days between stacked training snapshots, and the most snapshots stacked per horizon
SNAPSHOT_STEP_DAYS: int = 30
MAX_SNAPSHOTS: int = 24

#: weight of the LightGBM probability in a 'blend' with BG/NBD (on the probability scale)
BLEND_WEIGHT: float = 0.5

#: expected remaining lifetime is capped here (days); see models.scorer
LIFETIME_CAP_DAYS: float = 3650.0

#: the smallest data a model may be trained on
MIN_CUSTOMERS: int = 100
MIN_POSITIVES: int = 20

#: the gate promotes LightGBM (or the blend) over BG/NBD only when, besides an AUC at least as
#: high, a paired bootstrap over validation customers finds its Brier score lower with at
#: least this probability: the challenger must show it is not worse, which small data cannot
GATE_CONFIDENCE: float = 0.9
GATE_BOOTSTRAP: int = 300

#: days at which every scored customer gets P(next purchase within t), whatever the training
#: horizon (past the curve's last knot the BG/NBD tail answers; see models.next_purchase)
NEXT_PURCHASE_REPORT_DAYS: tuple[int, ...] = (30, 90, 180, 365)
#: spacing (days) and reach of the survival curve S(t) returned on request (/v1/score?curve=true)
CURVE_STEP_DAYS: int = 7
CURVE_MAX_DAYS: int = 365

#: per-customer drivers: how many are reported, and the LightGBM surrogate that explains a churn
#: probability served by BG/NBD or the blend (see models.drivers). Shallow trees: TreeSHAP's cost
#: grows with the square of the depth, and the surrogate explains a smooth classical model. On 1M
#: synthetic customers (Pareto/NBD serving churn) 100 leaf-wise trees of 15 leaves took 89 us a row
#: (90 s of the 141 s run); 40 trees of depth 3 take 9 us at the same fit (R^2 0.995 on held-out
#: customers against 0.996)
DRIVERS_TOP: int = 5
SURROGATE_PARAMS: dict = {
    "objective": "regression",
    "learning_rate": 0.3,
    "num_leaves": 15,
    "max_depth": 3,
    "min_child_samples": 50,
    "verbose": -1,
    "deterministic": True,
    "force_row_wise": True,
}
SURROGATE_NUM_BOOST_ROUND: int = 40

#: Pareto/NBD maximum-likelihood fit. The optimiser works on log-parameters with time rescaled
#: so the mean T is 1; each start is (r, alpha, s, beta) in that unit and the best optimum of
#: the first ``n_starts`` is kept (the likelihood has flat ridges where one start stalls); on
#: large data the starts race on a sample and the winner is polished on every customer.
#: The bounds keep the hypergeometric terms finite (exp(-9) ~ 1e-4 to exp(9) ~ 8e3).
PARETO_NBD_PARAMS: dict = {
    "penalizer": 0.0,
    "n_starts": 3,
    "starts": ((1.0, 1.0, 1.0, 1.0), (0.5, 0.3, 0.5, 3.0), (2.0, 3.0, 0.3, 0.3)),
    "log_bounds": ((-9.0, 9.0),) * 4,
    "maxiter": 2000,
    # above this many distinct (x, t_x, T) rows the starts race on a customer sample of this size
    # (CDNOW in days, ~10^4 distinct rows: 9.3 s with every start on all rows, 5.5 s racing)
    "race_rows": 5_000,
    "seed": 0,
}

#: an optional feature family (training.feature_selection) is kept only when its validation AUC
#: gain is at least this, besides a Brier score lower with probability >= GATE_CONFIDENCE: every
#: kept family is computed for every scored customer (on 1M synthetic customers the 'silence'
#: family, kept for +0.0002 AUC, cost 1.6 s and 170 MB), and gains below the fold-to-fold noise
#: of CDNOW's validation AUC (+-0.001) are not gains
FAMILY_MIN_AUC_GAIN: float = 0.001

#: the most distinct values a text column of the profiles file may have to be a model feature
#: (``profile`` family, models.profile_features); more is an identifier or free text
PROFILE_MAX_CATEGORIES: int = 50

#: horizons (days) of the per-customer spend forecast ``expected_spend_<h>d`` (models.spend)
SPEND_HORIZONS: tuple[int, ...] = (90, 180, 365)

#: LightGBM Tweedie regression of the spend forecast: shallow trees with large leaves rank better
#: out of time than deeper ones (the model corrects BG/NBD x Gamma-Gamma, given as features)
SPEND_LGBM_PARAMS: dict = {
    **LGBM_PARAMS,  # the classifiers' trees, sampling and regularisation
    "objective": "tweedie",
    "tweedie_variance_power": 1.5,
    "learning_rate": 0.1,
    "max_bin": 63,
}
SPEND_NUM_BOOST_ROUND: int = 100

#: a horizon gets its own spend model only when at least this many training windows observe it
#: (the latest validates, the others train); longer horizons are extrapolated from the longest one
SPEND_MIN_WINDOWS: int = 3

#: the spend gate serves the model at a horizon only when, on the validation window, its
#: normalized Gini and Spearman are at least BG/NBD x Gamma-Gamma's plus these margins and its
#: decile calibration error at most this multiple of BG/NBD x Gamma-Gamma's (on one validation
#: window the decile error mostly measures the level, which both forecasts take from BG/NBD; the
#: margin keeps a better ranking from being refused over that window's own level)
#: On top of that, a paired bootstrap over the validation customers must find the model's Gini and
#: its Spearman higher than the classical ones each with probability >= GATE_CONFIDENCE, as the
#: churn gate asks of a Brier score: on a small base one window's lead is often chance (600 CDNOW
#: customers: the model led on validation and lost by 0.07 Gini out of time), and the classical
#: forecast is the safe side. The bootstrap runs on at most ``bootstrap_customers`` customers.
SPEND_GATE: dict = {"min_gini_gain": 0.0, "min_spearman_gain": 0.0, "max_decile_error_ratio": 1.25,
                    "min_win_probability": GATE_CONFIDENCE, "bootstrap": 200, "bootstrap_customers": 20_000}
