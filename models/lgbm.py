"""How crmid's LightGBM boosters are trained and asked for predictions.

LightGBM starts its OpenMP threads on every ``predict`` call: for one customer (the HTTP
service) that costs ten times the prediction itself (0.55 ms against 0.06 ms per booster on
this project's 2-core machine, and several ms when the cores are busy), while a batch of a
million rows gains from every core. So small inputs are predicted on one thread.
"""

from __future__ import annotations

from . import defaults

__all__ = ["SINGLE_THREAD_BELOW", "predict_threads", "training_params"]

#: inputs with fewer rows than this are predicted on one thread (a performance choice)
SINGLE_THREAD_BELOW = 5_000


def predict_threads(n_rows: int) -> int:
    """``num_threads`` for a LightGBM ``predict`` of ``n_rows`` rows (0 = LightGBM's default, every core)."""
    return 1 if n_rows < SINGLE_THREAD_BELOW else 0


def training_params(base: dict, overrides: dict | None, seed: int | None) -> dict:
    """The parameters one booster is trained with: a default set, the estimator's overrides, the seed.

    ``seed`` None is :data:`models.defaults.SEED`; training uses every core (``num_threads`` 0).
    """
    return {**base, **(overrides or {}), "seed": defaults.SEED if seed is None else int(seed), "num_threads": 0}
