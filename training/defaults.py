"""Defaults of the training commands that are not workspace settings: the one place they are set.

Where runs and models go (tracking URI, experiment, registered names, alias, report directory)
are workspace settings (:mod:`crmid.config`). The CLI, :func:`crmid.training.train`,
:func:`crmid.training.evaluate` and the MLproject entry points read these: MLproject parameters
default to an empty string, which the CLI reads as "use the default". Model hyper-parameters live
in :mod:`crmid.models.defaults`.
"""

from __future__ import annotations

#: churn horizon H in days when none is given
HORIZON_DAYS: int = 90
#: horizons always reported by the evaluation besides H
#: horizons ``crmid evaluate`` judges P(purchase within t) at, besides H, where the data after the
#: as-of date reaches them
REPORT_HORIZONS: tuple[int, ...] = (30, 90, 180, 365)

__all__ = ["HORIZON_DAYS", "REPORT_HORIZONS"]
