"""The engine: frames in all accepted shapes, bad facts, reload, reload under concurrent use."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

from crmid import rules
from crmid.rules import OUTPUT_COLUMNS, ConfigError, FactsError, RulesEngine
from crmid.rules.config import SIX_C_DIMENSIONS
from crmid.rules.families import outputs
from crmid.rules.family import NUMBER
from crmid.rules.synthetic import random_facts


def test_package_exports_and_lazy_default_engine():
    for name in ("RulesEngine", "load_config", "ConfigError", "default_config_path", "diff_configs",
                 "decide", "decide_frame"):
        assert hasattr(rules, name)
    d = rules.decide({"customer_id": "x", "value_percentile": 0.99})
    assert d["value_tier"] == "platinum"
    frame = rules.decide_frame(pd.DataFrame({"customer_id": ["x"], "value_percentile": [0.99]}))
    assert frame.loc[0, "value_tier"] == "platinum"


def test_output_contract(engine):
    d = engine.decide({"customer_id": 7})
    assert list(d) == list(OUTPUT_COLUMNS)
    assert d["customer_id"] == 7
    assert isinstance(d["priority"], (int, float)) and d["action"] and d["action_text"]


@pytest.mark.parametrize(
    ("facts", "field"),
    [
        ({"customer_id": "c", "churn_probability": "high"}, "churn_probability"),
        ({"customer_id": "c", "churn_probability": 1.5}, "churn_probability"),
        ({"customer_id": "c", "money": "yes"}, "money"),
        ({"customer_id": "c", "segment": "government"}, "segment"),
        ({"customer_id": "c", "six_c": [1, 2]}, "six_c"),
        ({"customer_id": "c", "six_c": {"character": 120}}, "six_c.character"),
        ({"customer_id": "c", "recency_days": -1}, "recency_days"),
        ({"value_percentile": 0.5}, "customer_id"),
    ],
)
def test_bad_facts_name_field_value_and_expectation(engine, facts, field):
    with pytest.raises(FactsError) as err:
        engine.decide(facts)
    assert err.value.field == field
    assert "expected" in str(err.value)


def test_frame_rejects_bad_values_with_row(engine):
    frame = pd.DataFrame({"customer_id": ["a", "b"], "loyalty": [0.5, 3.0]})
    with pytest.raises(FactsError, match=r"row 1 \(customer_id 'b'\): field 'loyalty' = 3.0"):
        engine.decide_frame(frame)
    with pytest.raises(FactsError, match="field 'money'"):
        engine.decide_frame(pd.DataFrame({"customer_id": ["a"], "money": ["yes"]}))


def test_frame_shapes_nested_flat_and_nullable_booleans(engine, config):
    criteria = list(config.section("distributor")["weights"])
    six = {d: 75.0 for d in SIX_C_DIMENSIONS}
    dist = {c: 72.0 for c in criteria}
    nested = pd.DataFrame({
        "customer_id": ["a", "b", "c"],
        "segment": ["distributor", None, "business"],
        "money": pd.array([True, None, False], dtype="boolean"),
        "authority": np.array([True, True, False]),
        "need": [True, np.nan, 1],
        "six_c": [six, None, {"character": 50}],
        "distributor_criteria": [dist, None, None],
        "value_percentile": [0.99, np.nan, 0.1],
        "unrelated_column": ["x", "y", "z"],
    }, index=[10, 20, 30])
    flat = nested.drop(columns=["six_c", "distributor_criteria"])
    for d in SIX_C_DIMENSIONS:
        flat[f"six_c_{d}"] = [75.0, np.nan, 50.0 if d == "character" else np.nan]
    for c in criteria:
        flat[f"distributor_{c}"] = [72.0, np.nan, np.nan]
    a, b = engine.decide_frame(nested), engine.decide_frame(flat)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.index) == [10, 20, 30]
    assert list(a.columns) == list(OUTPUT_COLUMNS)
    # row c: only need (given as 1) -> low priority
    assert list(a["man_class"]) == ["qualified", "not_assessed", "low_priority"]
    assert a.loc[10, "six_c_grade"] == "B" and a.loc[10, "distributor_fit"] == "preferred"
    assert a.loc[30, "six_c_grade"] == "not_assessed"
    one_by_one = [engine.decide(r) for r in
                  [{"customer_id": "a", "segment": "distributor", "money": True, "authority": True, "need": True,
                    "six_c": six, "distributor_criteria": dist, "value_percentile": 0.99}]]
    assert a.iloc[0].to_dict() == one_by_one[0]


def test_empty_frame(engine):
    out = engine.decide_frame(pd.DataFrame({"customer_id": pd.Series([], dtype=object)}))
    assert len(out) == 0 and list(out.columns) == list(OUTPUT_COLUMNS)


def test_repeated_evaluation_is_stable(engine):
    # events are consumed: evaluating the same facts again and again gives the same decision
    facts = {"customer_id": "c", "value_percentile": 0.85, "churn_probability": 0.7, "loyalty": 0.2}
    first = engine.decide(facts)
    for _ in range(300):
        assert engine.decide(facts) == first


# --------------------------------------------------------------------------------------------
# reload
# --------------------------------------------------------------------------------------------
def _variant(raw_config, version, platinum):
    data = dict(raw_config)
    data["version"] = version
    data["value_tier"] = {"cut_points": dict(raw_config["value_tier"]["cut_points"], platinum=platinum)}
    return data


def test_reload_switches_and_reports_changes(raw_config, write_config):
    a = write_config(_variant(raw_config, "A", 0.95))
    b = write_config(_variant(raw_config, "B", 0.90))
    engine = RulesEngine.from_path(a)
    assert engine.decide({"customer_id": "c", "value_percentile": 0.92})["value_tier"] == "gold"
    summary = engine.reload(b)
    assert summary["old_version"] == "A" and summary["new_version"] == "B" and summary["changed"]
    assert "value_tier.cut_points.platinum: 0.95 -> 0.9" in summary["changes"]
    assert engine.version == "B" and engine.path == str(b)
    d = engine.decide({"customer_id": "c", "value_percentile": 0.92})
    assert (d["value_tier"], d["rules_version"]) == ("platinum", "B")
    # back to A: the same version name registered again must not trip durable-rules' registry
    engine.reload(a)
    assert engine.decide({"customer_id": "c", "value_percentile": 0.92})["value_tier"] == "gold"


def test_bad_reload_keeps_the_rules_in_force(raw_config, write_config):
    good = write_config(_variant(raw_config, "A", 0.95))
    engine = RulesEngine.from_path(good)
    bad = _variant(raw_config, "B", 0.95)
    bad["six_c"] = dict(bad["six_c"], weights=dict(bad["six_c"]["weights"], character=0.9))
    with pytest.raises(ConfigError, match=r"six_c\.weights"):
        engine.reload(write_config(bad))
    assert engine.version == "A" and engine.path == str(good)
    assert engine.decide({"customer_id": "c", "value_percentile": 0.97})["value_tier"] == "platinum"
    assert engine.check(good) == []


def test_changed_rules_under_the_same_version_are_refused(raw_config, write_config):
    engine = RulesEngine.from_path(write_config(_variant(raw_config, "A", 0.95)))
    same_name = write_config(_variant(raw_config, "A", 0.90))
    with pytest.raises(ConfigError, match=r"1 change\(s\) but the version is still 'A': give the changed rules a new"):
        engine.reload(same_name)
    assert engine.decide({"customer_id": "c", "value_percentile": 0.92})["value_tier"] == "gold"
    # an unchanged file under its own name reloads fine
    assert engine.reload(write_config(_variant(raw_config, "A", 0.95)))["changed"] is False


def test_a_file_that_is_not_utf8_is_a_config_error(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("version: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin1\.yaml: byte 12 is not UTF-8"):
        RulesEngine.from_path(path)


def test_facts_policy_is_a_copy(engine):
    policy = engine.facts_policy
    assert set(policy) >= {"clv_max_lifetime_days", "spend_trend_window_days", "loyalty"}
    policy["loyalty"]["weights"]["tenure"] = 99
    assert engine.facts_policy["loyalty"]["weights"]["tenure"] != 99


def test_reload_under_concurrent_evaluation(raw_config, write_config):
    paths = [write_config(_variant(raw_config, "A", 0.95)), write_config(_variant(raw_config, "B", 0.90))]
    expected = {"A": "gold", "B": "platinum"}
    engine = RulesEngine.from_path(paths[0])
    errors: list = []
    seen: set = set()
    stop = threading.Event()
    frame = pd.DataFrame({"customer_id": [f"c{i}" for i in range(50)], "value_percentile": 0.92})

    def evaluate(use_frame: bool) -> None:
        try:
            while not stop.is_set():
                if use_frame:
                    out = engine.decide_frame(frame)
                    versions = set(out["rules_version"])
                    assert len(versions) == 1  # one whole configuration per call
                    (version,) = versions
                    assert set(out["value_tier"]) == {expected[version]}
                else:
                    d = engine.decide({"customer_id": "c", "value_percentile": 0.92})
                    version = d["rules_version"]
                    assert d["value_tier"] == expected[version]
                    tier_reason = d["reasons"][0]["reason"]
                    assert ("0.9 " in tier_reason) == (version == "B")
                seen.add(version)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=evaluate, args=(i % 2 == 0,)) for i in range(4)]
    for t in threads:
        t.start()
    try:
        for i in range(30):
            engine.reload(paths[(i + 1) % 2])
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert not errors, errors[0]
    assert seen == {"A", "B"}


# numbers Python writes with an exponent, which durable-rules' reader refused (error code 204)
@pytest.mark.parametrize("field,odd,plain", [
    ("tenure_days", 1e20, 5_000.0), ("recency_days", 1e300, 10_000.0), ("clv", 1e17, 1e9),
    ("spend_trend", 1e-7, 0.0001), ("value_percentile", 1e-9, 0.0001), ("monetary", -1e18, -1e6),
])
def test_numbers_written_with_an_exponent_decide_like_their_neighbours(engine, field, odd, plain):
    """Any finite number is decided, one by one and in a frame, as a number in the same cell of
    every threshold is (``plain`` lies on the same side of each threshold of the packaged rules)."""
    base = {"customer_id": "x", "value_percentile": 0.5, "churn_probability": 0.4, "recency_days": 30.0,
            "tenure_days": 400.0, "spend_trend": 1.0, "loyalty": 0.6}
    got, expected = engine.decide({**base, field: odd}), engine.decide({**base, field: plain})
    assert {k: v for k, v in got.items() if k != "customer_id"} == {
        k: v for k, v in expected.items() if k != "customer_id"}
    # the frame path (more rows than the one-by-one path takes): the same decision for every row
    frame = engine.decide_frame(pd.DataFrame([{**base, field: odd, "customer_id": f"c{i}"} for i in range(50)]))
    assert set(frame["action"]) == {expected["action"]} and set(frame["priority"]) == {expected["priority"]}
    assert {tuple(r["rule"] for r in reasons) for reasons in frame["reasons"]} == {
        tuple(r["rule"] for r in expected["reasons"])}


def test_a_few_rows_decided_one_by_one_equal_the_fast_path_with_its_number_types(engine):
    """Frames of a few rows go row by row through the engine (cheap for one customer
    online); every cell equals the fast path's for the same rows, and numbers stay numbers."""
    population = random_facts(400, seed=7)
    fast = engine.decide_frame(population, reasons_json=True)
    numbers = {o.name for o in outputs(engine._compiled.families) if o.kind == NUMBER} | {"priority"}
    for start in range(0, 400, 4):
        few = engine.decide_frame(population.iloc[start:start + 4], reasons_json=True)
        assert list(few.columns) == list(fast.columns)
        assert few.index.tolist() == list(range(start, start + 4))
        for column in few.columns:
            expected = fast[column].iloc[start:start + 4]
            if column in numbers:
                assert few[column].dtype.kind in "if", column
                np.testing.assert_array_equal(few[column].to_numpy(dtype=float), expected.to_numpy(dtype=float))
            else:
                assert few[column].tolist() == expected.astype(object).tolist(), column
