"""The monitoring configuration: drift thresholds, backtest bins, the retrain margin (versioned YAML).

The packaged file is ``monitoring/config/default.yaml``; the workspace's ``monitoring_config``
(``CRMID_MONITORING_CONFIG``) points at another. A file with an unknown or missing key, or a value
of the wrong type, is refused naming the key, as the rules file is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["MonitoringConfig", "default_config_path", "load_monitoring_config"]

#: section -> key -> type every file must give
_SHAPE = {
    "drift": {"psi_warn": float, "psi_alert": float, "missing_rate_alert": float, "tier_change_alert": float},
    "backtest": {"calibration_bins": int, "top_share": float},
    "retrain": {"min_auc_gain": float, "min_brier_gain": float},
}


@dataclass(frozen=True)
class MonitoringConfig:
    """The numbers monitoring decides by; ``version`` and ``path`` say which file they came from."""

    version: str
    path: str
    drift: dict
    backtest: dict
    retrain: dict


def default_config_path() -> Path:
    return Path(__file__).resolve().parent / "config" / "default.yaml"


def load_monitoring_config(path: str | Path | None = None) -> MonitoringConfig:
    """Read and check a monitoring configuration (default: the packaged one).

    Raises
    ------
    ValueError
        Naming the file and every key that is unknown, missing or of the wrong type.
    """
    import yaml

    path = Path(path) if path else default_config_path()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"monitoring config {path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"monitoring config {path}: the file must hold a mapping of sections")
    problems = [f"unknown section {k!r}" for k in data if k not in _SHAPE and k != "version"]
    if not isinstance(data.get("version"), str | int | float):
        problems.append("version: missing (a string naming this file's version)")
    for section, keys in _SHAPE.items():
        given = data.get(section)
        if not isinstance(given, dict):
            problems.append(f"{section}: missing section")
            continue
        problems += [f"unknown key {section}.{k!r}" for k in given if k not in keys]
        for key, kind in keys.items():
            value = given.get(key)
            ok = isinstance(value, int) if kind is int else isinstance(value, int | float)
            if not ok or isinstance(value, bool):
                problems.append(f"{section}.{key}: expected a {kind.__name__}, got {value!r}")
    if problems:
        raise ValueError(f"monitoring config {path}: " + "; ".join(problems))
    if data["backtest"]["calibration_bins"] < 1 or not 0 < data["backtest"]["top_share"] <= 1:
        raise ValueError(f"monitoring config {path}: backtest.calibration_bins must be >= 1 and "
                         "backtest.top_share in (0, 1]")
    return MonitoringConfig(str(data["version"]), str(path),
                            *({k: (int(v) if _SHAPE[s][k] is int else float(v)) for k, v in data[s].items()}
                              for s in ("drift", "backtest", "retrain")))
