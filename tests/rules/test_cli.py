"""``crmid decide`` and ``crmid rules check``, in-process and once as a real process."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from crmid.cli import main


def run(argv):
    return main(argv)


def _write_lines(path: Path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_decide_jsonl_in_and_out(tmp_path, engine):
    facts = [{"customer_id": "a", "value_percentile": 0.97, "churn_probability": 0.9},
             {"customer_id": "b", "money": True, "authority": True, "need": True,
              "six_c": {"character": 90}}]
    src = _write_lines(tmp_path / "facts.jsonl", [json.dumps(f) for f in facts] + [""])
    out = tmp_path / "decisions.jsonl"
    assert run(["decide", "--input", str(src), "--output", str(out)]) == 0
    decisions = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [d["customer_id"] for d in decisions] == ["a", "b"]
    assert decisions == [engine.decide(f) for f in facts]
    assert decisions[0]["action"] == "retain_vip_personal_outreach"


def test_decide_stdin_to_stdout(monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"customer_id": "x", "value_percentile": 0.1}\n'))
    assert run(["decide", "--input", "-", "--output", "-"]) == 0
    line = capsys.readouterr().out.strip()
    assert json.loads(line)["value_tier"] == "lead"


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"customer_id": "a"}', "{not json"], "line 2: not valid JSON"),
        (['{"customer_id": "a", "churn_probability": "high"}'],
         "line 1: field 'churn_probability' = 'high': expected a number in [0, 1]"),
        (['{"customer_id": "a"}', "", '{"customer_id": "b", "need": "maybe"}'],
         "line 3: field 'need' = 'maybe': expected true or false"),
        (["[1, 2]"], "line 1: expected a JSON object"),
    ],
)
def test_decide_bad_input_names_line_field_value(tmp_path, capsys, lines, message):
    src = _write_lines(tmp_path / "facts.jsonl", lines)
    assert run(["decide", "--input", str(src), "--output", str(tmp_path / "out.jsonl")]) == 2
    assert message in capsys.readouterr().err


def test_rules_check(tmp_path, capsys, raw_config, write_config):
    assert run(["rules", "check", str(write_config(raw_config))]) == 0
    assert "no changes" in capsys.readouterr().out
    raw_config["value_tier"]["cut_points"]["platinum"] = 0.9
    assert run(["rules", "check", str(write_config(raw_config))]) == 0
    assert "value_tier.cut_points.platinum: 0.95 -> 0.9" in capsys.readouterr().out
    raw_config["retention"]["actions"].pop("lead")
    assert run(["rules", "check", str(write_config(raw_config))]) == 2
    assert "'retention.actions' has no action for tier 'lead'" in capsys.readouterr().err


def test_decide_as_a_real_process(tmp_path):
    src = _write_lines(tmp_path / "facts.jsonl", ['{"customer_id": "a", "value_percentile": 0.5}'])
    done = subprocess.run([sys.executable, "-m", "crmid", "decide", "--input", str(src), "--output", "-"],
                          capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["value_tier"] == "iron"


def test_decide_lang_zh_writes_chinese_reasons_and_texts(tmp_path, engine, capsys, monkeypatch):
    monkeypatch.delenv("CRMID_LANG", raising=False)
    facts = [{"customer_id": "a", "value_percentile": 0.97, "churn_probability": 0.9, "recency_days": 30}]
    src = _write_lines(tmp_path / "facts.jsonl", [json.dumps(f) for f in facts])
    out = tmp_path / "decisions.jsonl"
    assert run(["decide", "--input", str(src), "--out", str(out), "--lang", "zh"]) == 0
    (decision,) = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert decision == engine.decide(facts[0], "zh")
    assert decision["reasons"] != engine.decide(facts[0])["reasons"]
    assert all(re.search(r"[\u4e00-\u9fff]", r["reason"]) for r in decision["reasons"])
    # the environment sets it when the option is not given; the option wins over it
    monkeypatch.setenv("CRMID_LANG", "zh")
    assert run(["decide", "--input", str(src), "--out", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8")) == decision
    assert run(["decide", "--input", str(src), "--out", str(out), "--lang", "en"]) == 0
    assert json.loads(out.read_text(encoding="utf-8")) == engine.decide(facts[0])


def test_decide_unknown_language_is_a_usage_error(tmp_path):
    src = _write_lines(tmp_path / "facts.jsonl", ['{"customer_id": "a"}'])
    done = subprocess.run([sys.executable, "-m", "crmid", "decide", "--input", str(src), "--out", "-",
                           "--lang", "fr"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and done.stdout == ""
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    assert errors == ["crmid decide: error: argument --lang: expected one of en, zh, got 'fr'"]
    assert "Traceback" not in done.stderr
