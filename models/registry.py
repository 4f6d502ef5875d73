"""Loading a :class:`models.CustomerScorer` from a directory or from MLflow.

URIs accepted by :func:`load_scorer`:

* ``models:/crmid-customer@champion`` (the default), ``models:/NAME/VERSION``,
  ``models:/NAME@ALIAS`` -- a registered model;
* ``runs:/RUN_ID/PATH`` -- a model logged by a run;
* a local directory holding a saved scorer, or an MLflow model directory holding one under
  ``artifacts/scorer``.

Only the scorer's plain files are read (JSON and LightGBM text models); nothing is unpickled.
"""

from __future__ import annotations

from pathlib import Path

from .scorer import CustomerScorer, ScorerLoadError

__all__ = ["BUNDLE_MODEL_NAME", "CHURN_MODEL_NAME", "NEXT_PURCHASE_MODEL_NAME", "CHAMPION_ALIAS",
           "DEFAULT_SCORER_URI", "load_scorer", "find_scorer_dir"]

#: registered model names: the served bundle, and the two models it is made of
BUNDLE_MODEL_NAME = "crmid-customer"
CHURN_MODEL_NAME = "crmid-churn"
NEXT_PURCHASE_MODEL_NAME = "crmid-next-purchase"
CHAMPION_ALIAS = "champion"
DEFAULT_SCORER_URI = f"models:/{BUNDLE_MODEL_NAME}@{CHAMPION_ALIAS}"


def find_scorer_dir(path: Path) -> Path | None:
    """The directory holding ``scorer.json`` at or under ``path`` (an MLflow model keeps it in artifacts/)."""
    path = Path(path)
    if (path / "scorer.json").is_file():
        return path
    for candidate in sorted(path.glob("**/scorer.json")):
        return candidate.parent
    return None


def load_scorer(uri: str | None = None) -> CustomerScorer:
    """Load the served scorer; a missing or corrupted model raises :class:`ScorerLoadError` naming ``uri``.

    Parameters
    ----------
    uri : str, optional
        See the module docstring; default :data:`DEFAULT_SCORER_URI`. MLflow URIs use the
        current tracking URI (``MLFLOW_TRACKING_URI`` or ``training.tracking.configure``).
    """
    uri = uri or DEFAULT_SCORER_URI
    local = Path(uri)
    if "://" not in uri and not uri.startswith(("models:/", "runs:/")):
        if not local.exists():
            raise ScorerLoadError(f"{uri}: no such directory")
        found = find_scorer_dir(local)
        if found is None:
            raise ScorerLoadError(f"{uri}: no saved scorer (scorer.json) in this directory")
        scorer = CustomerScorer.load(found, uri=uri)
        return scorer
    import mlflow  # heavy; only when an MLflow URI is asked for

    try:
        downloaded = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri))
    except Exception as exc:  # noqa: BLE001 - MLflow raises many kinds; all mean "cannot get it"
        raise ScorerLoadError(f"{uri}: cannot load the model: {type(exc).__name__}: {exc}") from exc
    found = find_scorer_dir(downloaded)
    if found is None:
        raise ScorerLoadError(f"{uri}: the model holds no saved scorer (scorer.json missing)")
    scorer = CustomerScorer.load(found, uri=uri)
    scorer.version = _resolved_version(uri)
    return scorer


def _resolved_version(uri: str) -> str:
    """``NAME/VERSION`` for a registry URI (aliases resolved), the URI itself otherwise."""
    if not uri.startswith("models:/"):
        return uri
    import mlflow

    ref = uri[len("models:/"):]
    try:
        if "@" in ref:
            name, alias = ref.split("@", 1)
            mv = mlflow.MlflowClient().get_model_version_by_alias(name, alias)
            return f"{name}/{mv.version}"
    except Exception:  # noqa: BLE001 - the version string is informative only
        return uri
    return ref
