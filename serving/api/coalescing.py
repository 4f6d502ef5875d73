"""Concurrent one-customer requests scored together: one scoring call for all who arrived meanwhile.

Scoring one customer costs a fixed ~13 ms of frame set-up (snapshot, models, facts, rules) and
well under a millisecond per further customer: 8 customers in one :func:`serving.scoring.score_customers`
call take ~18 ms, one at a time ~107 ms. Python runs one request's scoring at a time anyway (the
GIL), so under load requests only queue behind each other.

:class:`Coalescer` is group commit for scoring. A request that finds nobody scoring scores at once,
alone: a lone client waits for nothing. Requests arriving while a batch is being scored queue; when
it ends, the oldest waiting request scores every queued request that can share its call (the same
key: model, as-of date, language) in one batch, up to ``max_batch`` and at most one request per
customer (the same customer twice in one frame would be one customer). Each request gets its own
row; the batch function must give every item the answer it would give it alone (the scoring
function is row-wise once the CLV reference is fixed, and a test holds it to that).

A batch that fails is run again one item at a time, so one bad request cannot fail the others.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from typing import Any

__all__ = ["Coalescer"]


class _Job:
    __slots__ = ("done", "error", "item", "key", "payload", "result", "run")

    def __init__(self, key, item, payload, run):
        self.key, self.item, self.payload, self.run = key, item, payload, run
        self.done, self.result, self.error = False, None, None


class Coalescer:
    """Group concurrent calls of a batch function (see the module docstring).

    Parameters
    ----------
    max_batch : int
        The most items scored in one call.

    Attributes
    ----------
    batches_, items_ : int
        Calls made and items scored so far (batches_ < items_ once requests were coalesced).
    """

    def __init__(self, max_batch: int = 32):
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        self.max_batch = max_batch
        self._cond = threading.Condition()
        self._queue: deque[_Job] = deque()
        self._running = False
        self.batches_ = 0
        self.items_ = 0

    def submit(self, key: Hashable, item: Hashable, payload: Any,
               run: Callable[[Any, Sequence[Any]], Sequence[Any]]) -> Any:
        """Run ``run(key, payloads)`` for ``payload``, together with concurrent calls of the same key.

        ``run`` returns one result per payload, in order. Blocks until this payload's result is
        known; re-raises the exception its scoring raised.
        """
        job = _Job(key, item, payload, run)
        with self._cond:
            self._queue.append(job)
        while True:
            with self._cond:
                while not job.done and self._running:
                    self._cond.wait()
                if job.done:
                    break
                self._running = True
                batch = self._take()
            try:
                self._execute(batch)
            finally:
                with self._cond:
                    for j in batch:  # interrupted mid-batch (not an Exception): nobody waits forever
                        if not j.done:
                            j.error, j.done = RuntimeError("scoring was interrupted"), True
                    self._running = False
                    self._cond.notify_all()
        if job.error is not None:
            raise job.error
        return job.result

    def _take(self) -> list[_Job]:
        """The oldest job and the queued jobs that can share its call (caller holds the lock)."""
        head = self._queue[0]
        batch, seen, rest = [], set(), deque()
        while self._queue:
            job = self._queue.popleft()
            if len(batch) < self.max_batch and job.key == head.key and job.item not in seen:
                batch.append(job)
                seen.add(job.item)
            else:
                rest.append(job)
        self._queue = rest
        return batch

    def _execute(self, batch: list[_Job]) -> None:
        run, key = batch[0].run, batch[0].key
        try:
            results = list(run(key, [j.payload for j in batch]))
            if len(results) != len(batch):
                raise RuntimeError(f"batch function gave {len(results)} results for {len(batch)} items")
            outcomes = [(r, None) for r in results]
        except Exception as exc:
            if len(batch) == 1:
                outcomes = [(None, exc)]
            else:  # find whose request failed: the others get their answers
                outcomes = []
                for j in batch:
                    try:
                        outcomes.append((run(key, [j.payload])[0], None))
                    except Exception as one:
                        outcomes.append((None, one))
        with self._cond:
            self.batches_ += 1
            self.items_ += len(batch)
            for j, (result, error) in zip(batch, outcomes, strict=True):
                j.result, j.error, j.done = result, error, True
