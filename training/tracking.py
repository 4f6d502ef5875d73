"""MLflow: where runs go, what each run records, and how the models are logged and registered.

Every call goes through an ``MlflowClient`` built from the :class:`crmid.config.Workspace`
(tracking and registry URIs passed explicitly); nothing here touches MLflow's process-global
tracking URI, so two workspaces in one process never mix. With the default workspace, runs go to
``sqlite:///<cwd>/crmid-work/mlflow.db`` with artifacts under ``<cwd>/crmid-work/mlartifacts``.

Models are saved as ``mlflow.pyfunc`` models from code (:mod:`crmid.models.mlflow_model`): their
artifacts are the scorer's plain files and their code is the ``crmid.models`` package, shipped
under its own import root, so nothing is cloudpickled and nothing named ``models`` lands on a
user's path.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from crmid.config import Workspace

__all__ = ["TrackedRun", "Tracker", "data_fingerprint", "log_scorer_models", "rules_version"]

_MODELS_PACKAGE = Path(__file__).resolve().parent.parent / "models"
_MODEL_CODE = _MODELS_PACKAGE / "mlflow_model.py"
_log = logging.getLogger(__name__)


def _quiet_mlflow() -> None:
    """MLflow logs every registration and database migration at INFO; crmid prints its own summary."""
    for name in ("mlflow", "alembic"):
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.WARNING and not logging.getLogger().isEnabledFor(logging.INFO):
            logger.setLevel(logging.WARNING)


class Tracker:
    """Experiments, runs and the model registry of one workspace.

    Parameters
    ----------
    workspace : crmid.config.Workspace
        Gives the tracking and registry URIs and, for a local SQLite store, the artifact root.
    """

    def __init__(self, workspace: Workspace):
        import mlflow  # heavy: only when tracking is used

        _quiet_mlflow()
        workspace.ensure_local_dirs()
        self.workspace = workspace
        self.tracking_uri = workspace.tracking_uri
        self.client = mlflow.MlflowClient(tracking_uri=workspace.tracking_uri, registry_uri=workspace.registry_uri)

    def experiment_id(self, name: str) -> str:
        """Id of experiment ``name``, created (with the workspace's artifact root) when missing."""
        exp = self.client.get_experiment_by_name(name)
        if exp is not None:
            return exp.experiment_id
        return self.client.create_experiment(name, artifact_location=self.workspace.artifact_location)

    @contextmanager
    def run(self, experiment: str, run_name: str):
        """A run that ends FINISHED, or FAILED when the block raises.

        Inside ``mlflow run`` (the workspace's ``mlflow_run_id``, from ``MLFLOW_RUN_ID``), the first
        run a command asks for is the one MLflow made for the entry point: one run holds the
        project's parameters and everything crmid logs, in the experiment ``mlflow run`` chose
        (``--experiment-name``), and ``mlflow run`` ends it. A second run in the same command (a
        backtest of several stored runs, retrain's refit) is a child of it.
        """
        project = self._project_run()
        if project is not None and "crmid.run_name" not in project.data.tags:
            self.client.set_tag(project.info.run_id, "crmid.run_name", run_name)
            self.client.update_run(project.info.run_id, name=run_name)
            experiment_name = self.client.get_experiment(project.info.experiment_id).name
            if experiment_name != experiment:
                _log.warning("mlflow run put this run in experiment %r, not the workspace's %r: crmid logs into "
                             "it; pass --experiment-name %s to mlflow run", experiment_name, experiment, experiment)
            # MLflow keeps a parameter's first value: the project's own (as given on the command line)
            # are not logged again, and a value crmid resolved differently gets a name of its own
            yield TrackedRun(self, project.info.run_id, project.info.artifact_uri, dict(project.data.params))
            return
        if project is not None:
            run = self.client.create_run(project.info.experiment_id, run_name=run_name,
                                         tags={"mlflow.parentRunId": project.info.run_id})
        else:
            run = self.client.create_run(self.experiment_id(experiment), run_name=run_name)
        tracked = TrackedRun(self, run.info.run_id, run.info.artifact_uri)
        try:
            yield tracked
        except BaseException:
            self.client.set_terminated(tracked.run_id, status="FAILED")
            raise
        self.client.set_terminated(tracked.run_id, status="FINISHED")

    def _project_run(self):
        """The running run ``mlflow run`` made for this command, or None outside ``mlflow run``."""
        run_id = self.workspace.mlflow_run_id
        if not run_id:
            return None
        from mlflow.exceptions import MlflowException

        try:
            run = self.client.get_run(run_id)
        except MlflowException:
            _log.warning("MLFLOW_RUN_ID %s is not a run of %s: crmid logs into runs of its own", run_id,
                         self.tracking_uri)
            return None
        return run if run.info.status == "RUNNING" else None

    def champion(self, name: str | None = None, alias: str | None = None):
        """The model version behind the alias (default: the workspace's model and alias), or None."""
        ws = self.workspace
        try:
            return self.client.get_model_version_by_alias(name or ws.model_name, alias or ws.model_alias)
        except Exception:
            return None


@dataclass
class TrackedRun:
    """One MLflow run, written through the tracker's client."""

    tracker: Tracker
    run_id: str
    artifact_uri: str
    #: parameters the run already holds (``mlflow run``'s): MLflow refuses to change a parameter
    logged_params: dict = field(default_factory=dict)

    def log_params(self, params: dict) -> None:
        from mlflow.entities import Param

        new = {}
        for k, v in params.items():
            key, value = str(k), str(v)[:6000]
            if key in self.logged_params and self.logged_params[key] != value:
                key = f"{key}_resolved"  # e.g. as_of given as 1998-3-31, resolved to 1998-03-31
            if self.logged_params.get(key) != value:
                new[key] = value
        if new:
            self.tracker.client.log_batch(self.run_id, params=[Param(k, v) for k, v in new.items()])
            self.logged_params.update(new)

    def log_metrics(self, metrics: dict) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        finite = [Metric(str(k), float(v), now, 0) for k, v in metrics.items() if v is not None and np.isfinite(v)]
        if finite:
            self.tracker.client.log_batch(self.run_id, metrics=finite)

    def set_tag(self, key: str, value) -> None:
        self.tracker.client.set_tag(self.run_id, key, str(value)[:5000])

    def log_json(self, name: str, document) -> None:
        """Log ``document`` as the JSON artifact ``name`` (``dir/file.json`` puts it in a directory)."""
        self.log_text(name, json.dumps(document, indent=2, default=str))

    def log_text(self, name: str, text: str) -> None:
        """Log ``text`` as the artifact ``name`` (``dir/file.md`` puts it in a directory)."""
        folder, _, filename = name.rpartition("/")
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / filename
            path.write_text(text, encoding="utf-8")
            self.tracker.client.log_artifact(self.run_id, str(path), folder or None)

    def log_artifacts(self, directory, artifact_path: str | None = None) -> None:
        self.tracker.client.log_artifacts(self.run_id, str(directory), artifact_path)

    def log_file(self, path, artifact_path: str | None = None) -> None:
        self.tracker.client.log_artifact(self.run_id, str(path), artifact_path)

    def log_dataset(self, frame: pd.DataFrame, *, name: str, context: str, source: str | None = None,
                    digest: str | None = None) -> None:
        """Record ``frame`` as an input of the run (MLflow's dataset API: name, digest, source, schema, rows).

        Parameters
        ----------
        frame : pandas.DataFrame
            The data as the run used it (after reading, validation and the cut at the as-of date).
        name : str
            The dataset's name in MLflow (``transactions``, ``customers``).
        context : str
            What the run did with it (``training``, ``profiles``): the input's ``mlflow.data.context`` tag.
        source : str, optional
            Where it was read from (the file given on the command line).
        digest : str, optional
            Content hash; default MLflow's own. crmid passes :func:`data_fingerprint`'s, so the
            dataset, the run's ``data_sha256_16`` and the model version's tag agree.
        """
        import mlflow.data
        from mlflow.entities import Dataset, DatasetInput, InputTag

        if source and "://" not in source and Path(source).exists():
            source = str(Path(source).resolve())  # the run may be read from another directory

        with warnings.catch_warnings():
            # a local path "can be interpreted in multiple ways" (all of them local files), and the
            # integer-column hint is about model signatures
            warnings.simplefilter("ignore")
            dataset = mlflow.data.from_pandas(frame, source=source, name=name, digest=digest)
        entity = Dataset(**dataset.to_dict())
        self.tracker.client.log_inputs(self.run_id, datasets=[
            DatasetInput(entity, tags=[InputTag("mlflow.data.context", context)])])


def file_digest(path) -> str:
    """SHA-256 of a file's bytes (the rules file a run used, as it was)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def source_commit() -> str | None:
    """The git commit of the crmid source tree, when it runs from a checkout (None in a wheel)."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None


def data_fingerprint(transactions: pd.DataFrame) -> dict:
    """Rows, customers, date range and a content hash of a transactions frame."""
    cols = [c for c in ("customer_id", "date", "amount") if c in transactions.columns]
    hashed = pd.util.hash_pandas_object(transactions[cols], index=False).to_numpy()
    digest = hashlib.sha256(np.sort(hashed).tobytes()).hexdigest()[:16]
    dates = transactions["date"] if len(transactions) else pd.Series([], dtype="datetime64[ns]")
    return {
        "rows": len(transactions),
        "customers": int(transactions["customer_id"].nunique()),
        "date_min": str(dates.min().date()) if len(dates) else None,
        "date_max": str(dates.max().date()) if len(dates) else None,
        "sha256_16": digest,
    }


def rules_version(rules_path=None) -> str:
    """Version of the rules configuration at ``rules_path`` (default: the packaged one)."""
    from crmid.rules import RulesEngine

    return str(RulesEngine.from_path(rules_path).version)


def _input_example(features: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    ex = features.head(n).copy()
    ex["customer_id"] = ex["customer_id"].astype(str).astype(object)
    return ex.reset_index(drop=True)


def _code_root(tmp: Path) -> Path:
    """A ``crmid`` package holding only ``crmid.models``: the code a logged model needs to load."""
    root = tmp / "crmid"
    root.mkdir(parents=True)
    (root / "__init__.py").write_text('"""crmid, as shipped with a logged model: the models package only."""\n')
    shutil.copytree(_MODELS_PACKAGE, root / "models", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return root


def _ensure_registered(client, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.create_registered_model(name)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise


def log_scorer_models(run: TrackedRun, scorer, features: pd.DataFrame, *, register: bool = True,
                      promote: dict[str, bool] | None = None, version_tags: dict | None = None) -> dict:
    """Log the bundle, the churn model and the next-purchase model; register them; set aliases.

    Parameters
    ----------
    run : TrackedRun
        The training run the models belong to.
    scorer : crmid.models.CustomerScorer
    features : pandas.DataFrame
        Snapshot rows; a few become the input example and define the signature.
    register : bool
        Register the three models in the workspace's registry.
    promote : dict
        ``{registered name: bool}``: set the workspace's alias on the new version when True.
    version_tags : dict, optional
        Tags set on every new model version (horizon, data hash, gate verdicts ...), so that the
        registry alone says what a version is.

    Returns
    -------
    dict
        ``{registered name: {"model_uri", "version", "champion"}}``.
    """
    import mlflow
    from mlflow.models import infer_signature

    from crmid.models.scorer import OUTPUT_COLUMNS

    ws = run.tracker.workspace
    client = run.tracker.client
    promote = promote or {}
    example = _input_example(features)
    outputs = scorer.predict(example, profiles=example)  # profile columns, when the models read any
    churn_cols = ["churn_probability", "p_alive", "expected_lifetime_days"]
    next_cols = [c for c in OUTPUT_COLUMNS if c.startswith(("p_purchase_", "next_purchase_"))]
    next_cols.append("expected_purchase_cycle_days")
    specs = {
        ws.model_name: ("scorer", list(OUTPUT_COLUMNS)),
        ws.churn_model_name: ("churn_model", churn_cols),
        ws.next_purchase_model_name: ("next_purchase_model", next_cols),
    }
    result = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        scorer_dir = scorer.save(tmp / "scorer")
        code = _code_root(tmp / "code")
        for reg_name, (name, cols) in specs.items():
            with warnings.catch_warnings():
                # hints that do not apply here: the snapshot's counts are integers and never
                # missing; the pyfunc's DataFrames are described by the signature, not by type
                # annotations; MLflow's own use of pandas
                warnings.filterwarnings("ignore", message=".*Inferred schema contains integer column.*")
                warnings.filterwarnings("ignore", message=".*type hints to the `predict` method.*")
                warnings.filterwarnings("ignore", category=FutureWarning)
                warnings.filterwarnings("ignore", category=DeprecationWarning)
                signature = infer_signature(example, outputs[cols])
                local = tmp / "logged" / name
                # saved locally, then logged through the workspace's client: log_model would
                # write through MLflow's process-global tracking URI
                mlflow.pyfunc.save_model(
                    path=str(local), python_model=str(_MODEL_CODE), artifacts={"scorer": str(scorer_dir)},
                    code_paths=[str(code)], model_config={"outputs": cols}, signature=signature,
                    input_example=example,
                    pip_requirements=["mlflow", "lightgbm", "pandas", "numpy", "scipy", "scikit-learn"],
                )
            client.log_artifacts(run.run_id, str(local), name)
            source = f"{run.artifact_uri.rstrip('/')}/{name}"
            version = None
            if register:
                _ensure_registered(client, reg_name)
                version = client.create_model_version(reg_name, source, run_id=run.run_id,
                                                      tags={k: str(v)[:5000] for k, v in (version_tags or {}).items()}
                                                      ).version
            champion = bool(version is not None and promote.get(reg_name, False))
            if champion:
                client.set_registered_model_alias(reg_name, ws.model_alias, str(version))
            model_uri = f"models:/{reg_name}/{version}" if version else f"runs:/{run.run_id}/{name}"
            result[reg_name] = {"model_uri": model_uri,
                                "version": None if version is None else str(version), "champion": champion}
    return result
