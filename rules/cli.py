"""``crmid decide`` and ``crmid rules check``: the rules from the command line.

``crmid decide --input facts.jsonl --out decisions.jsonl`` reads one JSON object of facts per
line (``-`` = stdin/stdout) and writes one decision per line, in the same order; ``--lang zh``
writes the reasons and action texts in Chinese (default: plain English).
``crmid rules check FILE`` validates a configuration and prints what it would change against
the rules in force (the packaged default, or ``--against``).

Bad input gives a message naming the line, the field, the value and what was expected, and
exit code 2; a bad configuration gives the configuration's message and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterable
from typing import IO, TYPE_CHECKING, Any

from crmid.customerbase.cli import DeprecatedAlias, add_format_option, to_json

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["add_commands", "add_lang_option", "read_facts", "write_decisions"]

# exit codes: 0 ok, 2 bad input or configuration (argparse also uses 2 for bad usage)
_OK = 0
_BAD_INPUT = 2


def _language(text: str) -> str:
    from .decision_table import LANGUAGES

    if text not in LANGUAGES:
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(LANGUAGES)}, got {text!r}")
    return text


def add_lang_option(parser: argparse.ArgumentParser) -> None:
    """``--lang LANG``: the language of the reasons and action texts a command writes.

    Not given, it is the workspace's (``CRMID_LANG``, else English): the command reads
    ``workspace.lang``, which the entry point resolves with this option over the environment.
    """
    parser.add_argument("--lang", type=_language, default=None, metavar="LANG",
                        help="language of reasons and action texts: en (plain English) or zh (Chinese, with the "
                             "textbook's terms); default: env CRMID_LANG, else en")


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register ``decide`` and ``rules check`` on the ``crmid`` command's subparsers."""
    p = subparsers.add_parser("decide", help="decide customers from facts (JSON lines in, JSON lines out)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--input", "-i", required=True, metavar="FILE", help="facts, one JSON object per line; - = stdin")
    p.add_argument("--out", "-o", metavar="FILE", help="decisions, one JSON object per line; - = stdout (required)")
    # the vocabulary's name is --out on every command; --output keeps working, with a note
    p.add_argument("--output", dest="out", action=DeprecatedAlias, replacement="--out FILE")
    add_lang_option(p)
    p.set_defaults(func=_decide)

    rules = subparsers.add_parser("rules", help="rules configuration tools")
    rules_sub = rules.add_subparsers(title="rules commands", metavar="COMMAND")
    check = rules_sub.add_parser("check", help="validate a rules configuration and show what it changes")
    check.add_argument("file", metavar="FILE", help="the configuration to check")
    check.add_argument("--against", metavar="FILE",
                       help="configuration in force to compare with (default: the workspace's --rules, "
                            "else the packaged one)")
    add_format_option(check, ("text", "json"), "text")
    check.set_defaults(func=_check)
    rules.set_defaults(func=lambda args, workspace: (rules.print_help(), _BAD_INPUT)[1])


# --------------------------------------------------------------------------------------------
def _open_in(path: str) -> IO[str]:
    return sys.stdin if path == "-" else open(path, encoding="utf-8")


def _open_out(path: str) -> IO[str]:
    return sys.stdout if path == "-" else open(path, "w", encoding="utf-8")


def read_facts(lines: Iterable[str], criteria: Iterable[str]) -> list[dict]:
    """Parse and check JSON lines of facts; blank lines are skipped.

    Raises
    ------
    ValueError
        ``line N: ...`` naming the problem (bad JSON, not an object, or the field, value and
        expectation from :class:`~rules.facts.FactsError`).
    """
    from .facts import FactsError, normalize_facts

    criteria = tuple(criteria)
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"line {number}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(record, dict):
            raise ValueError(f"line {number}: expected a JSON object of facts, got {type(record).__name__}")
        try:
            normalize_facts(record, criteria)
        except FactsError as exc:
            raise ValueError(f"line {number}: {exc}") from None
        records.append(record)
    return records


def _plain(value: Any) -> Any:
    # numpy scalars and NaN into what JSON has
    import numpy as np

    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def write_decisions(decisions: pd.DataFrame, out: IO[str]) -> None:
    """Write a decisions frame as JSON lines."""
    for row in decisions.to_dict("records"):
        out.write(json.dumps({k: _plain(v) for k, v in row.items()}, ensure_ascii=False) + "\n")


def _decide(args: argparse.Namespace, workspace) -> int:
    import pandas as pd

    from .config import ConfigError
    from .engine import RulesEngine

    if args.out is None:
        print("crmid decide: error: the following arguments are required: --out", file=sys.stderr)
        return _BAD_INPUT
    try:
        engine = RulesEngine.from_path(workspace.rules_path)
    except ConfigError as exc:
        print(f"crmid decide: {exc}", file=sys.stderr)
        return _BAD_INPUT
    criteria = engine.config.section("distributor")["weights"]
    try:
        src = _open_in(args.input)
    except OSError as exc:
        print(f"crmid decide: cannot read {args.input}: {exc.strerror}", file=sys.stderr)
        return _BAD_INPUT
    try:
        records = read_facts(src, criteria)
    except ValueError as exc:
        print(f"crmid decide: {args.input}: {exc}", file=sys.stderr)
        return _BAD_INPUT
    finally:
        if src is not sys.stdin:
            src.close()
    decisions = (engine.decide_frame(pd.DataFrame.from_records(records), lang=workspace.lang) if records
                 else pd.DataFrame())
    out = _open_out(args.out)
    try:
        write_decisions(decisions, out)
    finally:
        if out is not sys.stdout:
            out.close()
        else:
            out.flush()
    return _OK


def _check(args: argparse.Namespace, workspace) -> int:
    from .config import ConfigError, default_config_path, diff_configs, load_config

    against_path = args.against or workspace.rules_path or default_config_path()
    try:
        current = load_config(against_path)
    except ConfigError as exc:
        print(f"crmid rules check: the configuration to compare with is invalid: {exc}", file=sys.stderr)
        return _BAD_INPUT
    try:
        candidate = load_config(args.file)
    except ConfigError as exc:
        if args.format == "json":
            print(to_json({"file": args.file, "valid": False, "error": str(exc)}))
        print(f"crmid rules check: INVALID: {exc}", file=sys.stderr)
        return _BAD_INPUT
    changes = diff_configs(current, candidate)
    if args.format == "json":
        print(to_json({"file": args.file, "valid": True, "version": candidate.version,
                       "against": str(against_path), "against_version": current.version, "changes": list(changes)}))
        return _OK
    print(f"OK: {args.file} is valid (rules version {candidate.version})")
    if not changes:
        print(f"no changes against {against_path} (version {current.version})")
    else:
        print(f"{len(changes)} change(s) against {against_path} (version {current.version}):")
        for line in changes:
            print(f"  {line}")
    return _OK
