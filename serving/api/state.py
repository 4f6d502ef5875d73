"""What the service holds between requests: the workspace, the store and the scoring context.

The context (model + rules) is replaced whole on a model reload, under a lock; a request takes
the context once (:mod:`crmid.serving.api.deps`) and uses that one throughout, so no response mixes
two models. The rules engine reloads itself atomically in place (see ``RulesEngine.reload``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from crmid.config import Workspace

from ..context import ScoringContext, load_context
from ..store import ScoresStore, open_store
from .coalescing import Coalescer

__all__ = ["ServingState"]


@dataclass
class ServingState:
    workspace: Workspace
    context: ScoringContext
    store: ScoresStore | None
    #: concurrent /v1/score requests scored in one call
    coalescer: Coalescer = field(default_factory=Coalescer)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def load(cls, workspace: Workspace) -> ServingState:
        """Start-up: rules (must load), model (may be missing), store (when enabled)."""
        store = open_store(workspace.store_url) if workspace.store_enabled else None
        return cls(workspace=workspace, context=load_context(workspace, require_model=False), store=store)

    def reload_model(self) -> ScoringContext:
        """Load the workspace's model again (a newly registered champion) and swap it in.

        Raises :class:`crmid.serving.context.NoModelError` and keeps the current model when
        none can be loaded.
        """
        with self._lock:
            fresh = load_context(self.workspace, require_model=True, engine=self.context.engine)
            self.context = fresh
            return fresh
