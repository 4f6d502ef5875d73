"""The rules configuration: one bad file per validation rule, and the comparison of versions."""

from __future__ import annotations

import pytest

from crmid.rules import ConfigError, default_config_path, diff_configs, load_config


def test_packaged_default_is_valid_and_versioned():
    cfg = load_config(default_config_path())
    assert isinstance(cfg.version, str) and cfg.version
    assert load_config(None).digest == cfg.digest


def _set(data, dotted, value):
    *path, last = dotted.split(".")
    for key in path:
        data = data[key]
    data[last] = value


def _delete(data, dotted):
    *path, last = dotted.split(".")
    for key in path:
        data = data[key]
    del data[last]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        # unknown key
        (lambda d: _set(d, "value_tier.colour", "blue"), "unknown key 'value_tier.colour'"),
        (lambda d: _set(d, "extras", 1), "unknown key 'extras'"),
        # missing key
        (lambda d: _delete(d, "temperature.hot_p30_from"), "missing key 'temperature.hot_p30_from'"),
        # wrong type
        (lambda d: _set(d, "value_tier.cut_points.gold", "high"),
         "'value_tier.cut_points.gold' = 'high' must be a number"),
        (lambda d: _set(d, "lifecycle.decline_recency_days", True),
         "'lifecycle.decline_recency_days' = True must be a number"),
        (lambda d: _set(d, "version", 3), "'version' = 3 must be a non-empty string"),
        (lambda d: _set(d, "value_type.maintain_tiers", "platinum"), "must be a list of names"),
        (lambda d: _set(d, "value_type.maintain_tiers", ["diamond"]), "unknown name 'diamond'"),
        # out of its domain
        (lambda d: _set(d, "churn_risk.cut_points.high", 1.5), "'churn_risk.cut_points.high' = 1.5 must be at most 1"),
        # cut points out of order
        (lambda d: _set(d, "value_tier.cut_points.gold", 0.99),
         "key 'value_tier.cut_points.gold' = 0.99 must be below 'value_tier.cut_points.platinum' = 0.95"),
        (lambda d: _set(d, "six_c.grade_cut_points.C", 70), "'six_c.grade_cut_points.C' = 70 must be below"),
        (lambda d: _set(d, "churn_risk.cut_points.medium", 0.7), "'churn_risk.cut_points.medium' = 0.7 must be below"),
        (lambda d: _set(d, "distributor.preferred_from", 81), "'distributor.preferred_from' = 81 must be below"),
        (lambda d: _set(d, "lifecycle.decline_recency_days", 400),
         "'lifecycle.decline_recency_days' = 400 must be below"),
        # weights not summing to 1
        (lambda d: _set(d, "six_c.weights.character", 0.35), "'six_c.weights' sum to 1.1, expected 1.0"),
        (lambda d: _set(d, "distributor.weights.price", 0.0), "'distributor.weights' sum to 0.95, expected 1.0"),
        (lambda d: _set(d, "facts.loyalty.weights.tenure", 0.5), "'facts.loyalty.weights' sum to 1.2, expected 1.0"),
        (lambda d: _delete(d, "six_c.weights.capital"), "'six_c.weights' has no weight for dimension 'capital'"),
        # missing action for a tier / band / MAN class
        (lambda d: _delete(d, "retention.actions.lead"), "'retention.actions' has no action for tier 'lead'"),
        (lambda d: _delete(d, "retention.actions.gold.high"),
         "'retention.actions.gold' has no action for churn band 'high'"),
        (lambda d: _delete(d, "retention.prospect_actions.qualified"),
         "'retention.prospect_actions' has no action for MAN class 'qualified'"),
        (lambda d: _set(d, "retention.actions.gold.high.action", "Call Them!"), "must be an action code"),
        (lambda d: _delete(d, "retention.actions.iron.low.text"), "missing key 'retention.actions.iron.low.text'"),
        # priorities that would break the invariants
        (lambda d: _set(d, "retention.actions.gold.critical.priority", 1),
         "'retention.actions.gold.critical.priority' = 1 is below 'retention.actions.gold.high.priority'"),
        (lambda d: _set(d, "retention.actions.lead.low.priority", 99),
         "'retention.actions.lead.low.priority' = 99 is above 'retention.actions.iron.low.priority'"),
    ],
)
def test_bad_configuration_is_rejected_with_key_and_problem(raw_config, write_config, change, message):
    change(raw_config)
    path = write_config(raw_config)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert message in str(err.value)
    assert str(path) in str(err.value)


def test_several_problems_are_all_listed(raw_config, write_config):
    _set(raw_config, "value_tier.colour", "blue")
    _set(raw_config, "temperature.hot_p30_from", "x")
    with pytest.raises(ConfigError, match="2 problems") as err:
        load_config(write_config(raw_config))
    assert "value_tier.colour" in str(err.value) and "temperature.hot_p30_from" in str(err.value)


def test_unreadable_and_non_yaml_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    bad.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping of sections"):
        load_config(bad)


def test_diff_configs_names_each_change(config, raw_config, write_config):
    raw_config["version"] = "next"
    raw_config["value_tier"]["cut_points"]["platinum"] = 0.9
    new = load_config(write_config(raw_config))
    changes = diff_configs(config, new)
    assert "value_tier.cut_points.platinum: 0.95 -> 0.9" in changes
    assert any(c.startswith("version:") for c in changes)
    assert diff_configs(config, config) == []
