"""Random facts populations for tests, benchmarks and demos of the rules.

Values are drawn so that every rule gets customers: uniform values over each field's domain,
values exactly at the configuration's thresholds (the boundaries the rules compare with), and
missing fields. Nothing here is used to decide real customers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .config import SEGMENTS, SIX_C_DIMENSIONS, RulesConfig, load_config
from .facts import BOOLEAN_FIELDS, NUMBER_FIELDS
from .rulesets import build_tables

__all__ = ["random_facts", "to_records"]

# how often a field is missing, and how often it sits exactly on a threshold
_MISSING_SHARE = 0.12
_BOUNDARY_SHARE = 0.08
# upper ends used for fields that have no upper bound in the contract
_OPEN_RANGES = {
    "clv": (0.0, 5000.0),
    "profit": (-500.0, 3000.0),
    "monetary": (0.0, 10000.0),
    "expected_days_to_next_purchase": (0.0, 400.0),
    "recency_days": (0.0, 600.0),
    "frequency": (0.0, 40.0),
    "tenure_days": (0.0, 1500.0),
    "spend_trend": (0.0, 2.5),
}


def _thresholds(config: RulesConfig) -> dict[str, list[float]]:
    out: dict[str, set] = {}
    for table in build_tables(config):
        for name in table.inputs:
            for t in table.thresholds(name):
                out.setdefault(name, set()).add(t)
    return {k: sorted(v) for k, v in out.items()}


def random_facts(n: int, *, seed: int = 0, config: RulesConfig | None = None) -> pd.DataFrame:
    """A frame of ``n`` random customers' facts, flattened (``six_c_<dim>``, ``distributor_<c>``).

    Parameters
    ----------
    n : int
    seed : int
    config : RulesConfig, optional
        Whose thresholds to hit exactly (default: the packaged configuration).
    """
    config = config or load_config()
    rng = np.random.default_rng(seed)
    cuts = _thresholds(config)
    frame: dict[str, Any] = {"customer_id": np.char.add("c", np.arange(n).astype(str)).astype(object)}

    def numbers(name: str, lo: float, hi: float, boundaries: list[float]) -> np.ndarray:
        x = rng.uniform(lo, hi, size=n)
        if name in ("frequency", "recency_days", "tenure_days", "expected_days_to_next_purchase"):
            x = np.floor(x)
        if boundaries:
            at = rng.uniform(size=n) < _BOUNDARY_SHARE
            x[at] = rng.choice(np.asarray(boundaries), size=int(at.sum()))
        x[rng.uniform(size=n) < _MISSING_SHARE] = np.nan
        return x

    for name, (lo, hi) in NUMBER_FIELDS.items():
        lo, hi = _OPEN_RANGES.get(name, (lo, hi))
        frame[name] = numbers(name, lo, hi, [t for t in cuts.get(name, []) if lo <= t <= hi])
    # prospects: no purchase history and no value at all
    prospect = rng.uniform(size=n) < 0.1
    for name in ("frequency", "recency_days", "value_percentile", "tenure_days", "spend_trend", "clv", "profit"):
        frame[name][prospect] = np.nan
    for name in BOOLEAN_FIELDS:
        v = np.where(rng.uniform(size=n) < 0.5, True, False).astype(object)
        v[rng.uniform(size=n) < 0.25] = None
        frame[name] = v
    segment = rng.choice(np.array((*SEGMENTS, None), dtype=object), size=n, p=[0.55, 0.2, 0.15, 0.1])
    frame["segment"] = segment

    def scorecard(prefix: str, keys, grade_cuts: list[float], share_present: float) -> None:
        present = rng.uniform(size=n) < share_present
        # some profiles put every criterion on one cut, so the weighted total lands on it exactly
        on_cut = rng.uniform(size=n) < 0.1
        level = rng.choice(np.asarray(grade_cuts), size=n) if grade_cuts else np.zeros(n)
        for key in keys:
            x = np.round(rng.uniform(0, 100, size=n), 1)
            x = np.where(on_cut, level, x)
            x[~present | (rng.uniform(size=n) < 0.05)] = np.nan
            frame[prefix + key] = x

    scorecard("six_c_", SIX_C_DIMENSIONS, cuts.get("six_c_score", []), 0.6)
    scorecard("distributor_", list(config.section("distributor")["weights"]), cuts.get("distributor_score", []), 0.5)
    return pd.DataFrame(frame)


def to_records(frame: pd.DataFrame, *, nested: bool = True) -> list[dict]:
    """Rows of a facts frame as facts mappings (absent fields left out; optionally nested 6C)."""
    records = []
    six_cols = [c for c in frame.columns if c.startswith("six_c_")]
    dist_cols = [c for c in frame.columns if c.startswith("distributor_")]
    for row in frame.to_dict("records"):
        out: dict[str, Any] = {}
        six, dist = {}, {}
        for k, v in row.items():
            if v is None or (isinstance(v, float) and v != v):
                continue
            if nested and k in six_cols:
                six[k[len("six_c_"):]] = v
            elif nested and k in dist_cols:
                dist[k[len("distributor_"):]] = v
            else:
                out[k] = v
        if six:
            out["six_c"] = six
        if dist:
            out["distributor_criteria"] = dist
        records.append(out)
    return records
