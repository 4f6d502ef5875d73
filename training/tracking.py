"""MLflow: where runs go, what each run records, and how the models are logged and registered.

Without ``MLFLOW_TRACKING_URI`` runs go to a local SQLite store,
``sqlite:///<cwd>/crmid-work/mlflow.db``, with artifacts under ``<cwd>/crmid-work/mlartifacts``;
with it, to that server. Models are logged as ``mlflow.pyfunc`` models from code
(:mod:`models.mlflow_model`): their artifacts are the scorer's plain files, so nothing is
cloudpickled.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from . import defaults

__all__ = ["configure", "default_tracking_uri", "data_fingerprint", "rules_version", "ensure_experiment",
           "log_scorer_models"]

_MODEL_CODE = Path(__file__).resolve().parent.parent / "models" / "mlflow_model.py"
_MODELS_PACKAGE = Path(__file__).resolve().parent.parent / "models"


def default_tracking_uri(cwd: str | os.PathLike | None = None) -> str:
    """``sqlite:///<cwd>/crmid-work/mlflow.db``."""
    work = Path(cwd or os.getcwd()).resolve() / defaults.WORK_DIR
    return f"sqlite:///{work / 'mlflow.db'}"


def configure(tracking_uri: str | None = None) -> str:
    """Point MLflow at ``tracking_uri``, ``MLFLOW_TRACKING_URI`` or the local default; return it."""
    import mlflow

    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri()
    if uri.startswith("sqlite:///"):
        Path(uri[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def ensure_experiment(name: str) -> str:
    """Experiment id of ``name``; created with local artifacts when the store is the default SQLite."""
    import mlflow

    exp = mlflow.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    uri = mlflow.get_tracking_uri()
    location = None
    if uri.startswith("sqlite:///"):
        location = (Path(uri[len("sqlite:///"):]).parent / "mlartifacts").resolve().as_uri()
    return mlflow.create_experiment(name, artifact_location=location)


def data_fingerprint(transactions: pd.DataFrame) -> dict:
    """Rows, customers, date range and a content hash of a transactions frame."""
    cols = [c for c in ("customer_id", "date", "amount") if c in transactions.columns]
    hashed = pd.util.hash_pandas_object(transactions[cols], index=False).to_numpy()
    digest = hashlib.sha256(np.sort(hashed).tobytes()).hexdigest()[:16]
    dates = transactions["date"] if len(transactions) else pd.Series([], dtype="datetime64[ns]")
    return {
        "rows": int(len(transactions)),
        "customers": int(transactions["customer_id"].nunique()),
        "date_min": str(dates.min().date()) if len(dates) else None,
        "date_max": str(dates.max().date()) if len(dates) else None,
        "sha256_16": digest,
    }


def rules_version() -> str:
    """Version of the rules configuration in force, or 'unknown' when the rules package cannot tell."""
    try:
        from crmid.rules import RulesEngine  # written concurrently by another team

        return str(RulesEngine.from_path().version)
    except Exception:  # noqa: BLE001 - any failure only means the version is unknown
        return "unknown"


def _input_example(features: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    ex = features.head(n).copy()
    ex["customer_id"] = ex["customer_id"].astype(str).astype(object)
    return ex.reset_index(drop=True)


def log_scorer_models(scorer, features: pd.DataFrame, *, register: bool = True,
                      promote: dict[str, bool] | None = None) -> dict:
    """Log the bundle, the churn model and the next-purchase model; register them; set aliases.

    Parameters
    ----------
    scorer : models.CustomerScorer
    features : pandas.DataFrame
        Snapshot rows; a few become the input example and define the signature.
    register : bool
        Register the three models in the model registry.
    promote : dict
        ``{registered name: bool}``: set the ``champion`` alias on the new version when True.

    Returns
    -------
    dict
        ``{registered name: {"model_uri", "version", "champion"}}``.
    """
    import mlflow
    from mlflow.models import infer_signature

    from crmid.models.scorer import OUTPUT_COLUMNS

    promote = promote or {}
    example = _input_example(features)
    outputs = scorer.predict(example)
    churn_cols = ["churn_probability", "p_alive", "expected_lifetime_days"]
    next_cols = ["p_purchase_30d", "p_purchase_90d", "expected_days_to_next_purchase",
                 "next_purchase_beyond_data", "expected_purchase_cycle_days"]
    specs = {
        defaults.BUNDLE_MODEL_NAME: ("scorer", list(OUTPUT_COLUMNS)),
        defaults.CHURN_MODEL_NAME: ("churn_model", churn_cols),
        defaults.NEXT_PURCHASE_MODEL_NAME: ("next_purchase_model", next_cols),
    }
    result = {}
    client = mlflow.MlflowClient()
    with tempfile.TemporaryDirectory() as tmp:
        scorer_dir = scorer.save(Path(tmp) / "scorer")
        for reg_name, (name, cols) in specs.items():
            with warnings.catch_warnings():
                # two MLflow hints that do not apply here: the snapshot's counts are integers and
                # never missing; the pyfunc's DataFrames are described by the signature, not by
                # type annotations
                warnings.filterwarnings("ignore", message=".*Inferred schema contains integer column.*")
                warnings.filterwarnings("ignore", message=".*type hints to the `predict` method.*")
                signature = infer_signature(example, outputs[cols])
                info = mlflow.pyfunc.log_model(
                    name=name,
                    python_model=str(_MODEL_CODE),
                    artifacts={"scorer": str(scorer_dir)},
                    code_paths=[str(_MODELS_PACKAGE)],
                    model_config={"outputs": cols},
                    signature=signature,
                    input_example=example,
                    registered_model_name=reg_name if register else None,
                    pip_requirements=["mlflow", "lightgbm", "pandas", "numpy", "scipy", "scikit-learn"],
                )
            version = getattr(info, "registered_model_version", None)
            champion = bool(register and version is not None and promote.get(reg_name, False))
            if champion:
                client.set_registered_model_alias(reg_name, defaults.CHAMPION_ALIAS, str(version))
            result[reg_name] = {"model_uri": info.model_uri, "version": None if version is None else str(version),
                                "champion": champion}
    return result
