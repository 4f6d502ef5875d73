"""The command line's conventions: one vocabulary, global flags before or after the command, JSON results."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest

from crmid.cli import DEPRECATED, VOCABULARY, build_parser, main

AS_OF = "1998-03-31"


def _commands(parser, path=()):
    """(name path, parser) of every command and nested command."""
    for action in parser._actions:  # argparse has no public walk of its subcommands
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*path, name), sub
                yield from _commands(sub, (*path, name))


def _visible_options(parser):
    return [a for a in parser._actions if a.option_strings and a.help is not argparse.SUPPRESS]


def test_every_command_help_lists_only_the_shared_vocabulary():
    deprecated = {old.split()[0] for old in DEPRECATED}
    for path, parser in _commands(build_parser()):
        for action in _visible_options(parser):
            name = " ".join(path)
            takes_value = action.nargs != 0
            for flag in action.option_strings:
                assert flag not in deprecated or flag in VOCABULARY, f"crmid {name}: {flag} is deprecated"
                if flag in VOCABULARY:
                    assert action.metavar == VOCABULARY[flag][0], f"crmid {name}: {flag} {action.metavar}"
            if takes_value:
                # a metavar, or the choices themselves ({local,spark}) in its place
                assert action.metavar or action.choices, f"crmid {name}: {action.option_strings} has no metavar"
        text = parser.format_help()
        assert "--output" not in text
        if path == ("generate",):
            assert "--n-customers N" in text and "--customers" not in text
        for action in _visible_options(parser):
            # --customers is a profiles file wherever it is shown
            if "--customers" in action.option_strings:
                assert action.metavar == "FILE" and action.type is None


def test_the_top_level_help_documents_the_vocabulary_and_imports_nothing_heavy():
    text = build_parser().format_help()
    for flag, (metavar, _) in VOCABULARY.items():
        assert (f"{flag} {metavar}" if metavar else flag) in text
    assert "--quiet" in text and "register-python-argcomplete crmid" in text
    code = ("import sys, crmid.cli\ntry:\n    crmid.cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('crmid.config', 'pandas', 'argcomplete.finders') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    # argcomplete itself is light and reads its own variable; the workspace (pydantic) and pandas wait
    assert done.stdout.strip().splitlines()[-1] == "['argcomplete.finders']"


@pytest.fixture(scope="module")
def tx_file(tmp_path_factory, cdnow):
    from tests.conftest import sample_customers

    path = tmp_path_factory.mktemp("cli") / "tx.csv"
    sample_customers(cdnow, 600, seed=11).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("before", [True, False])
def test_quiet_and_format_json_before_or_after_the_command(tx_file, capsys, before):
    command = ["validate", "--transactions", str(tx_file)]
    argv = ["-q", "--format", "json", *command] if before else [*command, "--format", "json", "--quiet"]
    assert main(argv) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["valid"] is True and report["rows_in"] == report["rows_out"] > 0
    assert err == ""
    # without --quiet the validation summary goes to stderr, the result stays on stdout
    assert main(command) == 0
    out, err = capsys.readouterr()
    assert out.strip() == "valid" and "rows" in err


def test_quiet_still_explains_a_failure(tmp_path, capsys):
    assert main(["-q", "validate", "--transactions", str(tmp_path / "missing.csv")]) == 2
    assert "missing.csv" in capsys.readouterr().err


def test_a_format_the_command_does_not_have_is_a_usage_error(tx_file, capsys, tmp_path):
    assert main(["--format", "csv", "validate", "--transactions", str(tx_file)]) == 2
    assert "invalid choice" in capsys.readouterr().err
    assert main(["--format", "json", "dataset", "cdnow", "--out", str(tmp_path / "x.csv")]) == 2
    assert "prints no result" in capsys.readouterr().err


def test_rules_check_and_info_print_json(tmp_path, capsys):
    from crmid.rules.config import default_config_path

    assert main(["rules", "check", str(default_config_path()), "--format", "json"]) == 0
    checked = json.loads(capsys.readouterr().out)
    assert checked["valid"] is True and checked["changes"] == []
    assert main(["--format", "json", "info", "--work-dir", str(tmp_path / "w")]) == 0
    info = json.loads(capsys.readouterr().out)
    settings = {s["name"]: s for s in info["settings"]}
    assert settings["work_dir"]["source"] == "option" and info["champion"] is None and info["latest_run"] is None


def test_deprecated_aliases_still_work_and_say_so(tmp_path, capsys):
    facts = tmp_path / "facts.jsonl"
    facts.write_text('{"customer_id": "C-1", "value_percentile": 0.97, "churn_probability": 0.6}\n')
    out = tmp_path / "decisions.jsonl"
    assert main(["decide", "--input", str(facts), "--output", str(out)]) == 0
    assert json.loads(out.read_text())["customer_id"] == "C-1"
    assert "--output is deprecated" in capsys.readouterr().err

    tx = tmp_path / "synthetic.csv"
    assert main(["generate", "--customers", "30", "--out", str(tx), "--seed", "1"]) == 0
    assert pd.read_csv(tx)["customer_id"].nunique() == 30
    assert "--customers is deprecated" in capsys.readouterr().err
    assert main(["generate", "--n-customers", "30", "--out", str(tx), "--seed", "1"]) == 0
    assert "deprecated" not in capsys.readouterr().err


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, tx_file):
    """A real scorer fitted on the small sample (few snapshots and rounds: the CLI is under test)."""
    from crmid.customerbase import TransactionLog, validate_transactions
    from crmid.training.fitting import fit_scorer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clean, _ = validate_transactions(pd.read_csv(tx_file, dtype={"customer_id": str}))
        scorer = fit_scorer(TransactionLog(clean), cutoff=AS_OF, horizon=90, max_snapshots=3, num_boost_round=20)
    path = tmp_path_factory.mktemp("model") / "scorer"
    scorer.save(path)
    return str(path)


def _score(tmp_path, tx_file, model_dir, *extra):
    return ["score", "--transactions", str(tx_file), "--as-of", AS_OF, "--out", str(tmp_path / "scores.parquet"),
            "--model-uri", model_dir, "--work-dir", str(tmp_path / "w"), *extra]


def test_score_format_json_is_a_run_summary_whose_counts_add_up(tmp_path, tx_file, model_dir, capsys):
    assert main(["--quiet", *_score(tmp_path, tx_file, model_dir), "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    summary = json.loads(out)
    counts = summary["counts"]
    assert counts["input_customers"] == counts["scored"] + counts["rejected"] > 0
    scores = pd.read_parquet(summary["files"]["scores"])
    assert len(scores) == counts["scored"]
    manifest = json.loads(Path(summary["files"]["manifest"]).read_text(encoding="utf-8"))
    assert manifest["run_id"] == summary["run_id"] and manifest["counts"]["scored"] == counts["scored"]
    assert {"read+validate", "publish"} <= set(summary["seconds"])
    # start-up (settings, imports, the model's load) is reported first, as a stage of its own
    assert next(iter(summary["seconds"])) == "start-up" and summary["seconds"]["start-up"] > 0
    for horizon in ("90", "365"):
        spend = summary["spend"][horizon]
        assert spend["total"] == pytest.approx(sum(spend["by"].values()))
        assert spend["total"] == pytest.approx(scores[f"expected_spend_{horizon}d"].sum())
    assert summary["warnings"] == []


def test_score_warns_when_no_profile_matches_a_customer(tmp_path, tx_file, model_dir, capsys):
    profiles = tmp_path / "profiles.csv"
    pd.DataFrame({"customer_id": [f"X-{i}" for i in range(7)], "segment": "consumer"}).to_csv(profiles, index=False)
    assert main([*_score(tmp_path, tx_file, model_dir, "--customers", str(profiles)), "--format", "json"]) == 0
    out, err = capsys.readouterr()
    summary = json.loads(out)
    n_tx = pd.read_csv(tx_file, dtype={"customer_id": str})["customer_id"].nunique()
    (warning,) = summary["warnings"]
    assert "none of the 7 customer profiles" in warning and f"{n_tx:,} customers" in warning
    assert warning in err  # a person watching the run sees it too
    assert summary["counts"]["input_customers"] == n_tx + 7

    # one id in common: no warning
    pd.DataFrame({"customer_id": [pd.read_csv(tx_file, dtype={"customer_id": str})["customer_id"].iloc[0], "X-1"],
                  "segment": "consumer"}).to_csv(profiles, index=False)
    assert main([*_score(tmp_path, tx_file, model_dir, "--customers", str(profiles)), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"] == []


def test_shell_completion_answers_through_argcomplete(tmp_path):
    out = tmp_path / "completions"
    env = {**os.environ, "_ARGCOMPLETE": "1", "_ARGCOMPLETE_STDOUT_FILENAME": str(out), "_ARGCOMPLETE_IFS": " ",
           "COMP_LINE": "crmid score --tr", "COMP_POINT": str(len("crmid score --tr"))}
    done = subprocess.run([sys.executable, "-m", "crmid"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "--transactions" in out.read_text().split()


def test_score_lang_zh_writes_chinese_reasons_and_records_the_language(tmp_path, tx_file, model_dir):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRMID_", "MLFLOW_"))}
    crmid = [sys.executable, "-m", "crmid"]
    runs = {}
    for lang in ("en", "zh"):
        out = tmp_path / lang
        argv = [*crmid, *_score(out, tx_file, model_dir, "--store", "none", "--format", "json")]
        if lang == "zh":
            argv += ["--lang", "zh"]  # en: the default, not said
        done = subprocess.run(argv, capture_output=True, text=True, timeout=600, env=env)
        assert done.returncode == 0, done.stderr
        summary = json.loads(done.stdout)
        manifest = json.loads(Path(summary["files"]["manifest"]).read_text(encoding="utf-8"))
        assert summary["lang"] == manifest["lang"] == lang
        runs[lang] = pd.read_parquet(summary["files"]["scores"])
    cjk = re.compile(r"[\u4e00-\u9fff]")
    en, zh = runs["en"], runs["zh"]
    zh_reasons = [json.loads(text) for text in zh["reasons"]]
    en_reasons = [json.loads(text) for text in en["reasons"]]
    assert all(cjk.search(r["reason"]) for reasons in zh_reasons for r in reasons)
    assert not any(cjk.search(r["reason"]) for reasons in en_reasons for r in reasons)
    assert zh["action_text"].astype(str).map(lambda t: bool(cjk.search(t))).all()
    # the same decisions, explained in another language
    for column in ("customer_id", "value_tier", "lifecycle_stage", "action", "priority"):
        assert zh[column].astype(str).tolist() == en[column].astype(str).tolist(), column
    assert [[r["rule"] for r in x] for x in zh_reasons] == [[r["rule"] for r in x] for x in en_reasons]

    done = subprocess.run([*crmid, *_score(tmp_path / "fr", tx_file, model_dir, "--store", "none", "--lang", "fr")],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 2 and "argument --lang: expected one of en, zh, got 'fr'" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "fr" / "scores.parquet").exists()


def test_score_keeps_the_profiles_segment_in_the_file_and_the_store(tmp_path, tx_file, model_dir, capsys):
    """A profile's segment is a column of the scores and a filter of the stored retain list."""
    ids = pd.read_csv(tx_file, dtype={"customer_id": str})["customer_id"].drop_duplicates().tolist()
    segments = {ids[0]: "business", ids[1]: "distributor", ids[2]: "business"}
    profiles = tmp_path / "profiles.csv"
    pd.DataFrame({"customer_id": [*segments, "P-new"], "segment": [*segments.values(), "consumer"]}).to_csv(
        profiles, index=False)
    store_url = f"sqlite:///{tmp_path / 'scores.db'}"
    assert main([*_score(tmp_path, tx_file, model_dir, "--customers", str(profiles), "--store", store_url),
                 "--format", "json"]) == 0
    capsys.readouterr()
    scores = pd.read_parquet(tmp_path / "scores.parquet").set_index("customer_id")
    assert scores.loc[[*segments, "P-new"], "segment"].tolist() == [*segments.values(), "consumer"]
    assert scores.drop(index=[*segments, "P-new"])["segment"].isna().all()
    from crmid.serving.store import open_store

    with open_store(store_url) as store:
        listed = store.retain_page(top=None, labels={"segment": ["business"]})
        assert set(listed["customer_id"]) <= {ids[0], ids[2]}
        business = scores[(scores["segment"] == "business") & (scores["priority"] > 0)].index
        assert set(listed["customer_id"]) == set(business)
        assert store.count_retain(labels={"segment": ["consumer"]}) == int(
            ((scores["segment"] == "consumer") & (scores["priority"] > 0)).sum())
