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
