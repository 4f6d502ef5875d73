"""The customer base as data: the data contract, reading and validating files, point-in-time
snapshots with their labels, the bundled CDNOW log and a synthetic generator.

Exports
-------
validate_transactions, validate_profiles, ContractError, ValidationReport, parse_column_mapping
    The data contract (:mod:`customerbase.contract`).
read_transactions, read_profiles, write_table_atomic
    Files in and out (:mod:`customerbase.io`).
TransactionLog, snapshot, snapshots, label_snapshot, FEATURES, LABELS
    Point-in-time snapshots (:mod:`customerbase.snapshot`).
load_cdnow
    The real CDNOW log (:mod:`customerbase.datasets`).
generate_transactions, generate_profiles
    SYNTHETIC data (:mod:`customerbase.synthetic`).
"""

from .contract import ContractError, ValidationReport, parse_column_mapping, validate_profiles, validate_transactions
from .datasets import load_cdnow
from .io import read_profiles, read_transactions, write_table_atomic
from .snapshot import FEATURES, LABELS, TransactionLog, label_snapshot, snapshot, snapshots
from .synthetic import generate_profiles, generate_transactions

__all__ = [
    "ContractError",
    "ValidationReport",
    "parse_column_mapping",
    "validate_profiles",
    "validate_transactions",
    "load_cdnow",
    "read_profiles",
    "read_transactions",
    "write_table_atomic",
    "FEATURES",
    "LABELS",
    "TransactionLog",
    "label_snapshot",
    "snapshot",
    "snapshots",
    "generate_profiles",
    "generate_transactions",
]
