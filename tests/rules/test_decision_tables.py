"""Decision tables from the textbook, one parametrised test per rule family.

Boundary values are read from the packaged configuration, so the tests follow it; the expected
outcomes are written by hand from the textbook (seeds in /work/shared/seeds, summary in
domain.md).
"""

from __future__ import annotations

import pytest

from crmid.rules.config import SIX_C_DIMENSIONS

EPS = 1e-6


def reason_ids(decision):
    return [r["rule"] for r in decision["reasons"]]


# --------------------------------------------------------------------------------------------
# MAN (顾客资格审查 M·A·N 法则): all eight combinations
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("money", "authority", "need", "expected"),
    [
        (True, True, True, "qualified"),            # all three: pursue now
        (True, True, False, "cultivate_need"),      # M+A without need: cultivate the need
        (True, False, True, "find_decision_maker"),  # M+N without authority: find the decision maker
        (False, True, True, "check_financing"),     # A+N without money: credit or financing
        (True, False, False, "low_priority"),       # only one of three: low priority
        (False, True, False, "low_priority"),
        (False, False, True, "low_priority"),
        (False, False, False, "not_prospect"),      # none: not a prospect
    ],
)
def test_man_eight_combinations(engine, money, authority, need, expected):
    d = engine.decide({"customer_id": "p", "money": money, "authority": authority, "need": need})
    assert d["man_class"] == expected
    assert any(r.startswith("man.") for r in reason_ids(d))
    # no purchase on record: a prospect, decided by MAN
    assert d["lifecycle_stage"] == "acquisition"
    assert d["action"] == engine.config.section("retention")["prospect_actions"][expected]["action"]


@pytest.mark.parametrize("absent", ["money", "authority", "need"])
def test_man_with_a_missing_flag_is_not_assessed(engine, absent):
    facts = {"customer_id": "p", "money": True, "authority": True, "need": True}
    del facts[absent]
    d = engine.decide(facts)
    assert d["man_class"] == "not_assessed"
    assert f"man.not_assessed.{absent}" in reason_ids(d)


# --------------------------------------------------------------------------------------------
# value pyramid (客户金字塔): just below / at / above each cut point
# --------------------------------------------------------------------------------------------
def _tier_cases(config):
    cuts = config.section("value_tier")["cut_points"]
    return [
        (cuts["platinum"] - EPS, "gold"), (cuts["platinum"], "platinum"), (cuts["platinum"] + EPS, "platinum"),
        (cuts["gold"] - EPS, "iron"), (cuts["gold"], "gold"), (cuts["gold"] + EPS, "gold"),
        (cuts["iron"] - EPS, "lead"), (cuts["iron"], "iron"), (cuts["iron"] + EPS, "iron"),
        (0.0, "lead"), (1.0, "platinum"),
    ]


def test_value_tier_boundaries(engine, config):
    for percentile, expected in _tier_cases(config):
        d = engine.decide({"customer_id": "c", "value_percentile": percentile})
        assert d["value_tier"] == expected, percentile
        assert f"tier.{expected}" in reason_ids(d)


def test_default_cut_points_follow_80_20_30(config):
    # textbook: top 20% platinum + gold, platinum the top 5%, bottom 30% lead
    cuts = config.section("value_tier")["cut_points"]
    assert (cuts["platinum"], cuts["gold"], cuts["iron"]) == (0.95, 0.80, 0.30)


def test_value_tier_missing_is_not_assessed(engine):
    d = engine.decide({"customer_id": "c"})
    assert d["value_tier"] == "not_assessed"
    assert "tier.not_assessed" in reason_ids(d)


# --------------------------------------------------------------------------------------------
# relationship type (四种顾客关系): loyalty x profit quadrants
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("loyal", "profitable", "expected"),
    [(True, True, "partner"), (False, True, "functional"), (True, False, "emotional"), (False, False, "acquaintance")],
)
def test_relationship_quadrants(engine, config, loyal, profitable, expected):
    cfg = config.section("relationship")
    lo, pr = cfg["loyalty_high_from"], cfg["profit_high_percentile_from"]
    # at the cut counts as high, just below as low
    d = engine.decide({"customer_id": "c", "loyalty": lo if loyal else lo - EPS,
                       "value_percentile": pr if profitable else pr - EPS})
    assert d["relationship_type"] == expected
    assert f"relationship.{expected}" in reason_ids(d)


@pytest.mark.parametrize("facts", [{"loyalty": 0.9}, {"value_percentile": 0.9}, {}])
def test_relationship_needs_both_axes(engine, facts):
    assert engine.decide({"customer_id": "c", **facts})["relationship_type"] == "not_assessed"


# --------------------------------------------------------------------------------------------
# transactional vs relationship (交易型/关系型) and maintain / develop / retain
# --------------------------------------------------------------------------------------------
def test_customer_kind(engine, config):
    lo = config.section("customer_kind")["loyalty_high_from"]
    assert engine.decide(
        {"customer_id": "c", "price_sensitive": True, "loyalty": lo - EPS}
    )["customer_kind"] == "transactional"
    assert engine.decide(
        {"customer_id": "c", "price_sensitive": True, "loyalty": lo}
    )["customer_kind"] == "relationship"
    assert engine.decide({"customer_id": "c", "price_sensitive": False})["customer_kind"] == "relationship"
    assert engine.decide({"customer_id": "c", "price_sensitive": True})["customer_kind"] == "not_assessed"


def _value_type_facts(config, tier, trend):
    cuts = config.section("value_tier")["cut_points"]
    percentile = {"platinum": cuts["platinum"], "gold": cuts["gold"], "iron": cuts["iron"], "lead": 0.0}[tier]
    return {"customer_id": "c", "value_percentile": percentile, "price_sensitive": False, "loyalty": 0.9,
            "spend_trend": trend}


def test_value_types(engine, config):
    vt = config.section("value_type")
    down, up = vt["declining_trend_below"], vt["growing_trend_from"]
    steady = (down + up) / 2
    cases = [
        ("platinum", steady, "maintain"),       # most profitable: 重点维系
        ("gold", steady, "develop"),            # considerable profit: 加强联系
        ("iron", up, "develop"),                # ordinary but growing
        ("iron", steady, "none"),
        ("platinum", down - EPS, "retain"),     # profitable now, losing value: 设法挽留
        ("gold", down - EPS, "retain"),
        ("lead", down - EPS, "none"),           # lead tier is not a valuable customer
    ]
    for tier, trend, expected in cases:
        d = engine.decide(_value_type_facts(config, tier, trend))
        assert d["value_tier"] == tier
        assert d["value_type"] == expected, (tier, trend)


def test_transactional_customers_are_set_apart_first(engine, config):
    facts = _value_type_facts(config, "platinum", 1.0)
    facts.update(price_sensitive=True, loyalty=0.0)
    d = engine.decide(facts)
    assert d["customer_kind"] == "transactional"
    assert d["value_type"] == "none"
    assert "value_type.transactional" in reason_ids(d)


# --------------------------------------------------------------------------------------------
# 6C: grades at the boundaries, missing dimensions
# --------------------------------------------------------------------------------------------
def _six_c(score):
    # every dimension at the same score: the weighted total is that score (weights sum to 1)
    return {"customer_id": "b", "segment": "business", "six_c": {d: score for d in SIX_C_DIMENSIONS}}


def test_six_c_grade_boundaries(engine, config):
    cuts = config.section("six_c")["grade_cut_points"]
    cases = [(cuts["A"], "A"), (cuts["A"] - 0.01, "B"), (cuts["B"], "B"), (cuts["B"] - 0.01, "C"),
             (cuts["C"], "C"), (cuts["C"] - 0.01, "D"), (100, "A"), (0, "D")]
    for score, grade in cases:
        d = engine.decide(_six_c(score))
        assert d["six_c_score"] == pytest.approx(score)
        assert d["six_c_grade"] == grade, score


def test_six_c_weighted_total(engine, config):
    weights = config.section("six_c")["weights"]
    scores = dict(zip(SIX_C_DIMENSIONS, (90, 80, 70, 60, 50, 40), strict=True))
    d = engine.decide({"customer_id": "b", "segment": "distributor", "six_c": scores})
    assert d["six_c_score"] == pytest.approx(sum(weights[k] * v for k, v in scores.items()), abs=0.005)


def test_six_c_missing_dimension_is_not_graded(engine):
    facts = _six_c(90)
    del facts["six_c"]["collateral"]
    d = engine.decide(facts)
    assert d["six_c_grade"] == "not_assessed"
    assert d["six_c_score"] is None
    reason = next(r for r in d["reasons"] if r["rule"] == "six_c.not_assessed.incomplete")
    assert "collateral" in reason["reason"]


def test_six_c_no_profile_and_consumers(engine):
    assert engine.decide({"customer_id": "b", "segment": "business"})["six_c_grade"] == "not_assessed"
    consumer = _six_c(90)
    consumer["segment"] = "consumer"
    d = engine.decide(consumer)
    assert d["six_c_grade"] == "not_assessed"
    assert "six_c.not_applicable" in reason_ids(d)


def test_six_c_flat_fields_equal_nested(engine):
    nested = _six_c(72)
    flat = {"customer_id": "b", "segment": "business", **{f"six_c_{d}": 72 for d in SIX_C_DIMENSIONS}}
    assert engine.decide(nested) == engine.decide(flat)


# --------------------------------------------------------------------------------------------
# distributor scoring (评分法): prefer 70-80, below 70 too weak, above 85 too strong
# --------------------------------------------------------------------------------------------
def _distributor(config, score):
    criteria = config.section("distributor")["weights"]
    return {"customer_id": "d", "segment": "distributor", "distributor_criteria": {c: score for c in criteria}}


def test_distributor_prefers_70_to_80(engine, config):
    cfg = config.section("distributor")
    lo, hi, strong = cfg["preferred_from"], cfg["preferred_up_to"], cfg["too_strong_above"]
    assert (lo, hi, strong) == (70, 80, 85)  # the textbook's numbers are the defaults
    cases = [(lo - 0.01, "too_weak"), (lo, "preferred"), ((lo + hi) / 2, "preferred"), (hi, "preferred"),
             (hi + 0.01, "acceptable"), (strong, "acceptable"), (strong + 0.01, "too_strong"), (100, "too_strong"),
             (0, "too_weak")]
    for score, fit in cases:
        d = engine.decide(_distributor(config, score))
        assert d["distributor_score"] == pytest.approx(score)
        assert d["distributor_fit"] == fit, score


def test_distributor_scoring_only_for_distributors_and_complete_criteria(engine, config):
    facts = _distributor(config, 75)
    facts["segment"] = "consumer"
    assert engine.decide(facts)["distributor_fit"] == "not_assessed"
    facts = _distributor(config, 75)
    facts["distributor_criteria"].pop("reputation")
    d = engine.decide(facts)
    assert d["distributor_fit"] == "not_assessed"
    assert any("reputation" in r["reason"] for r in d["reasons"])


# --------------------------------------------------------------------------------------------
# temperature (热客/暖客/冷客), lifecycle (客户生命周期), purchase type (新购/重购/更新购买)
# --------------------------------------------------------------------------------------------
def test_temperature(engine, config):
    t = config.section("temperature")
    cases = [
        ({"p_purchase_30d": t["hot_p30_from"]}, "hot"),
        ({"p_purchase_30d": t["hot_p30_from"] - EPS, "p_purchase_90d": t["warm_p90_from"]}, "warm"),
        ({"p_purchase_30d": t["hot_p30_from"] - EPS, "p_purchase_90d": t["warm_p90_from"] - EPS}, "cold"),
        ({"expected_days_to_next_purchase": t["hot_days_up_to"]}, "hot"),        # within one month
        ({"expected_days_to_next_purchase": t["hot_days_up_to"] + 1}, "warm"),   # within three months
        ({"expected_days_to_next_purchase": t["warm_days_up_to"]}, "warm"),
        ({"expected_days_to_next_purchase": t["warm_days_up_to"] + 1}, "cold"),  # later
        ({}, "not_assessed"),
    ]
    for facts, expected in cases:
        assert engine.decide({"customer_id": "c", **facts})["temperature"] == expected, facts


def test_lifecycle(engine, config):
    lc = config.section("lifecycle")
    steady = (lc["declining_trend_below"] + lc["growing_trend_from"]) / 2
    old = lc["growth_tenure_days_below"]
    base = {"customer_id": "c", "frequency": 3, "tenure_days": old, "spend_trend": steady, "recency_days": 10}
    cases = [
        ({"frequency": None, "recency_days": None, "tenure_days": None, "spend_trend": None}, "acquisition"),
        ({}, "maturity"),
        ({"tenure_days": old - 1}, "growth"),
        ({"spend_trend": lc["growing_trend_from"]}, "growth"),
        ({"spend_trend": lc["declining_trend_below"] - EPS}, "decline"),
        ({"recency_days": lc["decline_recency_days"]}, "decline"),
        ({"recency_days": lc["termination_recency_days"]}, "termination"),
        ({"recency_days": None}, "not_assessed"),
        ({"spend_trend": None}, "not_assessed"),
    ]
    for change, expected in cases:
        facts = {k: v for k, v in {**base, **change}.items() if v is not None}
        assert engine.decide(facts)["lifecycle_stage"] == expected, change


def test_purchase_type(engine, config):
    days = config.section("purchase_type")["replacement_recency_days"]
    assert engine.decide({"customer_id": "p"})["purchase_type"] == "new"
    assert engine.decide(
        {"customer_id": "c", "frequency": 2, "recency_days": days - 1}
    )["purchase_type"] == "repurchase"
    assert engine.decide({"customer_id": "c", "frequency": 2, "recency_days": days})["purchase_type"] == "replacement"
    assert engine.decide({"customer_id": "c", "value_percentile": 0.5})["purchase_type"] == "not_assessed"


# --------------------------------------------------------------------------------------------
# explanations
# --------------------------------------------------------------------------------------------
def test_every_decision_is_explained(engine):
    d = engine.decide({"customer_id": "c", "value_percentile": 0.97, "churn_probability": 0.1})
    assert d["rules_version"] == engine.version
    ids = reason_ids(d)
    # one reason per family, in evaluation order, ending with the retention decision
    assert ids[0] == "tier.platinum"
    assert ids.index("churn.low") < ids.index("retention.platinum.low")
    assert all(set(r) - {"term"} == {"rule", "reason"} and r["reason"] for r in d["reasons"])
    # the tier is said in plain English, and its textbook term is given beside the reason
    tier = d["reasons"][0]
    assert "platinum" in tier["reason"] and tier["term"] == "铂金"


def test_customer_without_profile_is_not_assessed_not_guessed(engine):
    d = engine.decide({"customer_id": "c", "value_percentile": 0.5, "recency_days": 20, "frequency": 3})
    for field in ("man_class", "six_c_grade", "distributor_fit", "relationship_type", "customer_kind"):
        assert d[field] == "not_assessed", field
    assert d["six_c_score"] is None and d["distributor_score"] is None
