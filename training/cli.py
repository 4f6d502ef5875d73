"""Subcommands ``crmid train`` and ``crmid evaluate`` (registered by ``crmid/cli.py``).

Every option left out (or given as an empty string, which is how the MLproject entry points
pass "not set") takes its default from :mod:`crmid.training.defaults` or the workspace (:mod:`crmid.config`).
"""

from __future__ import annotations

import argparse
import sys

from . import defaults

__all__ = ["add_commands", "evaluate_command", "train_command"]


def _or_default(value, default):
    return default if value in (None, "") else value


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--transactions", required=True, help="transactions file (CSV or Parquet)")
    p.add_argument("--as-of", required=True, help="as-of / cutoff date, e.g. 1998-03-31")
    p.add_argument("--horizon", default="", help=f"churn horizon H in days (default {defaults.HORIZON_DAYS})")
    p.add_argument("--columns", default="", help="column mapping contract_name=your_column,...")


def add_commands(subparsers) -> None:
    """Register ``train`` and ``evaluate`` on an argparse subparsers object."""
    p = subparsers.add_parser("train", help="train, gate against BG/NBD, log and register in MLflow")
    _common(p)
    p.add_argument("--customers", default="", help="customer profiles file (optional)")
    p.add_argument("--no-register", action="store_true", help="log the run without registering models")
    p.add_argument("--allow-gap", action="store_true",
                   help="train at an as-of date further after the last transaction than the base was ever quiet")
    p.set_defaults(func=train_command)

    p = subparsers.add_parser("evaluate", help="the evaluation protocol: models vs BG/NBD on what followed as-of")
    _common(p)
    p.add_argument("--report", default="", help="report directory (default <work-dir>/report)")
    p.add_argument("--no-tracking", action="store_true", help="do not log the evaluation to MLflow")
    p.set_defaults(func=evaluate_command)


def _read(args):
    from crmid.customerbase.contract import parse_column_mapping
    from crmid.customerbase.io import read_transactions

    frame, report = read_transactions(args.transactions, columns=parse_column_mapping(args.columns or None))
    print(report.summary(), file=sys.stderr)
    return frame


def _horizon(args) -> int:
    raw = _or_default(args.horizon, defaults.HORIZON_DAYS)
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"--horizon must be a whole number of days, got {raw!r}") from None


def train_command(args, workspace) -> int:
    """Handler of ``crmid train``; returns the exit code."""
    from crmid.customerbase.contract import ContractError
    from crmid.customerbase.io import read_profiles
    from crmid.progress import StageProgress

    from .train import train

    progress = StageProgress(["read+validate", "fit", "log to MLflow", "register"])
    try:
        progress.step("read+validate")
        tx = _read(args)
        customers = read_profiles(args.customers) if args.customers else None
        result = train(tx, as_of=args.as_of, horizon=_horizon(args), workspace=workspace, customers=customers,
                       register=not args.no_register, allow_gap=args.allow_gap, on_stage=progress.step)
    except (ValueError, FileNotFoundError, ContractError) as exc:
        progress.close()
        print(f"crmid train: error: {exc}", file=sys.stderr)
        return 2
    progress.close()
    print(result.summary())
    return 0


def evaluate_command(args, workspace) -> int:
    """Handler of ``crmid evaluate``; returns the exit code."""
    from crmid.customerbase.contract import ContractError
    from crmid.progress import StageProgress

    from .evaluation import evaluate, format_comparison

    progress = StageProgress(["read+validate", "fit", "log to MLflow"])
    report = _or_default(args.report, None) or workspace.report_dir
    try:
        progress.step("read+validate")
        tx = _read(args)
        metrics = evaluate(tx, as_of=args.as_of, horizon=_horizon(args), report_dir=report,
                           workspace=None if args.no_tracking else workspace, on_stage=progress.step)
    except (ValueError, FileNotFoundError, ContractError) as exc:
        progress.close()
        print(f"crmid evaluate: error: {exc}", file=sys.stderr)
        return 2
    progress.close()
    print(format_comparison(metrics))
    print(f"report: {report}/metrics.json")
    return 0
