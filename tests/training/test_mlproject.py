"""Every MLproject entry point, run as a scheduler runs it: ``mlflow run . -e NAME --env-manager local``.

MLflow's own command line (the venv's ``mlflow``) against a SQLite tracking store in a tmp dir, on
500 CDNOW customers: the run lands in the experiment given to ``mlflow run``, and crmid logs into
that very run (``MLFLOW_RUN_ID``), not into a second one of its own.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pytest
import yaml

from crmid.config import Workspace
from crmid.monitoring.config import default_config_path
from crmid.training.tracking import Tracker

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EXPERIMENT = "crmid"  # the workspace's default experiment: what the README tells mlflow run to use


@dataclass
class Project:
    dir: Path
    env: dict
    tx: dict
    client: mlflow.MlflowClient


@dataclass
class ProjectRun:
    done: subprocess.CompletedProcess
    run: object


@pytest.fixture(scope="module")
def project(cdnow, sampler, tmp_path_factory) -> Project:
    d = tmp_path_factory.mktemp("mlproject")
    sample = sampler(cdnow, 500, seed=15)
    tx = {}
    for until in ("1997-12-31", "1998-03-31"):
        cut = sample[sample["date"] <= until]
        tx[until] = d / f"tx-{until}.csv"
        cut.assign(date=cut["date"].dt.strftime("%Y-%m-%d")).to_csv(tx[until], index=False)
    uri = f"sqlite:///{d / 'mlflow.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRMID_", "MLFLOW_"))}
    # the command runs in the project directory: the workspace must not land in the repository
    env.update(MLFLOW_TRACKING_URI=uri, CRMID_WORK_DIR=str(d / "work"), PATH=f"{BIN}{os.pathsep}{env['PATH']}")
    # the experiment as crmid makes it, artifacts beside the store: made by `mlflow run`, its
    # artifacts would go to ./mlruns of the directory it runs in, the repository
    Tracker(Workspace(work_dir=d / "work", tracking_uri=uri)).experiment_id(EXPERIMENT)
    return Project(d, env, tx, mlflow.MlflowClient(tracking_uri=uri))


def mlflow_run(project: Project, entry: str, **params) -> ProjectRun:
    """``mlflow run . -e ENTRY`` from the repository; the run it made, read back from the store."""
    argv = [str(BIN / "mlflow"), "run", ".", "-e", entry, "--env-manager", "local", "--experiment-name", EXPERIMENT]
    for key, value in params.items():
        argv += ["-P", f"{key}={value}"]
    done = subprocess.run(argv, cwd=REPO, env=project.env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(argv)} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    run_id = re.search(r"Run \(ID '([0-9a-f]+)'\) succeeded", done.stderr).group(1)
    return ProjectRun(done, project.client.get_run(run_id))


def _runs(project: Project, experiment: str) -> list:
    exp = project.client.get_experiment_by_name(experiment)
    return project.client.search_runs([exp.experiment_id]) if exp is not None else []


@pytest.fixture(scope="module")
def trained(project) -> ProjectRun:
    return mlflow_run(project, "train", transactions=project.tx["1997-12-31"], as_of="1997-12-31", horizon=90)


def test_train_logs_the_whole_record_into_the_run_mlflow_made(project, trained):
    run, client = trained.run, project.client
    assert client.get_experiment(run.info.experiment_id).name == EXPERIMENT
    assert run.info.status == "FINISHED" and run.info.run_name == "train-1997-12-31-H90"
    assert run.data.tags["mlflow.project.entryPoint"] == "train"
    # one run: the project's parameters beside crmid's, nothing in Default, no second crmid run
    assert [r.info.run_id for r in _runs(project, EXPERIMENT)] == [run.info.run_id]
    assert _runs(project, "Default") == []
    assert run.info.artifact_uri.startswith((project.dir / "mlartifacts").as_uri())
    params = run.data.params
    assert params["as_of"] == "1997-12-31" and params["horizon"] == "90" and params["horizon_days"] == "90"
    # the input dataset, with crmid's content hash as its digest
    (data,) = run.inputs.dataset_inputs
    assert data.dataset.name == "transactions" and data.dataset.digest == params["data_sha256_16"]
    assert json.loads(data.dataset.source)["uri"] == str(project.tx["1997-12-31"])
    assert json.loads(data.dataset.profile)["num_rows"] > 0
    assert {(t.key, t.value) for t in data.tags} == {("mlflow.data.context", "training")}
    # the recipe judged out of time: report and plots, figures as metrics
    evaluation = {a.path for a in client.list_artifacts(run.info.run_id, "evaluation")}
    assert {f"evaluation/{n}" for n in ("metrics.json", "comparison.txt", "calibration.png", "gains.png",
                                        "feature_importance.png")} <= evaluation
    assert run.data.tags["evaluation"].startswith("the recipe fitted to 1997-10-02")
    assert 0.5 < run.data.metrics["eval_served_auc_90d"] <= 1
    # the rules as they were, the source commit, the gate
    assert [a.path for a in client.list_artifacts(run.info.run_id, "rules")] == ["rules/default.yaml"]
    assert len(run.data.tags["rules_sha256"]) == 64 and re.fullmatch(r"[0-9a-f]{40}", run.data.tags["crmid_git_commit"])
    # the registered version comes from this run and says what it is
    version = client.get_model_version_by_alias("crmid-customer", "champion")
    assert version.run_id == run.info.run_id
    assert version.tags["horizon_days"] == "90" and version.tags["data_sha256_16"] == params["data_sha256_16"]
    assert {"gate.churn", "served_sources", "rules_version"} <= set(version.tags)


def test_evaluate_logs_into_the_run_mlflow_made(project):
    report = project.dir / "report"
    ran = mlflow_run(project, "evaluate", transactions=project.tx["1998-03-31"], as_of="1997-12-31", horizon=90,
                     report=report)
    run = ran.run
    assert project.client.get_experiment(run.info.experiment_id).name == EXPERIMENT
    assert run.info.run_name == "evaluate-1997-12-31-H90" and run.data.tags["mlflow.project.entryPoint"] == "evaluate"
    assert 0.5 < run.data.metrics["served_auc_90d"] <= 1 and "data_sha256_16" in run.data.params
    assert "report/metrics.json" in {a.path for a in project.client.list_artifacts(run.info.run_id, "report")}
    assert (report / "calibration.png").is_file()
    assert _runs(project, "Default") == []


def test_score_backtest_and_monitor_run(project, trained):
    out = project.dir / "out" / "scores.parquet"  # neither the file nor its directory exists yet
    scored = mlflow_run(project, "score", transactions=project.tx["1997-12-31"], as_of="1997-12-31", output=out)
    assert out.is_file() and out.with_name("scores.manifest.json").is_file()
    assert scored.run.data.params["output"] == str(out)
    assert project.client.get_experiment(scored.run.info.experiment_id).name == EXPERIMENT

    # the stored run's 90 days have passed in the later log: judged, and logged into the project's run
    ran = mlflow_run(project, "backtest", transactions=project.tx["1998-03-31"])
    (row,) = json.loads(ran.done.stdout)
    assert row["as_of"] == "1997-12-31" and 0.5 < row["auc"] <= 1
    tags = ran.run.data.tags
    assert tags["crmid.kind"] == "backtest" and tags["crmid.model_run_id"] == trained.run.info.run_id
    assert "backtest_auc" in ran.run.data.metrics

    # the same data as training: no drift, so --fail-on-drift lets the run succeed
    ran = mlflow_run(project, "monitor", transactions=project.tx["1997-12-31"])
    assert json.loads(ran.done.stdout)["drift"] is False


def test_retrain_logs_the_comparison_and_its_refit_beneath_the_project_run(project, trained):
    eager = project.dir / "eager.yaml"
    config = yaml.safe_load(default_config_path().read_text())
    config["retrain"].update(min_auc_gain=-1.0, min_brier_gain=-1.0)  # every challenger wins: the refit path
    config["version"] = "test-eager"
    eager.write_text(yaml.safe_dump(config))
    project.env["CRMID_MONITORING_CONFIG"] = str(eager)
    try:
        ran = mlflow_run(project, "retrain", transactions=project.tx["1998-03-31"], as_of="1998-03-31")
    finally:
        del project.env["CRMID_MONITORING_CONFIG"]
    result = json.loads(ran.done.stdout)
    assert result["promoted"] and result["mlflow_run_id"] == ran.run.info.run_id
    assert ran.run.data.tags["crmid.kind"] == "retrain"
    assert "retrain.json" in {a.path for a in project.client.list_artifacts(ran.run.info.run_id)}
    # the refit is a second run of the command: a child of the project's run, in its experiment
    (child,) = project.client.search_runs([ran.run.info.experiment_id],
                                          f"tags.mlflow.parentRunId = '{ran.run.info.run_id}'")
    assert child.info.run_name == "train-1998-03-31-H90" and child.info.status == "FINISHED"
    champion = project.client.get_model_version_by_alias("crmid-customer", "champion")
    assert str(champion.version) == result["new_version"] and champion.run_id == child.info.run_id
