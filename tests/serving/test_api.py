"""The HTTP service as a real `crmid serve` process on a free loopback port, spoken to over HTTP."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest

from crmid.customerbase import validate_transactions
from crmid.serving.scoring import score_customers
from crmid.serving.store import open_store

from ..journeys.conftest import Service, free_port
from .conftest import AS_OF

TOKEN = "test-token-not-a-secret"


@pytest.fixture(scope="module")
def service(tmp_path_factory, cdnow_sample, model_dir, scorer, engine):
    tmp = tmp_path_factory.mktemp("api")
    store_url = f"sqlite:///{tmp / 'scores.db'}"
    clean, report = validate_transactions(cdnow_sample, as_of=AS_OF)
    result = score_customers(clean, AS_OF, scorer=scorer, engine=engine, report=report)
    run_id = open_store(store_url).save_run(result.scored, as_of=AS_OF, n_rejected=0, model_version=scorer.version,
                                             rules_version=engine.version, clv_reference=result.reference)
    rules_copy = tmp / "rules.yaml"
    shutil.copy(engine.path, rules_copy)
    env = {**os.environ, "CRMID_API_TOKEN": TOKEN, "CRMID_MAX_BODY_BYTES": "200000"}
    crmid = str(Path(sys.executable).with_name("crmid"))
    port = free_port()
    server = Service([crmid, "serve", "--host", "127.0.0.1", "--port", str(port), "--model-uri", model_dir,
                      "--store", store_url, "--rules", str(rules_copy)], tmp, port, env)
    base = server.base
    client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
    yield {"client": client, "base": base, "run_id": run_id, "scored": result.scored, "rules": rules_copy,
           "clean": clean}
    client.close()
    server.stop()


def test_health_version_and_docs(service):
    c = service["client"]
    assert c.get("/healthz").json() == {"status": "ok"}
    v = c.get("/v1/version").json()
    assert v["store_run_id"] == service["run_id"] and v["rules_version"] and v["model_version"]
    card = v["model_card"]  # the served model's card, as `crmid model show` prints it
    assert card["horizon_days"] == 90 and card["features"] and set(card["gate"]) >= {"churn", "knot_30", "knot_90"}
    assert card["data"]["as_of"] and card["gate"]["churn"]["reason"]
    assert "/v1/decide" in c.get("/openapi.json").json()["paths"]
    assert c.get("/docs").status_code == 200


def test_token_required_when_configured(service):
    anonymous = httpx.Client(base_url=service["base"])
    assert anonymous.get("/v1/version").status_code == 401
    assert anonymous.post("/v1/decide", json={"customers": [{"customer_id": "x"}]}).status_code == 401
    wrong = anonymous.get("/v1/version", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    # health stays open for load balancers
    assert anonymous.get("/healthz").status_code == 200


def test_decide_matches_the_engine(service, engine):
    facts = [
        {"customer_id": "p1", "value_percentile": 0.99, "churn_probability": 0.9, "loyalty": 0.8, "frequency": 12},
        {"customer_id": "m1", "money": True, "authority": False, "need": True, "segment": "business"},
        {"customer_id": "bare"},
    ]
    got = service["client"].post("/v1/decide", json={"customers": facts})
    assert got.status_code == 200
    decisions = got.json()["decisions"]
    assert [d["customer_id"] for d in decisions] == ["p1", "m1", "bare"]
    for f, d in zip(facts, decisions, strict=True):
        assert d == json.loads(json.dumps(engine.decide(f)))
    assert decisions[1]["man_class"] == "find_decision_maker"
    assert decisions[2]["value_tier"] == "not_assessed"


def test_malformed_bodies_get_422_naming_the_field(service):
    c = service["client"]
    r = c.post("/v1/decide", json={"customers": [{"customer_id": "x", "churn_probability": 1.7}]})
    assert r.status_code == 422 and "customers.0.churn_probability" in json.dumps(r.json())
    r = c.post("/v1/decide", json={"customers": [{"customer_id": "x", "colour": "red"}]})
    assert r.status_code == 422 and "colour" in json.dumps(r.json())
    r = c.post("/v1/decide", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422


def test_oversized_body_gets_413(service):
    huge = {"customers": [{"customer_id": f"c{i}", "value_percentile": 0.5} for i in range(20_000)]}
    assert service["client"].post("/v1/decide", json=huge).status_code == 413


def test_score_one_customer_equals_batch_row(service):
    scored = service["scored"]
    cid = scored.sort_values("frequency", ascending=False)["customer_id"].iloc[0]
    tx = service["clean"][service["clean"]["customer_id"].astype(str) == cid]
    body = {"customer_id": cid, "as_of": str(AS_OF.date()),
            "transactions": [{"date": str(d.date()), "amount": float(a)}
                             for d, a in zip(tx["date"], tx["amount"], strict=True)]}
    r = service["client"].post("/v1/score", json=body)
    assert r.status_code == 200, r.text
    row = r.json()
    expected = scored[scored["customer_id"] == cid].iloc[0]
    for col in ("churn_probability", "p_purchase_30d", "clv", "value_percentile", "priority"):
        assert row[col] == pytest.approx(float(expected[col]))
    for col in ("value_tier", "action", "lifecycle_stage", "temperature"):
        assert row[col] == expected[col]
    assert row["reasons"] == json.loads(expected["reasons"])
    # the models-depth outputs, as the batch has them: the drivers, the curve's points past H
    assert row["drivers"] == json.loads(expected["drivers"]) and 1 <= len(row["drivers"]) <= 5
    for col in ("p_purchase_180d", "p_purchase_365d"):
        assert row[col] == pytest.approx(float(expected[col]))
    for col in ("next_purchase_days_median", "next_purchase_days_p90"):  # never reached: inf in batch, null here
        assert row[col] == (pytest.approx(float(expected[col])) if np.isfinite(expected[col]) else None)
    assert row["next_purchase_median_beyond_365d"] == bool(expected["next_purchase_median_beyond_365d"])
    assert row["survival_curve"] is None
    curve = service["client"].post("/v1/score", params={"curve": "true"}, json=body).json()["survival_curve"]
    days = [p["day"] for p in curve]
    assert days[0] == 7 and days[-1] == 365 and all(b - a <= 7 for a, b in itertools.pairwise(days))
    survival = [p["survival"] for p in curve]
    assert all(b <= a + 1e-12 for a, b in itertools.pairwise(survival))
    at = dict(zip(days, survival, strict=True))
    assert 1 - at[365] == pytest.approx(row["p_purchase_365d"], abs=1e-9)
    empty = service["client"].post("/v1/score", json={"customer_id": "ghost", "as_of": "1998-03-31"})
    assert empty.status_code == 422 and "nothing to score" in empty.text


def test_retain_query(service):
    c = service["client"]
    r = c.get("/v1/retain", params={"top": 5, "tier": "platinum,gold"}).json()
    assert r["run_id"] == service["run_id"] and 0 < len(r["customers"]) <= 5
    assert all(x["value_tier"] in ("platinum", "gold") for x in r["customers"])
    assert all(x["top_reasons"] for x in r["customers"])
    assert c.get("/v1/retain", params={"customer_id": "no-such-customer"}).json()["customers"] == []
    assert c.get("/v1/retain", params={"min_churn": 2}).status_code == 422


def test_reload_rules_needs_token_and_switches_version(service):
    anonymous = httpx.Client(base_url=service["base"])
    assert anonymous.post("/v1/rules/reload").status_code == 401
    c = service["client"]
    before = c.get("/v1/version").json()["rules_version"]
    path: Path = service["rules"]
    original = path.read_text()
    try:
        path.write_text(original.replace(f"version: {before}", f"version: {before}-reloaded", 1)
                        .replace(f'version: "{before}"', f'version: "{before}-reloaded"', 1))
        r = c.post("/v1/rules/reload")
        assert r.status_code == 200, r.text
        assert r.json()["rules_version"] == f"{before}-reloaded"
        assert c.get("/v1/version").json()["rules_version"] == f"{before}-reloaded"
        path.write_text("version: [broken")
        bad = c.post("/v1/rules/reload")
        assert bad.status_code == 422
        # the previous configuration stays in force
        assert c.get("/v1/version").json()["rules_version"] == f"{before}-reloaded"
    finally:
        path.write_text(original)
        c.post("/v1/rules/reload")


def test_concurrent_load_every_response_correct(service, engine):
    """8 clients x 150 requests of /v1/decide with different facts: every answer right, none lost."""
    def facts(i):
        return {"customer_id": f"load-{i}", "value_percentile": (i % 100) / 100, "churn_probability": (i % 37) / 37,
                "loyalty": (i % 11) / 11, "frequency": i % 9, "recency_days": i % 400}

    expected = {f"load-{i}": engine.decide(facts(i)) for i in range(1200)}

    def client_run(k):
        with httpx.Client(base_url=service["base"], headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as c:
            got = []
            for i in range(k * 150, (k + 1) * 150):
                r = c.post("/v1/decide", json={"customers": [facts(i)]})
                r.raise_for_status()
                got.extend(r.json()["decisions"])
            return got

    with ThreadPoolExecutor(8) as pool:
        answers = [d for part in pool.map(client_run, range(8)) for d in part]
    assert len(answers) == 1200
    assert {d["customer_id"] for d in answers} == set(expected)
    for d in answers:
        e = json.loads(json.dumps(expected[d["customer_id"]]))
        assert d["action"] == e["action"] and d["priority"] == e["priority"] and d["value_tier"] == e["value_tier"]


@pytest.mark.parametrize("body, field", [
    ('{"customer_id": "a", "clv": Infinity}', "clv"),
    ('{"customer_id": "a", "spend_trend": Infinity}', "spend_trend"),
    ('{"customer_id": "a", "distributor_criteria": {"market_coverage": 500}}', "distributor_criteria.market_coverage"),
    ('{"customers": [{"customer_id": "a", "clv": NaN}]}', "customers.0.clv"),
])
def test_decide_refuses_numbers_that_break_arithmetic(service, body, field):
    r = service["client"].post("/v1/decide", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    # reported against the shape the body meant (one or many), naming the field
    assert any(field in problem for problem in r.json()["detail"]), r.json()
    assert len(r.json()["detail"]) == 1


def _score_body(service, **changes):
    cid = str(service["scored"]["customer_id"].iloc[0])
    tx = service["clean"][service["clean"]["customer_id"].astype(str) == cid]
    body = {"customer_id": cid, "as_of": str(AS_OF.date()),
            "transactions": [{"date": str(d.date()), "amount": float(a)}
                             for d, a in zip(tx["date"], tx["amount"], strict=True)]}
    return {**body, **changes}


def test_score_never_answers_500(service):
    c = service["client"]
    only_future = _score_body(service, transactions=[{"date": "1998-06-15", "amount": 10.0}],
                              profile={"money": True})
    r = c.post("/v1/score", json=only_future)
    assert r.status_code == 422 and "dated after the as-of date" in r.json()["detail"][0]

    too_old = _score_body(service, transactions=[{"date": "1600-01-30", "amount": 10.0}])
    r = c.post("/v1/score", json=too_old)
    assert r.status_code == 422 and "transactions.0.date" in r.json()["detail"][0]

    other = _score_body(service, profile={"customer_id": "someone-else"})
    r = c.post("/v1/score", json=other)
    assert r.status_code == 422 and "customer_id does not belong in the profile" in r.json()["detail"][0]

    infinite = _score_body(service, transactions=[{"date": "1998-01-30", "amount": float("inf")}])
    r = c.post("/v1/score", content=json.dumps(infinite), headers={"content-type": "application/json"})
    assert r.status_code == 422 and "transactions.0.amount" in r.json()["detail"][0]


def test_mixed_time_zones_score_by_calendar_day(service):
    body = _score_body(service)
    plain = service["client"].post("/v1/score", json=body)
    zoned = {**body, "transactions": [{**t, "date": f"{t['date']}T09:30:00+08:00"} if i % 2 else t
                                      for i, t in enumerate(body["transactions"])]}
    mixed = service["client"].post("/v1/score", json=zoned)
    assert plain.status_code == mixed.status_code == 200
    for field in ("value_tier", "action", "churn_probability", "clv"):
        assert plain.json()[field] == mixed.json()[field]


_CJK = re.compile(r"[\u4e00-\u9fff]")


def test_decide_and_score_answer_in_the_language_asked_for(service, engine):
    c = service["client"]
    facts = [{"customer_id": "p1", "value_percentile": 0.99, "churn_probability": 0.9, "loyalty": 0.8, "frequency": 12,
              "recency_days": 40, "tenure_days": 400, "spend_trend": 1.0},
             {"customer_id": "m1", "money": True, "authority": False, "need": True, "segment": "business"}]
    zh = c.post("/v1/decide", params={"lang": "zh"}, json={"customers": facts})
    assert zh.status_code == 200, zh.text
    en = c.post("/v1/decide", json={"customers": facts}).json()["decisions"]
    for f, d, e in zip(facts, zh.json()["decisions"], en, strict=True):
        assert d == json.loads(json.dumps(engine.decide(f, "zh")))
        assert all(_CJK.search(r["reason"]) for r in d["reasons"]) and _CJK.search(d["action_text"])
        assert not any(_CJK.search(r["reason"]) for r in e["reasons"])  # the service's default: English
        assert {k: v for k, v in d.items() if k not in ("reasons", "action_text")} == \
               {k: v for k, v in e.items() if k not in ("reasons", "action_text")}
        # the textbook's term is the same field in both languages, and absent where a rule has none
        assert [r.get("term") for r in d["reasons"]] == [r.get("term") for r in e["reasons"]]
        assert any("term" in r for r in e["reasons"]) and any("term" not in r for r in e["reasons"])
    one = c.post("/v1/decide", params={"lang": "zh"}, json=facts[0]).json()
    assert one == zh.json()["decisions"][0]

    body = _score_body(service)
    scored = {lang: c.post("/v1/score", params={"lang": lang}, json=body) for lang in ("en", "zh")}
    assert scored["zh"].status_code == scored["en"].status_code == 200
    zh_row, en_row = scored["zh"].json(), scored["en"].json()
    assert all(_CJK.search(r["reason"]) for r in zh_row["reasons"]) and _CJK.search(zh_row["action_text"])
    assert [r["rule"] for r in zh_row["reasons"]] == [r["rule"] for r in en_row["reasons"]]
    for field in ("value_tier", "action", "priority", "churn_probability", "clv"):
        assert zh_row[field] == en_row[field]


@pytest.mark.parametrize("path", ["/v1/decide", "/v1/score"])
def test_an_unknown_language_gets_422_naming_it(service, path):
    body = {"customer_id": "x"} if path == "/v1/decide" else _score_body(service)
    r = service["client"].post(path, params={"lang": "fr"}, json=body)
    assert r.status_code == 422
    assert r.json()["error"] == "invalid_request" and any("lang" in p for p in r.json()["detail"]), r.json()


def test_the_service_language_comes_from_its_setting(tmp_path):
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("CRMID_", "MLFLOW_"))}, "CRMID_LANG": "zh"}
    port = free_port()
    # no model, no store: the rules answer /v1/decide on their own
    server = Service([str(Path(sys.executable).with_name("crmid")), "serve", "--port", str(port), "--store", "none",
                      "--work-dir", str(tmp_path / "w")], tmp_path, port, env)
    try:
        facts = {"customer_id": "c", "value_percentile": 0.5, "churn_probability": 0.5}
        default = server.post("/v1/decide", json=facts).json()
        asked = server.post("/v1/decide", params={"lang": "en"}, json=facts).json()
    finally:
        server.stop()
    assert all(_CJK.search(r["reason"]) for r in default["reasons"])
    assert not any(_CJK.search(r["reason"]) for r in asked["reasons"])
    assert default["value_tier"] == asked["value_tier"] and default["action"] == asked["action"]


def test_concurrent_scores_are_each_the_customers_own_answer(service):
    """8 clients post 60 customers, each customer 3 times: every answer equals its sequential one.

    Concurrent requests are scored together in one call (serving/api/coalescing.py); a customer
    must never get another's row, nor a row that depends on who else was in the batch.
    """
    scored = service["scored"]
    clean = service["clean"]
    ids = [str(c) for c in scored["customer_id"].iloc[:60]]
    by_id = {cid: g for cid, g in clean[clean["customer_id"].astype(str).isin(ids)].groupby("customer_id",
                                                                                             observed=True)}
    bodies = [{"customer_id": cid, "as_of": str(AS_OF.date()),
               "transactions": [{"date": str(d.date()), "amount": float(a)}
                                for d, a in zip(by_id[cid]["date"], by_id[cid]["amount"], strict=True)]}
              for cid in ids]
    bodies.append({"customer_id": "only-future", "as_of": str(AS_OF.date()),
                   "transactions": [{"date": "1998-06-15", "amount": 10.0}]})

    def strip(r):
        return r.status_code, {k: v for k, v in r.json().items() if k != "scored_at"}

    sequential = {b["customer_id"]: strip(service["client"].post("/v1/score", json=b)) for b in bodies}
    assert sequential["only-future"][0] == 422
    assert all(status == 200 for cid, (status, _) in sequential.items() if cid != "only-future")

    def client_run(part):
        with httpx.Client(base_url=service["base"], headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as c:
            return [(b["customer_id"], strip(c.post("/v1/score", json=b))) for b in part]

    def counters():
        text = service["client"].get("/metrics").text
        return [float(next(line.split()[1] for line in text.splitlines() if line.startswith(name + " ")))
                for name in ("crmid_score_batches_total", "crmid_score_batched_customers_total")]

    load = bodies * 3
    before = counters()
    with ThreadPoolExecutor(8) as pool:
        answers = [a for part in pool.map(client_run, [load[i::8] for i in range(8)]) for a in part]
    assert len(answers) == len(load)
    for cid, got in answers:
        assert got == sequential[cid], cid
    batches, customers = (b - a for a, b in zip(before, counters(), strict=True))
    assert customers == len(load) and batches < customers  # some requests did share a call
