"""The scoring context: the scorer, the rules and the CLV reference, loaded by one function.

Batch (``crmid score``), the HTTP service and Spark all build their context with
:func:`load_context`, so they score with the same model, the same rules and a reference they can
name. The CLV reference is what a value percentile is ranked against:

* a batch run ranks against its own population (and stores that table with the run);
* a lone customer (``POST /v1/score``) is ranked against the latest complete stored run that the
  same model scored, else against the training population saved with the model.

Which one was used is always said (:attr:`ScoringContext.reference_source`); with neither, the
reference is ``"none"`` and the value percentile is not assessed, by name, never silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from crmid.config import Workspace
    from crmid.models import CustomerScorer
    from crmid.rules import RulesEngine

    from .store import ScoresStore

__all__ = ["ClvReference", "NoModelError", "ScoringContext", "load_context", "reference_for"]


class NoModelError(RuntimeError):
    """No model could be loaded; the message says where it was looked for and how to train one."""


@dataclass(frozen=True)
class ClvReference:
    """A CLV quantile table and where it came from (``run:<id>``, ``model:<version>`` or ``none``)."""

    table: np.ndarray
    source: str


@dataclass(frozen=True)
class ScoringContext:
    """What scoring needs, loaded together; replaced whole (never mutated) on a model reload.

    Attributes
    ----------
    scorer : CustomerScorer or None
        None when no model is registered yet (``model_error`` says why); rules still work.
    engine : RulesEngine
    model_error : str or None
    """

    scorer: CustomerScorer | None
    engine: RulesEngine
    model_error: str | None = None

    @property
    def model_version(self) -> str | None:
        return None if self.scorer is None else str(self.scorer.version)

    @property
    def rules_version(self) -> str:
        return str(self.engine.version)

    def require_scorer(self) -> CustomerScorer:
        if self.scorer is None:
            raise NoModelError(self.model_error or "no model loaded")
        return self.scorer


def _no_model_message(workspace: Workspace, exc: Exception) -> str:
    return (f"no model at {workspace.model_uri} in {workspace.tracking_uri} ({exc}); train one with "
            "`crmid train --transactions FILE --as-of DATE`, then restart or POST /v1/model/reload")


def load_scorer_of(workspace: Workspace):
    """The workspace's model; :class:`NoModelError` naming where it was looked for and how to train one."""
    from crmid.models import ScorerLoadError, load_scorer

    try:
        return load_scorer(workspace.model_uri, tracking_uri=workspace.tracking_uri,
                           registry_uri=workspace.registry_uri)
    except ScorerLoadError as exc:
        raise NoModelError(_no_model_message(workspace, exc)) from exc


def load_context(workspace: Workspace, *, require_model: bool = True, engine: RulesEngine | None = None
                 ) -> ScoringContext:
    """Load the workspace's model and rules.

    Parameters
    ----------
    workspace : crmid.config.Workspace
    require_model : bool
        True (batch): a missing model raises :class:`NoModelError`. False (the HTTP service):
        the context holds no scorer and says why.
    engine : RulesEngine, optional
        Rules already loaded (a model reload keeps the rules in force).
    """
    from crmid.rules import RulesEngine

    engine = engine or RulesEngine.from_path(workspace.rules_path)
    try:
        scorer = load_scorer_of(workspace)
    except NoModelError as exc:
        if require_model:
            raise
        return ScoringContext(scorer=None, engine=engine, model_error=str(exc))
    return ScoringContext(scorer=scorer, engine=engine)


def reference_for(context: ScoringContext, store: ScoresStore | None) -> ClvReference:
    """The CLV reference a lone customer is ranked against (see the module docstring)."""
    scorer = context.require_scorer()
    if store is not None:
        latest = store.latest_run(model_version=scorer.version)
        if latest is not None and latest.clv_reference.size:
            return ClvReference(latest.clv_reference, f"run:{latest.run_id}")
    if scorer.clv_reference.size:
        return ClvReference(scorer.clv_reference, f"model:{scorer.version}")
    return ClvReference(np.zeros(0), "none")
