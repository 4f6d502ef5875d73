"""Serving subcommands of ``crmid``: ``demo``, ``score``, ``retain``, ``serve``."""

from __future__ import annotations

from .demo import run_demo

__all__ = ["add_commands"]


def _demo(args) -> int:
    return run_demo()


def add_commands(sub) -> None:
    p = sub.add_parser("demo", help="run the whole job on the bundled real CDNOW data",
                       description="Load, validate and snapshot the bundled CDNOW log, train and evaluate "
                                   "against BG/NBD, score, store and list who to retain.")
    p.set_defaults(func=_demo)
