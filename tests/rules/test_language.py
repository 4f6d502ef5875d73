"""Reasons and action texts in plain English by default, in Chinese with ``lang="zh"``.

Every rule of every table the default configuration builds is checked for both texts, so a rule
added later without its Chinese sentence fails here. Decisions over a synthetic population
check what customers get: no Chinese in the default output, Chinese everywhere with ``zh``, the
same decision in both, and the batch path equal to the one-customer path in each language.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from crmid.rules import ConfigError, RulesEngine
from crmid.rules.config import config_from_mapping
from crmid.rules.decision_table import CATEGORY, LANGUAGES, NUMBER, Cond, DecisionTable, Rule, Text
from crmid.rules.rulesets import build_tables
from crmid.rules.synthetic import random_facts, to_records

from .conftest import plain

#: Chinese characters and the full-width punctuation Chinese text is written with
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
#: an English phrase: three words in a row (an action code like retain_key_offer is one word)
ENGLISH_PHRASE = re.compile(r"[A-Za-z_]+(?:[ ,;:]+[A-Za-z_]+){2,}")
N = 4000


def untranslated(rule: Rule) -> list[str]:
    """What is wrong with a rule's two texts, one line each (empty: both are right)."""
    problems = []
    en, zh = rule.reason.en, rule.reason.zh
    if CJK.search(en):
        problems.append(f"{rule.id}: the English reason has Chinese in it: {en!r}")
    if not CJK.search(zh):
        problems.append(f"{rule.id}: the Chinese reason has no Chinese in it: {zh!r}")
    if ENGLISH_PHRASE.search(zh):
        problems.append(f"{rule.id}: the Chinese reason has English in it ({ENGLISH_PHRASE.search(zh)[0]!r}): {zh!r}")
    if rule.term is not None and not CJK.search(rule.term):
        problems.append(f"{rule.id}: its term {rule.term!r} is not a Chinese term")
    return problems


@pytest.fixture(scope="module")
def population():
    return random_facts(N, seed=20250117)


@pytest.fixture(scope="module")
def decided(engine, population):
    """The population decided by the batch path in each language."""
    return {lang: engine.decide_frame(population, reasons_json=True, lang=lang) for lang in LANGUAGES}


# --------------------------------------------------------------------------------------------
# every rule, whether customers reach it or not
# --------------------------------------------------------------------------------------------
def test_every_rule_of_every_table_has_its_english_and_chinese_reason(config):
    tables = build_tables(config)
    rules = [rule for table in tables for rule in table.rules]
    assert len(rules) > 50  # the whole default configuration, not a part of it
    problems = [p for rule in rules for p in untranslated(rule)]
    assert problems == []


def test_the_check_catches_a_rule_written_in_english_only():
    # a plain string reads the same in both languages: exactly what a forgotten translation looks like
    forgotten = Rule("x.forgotten", (), {"x": "y"}, "Everyone else -> standard newsletter")
    glossed = Rule("x.glossed", (), {"x": "y"}, Text("maintain (重点维系)", "重点维系"))
    assert forgotten.reason.zh == forgotten.reason.en
    assert any("no Chinese" in p for p in untranslated(forgotten))
    assert any("English reason has Chinese" in p for p in untranslated(glossed))


def test_placeholders_are_checked_in_both_languages():
    inputs = {"segment": CATEGORY, "score": NUMBER}
    ok = Rule("t.ok", (Cond("score", ">=", 1),), {"out": 1}, Text("Segment {segment}", "客户类别为{segment}"))
    DecisionTable("t", inputs, [ok], ("out",))
    numeric_in_zh = Rule("t.numeric", (), {"out": 1}, Text("Segment {segment}", "客户类别为{segment}，得分 {score}"))
    with pytest.raises(ValueError, match="zh reason may only name categorical inputs, not 'score'"):
        DecisionTable("t", inputs, [numeric_in_zh], ("out",))
    dropped = Rule("t.dropped", (), {"out": 1}, Text("Segment {segment}", "客户类别未知"))
    with pytest.raises(ValueError, match="its zh reason names"):
        DecisionTable("t", inputs, [dropped], ("out",))


# --------------------------------------------------------------------------------------------
# what customers get
# --------------------------------------------------------------------------------------------
def test_the_default_output_has_no_chinese(engine, population, decided):
    default = engine.decide_frame(population)
    assert default["reasons"].tolist() == decided["en"]["reasons"].tolist()
    texts = [r["reason"] for reasons in default["reasons"] for r in reasons]
    assert len(texts) > 10 * N
    assert [t for t in texts if CJK.search(t)] == []
    assert [t for t in default["action_text"].astype(str).unique() if CJK.search(t)] == []
    # the one-customer path too, on the packaged default language
    for facts in to_records(population.iloc[:50]):
        d = engine.decide(facts)
        assert not CJK.search(d["action_text"]) and not any(CJK.search(r["reason"]) for r in d["reasons"])


def test_chinese_output_is_chinese_everywhere(decided):
    zh = decided["zh"]
    fired = {r["rule"] for reasons in zh["reasons"] for r in reasons}
    assert len(fired) > 60  # the population reaches most rules, the placeholders' ones included
    assert {"six_c.not_assessed.incomplete", "distributor.not_assessed.incomplete",
            "six_c.not_applicable"} <= fired
    bad = {r["reason"] for reasons in zh["reasons"] for r in reasons
           if not CJK.search(r["reason"]) or ENGLISH_PHRASE.search(r["reason"])}
    assert bad == set()
    assert all(CJK.search(t) for t in zh["action_text"].astype(str).unique())


def test_filled_in_values_are_named_in_the_language(engine):
    facts = {"customer_id": "c", "segment": "business",
             "six_c": {"character": 80, "capacity": 70, "capital": 60, "condition": 75, "continuity": 50}}
    reason = {lang: next(r["reason"] for r in engine.decide(facts, lang)["reasons"]
                         if r["rule"] == "six_c.not_assessed.incomplete") for lang in LANGUAGES}
    assert "collateral" in reason["en"] and "抵押物品" in reason["zh"] and "collateral" not in reason["zh"]
    consumer = {lang: next(r["reason"] for r in engine.decide({"customer_id": "c", "segment": "consumer"},
                                                              lang)["reasons"] if r["rule"] == "six_c.not_applicable")
                for lang in LANGUAGES}
    assert "consumer" in consumer["en"] and "consumer" not in consumer["zh"] and CJK.search(consumer["zh"])


def test_the_decision_is_the_same_in_both_languages(decided):
    en, zh = decided["en"], decided["zh"]
    same = [c for c in en.columns if c not in ("reasons", "reasons_json", "action_text")]
    pd.testing.assert_frame_equal(en[same], zh[same])
    for a, b in zip(en["reasons"], zh["reasons"], strict=True):
        assert [(r["rule"], r.get("term")) for r in a] == [(r["rule"], r.get("term")) for r in b]
    # one action text per action in each language: the texts are translations of each other
    pairs = pd.DataFrame({"action": en["action"].astype(str), "en": en["action_text"].astype(str),
                          "zh": zh["action_text"].astype(str)}).drop_duplicates()
    assert pairs.groupby("en")["zh"].nunique().max() == 1
    terms = {r["term"] for reasons in en["reasons"] for r in reasons if "term" in r}
    assert {"铂金", "重点维系", "终止期", "热客", "交易型", "M·A·N 法则", "评分法"} <= terms


def test_action_texts_come_from_the_configuration(config, decided):
    entries = []
    retention = config.section("retention")
    entries += [e for tier in retention["actions"].values() for e in tier.values()]
    entries += [retention["let_go"], retention["unassessed"], *retention["prospect_actions"].values()]
    for lang, key in (("en", "text"), ("zh", "text_zh")):
        texts = set(decided[lang]["action_text"].astype(str))
        assert texts <= {e[key] for e in entries}, lang


@pytest.mark.parametrize("lang", LANGUAGES)
def test_batch_and_one_customer_give_the_same_reasons(engine, population, decided, lang):
    frame = decided[lang]
    records = to_records(population)
    for i in range(0, N, 13):  # ~300 customers one by one, spread over the population
        one = engine.decide(records[i], lang)
        row = {k: plain(v) for k, v in frame.iloc[i].to_dict().items()}
        assert row["reasons"] == one["reasons"]
        assert row["action_text"] == one["action_text"]
        assert json.loads(row["reasons_json"]) == one["reasons"]
    # a frame of a few rows is decided one by one inside decide_frame: the same texts there
    small = engine.decide_frame(population.iloc[:3], lang=lang)
    assert small["reasons"].tolist() == frame["reasons"].iloc[:3].tolist()


def test_the_language_is_chosen_per_call_on_one_compiled_engine(engine, population):
    compiled = engine._compiled
    first = engine.decide_frame(population.iloc[:500], lang="zh")
    engine.decide_frame(population.iloc[:500], lang="en")
    again = engine.decide_frame(population.iloc[:500], lang="zh")
    assert engine._compiled is compiled  # no recompilation for a language
    assert first["reasons"].tolist() == again["reasons"].tolist()


def test_an_unknown_language_is_refused(engine, population):
    with pytest.raises(ValueError, match="language 'fr': expected one of en, zh"):
        engine.decide({"customer_id": "c"}, "fr")
    with pytest.raises(ValueError, match="language 'fr'"):
        engine.decide_frame(population.iloc[:100], lang="fr")


# --------------------------------------------------------------------------------------------
# the Chinese action texts in the configuration
# --------------------------------------------------------------------------------------------
def test_a_configuration_without_chinese_action_texts_falls_back_to_english(raw_config, write_config):
    retention = raw_config["retention"]
    for entry in [e for tier in retention["actions"].values() for e in tier.values()] + [
            retention["let_go"], retention["unassessed"], *retention["prospect_actions"].values()]:
        entry.pop("text_zh")
    engine = RulesEngine.from_path(write_config(raw_config))
    facts = {"customer_id": "c", "value_percentile": 0.97, "churn_probability": 0.7, "recency_days": 10}
    zh, en = engine.decide(facts, "zh"), engine.decide(facts, "en")
    assert zh["action_text"] == en["action_text"] == retention["actions"]["platinum"]["high"]["text"]
    assert all(CJK.search(r["reason"]) for r in zh["reasons"])  # the reasons are still Chinese


def test_distributor_criteria_are_named_in_chinese_from_the_configuration(engine, raw_config, write_config):
    facts = {"customer_id": "d", "segment": "distributor", "distributor_criteria": {"reputation": 80}}
    names = raw_config["distributor"]["names_zh"]

    def missing_reason(e):
        return next(r["reason"] for r in e.decide(facts, "zh")["reasons"]
                    if r["rule"] == "distributor.not_assessed.incomplete")

    reason = missing_reason(engine)
    assert names["market_coverage"] in reason and "market_coverage" not in reason
    # optional: without the names the criteria are shown by their keys, joined the Chinese way
    raw_config["distributor"].pop("names_zh")
    assert "market_coverage、history" in missing_reason(RulesEngine.from_path(write_config(raw_config)))
    raw_config["distributor"]["names_zh"] = {"loyalty_programme": "会员计划"}
    with pytest.raises(ConfigError, match=r"'distributor\.names_zh\.loyalty_programme' names no criterion"):
        config_from_mapping(raw_config)


@pytest.mark.parametrize("bad", ["", 42, ["列表"]])
def test_a_bad_chinese_action_text_is_refused_naming_its_key(raw_config, bad):
    raw_config["retention"]["actions"]["gold"]["high"]["text_zh"] = bad
    with pytest.raises(ConfigError, match=r"key 'retention\.actions\.gold\.high\.text_zh'"):
        config_from_mapping(raw_config)
