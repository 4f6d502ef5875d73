"""``crmid retrain`` and ``crmid model rollback`` against a real MLflow registry (SQLite, in a tmp dir)."""

from __future__ import annotations

import json

import mlflow
import pytest
import sqlalchemy as sa

from .conftest import crmid, ok, write_config


def _client(work):
    return mlflow.MlflowClient(tracking_uri=f"sqlite:///{work / 'mlflow.db'}")


def _alias(client, alias, name="crmid-customer"):
    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except mlflow.exceptions.MlflowException:
        return None


def _latest_run_model(work):
    engine = sa.create_engine(f"sqlite:///{work / 'scores.db'}")
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT model_version FROM crmid_runs WHERE status = 'complete' "
                                    "ORDER BY started_at DESC LIMIT 1")).scalar_one()


@pytest.fixture()
def champion_1997(tx_files, tmp_path):
    """A workspace whose champion (version 1) was trained at 1997-12-31, H 90."""
    ok("train", "--transactions", tx_files["1997-12-31"], "--as-of", "1997-12-31", "--horizon", "90",
       "--work-dir", tmp_path)
    return tmp_path


def test_promoted_challenger_is_served_and_rollback_restores_the_champion(champion_1997, tx_files, tmp_path,
                                                                          monkeypatch):
    work, tx = champion_1997, tx_files["1998-03-31"]
    client = _client(work)
    # every challenger wins: the promotion path, whatever the sample's figures
    monkeypatch.setenv("CRMID_MONITORING_CONFIG", str(write_config(tmp_path / "eager.yaml", retrain={
        "min_auc_gain": -1.0, "min_brier_gain": -1.0})))
    result = json.loads(ok("retrain", "--transactions", tx, "--as-of", "1998-03-31", "--format", "json",
                           "--work-dir", work).out)
    assert result["promoted"] and "wins by the margin" in result["reason"]
    assert result["window"] == {"from": "1997-12-31", "to": "1998-03-31"}
    assert result["champion"]["version"] == "1" and result["champion"]["trained_to"] == "1997-12-31"
    for who in ("champion", "challenger", "bgnbd"):
        assert 0.5 < result[who]["auc"] <= 1 and 0 < result[who]["brier"] < 0.5 and result[who]["n"] > 100
    assert result["challenger"]["trained_to"] == "1997-12-31"  # judged without seeing the window
    assert result["challenger"]["registered_trained_to"] == "1998-03-31"  # then refitted on everything
    assert result["new_version"] == "2" and result["previous_version"] == "1"
    assert _alias(client, "champion") == "2" and _alias(client, "previous") == "1"
    assert client.get_run(result["mlflow_run_id"]).data.tags["crmid.promoted"] == "True"

    # the next score uses the new version
    ok("score", "--transactions", tx, "--as-of", "1998-03-31", "--out", tmp_path / "s.parquet", "--work-dir", work)
    assert _latest_run_model(work) == "crmid-customer/2"

    # the same data again does not flip-flop, even with a margin that promotes anything
    again = json.loads(ok("retrain", "--transactions", tx, "--as-of", "1998-03-31", "--format", "json",
                          "--work-dir", work).out)
    assert not again["promoted"] and "this very data" in again["reason"] and _alias(client, "champion") == "2"

    ran = ok("model", "rollback", "--work-dir", work)
    assert "crmid-customer: @champion 2 -> 1" in ran.out
    assert _alias(client, "champion") == "1" and _alias(client, "previous") is None
    assert "rolled_back_at" in client.get_model_version("crmid-customer", "2").tags
    ok("score", "--transactions", tx, "--as-of", "1998-03-31", "--out", tmp_path / "s2.parquet", "--work-dir", work)
    assert _latest_run_model(work) == "crmid-customer/1"
    ran = crmid("model", "rollback", "--work-dir", work)
    assert ran.code == 1 and "nothing to roll back to" in ran.err


def test_a_challenger_short_of_the_margin_is_not_promoted(champion_1997, tx_files, tmp_path, monkeypatch):
    work = champion_1997
    monkeypatch.setenv("CRMID_MONITORING_CONFIG", str(write_config(tmp_path / "strict.yaml", retrain={
        "min_auc_gain": 0.5})))
    args = ["retrain", "--transactions", tx_files["1998-03-31"], "--as-of", "1998-03-31", "--work-dir", work]
    result = json.loads(ok(*args, "--format", "json").out)
    assert not result["promoted"] and "does not win by the margin" in result["reason"]
    assert result["new_version"] is None and result["champion"]["auc"] is not None
    client = _client(work)
    assert _alias(client, "champion") == "1" and _alias(client, "previous") is None
    assert len(client.search_model_versions("name='crmid-customer'")) == 1  # nothing registered
    # the same data twice gives the same verdict
    assert not json.loads(ok(*args, "--format", "json").out)["promoted"]
    assert "not promoted: the challenger does not win" in ok(*args).out


def test_train_no_promote_registers_without_moving_the_alias(champion_1997, tx_files):
    ran = ok("train", "--transactions", tx_files["1998-03-31"], "--as-of", "1998-03-31", "--horizon", "90",
             "--no-promote", "--work-dir", champion_1997)
    assert "registered crmid-customer version 2" in ran.out and "@champion" not in ran.out
    assert _alias(_client(champion_1997), "champion") == "1"


def test_a_champion_trained_with_profiles_is_judged_with_them_and_says_when_they_are_missing(
        small_cdnow, tx_files, tmp_path, monkeypatch):
    """`crmid train --customers` keeps a telling profile column; `crmid retrain` and `crmid monitor`
    read the profiles with `--customers`, and say so when they are not given."""
    import numpy as np
    import pandas as pd

    ids = pd.Series(sorted(small_cdnow["customer_id"].astype(str).unique()))
    autumn = small_cdnow[(small_cdnow["date"] > "1997-10-01") & (small_cdnow["date"] <= "1997-12-31")]
    profiles = tmp_path / "profiles.csv"
    pd.DataFrame({"customer_id": ids, "autumn_buyer": np.where(ids.isin(autumn["customer_id"].astype(str)),
                                                               "yes", "no")}).to_csv(profiles, index=False)
    work = tmp_path / "w"
    ok("train", "--transactions", tx_files["1997-12-31"], "--as-of", "1997-12-31", "--horizon", "90",
       "--customers", profiles, "--work-dir", work)
    card = json.loads(ok("model", "show", "--format", "json", "--work-dir", work).out)
    assert card["feature_families"]["profile"]["kept"], card["feature_families"]["profile"]["reason"]
    # a margin no challenger meets: only the judging is under test here
    strict = write_config(tmp_path / "strict.yaml", retrain={"min_auc_gain": 1.0})
    common = ("retrain", "--transactions", tx_files["1998-03-31"], "--as-of", "1998-03-31", "--format", "json",
              "--work-dir", work)
    monkeypatch.setenv("CRMID_MONITORING_CONFIG", str(strict))
    without = json.loads(ok(*common).out)
    given = json.loads(ok(*common, "--customers", profiles).out)
    assert any("reads profile features and no --customers" in n for n in without["notes"])
    assert given["notes"] == [] and not given["promoted"]
    assert given["champion"]["brier"] < without["champion"]["brier"]  # the champion reads what it learnt from
    ok("score", "--transactions", tx_files["1998-03-31"], "--as-of", "1998-03-31", "--customers", profiles,
       "--out", tmp_path / "s.parquet", "--work-dir", work)
    report = ok("monitor", "--transactions", tx_files["1998-03-31"], "--work-dir", work).out
    assert "note: the champion" in report and "reads profile features" in report
    report = ok("monitor", "--transactions", tx_files["1998-03-31"], "--customers", profiles, "--work-dir", work).out
    assert "note:" not in report
