"""The evaluation protocol and the CLI handlers (through a real argparse parser)."""

from __future__ import annotations

import argparse
import json

import pytest

from crmid.training.cli import add_commands


def _parser():
    parser = argparse.ArgumentParser(prog="crmid")
    add_commands(parser.add_subparsers(dest="command", required=True))
    return parser


@pytest.fixture(scope="module")
def tx_csv(cdnow_3k, tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "tx.csv"
    cdnow_3k.rename(columns={"customer_id": "cust"}).assign(date=cdnow_3k["date"].dt.strftime("%Y-%m-%d")).to_csv(path, index=False)
    return path


def test_evaluate_command_writes_report_and_logs(tx_csv, tmp_path, capsys):
    report = tmp_path / "report"
    args = _parser().parse_args([
        "evaluate", "--transactions", str(tx_csv), "--as-of", "1998-03-31", "--horizon", "90",
        "--columns", "customer_id=cust", "--report", str(report),
        "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}"])
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert "BG/NBD" in printed and "30d" in printed
    metrics = json.loads((report / "metrics.json").read_text())
    for w in ("30", "90"):
        for who in ("served", "bgnbd"):
            m = metrics["horizons"][w][who]
            assert 0.5 < m["auc"] <= 1 and 0 < m["brier"] < 0.25 and m["calibration"]["count"]
    assert 0.5 < metrics["concordance"]["served"] <= 1
    for plot in ("calibration.png", "gains.png", "feature_importance.png"):
        assert (report / plot).stat().st_size > 1000
    import mlflow

    runs = mlflow.search_runs(experiment_names=["crmid"])
    assert "metrics.bgnbd_auc_30d" in runs.columns


def test_commands_report_bad_input_with_the_numbers(tx_csv, tmp_path, capsys):
    args = _parser().parse_args([
        "train", "--transactions", str(tx_csv), "--as-of", "1998-03-31", "--horizon", "900",
        "--columns", "customer_id=cust", "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}"])
    assert args.func(args) == 2
    err = capsys.readouterr().err
    assert "horizon 900 days" in err and "454 days" in err
    args = _parser().parse_args([
        "evaluate", "--transactions", str(tx_csv), "--as-of", "1998-05-31", "--horizon", "90",
        "--columns", "customer_id=cust", "--no-tracking", "--report", str(tmp_path / "r")])
    assert args.func(args) == 2
    assert "needs data up to 1998-08-29" in capsys.readouterr().err
