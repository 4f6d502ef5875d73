"""The README's first session, verbatim, then the HTTP service it starts, as a user checks them.

validate -> train -> score -> retain -> info -> serve, then over HTTP: readiness, decide (one and
many), score (ten customers of every value tier, field by field against the batch file), retain.
"""

from __future__ import annotations

import io
import json
import subprocess

import numpy as np
import pandas as pd
import pytest

from .conftest import assert_quiet, clean_env, readme_block, run, serve, transactions_body

pytestmark = pytest.mark.slow

TIERS = ("platinum", "gold", "iron", "lead", "not_assessed")


def _retain_order(scores: pd.DataFrame, top: int) -> list[str]:
    """The retain ranking computed independently from the batch file (priority, value at risk, tier, id)."""
    s = scores[scores["priority"] > 0].copy()
    s["tier_rank"] = s["value_tier"].astype(str).map({t: i for i, t in enumerate(TIERS)}).fillna(len(TIERS))
    s["risk"] = s["value_at_risk"].fillna(-np.inf)
    s["customer_id"] = s["customer_id"].astype(str)
    s = s.sort_values(["priority", "risk", "tier_rank", "customer_id"], ascending=[False, False, True, True])
    return list(s["customer_id"].head(top))


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """Every README command of the first session, run in order in a fresh directory."""
    cwd = tmp_path_factory.mktemp("first-session")
    outputs, service = {}, None
    for argv in readme_block("journey"):
        assert argv[0] == "crmid", f"the first session runs crmid commands only, got {argv}"
        if argv[1] == "serve":
            service = serve(argv, cwd)
        else:
            # keyed by the command; a second use of it by its last option too ("retain --sort")
            key = argv[1] if argv[1] not in outputs else f"{argv[1]} {[a for a in argv if a.startswith('--')][-1]}"
            outputs[key] = run(argv, cwd)
    assert service is not None, "the first session ends by starting the service"
    yield cwd, outputs, service
    service.stop()


def test_every_command_succeeds_quietly(session):
    cwd, outputs, _ = session
    assert set(outputs) == {"dataset", "validate", "train", "score", "retain", "retain --sort", "model", "info"}
    for name in ("train", "score"):
        assert_quiet(outputs[name])
    assert "valid" in outputs["validate"].stdout
    # everything went to the default workspace under the directory the user ran in
    assert (cwd / "crmid-work" / "mlflow.db").is_file() and (cwd / "crmid-work" / "scores.db").is_file()


def test_train_registers_the_champion_that_score_and_info_find(session):
    cwd, outputs, _ = session
    assert "registered crmid-customer version 1 @champion" in outputs["train"].stdout
    info = outputs["info"].stdout
    assert "champion    crmid-customer/1" in info
    assert f"sqlite:///{cwd.resolve() / 'crmid-work' / 'mlflow.db'}" in info
    assert "tracking_uri" in info and "default" in info


def test_score_writes_every_customer_and_the_store_run(session):
    cwd, outputs, _ = session
    tx = pd.read_csv(cwd / "tx.csv", dtype={"customer_id": str})
    scores = pd.read_parquet(cwd / "scores.parquet")
    n = tx["customer_id"].nunique()
    assert len(scores) == scores["customer_id"].nunique() == n == 23_570
    assert f"input customers {n:,} = scored {n:,} + rejected 0" in outputs["score"].stdout
    assert set(scores["model_version"].astype(str)) == {"crmid-customer/1"}
    # the value pyramid of the seeds: platinum is the top 5% of value, platinum + gold the top 20%
    tiers = scores["value_tier"].astype(str).value_counts(normalize=True)
    assert 0.03 < tiers["platinum"] < 0.07 and 0.15 < tiers["platinum"] + tiers["gold"] < 0.25
    assert "latest run" in outputs["info"].stdout and "23,570 scored" in outputs["info"].stdout


def test_retain_lists_twenty_in_the_batch_order(session):
    cwd, outputs, _ = session
    listed = pd.read_csv(io.StringIO(outputs["retain"].stdout), dtype={"customer_id": str})
    assert len(listed) == 20
    scores = pd.read_parquet(cwd / "scores.parquet")
    assert list(listed["customer_id"]) == _retain_order(scores, 20)
    assert listed["action_text"].str.len().min() > 0 and listed["top_reasons"].str.len().min() > 0


def test_service_is_ready_with_the_trained_model(session):
    _, _, service = session
    ready = service.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["model_version"] == "crmid-customer/1" and body["store"] == "reachable"
    assert ready.headers["X-Crmid-Model-Version"] == "crmid-customer/1"


def test_decide_takes_one_customer_or_many(session):
    _, _, service = session
    one = {"customer_id": "C-1", "value_percentile": 0.97, "churn_probability": 0.6}
    single = service.post("/v1/decide", json=one)
    assert single.status_code == 200
    assert single.json()["customer_id"] == "C-1" and single.json()["value_tier"] == "platinum"
    many = service.post("/v1/decide", json={"customers": [one, {"customer_id": "P-2", "money": True,
                                                                  "authority": True, "need": True}]})
    assert many.status_code == 200
    decisions = many.json()["decisions"]
    assert [d["customer_id"] for d in decisions] == ["C-1", "P-2"]
    assert decisions[0] == single.json()
    assert decisions[1]["man_class"] != "not_assessed"


def test_online_score_equals_the_batch_row_in_every_tier(session):
    cwd, _, service = session
    tx = pd.read_csv(cwd / "tx.csv", dtype={"customer_id": str})
    scores = pd.read_parquet(cwd / "scores.parquet")
    scores["customer_id"] = scores["customer_id"].astype(str)
    run_id = service.get("/v1/version").json()["store_run_id"]
    compared = 0
    for tier in ("platinum", "gold", "iron", "lead"):
        rows = scores[scores["value_tier"].astype(str) == tier].head(10)
        assert len(rows) == 10, f"the batch has fewer than ten {tier} customers"
        for batch in rows.to_dict("records"):
            response = service.post("/v1/score", json=transactions_body(tx, batch["customer_id"], "1998-06-30"))
            assert response.status_code == 200, response.text
            online = response.json()
            assert online["clv_reference"] == f"run:{run_id}"
            for field in ("value_tier", "action", "action_text", "lifecycle_stage", "relationship_type",
                          "model_version", "rules_version"):
                assert online[field] == str(batch[field]), (batch["customer_id"], field)
            for field, tolerance in (("churn_probability", 1e-6), ("p_purchase_30d", 1e-6),
                                     ("p_purchase_90d", 1e-6), ("clv", 1e-6), ("value_at_risk", 1e-6),
                                     ("value_percentile", 0.005)):
                assert online[field] == pytest.approx(batch[field], abs=tolerance), (batch["customer_id"], field)
            assert [r["rule"] for r in online["reasons"]] == [r["rule"] for r in json.loads(batch["reasons"])]
            compared += 1
    assert compared == 40


def test_http_retain_is_the_cli_list(session):
    _, outputs, service = session
    listed = pd.read_csv(io.StringIO(outputs["retain"].stdout), dtype={"customer_id": str})
    body = service.get("/v1/retain", params={"top": 20}).json()
    assert [c["customer_id"] for c in body["customers"]] == list(listed["customer_id"])


def test_retain_by_expected_spend_lists_the_biggest_spenders(session):
    """`--sort expected_spend_365d`: the retain list's customers, next year's biggest spenders first."""
    cwd, outputs, service = session
    table = outputs["retain --sort"].stdout
    assert "spend 1y" in table
    scores = pd.read_parquet(cwd / "scores.parquet")
    scores["customer_id"] = scores["customer_id"].astype(str)
    listed = scores[scores["priority"] > 0].sort_values("expected_spend_365d", ascending=False).head(5)
    shown = [line.split()[1] for line in table.splitlines() if line[:3].strip().isdigit()]
    assert shown == list(listed["customer_id"])
    for spend in listed["expected_spend_365d"]:
        assert f"{spend:,.0f}" in table
    # the same figures online as in the batch, for the same customer
    tx = pd.read_csv(cwd / "tx.csv", dtype={"customer_id": str})
    for batch in listed.head(2).to_dict("records"):
        online = service.post("/v1/score", json=transactions_body(tx, batch["customer_id"], "1998-06-30")).json()
        for h in (90, 180, 365):
            assert online[f"expected_spend_{h}d"] == pytest.approx(batch[f"expected_spend_{h}d"], rel=1e-9)
        assert online["drivers"] == json.loads(batch["drivers"])


def test_model_show_prints_the_champions_card(session):
    _, outputs, service = session
    card = outputs["model"].stdout
    assert card.startswith("# Model card: crmid-customer version 1")
    assert "as of 1998-03-31" in card and "churn horizon H = 90 days" in card
    assert "| churn |" in card and "BG/NBD" in card and "## Spend forecast" in card
    served = service.get("/v1/version").json()["model_card"]
    assert served["model"]["version"] in ("crmid-customer/1", "1") and served["data"]["as_of"] == "1998-03-31"


def test_retain_into_a_pipe_the_reader_closed_ends_quietly(session):
    """`crmid retain | head`: the reader stops early; crmid exits 0 and prints nothing more."""
    cwd, _, _ = session
    proc = subprocess.Popen(["crmid", "retain", "--top", "200", "--format", "csv"], cwd=cwd, env=clean_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # like `head` once it has its lines: every later write meets a closed pipe
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 0
    assert err == b""
