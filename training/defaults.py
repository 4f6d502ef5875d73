"""Defaults of the training commands: the one place they are set.

The CLI (``crmid train`` / ``crmid evaluate``), :func:`training.train`, :func:`training.evaluate`
and the MLproject entry points all read these: MLproject parameters default to an empty string,
which the CLI reads as "use the default from this module". Model hyper-parameters live in
:mod:`models.defaults`.
"""

from __future__ import annotations

from crmid.models.registry import BUNDLE_MODEL_NAME, CHAMPION_ALIAS, CHURN_MODEL_NAME, NEXT_PURCHASE_MODEL_NAME

#: churn horizon H in days when none is given
HORIZON_DAYS: int = 90
#: MLflow experiment of training and evaluation runs
EXPERIMENT: str = "crmid"
#: working directory (under the current directory) for the default SQLite store and artifacts
WORK_DIR: str = "crmid-work"
#: evaluation report directory when none is given
REPORT_DIR: str = "crmid-work/report"
#: horizons always reported by the evaluation besides H
REPORT_HORIZONS: tuple[int, ...] = (30, 90)

__all__ = ["HORIZON_DAYS", "EXPERIMENT", "WORK_DIR", "REPORT_DIR", "REPORT_HORIZONS", "BUNDLE_MODEL_NAME",
           "CHURN_MODEL_NAME", "NEXT_PURCHASE_MODEL_NAME", "CHAMPION_ALIAS"]
