"""``crmid monitor``: the latest run against the champion's training reference; exit 3 on drift."""

from __future__ import annotations

import json

from .conftest import crmid, ok, write_config


def test_monitor_reports_psi_per_column_missing_rates_and_tier_changes(scored):
    result = json.loads(ok("monitor", "--format", "json", "--work-dir", scored.work).out)
    assert result["as_of"] == "1998-03-31" and result["reference_cutoff"] == "1997-12-31"
    assert result["champion"] == result["run_model_version"]
    outputs = {f["feature"]: f for f in result["features"]}
    assert {"churn_probability", "clv", "p_purchase_30d", "p_purchase_90d"} <= set(outputs)
    for f in result["features"]:
        assert set(f) == {"feature", "kind", "psi", "level", "missing_rate", "reference_missing_rate", "drift"}
        assert f["kind"] == "output" and f["psi"] >= 0 and 0 <= f["missing_rate"] <= 1
    # the RFM facts are stored with a run and compared; the other input features are not stored:
    # named, not silently left out
    assert {"recency_days", "frequency", "tenure_days"} <= set(outputs)
    assert "monetary_mean" in result["not_compared"]
    tiers = result["tier_change"]
    assert tiers["customers_compared"] > 0 and 0 <= tiers["share"] <= 1
    assert isinstance(result["drift"], bool) and result["thresholds"]["psi_alert"] == 0.25

    # with the transactions, the model's input features at the run's as-of date are compared too
    full = json.loads(ok("monitor", "--format", "json", "--transactions", scored.tx["1998-03-31"],
                         "--work-dir", scored.work).out)
    inputs = {f["feature"]: f for f in full["features"] if f["kind"] == "input"}
    assert {"monetary_mean", "ipt_mean_days", "n_purchases"} <= set(inputs)  # the RFM facts are stored outputs
    assert full["not_compared"] == []
    # three months later every customer is three months older: tenure shifts
    compared = {f["feature"]: f for f in full["features"]}
    assert compared["tenure_days"]["psi"] > compared["monetary_mean"]["psi"]
    assert "tenure_days" in ok("monitor", "--transactions", scored.tx["1998-03-31"], "--work-dir", scored.work).out


def test_fail_on_drift_exits_3_only_when_a_threshold_is_crossed(scored, tmp_path, monkeypatch):
    strict = write_config(tmp_path / "strict.yaml", drift={"psi_warn": 0.0, "psi_alert": 0.0})
    lax = write_config(tmp_path / "lax.yaml", drift={"psi_warn": 90.0, "psi_alert": 99.0, "missing_rate_alert": 1.1,
                                                     "tier_change_alert": 1.1})
    monkeypatch.setenv("CRMID_MONITORING_CONFIG", str(strict))
    ran = crmid("monitor", "--format", "json", "--fail-on-drift", "--work-dir", scored.work)
    assert ran.code == 3
    result = json.loads(ran.out)
    assert result["drift"] and result["config_version"] == "test-strict" and "PSI" in result["reasons"][0]
    assert crmid("monitor", "--format", "json", "--work-dir", scored.work).code == 0  # reported, not failed
    monkeypatch.setenv("CRMID_MONITORING_CONFIG", str(lax))
    ran = crmid("monitor", "--fail-on-drift", "--work-dir", scored.work)
    assert ran.code == 0 and "drift: none above the alert thresholds" in ran.out


def test_monitor_with_nothing_to_compare_exits_1(tmp_path):
    ran = crmid("monitor", "--work-dir", tmp_path)
    assert ran.code == 1 and "crmid score" in ran.err


def test_a_bad_monitoring_config_is_refused_naming_the_key(scored, tmp_path, monkeypatch):
    bad = tmp_path / "bad.yaml"
    bad.write_text(write_config(tmp_path / "x.yaml").read_text().replace("psi_alert", "psi_alarm"))
    monkeypatch.setenv("CRMID_MONITORING_CONFIG", str(bad))
    ran = crmid("monitor", "--work-dir", scored.work)
    assert ran.code == 2 and "unknown key drift.'psi_alarm'" in ran.err and "drift.psi_alert" in ran.err
