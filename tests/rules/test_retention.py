"""Retention decision per tier (分级服务政策) and the monotonicity invariants."""

from __future__ import annotations

import numpy as np
import pytest

from crmid.rules.config import CHURN_BANDS, TIERS


def _percentile(config, tier):
    cuts = config.section("value_tier")["cut_points"]
    return {"platinum": cuts["platinum"], "gold": cuts["gold"], "iron": cuts["iron"], "lead": 0.0}[tier]


def _churn(config, band):
    cuts = config.section("churn_risk")["cut_points"]
    return 0.0 if band == "low" else cuts[band]


def _customer(config, tier, band, **extra):
    return {"customer_id": "c", "value_percentile": _percentile(config, tier),
            "churn_probability": _churn(config, band), "recency_days": 20, "frequency": 4, **extra}


def test_platinum_with_high_churn_gets_the_most_urgent_action(engine, config):
    d = engine.decide(_customer(config, "platinum", "critical"))
    assert d["action"] == "retain_vip_personal_outreach"
    assert "retention.platinum.critical" in [r["rule"] for r in d["reasons"]]
    others = [engine.decide(_customer(config, t, b))["priority"] for t in TIERS for b in CHURN_BANDS
              if (t, b) != ("platinum", "critical")]
    assert d["priority"] > max(others)
    # 'high' is also personal outreach, ahead of any gold customer
    high = engine.decide(_customer(config, "platinum", "high"))
    assert high["action"] == "retain_vip_personal_outreach"
    assert high["priority"] > max(engine.decide(_customer(config, t, b))["priority"]
                                  for t in TIERS[1:] for b in CHURN_BANDS)


@pytest.mark.parametrize("band", CHURN_BANDS)
def test_lead_tier_gets_the_low_cost_action(engine, config, band):
    d = engine.decide(_customer(config, "lead", band, profit=10.0))
    assert d["value_tier"] == "lead"
    assert d["action"] == "reduce_cost_to_serve"
    assert d["priority"] < engine.decide(_customer(config, "iron", "low"))["priority"]


def test_unprofitable_lead_customer_is_let_go(engine, config):
    d = engine.decide(_customer(config, "lead", "critical", profit=-5.0))
    assert d["action"] == "let_go_unprofitable"
    assert "retention.let_go" in [r["rule"] for r in d["reasons"]]
    # a profitable gold customer is never let go, however negative the profit field looks elsewhere
    assert engine.decide(_customer(config, "gold", "low", profit=-5.0))["action"] != "let_go_unprofitable"


def test_unknown_churn_uses_the_tier_default(engine, config):
    facts = _customer(config, "gold", "low")
    del facts["churn_probability"]
    d = engine.decide(facts)
    assert d["churn_risk"] == "not_assessed"
    assert d["action"] == config.section("retention")["actions"]["gold"]["unknown"]["action"]


def test_customer_without_value_gets_the_unassessed_action(engine, config):
    d = engine.decide({"customer_id": "c", "recency_days": 5, "frequency": 1, "churn_probability": 0.9})
    assert d["action"] == config.section("retention")["unassessed"]["action"]


def test_priority_adjustments_are_explained(engine, config):
    adj = config.section("retention")["priority_adjustments"]
    facts = _customer(config, "platinum", "low", loyalty=0.0, price_sensitive=False, spend_trend=0.1)
    d = engine.decide(facts)
    assert (d["relationship_type"], d["value_type"]) == ("functional", "retain")
    base = config.section("retention")["actions"]["platinum"]["low"]["priority"]
    assert d["priority"] == base + adj["value_type"]["retain"] + adj["relationship_type"]["functional"]
    ids = [r["rule"] for r in d["reasons"]]
    assert ids[-2:] == ["retention.adjust.value_type.retain", "retention.adjust.relationship_type.functional"]


def test_hot_prospect_is_more_urgent(engine, config):
    base = {"customer_id": "p", "money": True, "authority": True, "need": True}
    cold = engine.decide({**base, "p_purchase_30d": 0.0, "p_purchase_90d": 0.0})
    hot = engine.decide({**base, "p_purchase_30d": 1.0})
    assert (cold["temperature"], hot["temperature"]) == ("cold", "hot")
    assert hot["action"] == cold["action"] == "pursue_now"
    assert hot["priority"] > cold["priority"]


# --------------------------------------------------------------------------------------------
# invariants on random customers
# --------------------------------------------------------------------------------------------
_ORDER = {t: i for i, t in enumerate(reversed(TIERS))}


def _random_customers(n, seed):
    rng = np.random.default_rng(seed)
    for i in range(n):
        yield {
            "customer_id": f"c{i}",
            "value_percentile": float(rng.uniform()),
            "churn_probability": float(rng.uniform()),
            "loyalty": float(rng.uniform()),
            "price_sensitive": bool(rng.uniform() < 0.5),
            "spend_trend": float(rng.uniform(0, 2)),
            "recency_days": float(rng.integers(0, 500)),
            "tenure_days": float(rng.integers(0, 1000)),
            "frequency": float(rng.integers(0, 10)),
            "profit": float(rng.uniform(-100, 1000)),
        }


def test_raising_value_never_lowers_the_tier(engine):
    grid = np.linspace(0, 1, 81)
    for facts in _random_customers(10, seed=1):
        tiers = [_ORDER[engine.decide({**facts, "value_percentile": float(v)})["value_tier"]] for v in grid]
        assert tiers == sorted(tiers)


def test_raising_churn_never_lowers_the_priority_of_a_valuable_customer(engine):
    grid = np.linspace(0, 1, 21)
    checked = 0
    for facts in _random_customers(30, seed=2):
        first = engine.decide(facts)
        if first["value_tier"] not in ("platinum", "gold", "iron"):
            continue
        priorities = [engine.decide({**facts, "churn_probability": float(p)})["priority"] for p in grid]
        assert priorities == sorted(priorities), facts
        checked += 1
    assert checked >= 8


def test_raising_value_never_lowers_the_priority_at_equal_churn(engine, config):
    for band in CHURN_BANDS:
        priorities = [engine.decide(_customer(config, t, band, profit=1.0))["priority"] for t in reversed(TIERS)]
        assert priorities == sorted(priorities), band
