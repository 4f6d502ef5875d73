"""Settings of the serving layer, in one place: environment variables ``CRMID_*`` or arguments."""

from __future__ import annotations

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    """Serving settings.

    Attributes
    ----------
    model_uri : str or None
        Model to serve; None = the registered ``champion`` (see ``models.load_scorer``).
    rules_path : str or None
        Rules configuration file; None = the packaged default.
    store_url : str or None
        Scores store URL; None = ``sqlite:///crmid-work/scores.db``.
    api_token : SecretStr or None
        Bearer token required on every API call when set; ``/v1/rules/reload`` always needs one.
    max_body_bytes : int
        Larger request bodies get 413.
    workers : int
        Threads for CPU-bound handlers, so that they never block the event loop.
    """

    model_config = SettingsConfigDict(env_prefix="CRMID_", extra="ignore")

    model_uri: str | None = None
    rules_path: str | None = None
    store_url: str | None = None
    api_token: SecretStr | None = None
    max_body_bytes: int = 5_000_000
    workers: int = 4
