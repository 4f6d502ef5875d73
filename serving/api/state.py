"""Heavy objects the service loads once at start-up (models, rules, store)."""

from __future__ import annotations

from dataclasses import dataclass

from ..settings import Settings
from ..store import ScoresStore

__all__ = ["ServingState"]


@dataclass
class ServingState:
    settings: Settings
    scorer: object
    engine: object
    store: ScoresStore
