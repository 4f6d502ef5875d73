"""The batch fast path (banding + one engine call per distinct input + join back) is exact.

The one-by-one path posts every customer to every table; the fast path groups customers by the
cells of each table's inputs. On a randomised population with values exactly on the thresholds
and missing fields, both must give identical decisions, reasons included.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from crmid.rules import RulesEngine
from crmid.rules.banding import cell_codes
from crmid.rules.rulesets import _ONE_BY_ONE_MAX
from crmid.rules.synthetic import random_facts, to_records

from .conftest import plain

# one-by-one evaluation runs ~500 customers/s: this keeps the test near 15 s; raise it for a
# longer soak with CRMID_RULES_EQUIVALENCE_N
N = int(os.environ.get("CRMID_RULES_EQUIVALENCE_N", "8000"))


@pytest.fixture(scope="module")
def reference(config):
    """One by one, every customer posted to durable-rules (no cell remembered between customers)."""
    return RulesEngine(config, remember_cells=False)


def test_fast_path_equals_one_by_one(engine, reference):
    frame = random_facts(N, seed=20240611)
    fast = engine.decide_frame(frame)
    records = to_records(frame)
    assert len(fast) == len(records) == N
    mismatches = []
    for row, facts in zip(fast.to_dict("records"), records, strict=True):
        slow = reference.decide(facts)
        fast_row = {k: plain(v) for k, v in row.items()}
        if fast_row != slow:
            mismatches.append((facts, {k: (fast_row[k], slow[k]) for k in slow if fast_row[k] != slow[k]}))
    assert not mismatches, f"{len(mismatches)} mismatches, first: {mismatches[0]}"
    # the population reaches the rules: every family has several outcomes
    for column in ("value_tier", "relationship_type", "lifecycle_stage", "man_class", "six_c_grade",
                   "distributor_fit", "temperature", "purchase_type", "action"):
        assert fast[column].nunique() >= 3, column


@pytest.mark.parametrize("repeats", [1, 40], ids=["spread-out rows", "few distinct rows"])
def test_reasons_and_their_json_match_one_by_one(engine, reference, repeats):
    # spread-out inputs give nearly one combination of outcomes per row, repeated rows few: the
    # two ways reasons are built must both give each row exactly its one-by-one reasons
    frame = pd.concat([random_facts(3000 // repeats, seed=5)] * repeats, ignore_index=True)
    out = engine.decide_frame(frame, reasons_json=True)
    assert len(out) == 3000
    for i in (0, 1, 777, 2999):
        assert out["reasons"].iloc[i] == reference.decide(to_records(frame.iloc[[i]])[0])["reasons"]
    for reasons, text in zip(out["reasons"], out["reasons_json"], strict=True):
        assert reasons  # every customer gets at least the retention decision's reason
        assert text == json.dumps(reasons, ensure_ascii=False)
    assert "reasons_json" not in engine.decide_frame(frame).columns


def test_fast_path_on_another_configuration(raw_config, write_config):
    raw_config["version"] = "shifted"
    raw_config["value_tier"]["cut_points"].update(platinum=0.9, gold=0.7, iron=0.2)
    raw_config["churn_risk"]["cut_points"].update(medium=0.2, high=0.5, critical=0.75)
    engine = RulesEngine.from_path(write_config(raw_config))
    frame = random_facts(1500, seed=7, config=engine.config)
    fast = engine.decide_frame(frame)
    one_by_one = RulesEngine(engine.config, remember_cells=False)
    for row, facts in zip(fast.to_dict("records"), to_records(frame, nested=False), strict=True):
        assert {k: plain(v) for k, v in row.items()} == one_by_one.decide(facts)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_remembered_cells_decide_as_the_engine_does(config, reference, lang):
    # each customer alone (online), the engine asked once per cell of a table's inputs: the same
    # decisions and reasons as asking it for every customer, values on the thresholds included;
    # the second pass is answered from the remembered cells only
    remembering = RulesEngine(config)
    records = to_records(random_facts(3000, seed=31))
    for _ in range(2):
        for facts in records:
            assert remembering.decide(facts, lang=lang) == reference.decide(facts, lang=lang), facts
    compiled = remembering._compiled
    assert sum(len(c) for c in compiled._cells.values()) < len(records) * len(compiled.tables) / 3


def test_cells_separate_every_side_of_every_threshold():
    x = np.array([0.1, 0.3, 0.31, 0.8, 0.9, 0.95, 0.99, np.nan, -1.0, 1.0])
    codes, size = cell_codes(x, [0.3, 0.8, 0.95])
    assert list(codes) == [0, 1, 2, 3, 4, 5, 6, 7, 0, 6]
    assert size == 8


def _count_posts(engine) -> list:
    """The engine's batch posts as ``(table, events)``, recorded from now on (undone by ``del``)."""
    calls = []
    compiled = engine._compiled
    original = compiled._post_many

    def counting(table, events):
        calls.append((table.name, len(events)))
        return original(table, events)

    compiled._post_many = counting
    return calls


def test_frames_decided_again_are_answered_from_remembered_cells(config, reference):
    # frames too large to go row by row (a service deciding lists of customers again and again):
    # cells seen in an earlier call are not posted again, and every row still decides as the
    # engine does (reasons included)
    remembering = RulesEngine(config)
    frame = random_facts(1500, seed=41, config=config)
    first = remembering.decide_frame(frame)
    calls = _count_posts(remembering)
    size = _ONE_BY_ONE_MAX + 8
    try:
        again = [remembering.decide_frame(frame.iloc[i:i + size]) for i in range(0, 1500, size)]
    finally:
        del remembering._compiled._post_many
    assert calls == []  # every cell answered from memory
    again = pd.concat(again)
    for got_first, got_again, facts in zip(first.to_dict("records"), again.to_dict("records"),
                                           to_records(frame), strict=True):
        expected = reference.decide(facts)
        assert {k: plain(v) for k, v in got_first.items()} == expected
        assert {k: plain(v) for k, v in got_again.items()} == expected


def test_distinct_inputs_are_few(config):
    # a million customers collapse to a few hundred engine calls per table: check on 20k
    engine = RulesEngine(config)  # nothing remembered yet: every cell is posted once
    frame = random_facts(20_000, seed=3)
    calls = _count_posts(engine)
    try:
        engine.decide_frame(frame)
    finally:
        del engine._compiled._post_many
    assert 0 < max(n for _, n in calls) < 1000


@pytest.mark.parametrize("size", [1, 2, _ONE_BY_ONE_MAX, _ONE_BY_ONE_MAX + 1])
def test_small_frames_decide_as_the_fast_path_does(engine, size):
    """Frames of up to a few rows are decided row by row (one customer online); same values, same JSON."""
    frame = random_facts(600, seed=11, config=engine.config)
    fast = engine.decide_frame(frame, reasons_json=True)
    for start in range(0, 600, 97):
        part = engine.decide_frame(frame.iloc[start:start + size], reasons_json=True)
        assert list(part.columns) == list(fast.columns)
        assert list(part.index) == list(frame.index[start:start + size])
        expected = fast.iloc[start:start + size]
        for got, want in zip(part.to_dict("records"), expected.to_dict("records"), strict=True):
            assert {k: plain(v) for k, v in got.items()} == {k: plain(v) for k, v in want.items()}
        for name in ("six_c_score", "distributor_score"):
            assert part[name].dtype == np.float64
