"""A stage progress bar on a terminal; silent when stderr is not a terminal (batch logs stay clean)."""

from __future__ import annotations

import sys
import time

__all__ = ["StageProgress"]


class StageProgress:
    """Shows ``[#####-----] 3/6 rules (12.3 s)`` on stderr as a run moves through its stages."""

    def __init__(self, stages: list[str], stream=None, width: int = 24):
        self.stages = stages
        self.stream = stream or sys.stderr
        self.width = width
        self.enabled = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.started = time.perf_counter()
        self.done = 0

    def step(self, stage: str) -> None:
        """Mark the start of ``stage``."""
        if not self.enabled:
            return
        filled = int(self.width * self.done / len(self.stages))
        bar = "#" * filled + "-" * (self.width - filled)
        elapsed = time.perf_counter() - self.started
        self.stream.write(f"\r[{bar}] {self.done + 1}/{len(self.stages)} {stage:<16} ({elapsed:5.1f} s)")
        self.stream.flush()
        self.done += 1

    def close(self) -> None:
        if self.enabled:
            elapsed = time.perf_counter() - self.started
            self.stream.write(f"\r[{'#' * self.width}] done in {elapsed:.1f} s{' ' * 24}\n")
            self.stream.flush()
