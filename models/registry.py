"""Loading a :class:`models.CustomerScorer` from a directory or from MLflow.

URIs accepted by :func:`load_scorer`:

* ``models:/NAME@ALIAS`` (the workspace's default is ``models:/crmid-customer@champion``),
  ``models:/NAME/VERSION`` -- a registered model;
* ``runs:/RUN_ID/PATH`` -- a model logged by a run;
* a local directory holding a saved scorer, or an MLflow model directory holding one under
  ``artifacts/scorer``.

Only the scorer's plain files are read (JSON and LightGBM text models); nothing is unpickled.

With a local SQLite tracking store (the workspace's default), the model a ``models:/`` URI
resolved to is remembered in a small file beside the database (``mlflow.db.crmid-models.json``)
together with the database files' state (inode, size and modification time of the file, its
journal and write-ahead log). While the database is untouched (scoring and serving only read it)
the next load reads the remembered directory without importing MLflow, whose import and store
set-up take more than a second of every command's start-up. Any write to the database -- a
training run, an alias moved by crmid or in MLflow's own UI -- changes that state, and the URI is
resolved through MLflow again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlparse

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
    registry_uri = registry_uri or tracking_uri
    memo = _Resolutions.of(tracking_uri, registry_uri) if uri.startswith("models:/") else None
    # taken before resolving: a write that lands meanwhile must not be remembered as seen
    identity = memo.identity() if memo is not None else None
    remembered = memo.get(uri, identity) if memo is not None else None
    if remembered is not None:
        version, directory = remembered
        try:
            scorer = CustomerScorer.load(directory, uri=uri)
        except (ScorerLoadError, OSError):
            pass  # gone or damaged since: resolved through MLflow below
        else:
            scorer.version = version
            return scorer
    import mlflow  # heavy; only when an MLflow URI is asked for

    client = mlflow.MlflowClient(tracking_uri=tracking_uri, registry_uri=registry_uri)
    version, source = uri, uri
    try:
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
    if memo is not None and urlparse(source).scheme in ("", "file"):
        # only a model read in place: a download from elsewhere lands in a temporary directory
        memo.remember(uri, version, found, identity)
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


class _Resolutions:
    """What MLflow URIs resolved to, valid while the SQLite tracking databases are unchanged (module docstring)."""

    SUFFIX = ".crmid-models.json"

    def __init__(self, databases: list[Path]):
        self.databases = databases
        self.path = databases[0].with_name(databases[0].name + self.SUFFIX)

    @classmethod
    def of(cls, tracking_uri: str, registry_uri: str) -> _Resolutions | None:
        """None unless both stores are SQLite files that exist (a server or another database: no memo)."""
        databases = []
        for store_uri in dict.fromkeys((registry_uri, tracking_uri)):
            if not store_uri.startswith("sqlite:///"):
                return None
            path = Path(store_uri[len("sqlite:///"):].split("?", 1)[0])
            if not path.is_file():
                return None
            databases.append(path.resolve())
        return cls(databases)

    def identity(self) -> list:
        """The databases' files as they are now: inode, size and modification time of each, its journal and log.

        Only stat'ed, never opened: closing any descriptor of a SQLite file drops every POSIX
        lock this process holds on it (MLflow's own connections', in a service that reloaded).
        A write lands between this and the resolution through MLflow (which then sees it) or after
        it: more than a clock tick later, so the file's time differs from the one remembered.
        """
        out = []
        for db in self.databases:
            for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-journal")):
                try:
                    st = path.stat()
                except FileNotFoundError:
                    out.append(None)
                else:
                    out.append([st.st_ino, st.st_size, st.st_mtime_ns])
        return out

    def _read(self, identity: list) -> dict:
        try:
            memo = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return memo if isinstance(memo, dict) and memo.get("identity") == identity else {}

    def get(self, uri: str, identity: list) -> tuple[str, Path] | None:
        """``(version, scorer directory)`` remembered for ``uri`` when the databases are still ``identity``."""
        models = self._read(identity).get("models")
        entry = models.get(uri) if isinstance(models, dict) else None
        if not (isinstance(entry, dict) and all(isinstance(entry.get(k), str) for k in ("version", "dir"))):
            return None
        return entry["version"], Path(entry["dir"])

    def remember(self, uri: str, version: str, directory: Path, identity: list) -> None:
        """Remember ``uri`` as resolved while the databases were ``identity``; written atomically.

        A read-only directory simply means no memo.
        """
        models = self._read(identity).get("models")
        models = models if isinstance(models, dict) else {}
        models[uri] = {"version": version, "dir": str(Path(directory).resolve())}
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps({"identity": identity, "models": models}))
            os.replace(tmp, self.path)
        except OSError:
            tmp.unlink(missing_ok=True)
