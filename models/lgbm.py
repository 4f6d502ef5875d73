"""How the served LightGBM boosters are asked for predictions.

LightGBM starts its OpenMP threads on every ``predict`` call: for one customer (the HTTP
service) that costs ten times the prediction itself (0.55 ms against 0.06 ms per booster on
this project's 2-core machine, and several ms when the cores are busy), while a batch of a
million rows gains from every core. So small inputs are predicted on one thread.
"""

from __future__ import annotations

__all__ = ["SINGLE_THREAD_BELOW", "predict_threads"]

#: inputs with fewer rows than this are predicted on one thread (a performance choice)
SINGLE_THREAD_BELOW = 5_000


def predict_threads(n_rows: int) -> int:
    """``num_threads`` for a LightGBM ``predict`` of ``n_rows`` rows (0 = LightGBM's default, every core)."""
    return 1 if n_rows < SINGLE_THREAD_BELOW else 0
