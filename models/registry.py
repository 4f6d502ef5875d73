"""Loading a :class:`models.CustomerScorer` from a directory or from MLflow.

URIs accepted by :func:`load_scorer`:

* ``models:/NAME@ALIAS`` (the workspace's default is ``models:/crmid-customer@champion``),
  ``models:/NAME/VERSION`` -- a registered model;
* ``runs:/RUN_ID/PATH`` -- a model logged by a run;
* a local directory holding a saved scorer, or an MLflow model directory holding one under
  ``artifacts/scorer``.

Only the scorer's plain files are read (JSON and LightGBM text models); nothing is unpickled.
"""

from __future__ import annotations

from pathlib import Path

from .scorer import CustomerScorer, ScorerLoadError

__all__ = ["find_scorer_dir", "load_scorer"]


def find_scorer_dir(path: Path) -> Path | None:
    """The directory holding ``scorer.json`` at or under ``path`` (an MLflow model keeps it in artifacts/)."""
    path = Path(path)
    if (path / "scorer.json").is_file():
        return path
    for candidate in sorted(path.glob("**/scorer.json")):
        return candidate.parent
    return None


def load_scorer(uri: str, *, tracking_uri: str | None = None, registry_uri: str | None = None) -> CustomerScorer:
    """Load a scorer; a missing or corrupted model raises :class:`ScorerLoadError` naming ``uri``.

    Parameters
    ----------
    uri : str
        See the module docstring.
    tracking_uri, registry_uri : str, optional
        Where MLflow URIs are resolved (the workspace's). Required for ``models:/`` and
        ``runs:/`` URIs: MLflow's process-global default is never used.
    """
    local = Path(uri)
    if "://" not in uri and not uri.startswith(("models:/", "runs:/")):
        if not local.exists():
            raise ScorerLoadError(f"{uri}: no such directory")
        found = find_scorer_dir(local)
        if found is None:
            raise ScorerLoadError(f"{uri}: no saved scorer (scorer.json) in this directory")
        return CustomerScorer.load(found, uri=uri)
    if tracking_uri is None:
        raise ScorerLoadError(f"{uri}: an MLflow URI needs the tracking URI it lives in")
    import mlflow  # heavy; only when an MLflow URI is asked for

    client = mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=registry_uri or tracking_uri)
    version = uri
    try:
        source = uri
        if uri.startswith("models:/"):
            name, mv = _model_version(client, uri[len("models:/"):])
            version = f"{name}/{mv.version}"
            source = client.get_model_version_download_uri(name, mv.version)
        downloaded = Path(mlflow.artifacts.download_artifacts(artifact_uri=source, tracking_uri=tracking_uri))
    except Exception as exc:
        raise ScorerLoadError(f"{uri}: cannot load the model from {tracking_uri}: {type(exc).__name__}: {exc}") from exc
    found = find_scorer_dir(downloaded)
    if found is None:
        raise ScorerLoadError(f"{uri}: the model holds no saved scorer (scorer.json missing)")
    scorer = CustomerScorer.load(found, uri=uri)
    scorer.version = version
    return scorer


def _model_version(client, ref: str):
    """``(name, ModelVersion)`` of ``NAME@ALIAS`` or ``NAME/VERSION``."""
    if "@" in ref:
        name, alias = ref.split("@", 1)
        return name, client.get_model_version_by_alias(name, alias)
    name, _, number = ref.rpartition("/")
    if not name or not number.isdigit():
        raise ValueError(f"expected models:/NAME@ALIAS or models:/NAME/VERSION, got models:/{ref}")
    return name, client.get_model_version(name, number)
