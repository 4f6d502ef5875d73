"""Files out (atomic) and the customer-base subcommands, run in-process through the real parser."""

import subprocess
import sys

import pandas as pd
import pyarrow as pa
import pytest

from crmid.cli import main
from crmid.customerbase import write_table_atomic


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.parquet"
    write_table_atomic(pd.DataFrame({"a": [1, 2]}), target)
    before = target.read_bytes()
    # a column pyarrow cannot serialise makes the write fail half-way
    bad = pd.DataFrame({"a": [1, 2], "b": [object(), object()]})
    with pytest.raises(pa.ArrowInvalid):
        write_table_atomic(bad, target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.parquet"]


def test_csv_and_parquet_by_extension(tmp_path):
    frame = pd.DataFrame({"customer_id": ["001"], "x": [1.5]})
    write_table_atomic(frame, tmp_path / "f.csv")
    write_table_atomic(frame, tmp_path / "f.parquet")
    assert (tmp_path / "f.csv").read_text().splitlines() == ["customer_id,x", "001,1.5"]
    assert pd.read_parquet(tmp_path / "f.parquet").equals(frame)


def test_generate_validate_snapshot_commands(tmp_path, capsys):
    tx = tmp_path / "tx.parquet"
    prof = tmp_path / "prof.csv"
    assert main(["generate", "--customers", "500", "--out", str(tx), "--profiles", str(prof), "--seed", "2"]) == 0
    assert "SYNTHETIC" in capsys.readouterr().out
    assert main(["validate", "--transactions", str(tx)]) == 0
    snap = tmp_path / "snap.csv"
    assert main(["snapshot", "--transactions", str(tx), "--as-of", "2024-12-31", "--out", str(snap),
                 "--horizon", "90"]) == 0
    out = pd.read_csv(snap, dtype={"customer_id": str})
    assert len(out) == pd.read_parquet(tx).query("date <= '2024-12-31'")["customer_id"].nunique()
    assert {"recency_days", "churned", "days_to_next_purchase"} <= set(out.columns)


def test_validate_command_reports_problems(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("cust,ts,value\n1,2024-01-01,3\n2,yesterday,4\n")
    assert main(["validate", "--transactions", str(bad), "--columns", "customer_id=cust,date=ts,amount=value"]) == 2
    err = capsys.readouterr().err
    assert "bad.csv" in err and "column 'date'" in err and "'yesterday'" in err and "row 2" in err


def test_crmid_help_lists_the_commands():
    out = subprocess.run([sys.executable, "-m", "crmid", "--help"], capture_output=True, text=True, check=True).stdout
    for command in ("demo", "validate", "snapshot", "generate"):
        assert command in out
