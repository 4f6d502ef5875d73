"""Command-line commands for the customer base: ``validate``, ``snapshot``, ``generate``."""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_commands", "add_transaction_arguments", "input_bounds", "load_transactions_from_args"]


def add_transaction_arguments(parser: argparse.ArgumentParser, *, as_of_required: bool = False) -> None:
    """The flags every command that reads a transactions file shares."""
    parser.add_argument("--transactions", required=True, metavar="FILE",
                        help="transactions file (.csv or .parquet) with customer_id, date, amount")
    parser.add_argument("--columns", metavar="MAP", default=None,
                        help="map contract names to your column names, e.g. customer_id=cust,date=ts,amount=value")
    parser.add_argument("--as-of", required=as_of_required, metavar="DATE",
                        help="point-in-time date (YYYY-MM-DD); later transactions are ignored")
    parser.add_argument("--dedupe", action="store_true", help="remove fully duplicated rows (reported either way)")
    parser.add_argument("--encoding", default="utf-8", metavar="NAME",
                        help="text encoding of CSV input files, e.g. latin-1 (default utf-8; a BOM is skipped)")


_FROM_ARGS = object()


def input_bounds(workspace) -> dict:
    """The data contract's bounds from the workspace's rules file (its ``input`` section).

    The bounds are business numbers, so they live in the versioned rules file rather than in
    code; the rules package is imported only here, when a command runs.
    """
    from crmid.rules.config import load_config

    return dict(load_config(workspace.rules_path).section("input")) if workspace is not None else {}


def load_transactions_from_args(args, *, on_error: str = "raise", as_of=_FROM_ARGS, workspace=None):
    """Read and validate ``--transactions`` as the shared flags say; print the validation summary.

    ``as_of`` overrides ``--as-of`` for the date filter (``None`` reads everything, e.g. for labels).
    With a ``workspace``, amounts are bounded by its rules file's ``input.max_abs_amount``.
    """
    from .contract import parse_column_mapping
    from .io import read_transactions

    frame, report = read_transactions(
        args.transactions, columns=parse_column_mapping(args.columns),
        as_of=args.as_of if as_of is _FROM_ARGS else as_of,
        dedupe=getattr(args, "dedupe", False), on_error=on_error, encoding=getattr(args, "encoding", "utf-8"),
        max_abs_amount=input_bounds(workspace).get("max_abs_amount"),
    )
    print(report.summary(), file=sys.stderr)
    return frame, report


def _validate(args, workspace) -> int:
    from .contract import ContractError

    try:
        load_transactions_from_args(args, workspace=workspace)
    except ContractError as exc:
        print(f"invalid: {len(exc.problems)} problem(s)\n{exc}", file=sys.stderr)
        return 2
    print("valid")
    return 0


def _snapshot(args, workspace) -> int:
    import pandas as pd

    from .io import write_table_atomic
    from .snapshot import TransactionLog

    # labels need what happened after --as-of; the snapshot itself still reads only up to it
    frame, _ = load_transactions_from_args(args, as_of=None if args.horizon else args.as_of, workspace=workspace)
    log = TransactionLog(frame)
    snap = log.snapshot(args.as_of)
    if args.horizon:
        labels = log.labels(args.as_of, args.horizon)
        snap = pd.concat([snap, labels.drop(columns="customer_id")], axis=1)
    write_table_atomic(snap, args.out)
    print(f"wrote {len(snap)} customers to {args.out}")
    return 0


def _generate(args, workspace) -> int:
    from .io import write_table_atomic
    from .synthetic import generate_profiles, generate_transactions

    tx = generate_transactions(args.customers, seed=args.seed)
    write_table_atomic(tx, args.out)
    print(f"wrote {len(tx)} SYNTHETIC transactions of {args.customers} customers to {args.out}")
    if args.profiles:
        prof = generate_profiles(tx["customer_id"].unique(), seed=args.seed)
        write_table_atomic(prof, args.profiles)
        print(f"wrote {len(prof)} SYNTHETIC profiles to {args.profiles}")
    return 0


def _dataset(args, workspace) -> int:
    import pandas as pd

    from .datasets import load_cdnow
    from .io import write_table_atomic

    frame = load_cdnow()
    if args.until:
        frame = frame[frame["date"] <= pd.Timestamp(args.until)]
    write_table_atomic(frame, args.out)
    print(f"wrote {len(frame):,} REAL CDNOW transactions of {frame['customer_id'].nunique():,} customers "
          f"({frame['date'].min().date()} .. {frame['date'].max().date()}) to {args.out}")
    return 0


def add_commands(sub) -> None:
    """Register ``validate``, ``snapshot``, ``generate`` and ``dataset``."""
    p = sub.add_parser("validate", help="check a transactions file against the data contract",
                       description="Check a transactions file against the data contract and report every problem.")
    add_transaction_arguments(p)
    p.set_defaults(func=_validate)

    p = sub.add_parser("snapshot", help="write point-in-time customer features (and labels)",
                       description="Write one row of features per customer known at --as-of.")
    add_transaction_arguments(p, as_of_required=True)
    p.add_argument("--out", required=True, metavar="FILE", help="output .parquet or .csv")
    p.add_argument("--horizon", type=int, default=None, metavar="DAYS",
                   help="also write labels for this horizon (needs data after --as-of)")
    p.set_defaults(func=_snapshot)

    p = sub.add_parser("generate", help="write a SYNTHETIC transaction log (and profiles)",
                       description="Generate SYNTHETIC data from a buy-till-you-die process. Never real.")
    p.add_argument("--customers", type=int, required=True, help="number of customers")
    p.add_argument("--out", required=True, metavar="FILE", help="transactions .parquet or .csv")
    p.add_argument("--profiles", metavar="FILE", help="also write customer profiles here")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_generate)

    p = sub.add_parser("dataset", help="write the bundled REAL CDNOW log as a transactions file",
                       description="Write the real CDNOW log bundled with crmid (23,570 customers, 1997-01-01 .. "
                                   "1998-06-30) as CSV or Parquet, optionally cut at a date.")
    p.add_argument("name", choices=("cdnow",), help="the dataset")
    p.add_argument("--out", required=True, metavar="FILE", help="transactions .csv or .parquet")
    p.add_argument("--until", metavar="DATE", help="only transactions on or before this date")
    p.set_defaults(func=_dataset)
