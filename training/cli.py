"""Subcommands ``crmid train`` and ``crmid evaluate`` (registered by ``crmid/cli.py``).

Every option left out (or given as an empty string, which is how the MLproject entry points
pass "not set") takes its default from :mod:`training.defaults`, the single source of defaults.
"""

from __future__ import annotations

import argparse
import sys

from crmid.customerbase.contract import ContractError, parse_column_mapping
from crmid.customerbase.io import read_profiles, read_transactions

from . import defaults

__all__ = ["add_commands", "train_command", "evaluate_command"]


def _or_default(value, default):
    return default if value in (None, "") else value


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--transactions", required=True, help="transactions file (CSV or Parquet)")
    p.add_argument("--as-of", required=True, help="as-of / cutoff date, e.g. 1998-03-31")
    p.add_argument("--horizon", default="", help=f"churn horizon H in days (default {defaults.HORIZON_DAYS})")
    p.add_argument("--columns", default="", help="column mapping contract_name=your_column,...")
    p.add_argument("--experiment", default="", help=f"MLflow experiment (default {defaults.EXPERIMENT!r})")
    p.add_argument("--tracking-uri", default="",
                   help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else a SQLite store under ./crmid-work)")


def add_commands(subparsers) -> None:
    """Register ``train`` and ``evaluate`` on an argparse subparsers object."""
    p = subparsers.add_parser("train", help="train, gate against BG/NBD, log and register in MLflow")
    _common(p)
    p.add_argument("--customers", default="", help="customer profiles file (optional)")
    p.add_argument("--no-register", action="store_true", help="log the run without registering models")
    p.set_defaults(func=train_command)

    p = subparsers.add_parser("evaluate", help="the evaluation protocol: models vs BG/NBD on what followed as-of")
    _common(p)
    p.add_argument("--report", default="", help=f"report directory (default {defaults.REPORT_DIR})")
    p.add_argument("--no-tracking", action="store_true", help="do not log the evaluation to MLflow")
    p.set_defaults(func=evaluate_command)


def _read(args):
    frame, report = read_transactions(args.transactions, columns=parse_column_mapping(args.columns or None))
    return frame


def _horizon(args) -> int:
    raw = _or_default(args.horizon, defaults.HORIZON_DAYS)
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"--horizon must be a whole number of days, got {raw!r}") from None


def train_command(args) -> int:
    """Handler of ``crmid train``; returns the exit code."""
    from .train import train

    try:
        tx = _read(args)
        customers = read_profiles(args.customers) if args.customers else None
        result = train(tx, as_of=args.as_of, horizon=_horizon(args),
                       experiment=_or_default(args.experiment, defaults.EXPERIMENT), customers=customers,
                       tracking_uri=args.tracking_uri or None, register=not args.no_register)
    except (ValueError, FileNotFoundError, ContractError) as exc:
        print(f"crmid train: error: {exc}", file=sys.stderr)
        return 2
    print(result.summary())
    return 0


def evaluate_command(args) -> int:
    """Handler of ``crmid evaluate``; returns the exit code."""
    from .evaluation import evaluate, format_comparison

    try:
        tx = _read(args)
        metrics = evaluate(tx, as_of=args.as_of, horizon=_horizon(args),
                           report_dir=_or_default(args.report, defaults.REPORT_DIR),
                           tracking=not args.no_tracking,
                           experiment=_or_default(args.experiment, defaults.EXPERIMENT),
                           tracking_uri=args.tracking_uri or None)
    except (ValueError, FileNotFoundError, ContractError) as exc:
        print(f"crmid evaluate: error: {exc}", file=sys.stderr)
        return 2
    print(format_comparison(metrics))
    print(f"report: {_or_default(args.report, defaults.REPORT_DIR)}/metrics.json")
    return 0


def main(argv=None) -> int:
    """Stand-alone entry (``python -m training.cli``) until ``crmid`` registers these commands."""
    parser = argparse.ArgumentParser(prog="crmid")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
