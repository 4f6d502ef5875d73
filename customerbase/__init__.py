"""The customer base as data: the data contract, reading and validating files, point-in-time
snapshots with their labels, the bundled CDNOW log and a synthetic generator.

Exports
-------
validate_transactions, validate_profiles, ContractError, ValidationReport, parse_column_mapping
    The data contract (:mod:`customerbase.contract`).
read_transactions, read_profiles, write_table_atomic
    Files in and out (:mod:`customerbase.io`).
TransactionLog, snapshots, label_snapshot, FEATURES, LABELS
    Point-in-time snapshots (:mod:`crmid.customerbase.snapshot`, which also holds the function
    ``snapshot``: not exported here, where the name is the submodule's).
load_cdnow
    The real CDNOW log (:mod:`customerbase.datasets`).
generate_transactions, generate_profiles
    SYNTHETIC data (:mod:`customerbase.synthetic`).
"""


from crmid._lazy import lazy_exports

_EXPORTS = {
    "ContractError": "contract",
    "ValidationReport": "contract",
    "parse_column_mapping": "contract",
    "validate_profiles": "contract",
    "validate_transactions": "contract",
    "load_cdnow": "datasets",
    "read_profiles": "io",
    "read_transactions": "io",
    "write_table_atomic": "io",
    "FEATURES": "snapshot",
    "LABELS": "snapshot",
    "TransactionLog": "snapshot",
    "label_snapshot": "snapshot",
    "snapshots": "snapshot",
    "generate_profiles": "synthetic",
    "generate_transactions": "synthetic",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "FEATURES",
    "LABELS",
    "ContractError",
    "TransactionLog",
    "ValidationReport",
    "generate_profiles",
    "generate_transactions",
    "label_snapshot",
    "load_cdnow",
    "parse_column_mapping",
    "read_profiles",
    "read_transactions",
    "snapshots",
    "validate_profiles",
    "validate_transactions",
    "write_table_atomic",
]
