# PYTHON_ARGCOMPLETE_OK
"""The ``crmid`` command: one entry point, a subcommand per job.

Each feature package contributes its commands (``add_commands``) beside the code they run; this
module adds the application's own (``info``, ``demo``), gives every command the same workspace
options and global flags (``--verbose``, ``--quiet``, ``--format``, ``--version``: before or after
the command), resolves the :class:`crmid.config.Workspace` once and hands it to the command.
Heavy libraries are imported by the commands that need them, so ``crmid --help`` answers at once.
Options follow one vocabulary (:data:`VOCABULARY`, printed by ``crmid --help``).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import sys
import time
import warnings

from crmid import __version__
from crmid.customerbase import cli as customerbase_cli
from crmid.customerbase.cli import add_format_option, to_json
from crmid.monitoring import cli as monitoring_cli
from crmid.rules import cli as rules_cli
from crmid.serving import commands as serving_commands
from crmid.training import cli as training_cli

__all__ = ["DEPRECATED", "VOCABULARY", "build_parser", "main"]

#: the shared vocabulary: an option means one thing, with one metavar, on every command that takes
#: it (None: a switch). tests/app/test_cli_conventions.py holds every command to it.
VOCABULARY = {
    "--transactions": ("FILE", "a transactions file (.csv or .parquet): customer_id, date, amount"),
    "--customers": ("FILE", "a customer profiles file (.csv or .parquet); never a count"),
    "--out": ("FILE", "the file a command writes its result to"),
    "--as-of": ("DATE", "the point in time, YYYY-MM-DD: later transactions are not read"),
    "--horizon": ("DAYS", "the churn horizon H in days"),
    "--columns": ("MAP", "your column names, e.g. customer_id=cust,date=ts,amount=value"),
    "--encoding": ("NAME", "text encoding of CSV input, e.g. latin-1 (default utf-8)"),
    "--dedupe": (None, "remove fully duplicated rows (they are reported either way)"),
    "--format": ("FORMAT", "how the result is printed: text, table, csv or markdown for people, json for programs"),
    "--lang": ("LANG", "language of the rules' reasons and action texts: en (plain English, default) or zh "
                       "(Chinese, the textbook's terms); env CRMID_LANG"),
}

#: old spellings that still work, with a note on stderr, and are hidden from the help
DEPRECATED = {
    "--output": "--out (crmid decide)",
    "--customers N": "--n-customers N (crmid generate)",
}

_DESCRIPTION = """\
crmid: customer identification for CRM.

Textbook rules (6C, MAN, value pyramid, relationship types, lifecycle, hot/warm/cold) merged
with LightGBM churn and next-purchase models into one explained decision per customer.

Start with `crmid demo`: it runs the whole job on the bundled real CDNOW data. Every command
keeps its models, runs and scores in one workspace (./crmid-work by default); `crmid info`
shows where, and where each setting came from (option > environment > default).

exit codes: 0 ok, 1 nothing to show yet, 2 bad input or usage, 3 no model to score with,
4 store or tracking server unreachable (or its driver missing), 70 internal error (a defect).
"""


def _epilog() -> str:
    names = {flag: f"{flag} {metavar}" if metavar else flag for flag, (metavar, _) in VOCABULARY.items()}
    width = max(map(len, names.values()))
    lines = ["one vocabulary: every command that takes one of these options means the same by it:"]
    lines += [f"  {names[flag]:<{width}}  {text}" for flag, (_, text) in VOCABULARY.items()]
    lines += ["",
              "global flags, before or after the command: --version, -v/--verbose (progress details, library",
              "warnings, tracebacks), -q/--quiet (no progress nor summary lines on stderr; the result is still",
              "printed; a failure still shows everything), --format FORMAT (each command lists its formats; json",
              "on every command that prints a result), and the workspace options (--work-dir DIR, ...).",
              "",
              "deprecated, still accepted with a note on stderr:",
              *(f"  {old:<{width}}  use {new}" for old, new in DEPRECATED.items()),
              "",
              'shell completion (bash, zsh): eval "$(register-python-argcomplete crmid)"']
    return "\n".join(lines)

#: workspace options every command takes: flag -> (Workspace field, metavar, help)
_WORKSPACE_OPTIONS = {
    "--work-dir": ("work_dir", "DIR", "workspace directory (default ./crmid-work; env CRMID_WORK_DIR)"),
    "--tracking-uri": ("tracking_uri", "URI",
                       "MLflow tracking URI (default sqlite:///<work-dir>/mlflow.db; env MLFLOW_TRACKING_URI)"),
    "--registry-uri": ("registry_uri", "URI", "MLflow registry URI (default: the tracking URI)"),
    "--experiment": ("experiment", "NAME", "MLflow experiment (default crmid)"),
    "--model-uri": ("model_uri", "URI", "model to use (default models:/crmid-customer@champion)"),
    "--store": ("store_url", "URL",
                "scores store URL (default sqlite:///<work-dir>/scores.db; 'none' = no store)"),
    "--rules": ("rules_path", "FILE", "rules configuration (default: the packaged one)"),
}


def _add_workspace_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("workspace options (also accepted before the command)")
    for flag, (dest, metavar, text) in _WORKSPACE_OPTIONS.items():
        # SUPPRESS: a value given before the command is not overwritten by the command's default
        group.add_argument(flag, dest=dest, metavar=metavar, help=text, default=argparse.SUPPRESS)
    verbosity = parser.add_mutually_exclusive_group()
    verbosity.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                           help="show progress details, library warnings and tracebacks")
    verbosity.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                           help="no progress nor summary lines on stderr (the result is still printed)")
    if "--version" not in parser._option_string_actions:  # `model show --version N` is the model's version
        parser.add_argument("--version", action="version", version=f"crmid {__version__}",
                            help="print crmid's version and exit")


def _info(args, workspace) -> int:
    from crmid.info import describe_workspace, workspace_info

    info = workspace_info(workspace)
    print(to_json(info) if args.format == "json" else describe_workspace(workspace, info))
    return 0


def _demo(args, workspace) -> int:
    from crmid.demo import run_demo

    return run_demo(workspace)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crmid", description=_DESCRIPTION, epilog=_epilog(), formatter_class=argparse.RawDescriptionHelpFormatter
    )
    _add_workspace_options(parser)
    # before the command, any format: the command's own list is checked once it is known (main)
    parser.add_argument("--format", metavar="FORMAT", default=argparse.SUPPRESS,
                        help="output format of the command's result (json: for programs); each command lists its own")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    p = sub.add_parser("info", help="the resolved workspace: settings and their sources, champion, latest run",
                       description="Print every setting, its value and where it came from (option, "
                                   "environment, default), the champion model's version and the latest stored run.")
    add_format_option(p, ("text", "json"), "text")
    p.set_defaults(func=_info)
    p = sub.add_parser("demo", help="run the whole job on the bundled real CDNOW data",
                       description="Evaluate against BG/NBD on the bundled CDNOW log, train, gate and register, "
                                   "score every customer as of the last date, save to the store and list who to "
                                   "retain. Everything goes to the workspace (./crmid-work by default).")
    p.set_defaults(func=_demo)
    for package in (customerbase_cli, rules_cli, training_cli, serving_commands, monitoring_cli):
        package.add_commands(sub)
    # `crmid model`: the registered models, whose commands come from two packages
    p = sub.add_parser("model", help="the registered models: show the champion's card, roll back",
                       description="Work on the registered models of the workspace.")
    model = p.add_subparsers(title="model commands", metavar="SUBCOMMAND")
    p.set_defaults(func=lambda args, workspace: (p.print_help(), EXIT_BAD_INPUT)[1])
    training_cli.add_model_commands(model)
    monitoring_cli.add_model_commands(model)
    for command in sub.choices.values():
        _add_workspace_options(command)
        for nested in _subcommands(command):
            _add_workspace_options(nested)
    return parser


def _subcommands(parser: argparse.ArgumentParser):
    for action in parser._actions:  # argparse offers no public way to walk a tree of subcommands
        if isinstance(action, argparse._SubParsersAction):
            yield from action.choices.values()


#: options of some commands that set a workspace setting (option > environment > default too)
_COMMAND_SETTINGS = ("lang",)


def _workspace(args):
    from crmid.config import Workspace

    fields = {dest for dest, _, _ in _WORKSPACE_OPTIONS.values()} | set(_COMMAND_SETTINGS)
    return Workspace.resolve(**{k: v for k, v in vars(args).items() if k in fields})


#: exit codes, as `crmid --help` and the README document them
EXIT_OK, EXIT_NOTHING_YET, EXIT_BAD_INPUT, EXIT_NO_MODEL, EXIT_UNREACHABLE, EXIT_INTERNAL = 0, 1, 2, 3, 4, 70


def _exit_code(exc: BaseException) -> int | None:
    """The documented exit code of an error a user can act on; None for a defect (a traceback)."""
    import sqlalchemy.exc

    from crmid.models import ScorerLoadError
    from crmid.serving.context import NoModelError

    if isinstance(exc, NoModelError | ScorerLoadError):
        return EXIT_NO_MODEL
    if isinstance(exc, sqlalchemy.exc.OperationalError | sqlalchemy.exc.ArgumentError | ModuleNotFoundError):
        return EXIT_UNREACHABLE
    if isinstance(exc, ValueError | FileNotFoundError | IsADirectoryError | PermissionError | UnicodeDecodeError):
        return EXIT_BAD_INPUT
    return None


def _enable_completion(parser: argparse.ArgumentParser) -> None:
    """Answer the shell's completion request, if this run is one (argcomplete's protocol).

    argcomplete itself reads its environment variable and returns at once when it is unset: only
    crmid.config reads the environment, and importing it (pydantic) would cost ``crmid --help``
    some 170 ms, where importing argcomplete costs about 3 ms. Without argcomplete installed,
    crmid runs without completion.
    """
    try:
        import argcomplete
    except ModuleNotFoundError:
        return
    argcomplete.autocomplete(parser)


def _resolve_format(args) -> str | None:
    """Fill in ``args.format`` from the command's default; the problem, if the format given does not apply."""
    choices = getattr(args, "format_choices", None)
    given = getattr(args, "format", None)
    if choices is None:
        if given is not None:
            return f"--format {given}: this command prints no result to format"
        return None
    if given is None:
        args.format = args.format_default
    elif given not in choices:
        return f"argument --format: invalid choice: {given!r} (choose from {', '.join(choices)})"
    return None


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    parser = build_parser()
    _enable_completion(parser)
    args = parser.parse_args(argv)
    args.started = started  # a command's start-up (settings, imports, model load) is timed from here
    verbose = getattr(args, "verbose", False)
    quiet = getattr(args, "quiet", False)
    if verbose and quiet:  # one before the command, the other after it
        parser.error("--quiet and --verbose exclude each other")
    logging.basicConfig(level=logging.INFO if verbose else logging.ERROR if quiet else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not hasattr(args, "func"):
        parser.print_help()
        return EXIT_BAD_INPUT
    problem = _resolve_format(args)
    if problem:
        print(f"crmid: error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    # --quiet: what the command writes to stderr (progress, validation and run summaries) is held
    # back, and shown only if the command fails: a failure is explained whatever the flags
    held = io.StringIO() if quiet else None
    with warnings.catch_warnings():
        if not verbose:
            # libraries' hints and deprecations are for their callers, not for a person running
            # crmid; crmid's own data warnings are in the validation summaries the commands print
            warnings.filterwarnings("ignore")
        try:
            with contextlib.redirect_stderr(held) if held is not None else contextlib.nullcontext():
                workspace = _workspace(args)
                code = int(args.func(args, workspace) or 0)
                # a reader that closed the pipe early shows here, not in the flush at exit, where
                # Python would print "Exception ignored ... BrokenPipeError" after the command ended
                sys.stdout.flush()
            if code and held is not None:
                sys.stderr.write(held.getvalue())
            return code
        except BrokenPipeError:
            # `crmid retain | head`: the reader has what it wanted; say nothing more. What is
            # still buffered goes nowhere (the documented recipe: stdout onto /dev/null)
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.stderr.close()
            return EXIT_OK
        except Exception as exc:
            if held is not None:
                sys.stderr.write(held.getvalue())
            code = _exit_code(exc)
            if code is None and not verbose:
                print(f"crmid: internal error: {type(exc).__name__}: {exc} (run with --verbose for the "
                      "traceback, and please report it)", file=sys.stderr)
                return EXIT_INTERNAL
            if code is None or verbose:
                raise
            # errors a user can act on get their message, not a traceback; a driver's connection
            # error is one line (its first), not the driver's whole explanation
            message = str(exc).strip().splitlines()[0] if code == EXIT_UNREACHABLE else str(exc)
            print(f"crmid: error: {message}", file=sys.stderr)
            return code


if __name__ == "__main__":
    sys.exit(main())
