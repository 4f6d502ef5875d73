"""The coalescer: concurrent calls share one batch call, each gets its own answer, failures stay their own."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from crmid.serving.api.coalescing import Coalescer


class Recorder:
    """A batch function that records its calls; the first call waits until released."""

    def __init__(self, hold_first: bool = True, fail_on=()):
        self.calls: list[tuple] = []
        self.started = threading.Event()
        self.release = threading.Event()
        if not hold_first:
            self.release.set()
        self.fail_on = set(fail_on)

    def __call__(self, key, payloads):
        self.calls.append((key, list(payloads)))
        self.started.set()
        self.release.wait(10)
        if self.fail_on & set(payloads):
            raise ValueError(f"bad item in {sorted(self.fail_on & set(payloads))}")
        return [f"{key}:{p}" for p in payloads]


def _submit_while_held(coalescer, run, first, later):
    """Submit ``first`` (it starts a batch and is held), then ``later`` while it runs; release; all outcomes."""
    with ThreadPoolExecutor(len(later) + 1) as pool:
        head = pool.submit(coalescer.submit, *first, run)
        assert run.started.wait(10)
        rest = [pool.submit(coalescer.submit, *args, run) for args in later]
        deadline = time.time() + 10
        while len(coalescer._queue) < len(later) and time.time() < deadline:  # all queued behind the batch
            time.sleep(0.005)
        run.release.set()
        outcomes = []
        for f in [head, *rest]:
            try:
                outcomes.append(f.result(10))
            except Exception as exc:  # the outcome under test
                outcomes.append(exc)
    return outcomes


def test_a_lone_call_runs_at_once_alone():
    run = Recorder(hold_first=False)
    c = Coalescer()
    assert c.submit("k", "a", "a", run) == "k:a"
    assert run.calls == [("k", ["a"])] and (c.batches_, c.items_) == (1, 1)


def test_calls_arriving_during_a_batch_are_scored_together_each_with_its_own_answer():
    run = Recorder()
    c = Coalescer()
    later = [("k", x, x) for x in "bcdef"]
    outcomes = _submit_while_held(c, run, ("k", "a", "a"), later)
    assert outcomes == [f"k:{x}" for x in "abcdef"]
    assert run.calls == [("k", ["a"]), ("k", list("bcdef"))]
    assert (c.batches_, c.items_) == (2, 6)


def test_one_customer_twice_or_another_key_never_shares_a_call():
    run = Recorder()
    c = Coalescer()
    later = [("k", "b", "b1"), ("k", "b", "b2"), ("other", "c", "c"), ("k", "d", "d")]
    outcomes = _submit_while_held(c, run, ("k", "a", "a"), later)
    assert outcomes == ["k:a", "k:b1", "k:b2", "other:c", "k:d"]
    batches = [(key, items) for key, items in run.calls]
    assert batches[0] == ("k", ["a"]) and ("k", ["b1", "d"]) in batches
    assert ("k", ["b2"]) in batches and ("other", ["c"]) in batches and len(batches) == 4


def test_a_failing_item_fails_alone_and_the_others_get_their_answers():
    run = Recorder(fail_on={"c"})
    c = Coalescer()
    outcomes = _submit_while_held(c, run, ("k", "a", "a"), [("k", x, x) for x in "bcd"])
    assert outcomes[:2] == ["k:a", "k:b"] and outcomes[3] == "k:d"
    assert isinstance(outcomes[2], ValueError) and "['c']" in str(outcomes[2])


def test_batches_are_capped():
    run = Recorder()
    c = Coalescer(max_batch=2)
    outcomes = _submit_while_held(c, run, ("k", "a", "a"), [("k", x, x) for x in "bcde"])
    assert outcomes == [f"k:{x}" for x in "abcde"]
    assert [len(items) for _, items in run.calls] == [1, 2, 2]
    with pytest.raises(ValueError, match="at least 1"):
        Coalescer(max_batch=0)
