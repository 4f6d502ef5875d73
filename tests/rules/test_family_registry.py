"""A rule family declared in one place reaches the engine, the config, the API model and the store.

The family here exists only in this file: a newsletter segment from loyalty, with its own
configuration block. Registering it must be enough, with no list edited anywhere, for it to be
validated in the configuration, decided by the engine (one by one and in a frame), typed in the
API's ``Decision`` model and stored by the scores store.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from crmid.rules import OUTPUT_COLUMNS, ConfigError, RulesEngine, load_config
from crmid.rules import families as registry
from crmid.rules.config import PROBABILITY, Record, check_below
from crmid.rules.decision_table import NUMBER, Cond, DecisionTable, Rule, fmt
from crmid.rules.family import LABEL, Output, RuleFamily
from crmid.serving.api import schemas
from crmid.serving.store import RETAIN_COLUMNS, open_store

# the test's own business number, in its configuration block like any family's
ENGAGED_FROM = 0.6


def _newsletter_tables(config) -> list[DecisionTable]:
    engaged = config.section("newsletter")["engaged_loyalty_from"]
    rules = [
        Rule("newsletter.engaged", (Cond("loyalty", ">=", engaged),), {"newsletter_segment": "engaged"},
             f"Loyalty >= {fmt(engaged)} -> engaged newsletter"),
        Rule("newsletter.standard", (), {"newsletter_segment": "standard"}, "Everyone else -> standard newsletter"),
    ]
    return [DecisionTable("newsletter", {"loyalty": NUMBER}, rules, ("newsletter_segment",))]


def _newsletter_validate(data, problems: list[str]) -> None:
    # a cross-section check: engaged readers are at least loyal customers
    check_below(problems, "customer_kind.loyalty_high_from", data["customer_kind"]["loyalty_high_from"],
                "newsletter.engaged_loyalty_from", data["newsletter"]["engaged_loyalty_from"], strict=False)


NEWSLETTER = RuleFamily(
    name="newsletter",
    description="Newsletter segment by loyalty",
    outputs=(Output("newsletter_segment", LABEL, "engaged or standard newsletter"),),
    build_tables=_newsletter_tables,
    config_sections={"newsletter": Record({"engaged_loyalty_from": PROBABILITY})},
    validate_config=_newsletter_validate,
)


@pytest.fixture()
def newsletter():
    """The newsletter family, registered for one test only."""
    with registry.family_registered(NEWSLETTER) as family:
        yield family
    assert registry.registered_families() == registry.FAMILIES


@pytest.fixture()
def newsletter_config_path(raw_config, write_config):
    """A copy of the packaged configuration with the newsletter block added."""
    raw_config["newsletter"] = {"engaged_loyalty_from": ENGAGED_FROM}
    return write_config(raw_config)


def _facts() -> list[dict]:
    return [
        {"customer_id": "loyal", "loyalty": ENGAGED_FROM + 0.2, "value_percentile": 0.97, "recency_days": 20.0,
         "frequency": 4.0, "tenure_days": 400.0, "churn_probability": 0.1},
        {"customer_id": "on_the_cut", "loyalty": ENGAGED_FROM},
        {"customer_id": "fickle", "loyalty": ENGAGED_FROM - 0.3, "value_percentile": 0.2},
        {"customer_id": "unknown"},
    ]


# --------------------------------------------------------------------------------------------
# (0) the configuration
# --------------------------------------------------------------------------------------------
def test_config_validates_the_family_block_only_while_registered(newsletter, newsletter_config_path, raw_config,
                                                                  write_config):
    assert load_config(newsletter_config_path).section("newsletter") == {"engaged_loyalty_from": ENGAGED_FROM}
    # registered: its block is required, shaped and checked
    del raw_config["newsletter"]
    with pytest.raises(ConfigError, match="missing key 'newsletter'"):
        load_config(write_config(raw_config))
    raw_config["newsletter"] = {"engaged_loyalty_from": 1.5}
    with pytest.raises(ConfigError, match=re.escape("'newsletter.engaged_loyalty_from' = 1.5 must be at most 1")):
        load_config(write_config(raw_config))
    raw_config["newsletter"] = {"engaged_loyalty_from": 0.1}
    with pytest.raises(ConfigError, match=re.escape("'customer_kind.loyalty_high_from' = 0.5 must be at most "
                                                    "'newsletter.engaged_loyalty_from' = 0.1")):
        load_config(write_config(raw_config))
    assert "newsletter" in registry.config_sections()


def test_config_rejects_the_block_once_unregistered(newsletter_config_path):
    assert NEWSLETTER not in registry.registered_families()
    with pytest.raises(ConfigError, match="unknown key 'newsletter'"):
        load_config(newsletter_config_path)


# --------------------------------------------------------------------------------------------
# (1) the engine
# --------------------------------------------------------------------------------------------
def test_engine_decides_the_new_family_one_by_one_and_in_a_frame(newsletter, newsletter_config_path):
    engine = RulesEngine.from_path(newsletter_config_path)
    columns = registry.output_columns()
    assert columns == (*OUTPUT_COLUMNS[:-3], "newsletter_segment", *OUTPUT_COLUMNS[-3:])

    one = [engine.decide(f) for f in _facts()]
    assert [list(d) for d in one] == [list(columns)] * len(one)
    assert [d["newsletter_segment"] for d in one] == ["engaged", "engaged", "standard", "standard"]
    assert {"rule": "newsletter.engaged", "reason": f"Loyalty >= {fmt(ENGAGED_FROM)} -> engaged newsletter"} \
        in one[0]["reasons"]
    # the other families decide as before
    assert one[0]["value_tier"] == "platinum" and one[0]["action"]

    frame = engine.decide_frame(pd.DataFrame(_facts()))
    assert list(frame.columns) == list(columns)
    assert list(frame["newsletter_segment"]) == [d["newsletter_segment"] for d in one]
    # the batch fast path gives the reference decisions for the new family too
    for row, d in zip(frame.to_dict("records"), one, strict=True):
        assert {k: v for k, v in row.items() if not (isinstance(v, float) and np.isnan(v))} == \
            {k: v for k, v in d.items() if v is not None}


def test_an_engine_compiled_before_registering_keeps_its_families(engine, newsletter):
    assert "newsletter_segment" not in engine.decide({"customer_id": "c", "loyalty": 0.9})
    assert "newsletter" not in [t.name for t in engine._compiled.tables]


def test_a_family_can_be_decided_before_another(newsletter_config_path):
    with registry.family_registered(NEWSLETTER, before="retention"):
        columns = registry.output_columns()
        assert columns.index("newsletter_segment") == columns.index("churn_risk") - 1
        tables = [t.name for t in RulesEngine.from_path(newsletter_config_path)._compiled.tables]
        assert tables.index("newsletter") == tables.index("churn_risk") - 1


# --------------------------------------------------------------------------------------------
# (2) the API model
# --------------------------------------------------------------------------------------------
def test_decision_model_gains_the_output(newsletter, newsletter_config_path):
    model = schemas.decision_model()
    field = model.model_fields["newsletter_segment"]
    assert field.annotation is str and field.is_required()
    assert field.description == "engaged or standard newsletter"
    assert list(model.model_fields) == list(registry.output_columns())
    decision = RulesEngine.from_path(newsletter_config_path).decide(_facts()[0])
    assert model.model_validate(decision).newsletter_segment == "engaged"
    # the module's model was built at import, from the families registered then
    assert "newsletter_segment" not in schemas.Decision.model_fields


def test_decision_model_of_the_packaged_families():
    fields = schemas.Decision.model_fields
    assert list(fields) == list(OUTPUT_COLUMNS)
    assert fields["purchase_type"].annotation is str and fields["churn_risk"].annotation is str
    assert fields["six_c_score"].annotation == float | None and not fields["six_c_score"].is_required()
    assert fields["priority"].annotation is float
    assert fields["reasons"].annotation == list[schemas.Reason]


# --------------------------------------------------------------------------------------------
# (3) the store
# --------------------------------------------------------------------------------------------
def test_store_created_after_registering_has_the_column(newsletter, newsletter_config_path, tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    column = store.scores.c["newsletter_segment"]
    assert isinstance(column.type, sa.String) and column.type.length == 64 and column.nullable
    names = [c.name for c in store.scores.c]
    assert names.index("action_text") < names.index("newsletter_segment") < names.index("priority")
    assert isinstance(store.scores.c["action_text"].type, sa.Text)
    # a frame scored by the engine (the rules' columns plus the model fields the store keeps)
    decisions = RulesEngine.from_path(newsletter_config_path).decide_frame(pd.DataFrame(_facts()), reasons_json=True)
    scored = decisions.drop(columns="reasons").rename(columns={"reasons_json": "reasons"}).assign(
        churn_probability=0.5, p_purchase_30d=0.1, p_purchase_90d=0.2, p_purchase_180d=0.3, p_purchase_365d=0.4,
        next_purchase_days_median=300.0, next_purchase_days_p90=900.0, expected_spend_90d=10.0,
        expected_spend_180d=18.0, expected_spend_365d=30.0, clv=100.0, value_at_risk=50.0, value_percentile=0.5)
    run = store.save_run(scored, as_of="2024-01-31", n_rejected=0, model_version="m", rules_version="r",
                         clv_reference=np.zeros(1))
    with store.engine.connect() as conn:
        stored = dict(conn.execute(sa.select(store.scores.c.customer_id, store.scores.c.newsletter_segment)
                                   .where(store.scores.c.run_id == run)).all())
    assert stored == {"loyal": "engaged", "on_the_cut": "engaged", "fickle": "standard", "unknown": "standard"}
    assert list(store.retain(top=10).columns) == list(RETAIN_COLUMNS)


def test_store_made_before_the_family_gains_its_column(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    before = open_store(url)
    assert "newsletter_segment" not in before.scores.c
    before.engine.dispose()
    with registry.family_registered(NEWSLETTER):
        after = open_store(url)
    columns = {c["name"] for c in sa.inspect(after.engine).get_columns("crmid_scores")}
    assert "newsletter_segment" in columns and "newsletter_segment" in after.scores.c


# --------------------------------------------------------------------------------------------
# the registry itself
# --------------------------------------------------------------------------------------------
def test_registry_refuses_clashes():
    with pytest.raises(ValueError, match="already registered"):
        registry.register_family(registry.FAMILIES[0])
    clash = RuleFamily(name="other", description="x", outputs=(Output("value_tier", LABEL, "x"),),
                       build_tables=_newsletter_tables)
    with pytest.raises(ValueError, match="'value_tier' is already a decision column"):
        registry.register_family(clash)
    taken = RuleFamily(name="other", description="x", outputs=(Output("other", LABEL, "x"),),
                       build_tables=_newsletter_tables, config_sections={"retention": Record({})})
    with pytest.raises(ValueError, match="section 'retention' already belongs"):
        registry.register_family(taken)
    with pytest.raises(ValueError, match="no registered rule family named 'nope'"):
        registry.register_family(NEWSLETTER, before="nope")
    with pytest.raises(KeyError):
        registry.unregister_family("nope")
    with pytest.raises(ValueError, match="kind 'colour'"):
        Output("x", "colour", "x")
    assert registry.registered_families() == registry.FAMILIES


def test_a_declared_output_no_table_sets_is_an_error(newsletter_config_path):
    liar = RuleFamily(name="newsletter", description="x", outputs=(Output("newsletter_tone", LABEL, "x"),),
                      build_tables=_newsletter_tables, config_sections=NEWSLETTER.config_sections)
    with registry.family_registered(liar), pytest.raises(ValueError, match="'newsletter_tone' is set by none"):
        RulesEngine.from_path(newsletter_config_path)


def test_markdown_table_lists_every_output(newsletter):
    table = registry.markdown_table()
    for o in registry.outputs():
        assert f"| `{o.name}` | {o.kind} | {o.description} |" in table
    assert "| `newsletter`: Newsletter segment by loyalty | `newsletter_segment` | label |" in table


# --------------------------------------------------------------------------------------------
# (4) the batch columns
# --------------------------------------------------------------------------------------------
def test_batch_scoring_carries_the_new_output(newsletter, newsletter_config_path):
    """The scored frame of the one scoring function gains the family's column, after the others."""
    from crmid.customerbase import TransactionLog, validate_transactions
    from crmid.models.value import clv_reference
    from crmid.serving.scoring import SCORE_COLUMNS, decide_stage, predict_stage
    from crmid.training.fitting import fit_baseline_scorer

    tx = pd.DataFrame({"customer_id": ["a", "a", "a", "b", "b", "c"] * 20,
                       "date": pd.date_range("2023-01-01", periods=120, freq="3D"),
                       "amount": np.linspace(10, 70, 120)})
    tx["customer_id"] = [f"{c}{i % 40}" for i, c in enumerate(tx["customer_id"])]
    clean, _ = validate_transactions(tx)
    scorer = fit_baseline_scorer(clean, cutoff="2023-12-01", horizon=90, reason="test")
    engine = RulesEngine.from_path(newsletter_config_path)
    predicted = predict_stage(TransactionLog(clean), "2023-12-01", scorer=scorer, policy=engine.facts_policy)
    scored = decide_stage(predicted, reference=clv_reference(predicted["clv"].to_numpy()), engine=engine,
                          policy=engine.facts_policy, model_version="m", scored_at=pd.Timestamp("2024-01-01"),
                          as_of="2023-12-01")
    assert "newsletter_segment" in scored.columns and "newsletter_segment" not in SCORE_COLUMNS
    assert set(scored["newsletter_segment"].astype(str)) <= {"engaged", "standard"}
    columns = list(scored.columns)
    assert columns.index("action_text") < columns.index("newsletter_segment") < columns.index("model_version")
