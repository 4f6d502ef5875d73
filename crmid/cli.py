"""The ``crmid`` command: one entry point, a subcommand per job."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

__all__ = ["build_parser", "main"]

# each package registers its own subcommands, so a command lives beside the code it runs
_COMMAND_MODULES = (
    "crmid.customerbase.cli",
    "crmid.rules.cli",
    "crmid.training.cli",
    "crmid.serving.commands",
)

_DESCRIPTION = """\
crmid: customer identification for CRM.

Textbook rules (6C, MAN, value pyramid, relationship types, lifecycle, hot/warm/cold) merged
with LightGBM churn and next-purchase models into one explained decision per customer.

Start with `crmid demo`: it runs the whole job on the bundled real CDNOW data.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crmid", description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        importlib.import_module(name).add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError) as exc:
        # user errors (bad file, bad value) get their message, not a traceback
        print(f"crmid: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
