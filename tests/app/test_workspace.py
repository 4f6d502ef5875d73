"""The workspace: one precedence (option > environment > default) for every setting, with sources."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from crmid.config import Workspace


@pytest.fixture
def bare_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith(("CRMID_", "MLFLOW_")):
            monkeypatch.delenv(name)
    return monkeypatch


def test_defaults_live_under_the_work_dir_of_the_current_directory(bare_env, tmp_path):
    bare_env.chdir(tmp_path)
    ws = Workspace.resolve()
    work = tmp_path.resolve() / "crmid-work"
    assert ws.work_dir == work
    assert ws.tracking_uri == ws.registry_uri == f"sqlite:///{work / 'mlflow.db'}"
    assert ws.store_url == f"sqlite:///{work / 'scores.db'}"
    assert ws.model_uri == "models:/crmid-customer@champion"
    assert ws.artifact_location == (work / "mlartifacts").as_uri()
    assert set(ws.sources.values()) == {"default"}
    # resolved once: changing directory afterwards changes nothing
    bare_env.chdir(Path("/"))
    assert ws.work_dir == work


def test_environment_beats_defaults_and_options_beat_both(bare_env, tmp_path):
    bare_env.setenv("MLFLOW_TRACKING_URI", "http://mlflow.example:5000")
    bare_env.setenv("CRMID_STORE_URL", "postgresql://crm@db/scores")
    bare_env.setenv("CRMID_MODEL_ALIAS", "challenger")
    ws = Workspace.resolve(store_url="sqlite:///x.db", work_dir=str(tmp_path))
    assert ws.tracking_uri == "http://mlflow.example:5000"
    assert ws.registry_uri == "http://mlflow.example:5000"  # follows tracking unless set
    assert ws.store_url == "sqlite:///x.db"
    assert ws.model_uri == "models:/crmid-customer@challenger"
    assert ws.sources["tracking_uri"] == "environment (MLFLOW_TRACKING_URI)"
    assert ws.sources["store_url"] == "option"
    assert ws.sources["model_alias"] == "environment (CRMID_MODEL_ALIAS)"
    assert ws.sources["work_dir"] == "option"
    assert ws.sources["experiment"] == "default"


def test_crmid_variable_wins_over_mlflow_variable(bare_env):
    bare_env.setenv("MLFLOW_TRACKING_URI", "http://a:5000")
    bare_env.setenv("CRMID_TRACKING_URI", "http://b:5000")
    ws = Workspace.resolve()
    assert ws.tracking_uri == "http://b:5000"
    assert ws.sources["tracking_uri"] == "environment (CRMID_TRACKING_URI)"


def test_unset_options_and_empty_strings_mean_not_given(bare_env):
    # how argparse and the MLproject entry points pass "not set"
    ws = Workspace.resolve(experiment=None, store_url="")
    assert ws.experiment == "crmid" and ws.sources["experiment"] == "default"
    assert ws.store_url.endswith("/scores.db")


def test_bad_values_name_the_setting(bare_env):
    bare_env.setenv("CRMID_PORT", "eighty")
    with pytest.raises(ValidationError, match="port"):
        Workspace.resolve()
    with pytest.raises(TypeError, match="unknown workspace settings: colour"):
        Workspace.resolve(colour="red")


def test_the_token_is_never_shown(bare_env):
    bare_env.setenv("CRMID_API_TOKEN", "s3cret")
    ws = Workspace.resolve()
    assert ws.api_token.get_secret_value() == "s3cret"
    shown = {name: value for name, value, _ in ws.describe()}
    assert shown["api_token"] == "set (hidden)"
    assert "s3cret" not in repr(ws)


def test_store_none_turns_the_store_off(bare_env):
    assert not Workspace.resolve(store_url="none").store_enabled
    assert Workspace.resolve().store_enabled


def _crmid(*argv, cwd, env):
    return subprocess.run([sys.executable, "-m", "crmid", *argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_info_prints_each_setting_with_its_source(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRMID_", "MLFLOW_"))}
    env["CRMID_EXPERIMENT"] = "nightly"
    done = _crmid("--store", "none", "info", "--work-dir", str(tmp_path / "w"), cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if line.strip()}
    assert "environment (CRMID_EXPERIMENT)" in lines["experiment"] and "nightly" in lines["experiment"]
    assert "option" in lines["store_url"] and lines["store_url"].rstrip().endswith("none")
    assert "option" in lines["work_dir"] and str(tmp_path / "w") in lines["work_dir"]
    assert "default" in lines["tracking_uri"] and str(tmp_path / "w" / "mlflow.db") in lines["tracking_uri"]
    assert "champion" in lines and "crmid train" in lines["champion"]  # none yet, and how to get one
    assert "store turned off" in lines["latest"]


def test_help_answers_without_importing_the_heavy_libraries(tmp_path):
    code = ("import sys; from crmid.cli import build_parser; build_parser(); "
            "heavy = [m for m in ('pandas', 'numpy', 'lightgbm', 'sklearn', 'mlflow', 'sqlalchemy', 'fastapi') "
            "if m in sys.modules]; print(','.join(heavy))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
    assert "workspace options" in _crmid("--help", cwd=tmp_path, env=dict(os.environ)).stdout


def test_an_empty_token_is_a_configuration_error(bare_env):
    bare_env.setenv("CRMID_API_TOKEN", "  ")
    with pytest.raises(ValidationError, match="set but empty"):
        Workspace.resolve()


def test_serve_refuses_the_network_without_a_token(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRMID_", "MLFLOW_"))}
    done = _crmid("serve", "--host", "0.0.0.0", "--port", "1", cwd=tmp_path, env=env)
    assert done.returncode == 2
    assert "without an API token" in done.stderr and "--no-auth" in done.stderr
    env["CRMID_API_TOKEN"] = ""
    done = _crmid("serve", cwd=tmp_path, env=env)
    assert done.returncode == 2 and "set but empty" in done.stderr


def test_retain_arguments_are_checked(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRMID_", "MLFLOW_"))}
    for argv, says in ((["--top", "-1"], "at least 1, got -1"), (["--min-churn", "1.5"], "between 0 and 1"),
                       (["--tier", "diamond"], "unknown tier; expected some of platinum")):
        done = _crmid("retain", *argv, cwd=tmp_path, env=env)
        assert done.returncode == 2 and says in done.stderr, done.stderr
        assert "Traceback" not in done.stderr


def test_unreachable_store_is_one_line_and_its_own_exit_code(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRMID_", "MLFLOW_"))}
    done = _crmid("retain", "--store", "postgresql://nobody@127.0.0.1:1/x", cwd=tmp_path, env=env)
    assert done.returncode == 4
    assert len(done.stderr.strip().splitlines()) == 1 and "Connection refused" in done.stderr
