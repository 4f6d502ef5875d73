"""Values that break arithmetic are rejected, returns-only customers are no upgrade prospects, and
files that cannot be read say why (a directory, another encoding) instead of a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from crmid.customerbase.io import read_transactions
from crmid.rules import RulesEngine, load_config
from crmid.rules.config import CHURN_BANDS, TIERS

CONFIG = load_config()
BOUND = CONFIG.section("input")["max_abs_amount"]


def _crmid(*args, cwd):
    return subprocess.run([sys.executable, "-m", "crmid", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_the_amount_bound_lives_in_the_rules_file():
    assert 0 < BOUND < 1e300


@pytest.mark.parametrize("amount", ["1e308", "-1e308", "inf", f"{BOUND * 10:g}"])
def test_amounts_beyond_the_bound_reject_their_customer_with_the_reason(tmp_path, amount):
    path = tmp_path / "tx.csv"
    path.write_text("customer_id,date,amount\n"
                    "a,2024-01-01,10\n"
                    f"b,2024-01-02,{amount}\n"
                    "b,2024-01-03,5\n"
                    f"c,2024-01-04,{BOUND:g}\n")   # exactly the bound is allowed
    frame, report = read_transactions(path, on_error="reject", max_abs_amount=BOUND)
    assert sorted(frame["customer_id"].astype(str).unique()) == ["a", "c"]
    assert list(report.rejected["customer_id"]) == ["b"]
    reason = report.rejected["reason"].iloc[0]
    assert "row 2" in reason and ("amount out of bounds" in reason or "non-numeric amount" in reason)
    assert report.rows_in == report.rows_out + sum(report.rows_dropped.values())
    # the monetary sums stay finite: nothing overflowed into the kept customers
    assert frame["amount"].abs().max() <= BOUND


def test_validate_names_the_out_of_bounds_row(tmp_path):
    (tmp_path / "tx.csv").write_text("customer_id,date,amount\na,2024-01-01,10\nb,2024-01-02,1e308\n")
    done = _crmid("validate", "--transactions", "tx.csv", "--work-dir", "w", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "amount out of bounds" in done.stderr and "row 2" in done.stderr
    assert "input.max_abs_amount" in done.stderr


# ------------------------------------------------------------------ returns only: a decision table
@pytest.fixture(scope="module")
def engine():
    return RulesEngine.from_path()


def _facts(config, tier, band, monetary):
    tiers = config.section("value_tier")["cut_points"]
    churn = config.section("churn_risk")["cut_points"]
    return {"customer_id": "c", "value_percentile": {**tiers, "lead": 0.0}[tier],
            "churn_probability": 0.0 if band == "low" else churn[band], "recency_days": 20, "frequency": 1,
            "tenure_days": 100, "monetary": monetary}


#: actions that offer the customer more (an upgrade, an upsell, a loyalty programme)
_UPGRADE_ACTIONS = {"upgrade_incentive", "nurture_upsell", "vip_strengthen_loyalty", "vip_care_program"}


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("band", CHURN_BANDS)
def test_returns_only_customer_gets_the_returns_reason_and_no_upgrade(engine, tier, band):
    # whatever percentile the models gave it, a net-negative customer is lead, and says why
    d = engine.decide(_facts(CONFIG, tier, band, monetary=-42.0))
    assert d["value_tier"] == "lead"
    assert d["action"] == CONFIG.section("retention")["actions"]["lead"][band]["action"]
    assert d["action"] not in _UPGRADE_ACTIONS
    fired = {r["rule"]: r["reason"] for r in d["reasons"]}
    assert "tier.returns_only" in fired and "returns" in fired["tier.returns_only"].lower()
    # the same customer with a positive net spend keeps its tier and the tier's action
    normal = engine.decide(_facts(CONFIG, tier, band, monetary=42.0))
    assert normal["value_tier"] == tier
    assert normal["action"] == CONFIG.section("retention")["actions"][tier][band]["action"]
    assert "tier.returns_only" not in {r["rule"] for r in normal["reasons"]}


def test_returns_only_follows_the_configuration(tmp_path):
    import yaml

    data = CONFIG.data | {"version": "test-returns"}
    data["returns_only"] = {"net_spend_below": 100}
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    engine = RulesEngine.from_path(path)
    assert engine.decide(_facts(engine.config, "gold", "low", monetary=50.0))["value_tier"] == "lead"
    assert engine.decide(_facts(engine.config, "gold", "low", monetary=150.0))["action"] == "upgrade_incentive"


def test_prospects_without_a_spend_are_not_returns_only(engine):
    # no monetary at all (a /v1/decide body without it): the tier decides, as before
    facts = _facts(CONFIG, "gold", "low", monetary=None)
    del facts["monetary"]
    assert engine.decide(facts)["action"] == "upgrade_incentive"


def test_batch_frames_decide_returns_only_like_one_by_one(engine):
    import pandas as pd

    rows = [_facts(CONFIG, t, b, m) for t in TIERS for b in CHURN_BANDS for m in (-5.0, 0.0, 5.0, None)]
    for i, r in enumerate(rows):
        r["customer_id"] = f"c{i}"
    fast = engine.decide_frame(pd.DataFrame(rows))
    assert list(fast["action"]) == [engine.decide(r)["action"] for r in rows]


# ------------------------------------------------------------------ files that cannot be read
def test_a_directory_as_input_is_a_clear_error(tmp_path):
    (tmp_path / "tx.csv").mkdir()
    done = _crmid("validate", "--transactions", "tx.csv", "--work-dir", "w", cwd=tmp_path)
    assert done.returncode == 2
    assert "is a directory" in done.stderr and "Traceback" not in done.stderr


def test_latin1_bytes_name_the_row_and_encoding_reads_them(tmp_path):
    (tmp_path / "tx.csv").write_bytes("customer_id,date,amount,product\n"
                                      "a,2024-01-01,10,tea\n"
                                      "b,2024-01-02,5,café\n".encode("latin-1"))
    done = _crmid("validate", "--transactions", "tx.csv", "--work-dir", "w", cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "row 2 (line 3)" in done.stderr and "0xE9" in done.stderr and "--encoding" in done.stderr
    done = _crmid("validate", "--transactions", "tx.csv", "--encoding", "latin-1", "--work-dir", "w", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    frame, _ = read_transactions(tmp_path / "tx.csv", encoding="latin-1")
    assert list(frame["product"]) == ["tea", "café"]


def test_latin1_ids_are_never_replaced_silently(tmp_path):
    path = tmp_path / "tx.csv"
    path.write_bytes("customer_id,date,amount\nJos\xe9,2024-01-01,10\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"row 1 \(line 2\): byte 0xE9"):
        read_transactions(path)
    frame, _ = read_transactions(path, encoding="latin-1")
    assert list(frame["customer_id"].astype(str)) == ["José"]


def test_unknown_encoding_is_a_clear_error(tmp_path):
    (tmp_path / "tx.csv").write_text("customer_id,date,amount\na,2024-01-01,10\n")
    with pytest.raises(ValueError, match="unknown text encoding"):
        read_transactions(tmp_path / "tx.csv", encoding="klingon")
