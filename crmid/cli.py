"""The ``crmid`` command: one entry point, a subcommand per job.

Each feature package contributes its commands (``add_commands``) beside the code they run; this
module adds the application's own (``info``, ``demo``), gives every command the same workspace
options, resolves the :class:`crmid.config.Workspace` once and hands it to the command. Heavy
libraries are imported by the commands that need them, so ``crmid --help`` answers at once.
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings

from crmid import __version__
from crmid.customerbase import cli as customerbase_cli
from crmid.monitoring import cli as monitoring_cli
from crmid.rules import cli as rules_cli
from crmid.serving import commands as serving_commands
from crmid.training import cli as training_cli

__all__ = ["build_parser", "main"]

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
    parser.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="show progress details and library warnings")


def _info(args, workspace) -> int:
    from crmid.info import describe_workspace

    print(describe_workspace(workspace))
    return 0


def _demo(args, workspace) -> int:
    from crmid.demo import run_demo

    return run_demo(workspace)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crmid", description=_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"crmid {__version__}")
    _add_workspace_options(parser)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    p = sub.add_parser("info", help="the resolved workspace: settings and their sources, champion, latest run",
                       description="Print every setting, its value and where it came from (option, "
                                   "environment, default), the champion model's version and the latest stored run.")
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


def _workspace(args):
    from crmid.config import Workspace

    fields = {dest for dest, _, _ in _WORKSPACE_OPTIONS.values()}
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


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    verbose = getattr(args, "verbose", False)
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not hasattr(args, "func"):
        parser.print_help()
        return EXIT_BAD_INPUT
    with warnings.catch_warnings():
        if not verbose:
            # libraries' hints and deprecations are for their callers, not for a person running
            # crmid; crmid's own data warnings are in the validation summaries the commands print
            warnings.filterwarnings("ignore")
        try:
            workspace = _workspace(args)
            return int(args.func(args, workspace) or 0)
        except BrokenPipeError:
            # `crmid retain | head`: the reader has what it wanted; say nothing more
            sys.stderr.close()
            return EXIT_OK
        except Exception as exc:
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
