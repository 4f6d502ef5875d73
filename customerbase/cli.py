"""Command-line commands for the customer base: ``validate``, ``snapshot``, ``generate``, ``dataset``.

It also holds the option helpers every package's commands share (the lowest layer, so each may
import them): the transactions flags, ``--format`` and deprecated aliases. One vocabulary: the
same flag means the same thing, with the same metavar, on every command (``crmid --help`` lists it).
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["DeprecatedAlias", "add_commands", "add_format_option", "add_transaction_arguments", "input_bounds",
           "load_transactions_from_args", "to_json"]


def add_transaction_arguments(parser: argparse.ArgumentParser, *, as_of_required: bool = False, as_of: bool = True,
                              required: bool = True, as_of_help: str | None = None) -> None:
    """The flags every command that reads a transactions file shares.

    ``as_of=False`` leaves ``--as-of`` out (a command that reads every row); ``required=False``
    makes ``--transactions`` optional.
    """
    parser.add_argument("--transactions", required=required, default=None if required else "", metavar="FILE",
                        help="transactions file (.csv or .parquet) with customer_id, date, amount")
    parser.add_argument("--columns", metavar="MAP", default=None,
                        help="map contract names to your column names, e.g. customer_id=cust,date=ts,amount=value")
    if as_of:
        parser.add_argument("--as-of", required=as_of_required, metavar="DATE",
                            help=as_of_help or "point-in-time date (YYYY-MM-DD); later transactions are ignored")
    parser.add_argument("--dedupe", action="store_true", help="remove fully duplicated rows (reported either way)")
    parser.add_argument("--encoding", default="utf-8", metavar="NAME",
                        help="text encoding of CSV input files, e.g. latin-1 (default utf-8; a BOM is skipped)")


def add_format_option(parser: argparse.ArgumentParser, choices: tuple[str, ...], default: str) -> None:
    """``--format FORMAT`` with this command's choices; also accepted before the command.

    The default is applied by ``crmid.cli.main`` after parsing (``args.format`` is then always
    set): a default stored on the command's parser would overwrite a ``--format`` given before
    the command name, so the option itself has none.
    """
    parser.add_argument("--format", choices=choices, metavar="FORMAT", default=argparse.SUPPRESS,
                        help=f"output format: {', '.join(choices)} (default {default})")
    parser.set_defaults(format_choices=tuple(choices), format_default=default)


def to_json(value) -> str:
    """``value`` as strict JSON text for ``--format json``: NaN and infinities become null.

    numpy scalars become numbers, paths and anything else their text; a scheduler's parser needs
    no Python extension (``json.dumps`` would write ``NaN``, which strict JSON parsers refuse).
    """
    import json
    import math

    def plain(v):
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in v.items()}
        if isinstance(v, list | tuple | set):
            return [plain(x) for x in v]
        if v is None or isinstance(v, bool | str | int):
            return v
        if hasattr(v, "item") and not hasattr(v, "__len__"):  # a numpy scalar
            return plain(v.item())
        if isinstance(v, float):
            return v if math.isfinite(v) else None
        return str(v)

    return json.dumps(plain(value), indent=2, ensure_ascii=False)


class DeprecatedAlias(argparse.Action):
    """A flag kept working under its old name: stores into the new option's dest, notes it on stderr.

    Hidden from ``--help`` (``help=argparse.SUPPRESS``), so the help lists the vocabulary only.
    """

    def __init__(self, option_strings, dest, *, replacement: str, **kwargs):
        self.replacement = replacement
        kwargs.setdefault("help", argparse.SUPPRESS)
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"{parser.prog}: note: {option_string} is deprecated and will be removed; use {self.replacement}",
              file=sys.stderr)
        setattr(namespace, self.dest, values)


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


def load_profiles_from_args(args):
    """Read and validate ``--customers`` (a profiles file) in the shared ``--encoding``; None without it."""
    if not getattr(args, "customers", ""):
        return None
    from .io import read_profiles

    return read_profiles(args.customers, encoding=getattr(args, "encoding", "utf-8"))


def _report_dict(report) -> dict:
    """The validation report as plain JSON types (``crmid validate --format json``)."""
    return {
        "source": str(report.source), "rows_in": report.rows_in, "rows_out": report.rows_out,
        "customers_in": report.customers_in, "future_rows": report.future_rows,
        "duplicate_rows": report.duplicate_rows, "duplicates_removed": report.duplicates_removed,
        "rows_dropped": {k: v for k, v in report.rows_dropped.items() if v},
        "rejected_customers": int(report.rejected["customer_id"].notna().sum()), "warnings": list(report.warnings),
    }


def _validate(args, workspace) -> int:
    from .contract import ContractError

    try:
        _, report = load_transactions_from_args(args, workspace=workspace)
    except ContractError as exc:
        if args.format == "json":
            print(to_json({"valid": False, "transactions": str(args.transactions),
                           "problems": [str(problem) for problem in exc.problems]}))
        print(f"invalid: {len(exc.problems)} problem(s)\n{exc}", file=sys.stderr)
        return 2
    print(to_json({"valid": True, **_report_dict(report)}) if args.format == "json" else "valid")
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

    if args.n_customers is None:
        raise ValueError("generate: --n-customers N is required (how many customers to generate)")
    if args.n_customers < 1:
        raise ValueError(f"generate: --n-customers {args.n_customers}: expected at least 1")
    tx = generate_transactions(args.n_customers, seed=args.seed)
    write_table_atomic(tx, args.out)
    print(f"wrote {len(tx)} SYNTHETIC transactions of {args.n_customers} customers to {args.out}")
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
    add_format_option(p, ("text", "json"), "text")
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
    p.add_argument("--n-customers", type=int, default=None, metavar="N", help="number of customers (required)")
    # before the vocabulary, --customers was the count here; it is a profiles file everywhere else
    p.add_argument("--customers", type=int, dest="n_customers", action=DeprecatedAlias, replacement="--n-customers N")
    p.add_argument("--out", required=True, metavar="FILE", help="transactions .parquet or .csv")
    p.add_argument("--profiles", metavar="FILE", help="also write customer profiles here")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (default 0)")
    p.set_defaults(func=_generate)

    p = sub.add_parser("dataset", help="write the bundled REAL CDNOW log as a transactions file",
                       description="Write the real CDNOW log bundled with crmid (23,570 customers, 1997-01-01 .. "
                                   "1998-06-30) as CSV or Parquet, optionally cut at a date.")
    p.add_argument("name", choices=("cdnow",), help="the dataset")
    p.add_argument("--out", required=True, metavar="FILE", help="transactions .csv or .parquet")
    p.add_argument("--until", metavar="DATE", help="only transactions on or before this date")
    p.set_defaults(func=_dataset)
