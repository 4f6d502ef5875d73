"""The workspace: every setting of crmid, resolved in one place.

One precedence for every setting: command-line option > environment > default. The defaults
put everything under ``./crmid-work/`` of the current directory, so ``crmid train`` followed by
``crmid score`` in the same directory finds the model without any configuration:

============================  =====================================  ==========================================
setting                       environment                            default
============================  =====================================  ==========================================
``work_dir``                  ``CRMID_WORK_DIR``                     ``./crmid-work``
``tracking_uri``              ``CRMID_TRACKING_URI``,                ``sqlite:///<work_dir>/mlflow.db``
                              ``MLFLOW_TRACKING_URI``
``registry_uri``              ``CRMID_REGISTRY_URI``,                the tracking URI
                              ``MLFLOW_REGISTRY_URI``
``experiment``                ``CRMID_EXPERIMENT``                   ``crmid``
``model_name``                ``CRMID_MODEL_NAME``                   ``crmid-customer``
``model_alias``               ``CRMID_MODEL_ALIAS``                  ``champion``
``model_uri``                 ``CRMID_MODEL_URI``                    ``models:/<model_name>@<model_alias>``
``store_url``                 ``CRMID_STORE_URL``                    ``sqlite:///<work_dir>/scores.db``
``rules_path``                ``CRMID_RULES_PATH``                   the packaged ``rules/config/default.yaml``
``lang``                      ``CRMID_LANG``                         ``en`` (reasons and action texts; ``zh``: Chinese)
``monitoring_config``         ``CRMID_MONITORING_CONFIG``            the packaged ``monitoring/config/default.yaml``
``api_token``                 ``CRMID_API_TOKEN``                    none (the API is open; reloads refused)
``max_body_bytes``            ``CRMID_MAX_BODY_BYTES``               5,000,000
``workers``                   ``CRMID_WORKERS``                      1 (``crmid serve`` processes)
``reload_signal``             ``CRMID_RELOAD_SIGNAL``                set by ``crmid serve --workers`` for its workers
``host``, ``port``            ``CRMID_HOST``, ``CRMID_PORT``         127.0.0.1, 8000
``mlflow_run_id``             ``MLFLOW_RUN_ID``                      none (set by ``mlflow run``: the run to log into)
============================  =====================================  ==========================================

The command line resolves a :class:`Workspace` once, in its entry point, and so does
:func:`crmid.serving.api.create_app`; everything below receives it as an argument. This module
is the only one that reads the environment, and it imports nothing heavy.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field, PrivateAttr, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# plain constants of the rules (no engine is loaded): the languages decisions are explained in
from crmid.rules.decision_table import DEFAULT_LANG, LANGUAGES

__all__ = ["STORE_DISABLED", "Workspace"]

#: the store URL that turns the scores store off (``crmid score --store none``)
STORE_DISABLED = "none"

#: the names under which each setting is read from the environment (the first one wins)
_ENV_NAMES: dict[str, tuple[str, ...]] = {
    "tracking_uri": ("CRMID_TRACKING_URI", "MLFLOW_TRACKING_URI"),
    "registry_uri": ("CRMID_REGISTRY_URI", "MLFLOW_REGISTRY_URI"),
    "mlflow_run_id": ("MLFLOW_RUN_ID",),
}


def _env(field: str) -> AliasChoices:
    return AliasChoices(field, *_ENV_NAMES[field])


class Workspace(BaseSettings):
    """Where crmid keeps its models, runs and scores, and how it serves them.

    Build it with :meth:`resolve` (which records where each value came from) or, in library
    code, ``Workspace(work_dir=...)``. After construction every location is absolute and filled
    in: ``tracking_uri``, ``registry_uri``, ``model_uri`` and ``store_url`` are never None.
    """

    model_config = SettingsConfigDict(env_prefix="CRMID_", extra="ignore", populate_by_name=True)

    work_dir: Path = Path("crmid-work")
    tracking_uri: str | None = Field(None, validation_alias=_env("tracking_uri"))
    registry_uri: str | None = Field(None, validation_alias=_env("registry_uri"))
    experiment: str = "crmid"
    model_name: str = "crmid-customer"
    churn_model_name: str = "crmid-churn"
    next_purchase_model_name: str = "crmid-next-purchase"
    model_alias: str = "champion"
    model_uri: str | None = None
    store_url: str | None = None
    rules_path: str | None = None
    #: language of the rules' reasons and action texts (``crmid score --lang``, ``?lang=``)
    lang: str = DEFAULT_LANG
    monitoring_config: str | None = None
    api_token: SecretStr | None = None
    max_body_bytes: int = Field(5_000_000, gt=0)
    #: processes of ``crmid serve`` (each scores on one core; reloads reach every one)
    workers: int = Field(1, gt=0)
    #: set by ``crmid serve --workers N`` for its workers: the file through which a reload done by
    #: one reaches the others (serving/api/state.py); not a user setting
    reload_signal: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    # set by `mlflow run` in the command's environment: the run MLflow made for this entry point,
    # which the command's tracking reuses instead of creating one of its own
    mlflow_run_id: str | None = Field(None, validation_alias=_env("mlflow_run_id"))

    _sources: dict[str, str] | None = PrivateAttr(None)

    @field_validator("lang")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f"lang (CRMID_LANG, --lang) = {value!r}: expected one of {', '.join(LANGUAGES)}")
        return value

    @model_validator(mode="after")
    def _fill_locations(self) -> Workspace:
        if self.api_token is not None and not self.api_token.get_secret_value().strip():
            # an empty token must not quietly mean "no authentication"
            raise ValueError("api_token (CRMID_API_TOKEN) is set but empty: set a token, or unset the variable "
                             "to run without one (loopback only)")
        # relative to the directory the command runs in, once: later chdirs change nothing
        self.work_dir = Path(self.work_dir).expanduser().resolve()
        if not self.tracking_uri:
            self.tracking_uri = f"sqlite:///{self.work_dir / 'mlflow.db'}"
        if not self.registry_uri:
            self.registry_uri = self.tracking_uri
        if not self.model_uri:
            self.model_uri = f"models:/{self.model_name}@{self.model_alias}"
        if not self.store_url:
            self.store_url = f"sqlite:///{self.work_dir / 'scores.db'}"
        return self

    # ------------------------------------------------------------------ resolution
    @classmethod
    def resolve(cls, **options: Any) -> Workspace:
        """Options (None = not given) over the environment over the defaults.

        The returned workspace's :attr:`sources` says, per setting, ``"option"``,
        ``"environment (NAME)"`` or ``"default"``.
        """
        given = {k: v for k, v in options.items() if v is not None and v != ""}
        unknown = set(given) - set(cls.model_fields)
        if unknown:
            raise TypeError(f"unknown workspace settings: {', '.join(sorted(unknown))}")
        ws = cls(**given)
        sources = {}
        for name in cls.model_fields:
            if name in given:
                sources[name] = "option"
                continue
            env = next((n for n in cls.env_names(name) if n in os.environ), None)
            sources[name] = f"environment ({env})" if env else "default"
        ws._sources = sources
        return ws

    @classmethod
    def env_names(cls, field: str) -> tuple[str, ...]:
        """The environment variables a setting is read from."""
        return _ENV_NAMES.get(field, (f"CRMID_{field.upper()}",))

    def environ(self) -> dict[str, str]:
        """The settings as environment variables, for a process that resolves its own workspace.

        ``crmid serve --workers N`` starts processes that build their application from the
        environment; this hands them exactly this workspace. The API token is not written here
        (it can only come from the environment, which they inherit).
        """
        out = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if name in ("api_token", "mlflow_run_id") or value is None:
                continue
            out[self.env_names(name)[0]] = str(value)
        return out

    def export(self) -> None:
        """Put :meth:`environ` in this process's environment, which the processes it starts inherit."""
        os.environ.update(self.environ())

    @property
    def sources(self) -> dict[str, str]:
        """Per setting, where its value came from (all ``"default"`` unless built by :meth:`resolve`)."""
        return dict(self._sources or dict.fromkeys(type(self).model_fields, "default"))

    # ------------------------------------------------------------------ derived locations
    @property
    def store_enabled(self) -> bool:
        return self.store_url != STORE_DISABLED

    @property
    def artifact_location(self) -> str | None:
        """Artifact root for new experiments: under the work dir with a local SQLite tracking store."""
        if self.tracking_uri.startswith("sqlite:///"):
            return (Path(self.tracking_uri[len("sqlite:///"):]).parent / "mlartifacts").resolve().as_uri()
        return None

    @property
    def loopback_only(self) -> bool:
        """True when the service listens on this machine only (127.0.0.0/8, ::1, localhost)."""
        return self.host in ("localhost", "::1") or self.host.startswith("127.")

    @property
    def report_dir(self) -> Path:
        """Default directory of evaluation reports."""
        return self.work_dir / "report"

    def ensure_local_dirs(self) -> None:
        """Create the directories of MLflow's local SQLite files (the scores store's backend makes its own)."""
        for uri in (self.tracking_uri, self.registry_uri):
            if uri and uri.startswith("sqlite:///"):
                Path(uri[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)

    def describe(self) -> list[tuple[str, str, str]]:
        """``(setting, value, source)`` rows for ``crmid info``; the token is never shown."""
        rows = []
        sources = self.sources
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                shown = "set (hidden)"
            elif value is None:
                shown = "-"
            else:
                shown = str(value)
            rows.append((name, shown, sources[name]))
        return rows
