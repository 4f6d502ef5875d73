"""What the service holds between requests: the workspace, the store and the scoring context.

The context (model + rules) is replaced whole on a model reload, under a lock; a request takes
the context once (:mod:`crmid.serving.api.deps`) and uses that one throughout, so no response mixes
two models. The rules engine reloads itself atomically in place (see ``RulesEngine.reload``).

With several worker processes (``crmid serve --workers N``) a reload request reaches one of them.
That worker writes the reload signal (:class:`ReloadSignal`, a small file the workers share) after
its own reload succeeded; every worker looks at the file before each request (one ``stat``) and
reloads what changed before answering. So once a reload has been answered, every later request,
whichever worker takes it, is served by the new model or rules.
"""

from __future__ import annotations

import fcntl
import gc
import json
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from crmid.config import Workspace

from ..context import ScoringContext, load_context
from ..store import ScoresStore, open_store
from .coalescing import Coalescer

__all__ = ["ReloadSignal", "ServingState", "settle_heap"]


class ReloadSignal:
    """Counts of the model and rules reloads done by any worker, in a file the workers share.

    Parameters
    ----------
    path : path-like
        The signal file (created on the first reload); ``path + ".lock"`` serialises writers.
    """

    KINDS = ("model", "rules")

    def __init__(self, path):
        self.path = Path(path)
        self._stamp = None

    def _read(self) -> dict:
        try:
            counts = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return dict.fromkeys(self.KINDS, 0)
        return {k: int(counts.get(k, 0)) for k in self.KINDS}

    def changed(self) -> bool:
        """Whether the file changed since this process last read or wrote it (one ``stat``)."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return False
        return (st.st_mtime_ns, st.st_size, st.st_ino) != self._stamp

    def _remember(self) -> None:
        st = os.stat(self.path)
        self._stamp = (st.st_mtime_ns, st.st_size, st.st_ino)

    def take(self) -> dict:
        """The current counts (and remember them as seen)."""
        counts = self._read()
        if self.path.exists():
            self._remember()
        return counts

    def announce(self, kind: str) -> dict:
        """Add one ``kind`` reload; the file is replaced atomically. Returns the new counts."""
        with open(f"{self.path}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            counts = self._read()
            counts[kind] += 1
            tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(counts))
            os.replace(tmp, self.path)
            self._remember()
        return counts


def settle_heap() -> None:
    """Put what the service now holds for good (models, rules, store) out of the cycle collector's sight.

    A loaded CDNOW model and the rules are about 350,000 objects the collector tracks; each full
    collection walked them all (160 ms on this 2-core machine), stalling every request in flight:
    under 8 clients that pause was the p99 of ``/v1/score``. Frozen objects are never walked again
    (``gc.freeze``, as pre-fork servers do). Each call first unfreezes and collects, so the
    objects of a model or rules a reload replaced are freed then, once, off the requests' path.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


@dataclass
class ServingState:
    workspace: Workspace
    context: ScoringContext
    store: ScoresStore | None
    #: concurrent /v1/score requests scored in one call
    coalescer: Coalescer = field(default_factory=Coalescer)
    #: shared with the other worker processes; None when this process is the only one
    reload_signal: ReloadSignal | None = None
    _seen: dict = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def load(cls, workspace: Workspace, reload_signal: ReloadSignal | None = None) -> ServingState:
        """Start-up: rules (must load), model (may be missing), store (when enabled)."""
        store = open_store(workspace.store_url) if workspace.store_enabled else None
        seen = reload_signal.take() if reload_signal is not None else {}
        # a worker (re)started after a reload loads the current file and champion anyway
        return cls(workspace=workspace, context=load_context(workspace, require_model=False), store=store,
                   reload_signal=reload_signal, _seen=seen)

    @property
    def rules_path(self):
        return self.workspace.rules_path or self.context.engine.path

    def reload_model(self) -> ScoringContext:
        """Load the workspace's model again (a newly registered champion) and swap it in.

        Raises :class:`crmid.serving.context.NoModelError` and keeps the current model when
        none can be loaded. The other workers follow (see the module docstring).
        """
        with self._lock:
            fresh = load_context(self.workspace, require_model=True, engine=self.context.engine)
            self.context = fresh
            settle_heap()
            if self.reload_signal is not None:
                self._seen = self.reload_signal.announce("model")
            return fresh

    def reload_rules(self) -> dict:
        """Reload the rules file in place; raises ``ConfigError`` and keeps the rules when it is bad."""
        with self._lock:
            summary = self.context.engine.reload(self.rules_path)
            settle_heap()
            if self.reload_signal is not None:
                self._seen = self.reload_signal.announce("rules")
            return summary

    def reload_announced(self) -> bool:
        """Whether another worker announced a reload not taken up here yet (one ``stat``)."""
        return self.reload_signal is not None and self.reload_signal.changed()

    def follow_reloads(self) -> None:
        """Take up a reload another worker did (cheap when there is none: one ``stat``)."""
        signal = self.reload_signal
        if not self.reload_announced():
            return
        with self._lock:
            if not signal.changed():
                return
            counts = signal.take()
            try:
                if counts["rules"] != self._seen.get("rules", 0):
                    self.context.engine.reload(self.rules_path)
                if counts["model"] != self._seen.get("model", 0):
                    self.context = load_context(self.workspace, require_model=True, engine=self.context.engine)
            except Exception:  # the announcing worker loaded the same file and model: keep serving, log it
                logging.getLogger("crmid.serve").exception("following another worker's reload failed")
            settle_heap()
            self._seen = counts
