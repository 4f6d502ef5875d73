"""Subcommands ``crmid backtest``, ``crmid monitor``, ``crmid retrain`` and the ``crmid model`` group.

Exit codes a scheduler acts on (beside crmid's usual 2 bad input, 4 unreachable, 70 defect):

* ``backtest``: 0 done (judged or pending), 1 no stored run yet;
* ``monitor``: 0 no drift (or drift without ``--fail-on-drift``), 1 nothing to monitor yet (no
  run, or no champion with a reference profile), **3 drift** with ``--fail-on-drift``;
* ``retrain``: 0 done, promoted or not (``promoted`` in the output says which);
* ``model rollback``: 0 restored, 1 no ``@previous`` version.
"""

from __future__ import annotations

import json
import sys

from crmid.customerbase.cli import add_format_option, add_transaction_arguments, load_profiles_from_args

__all__ = ["EXIT_DRIFT", "add_commands", "add_model_commands"]

#: ``crmid monitor --fail-on-drift`` when a threshold is crossed (the issue's contract for schedulers)
EXIT_DRIFT = 3
_EXIT_NOTHING_YET = 1  # crmid.cli.EXIT_NOTHING_YET; not imported: crmid.cli imports this module


def _read(args, workspace):
    from crmid.customerbase.cli import load_transactions_from_args

    return load_transactions_from_args(args, as_of=None, workspace=workspace)[0]


def _config(workspace):
    from .config import load_monitoring_config

    return load_monitoring_config(workspace.monitoring_config)


def _store(workspace, command: str):
    if not workspace.store_enabled:
        print(f"crmid {command}: the scores store is turned off (--store none): no stored runs to read",
              file=sys.stderr)
        return None
    from crmid.serving.store import open_store

    return open_store(workspace.store_url)


def _backtest(args, workspace) -> int:
    from .backtest import backtest, format_backtest

    config = _config(workspace)
    store = _store(workspace, "backtest")
    if store is None:
        return 2
    with store:
        if store.latest_run() is None:
            print(f"no complete scoring run in {store.url}: run `crmid score` first", file=sys.stderr)
            return _EXIT_NOTHING_YET
        tx = _read(args, workspace)
        results = backtest(tx, store=store, workspace=workspace, config=config,
                           observed_until=args.observed_until or None, log_to_mlflow=not args.no_tracking)
    print(format_backtest(results, args.format))
    return 0


def _monitor(args, workspace) -> int:
    from .monitor import NothingToMonitor, format_monitor, monitor

    config = _config(workspace)
    store = _store(workspace, "monitor")
    if store is None:
        return 2
    tx = _read(args, workspace) if args.transactions else None
    try:
        with store:
            result = monitor(store=store, workspace=workspace, config=config, transactions=tx,
                             profiles=load_profiles_from_args(args))
    except NothingToMonitor as exc:
        print(f"crmid monitor: {exc}", file=sys.stderr)
        return _EXIT_NOTHING_YET
    print(json.dumps(result, indent=2) if args.format == "json" else format_monitor(result))
    return EXIT_DRIFT if result["drift"] and args.fail_on_drift else 0


def _retrain(args, workspace) -> int:
    from crmid.progress import StageProgress

    from .retrain import format_retrain, retrain

    config = _config(workspace)
    horizon = None
    if args.horizon not in (None, ""):
        try:
            horizon = int(args.horizon)
        except ValueError:
            raise ValueError(f"--horizon must be a whole number of days, got {args.horizon!r}") from None
    progress = StageProgress(["read+validate", "fit challenger", "judge", "refit and register"])
    try:
        progress.step("read+validate")
        tx = _read(args, workspace)
        result = retrain(tx, as_of=args.as_of, workspace=workspace, config=config, horizon=horizon,
                         on_stage=progress.step, profiles=load_profiles_from_args(args))
    finally:
        progress.close()
    print(json.dumps(result, indent=2, default=str) if args.format == "json" else format_retrain(result))
    return 0


def _rollback(args, workspace) -> int:
    from .retrain import NothingToRollBack, rollback

    try:
        done = rollback(workspace)
    except NothingToRollBack as exc:
        print(f"crmid model rollback: {exc}", file=sys.stderr)
        return _EXIT_NOTHING_YET
    for name, move in done.items():
        print(f"{name}: @{workspace.model_alias} {move['from']} -> {move['to']}")
    print("a running service takes it with POST /v1/model/reload")
    return 0


def add_commands(subparsers) -> None:
    """Register ``backtest``, ``monitor`` and ``retrain`` on argparse subparsers."""
    p = subparsers.add_parser(
        "backtest", help="realized accuracy of the stored runs whose horizon has passed",
        description="For every stored run whose horizon has passed within the transactions: AUC and Brier of its "
                    "churn probability and of its 30/90-day purchase probabilities, calibration by decile, "
                    "top-decile lift. Later runs are listed as pending. Results are stored and logged to MLflow "
                    "against the model version that made the run. Exit 1: no stored run yet.")
    add_transaction_arguments(p, as_of=False)
    p.add_argument("--observed-until", default="", metavar="DATE",
                   help="last day the transactions are complete to (default: their last date)")
    add_format_option(p, ("table", "json", "csv"), "table")
    p.add_argument("--no-tracking", action="store_true", help="do not log results to MLflow")
    p.set_defaults(func=_backtest)

    p = subparsers.add_parser(
        "monitor", help="drift of the latest run against the champion's training data",
        description="Population stability index of the latest stored run's outputs (and, with --transactions, "
                    "of the model's input features at the run's as-of date) against the champion's training "
                    "reference, missing-value rates and the share of customers whose value tier changed since the "
                    "previous run. Thresholds: the monitoring configuration. Exit 3 with --fail-on-drift when one "
                    "is crossed; 1 when there is nothing to monitor yet.")
    # optional here: with the run's transactions, the input features are compared too
    add_transaction_arguments(p, as_of=False, required=False)
    p.add_argument("--customers", default="", metavar="FILE",
                   help="customer profiles, for a champion trained with profile features (with --transactions)")
    add_format_option(p, ("table", "json"), "table")
    p.add_argument("--fail-on-drift", action="store_true", help=f"exit {EXIT_DRIFT} when a threshold is crossed")
    p.set_defaults(func=_monitor)

    p = subparsers.add_parser(
        "retrain", help="challenger vs champion vs BG/NBD on the latest window; promote only if it wins",
        description="Fit the training recipe on the data up to as-of minus the horizon, judge it, the champion "
                    "and BG/NBD on the window up to as-of, and promote it (refitted on everything) to @champion "
                    "only when it wins by the configured margin; the old champion stays as @previous.")
    add_transaction_arguments(p, as_of_required=True, as_of_help="the new cutoff (YYYY-MM-DD), e.g. 1998-03-31")
    p.add_argument("--horizon", default="", metavar="DAYS", help="churn horizon H in days (default: the champion's)")
    p.add_argument("--customers", default="", metavar="FILE",
                   help="customer profiles: offered to the challenger as features (as crmid train does) and read "
                        "by a champion trained with them")
    add_format_option(p, ("table", "json"), "table")
    p.set_defaults(func=_retrain)


def add_model_commands(group) -> None:
    """Register ``crmid model rollback`` on the ``model`` group's subparsers."""
    p = group.add_parser("rollback", help="restore @previous as @champion",
                         description="Point @champion back at the version it replaced (@previous) for every "
                                     "registered model that has one. Exit 1 when there is none.")
    p.set_defaults(func=_rollback)
