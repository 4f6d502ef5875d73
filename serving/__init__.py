"""Serving: model outputs and rule decisions merged into one explained decision per customer.

One scoring function serves every path: :func:`score_customers` (and its two stages
:func:`predict_stage` and :func:`decide_stage`) is what the batch job, the HTTP API and the Spark
job all run.

Exports
-------
score_customers, predict_stage, decide_stage, ScoringResult, SCORE_COLUMNS
    The scoring function, its stages and the scored columns.
run_batch, BatchSummary
    The nightly batch job behind ``crmid score``.

Submodules with heavier dependencies are imported where used: :mod:`serving.store` (SQLAlchemy
scores store and the retain ranking), :mod:`serving.spark` (the same scoring on Apache Spark),
:mod:`serving.api` (the FastAPI service), :mod:`serving.cli` (the ``crmid`` command).
"""


from crmid._lazy import lazy_exports

_EXPORTS = {
    "BatchSummary": "batch",
    "run_batch": "batch",
    "SCORE_COLUMNS": "scoring",
    "ScoringResult": "scoring",
    "decide_stage": "scoring",
    "predict_stage": "scoring",
    "score_customers": "scoring",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "SCORE_COLUMNS",
    "BatchSummary",
    "ScoringResult",
    "decide_stage",
    "predict_stage",
    "run_batch",
    "score_customers",
]
