"""Customer attributes from the profiles file as model features (the ``profile`` feature family).

Users of lifetimes and pymc-marketing ask for customer attributes as model inputs; crmid takes
every numeric, yes/no or categorical column of the profiles file (``crmid train --customers``)
except the id: segment, price sensitivity, cost to serve, the MAN flags, 6C scores, and any
column of the user's own. :class:`ProfileFeatures` learns at training which columns and which
categories there are, and turns the profiles of any customers into float32 columns
``profile_<column>``:

numbers and yes/no
    as they are (yes = 1, no = 0).
categories (text)
    the code of the category in the sorted list of those seen at training; a category not seen
    then, or no value, is missing (NaN). A text column with more than ``max_categories``
    distinct values (an id, a free-text note) is not used, and :attr:`skipped_` says why.

A customer without a profile gets missing values. LightGBM sends them where training sent
missing values; for a column that had none at training it reads them as 0: a number's 0, a
category's first (sorted) value.

A profile is one row per customer, not a history: it is used as it is at training for every
training snapshot. A column that was filled in *after* what it would predict (a "churned"
flag, a segment assigned on leaving) leaks the future; the out-of-time check that decides
whether the family is kept (``training.feature_selection``) cannot see that, so such columns
should not be in the file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import defaults

__all__ = ["PREFIX", "ProfileFeatures"]

#: prefix of the feature columns (``profile_segment``); readable labels say "profile: segment"
PREFIX = "profile_"


class ProfileFeatures:
    """Encode customer profiles as model features (see the module docstring).

    Parameters
    ----------
    max_categories : int, optional
        The most distinct values a text column may have to be used; default
        :data:`models.defaults.PROFILE_MAX_CATEGORIES`.

    Attributes
    ----------
    columns_ : list of dict
        ``{"name", "kind": "number" | "category", "categories": [...]}`` per used column.
    feature_names_ : list of str
        ``profile_<name>`` per used column, in order.
    skipped_ : dict
        Column -> why it is not used.
    """

    def __init__(self, max_categories: int | None = None):
        self.max_categories = max_categories

    def fit(self, profiles: pd.DataFrame) -> ProfileFeatures:
        """Learn the usable columns and their categories from validated profiles."""
        if "customer_id" not in profiles.columns:
            raise ValueError("profiles need a customer_id column")
        most = defaults.PROFILE_MAX_CATEGORIES if self.max_categories is None else int(self.max_categories)
        self.columns_, self.skipped_ = [], {}
        for name in profiles.columns:
            if name == "customer_id":
                continue
            column = profiles[name]
            if column.isna().all():
                self.skipped_[name] = "no value in any profile"
            elif pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
                self.columns_.append({"name": name, "kind": "number", "categories": []})
            else:
                categories = sorted({str(v) for v in column.dropna()})
                if len(categories) > most:
                    self.skipped_[name] = (f"{len(categories)} distinct values: more than {most}, "
                                           "an identifier or free text rather than a category")
                else:
                    self.columns_.append({"name": name, "kind": "category", "categories": categories})
        self.feature_names_ = [PREFIX + c["name"] for c in self.columns_]
        return self

    def transform(self, customer_ids, profiles: pd.DataFrame | None) -> pd.DataFrame:
        """The feature columns of ``customer_ids`` (in that order, index 0..n-1); NaN without a profile.

        Parameters
        ----------
        customer_ids : array-like
            The rows' customer ids (compared as text).
        profiles : pandas.DataFrame or None
            Validated profiles with ``customer_id``; extra columns are ignored, a column seen at
            training but absent here is missing for everyone.
        """
        self._check()
        ids = pd.Index(np.asarray(customer_ids).astype(str), dtype=object)
        n = len(ids)
        if profiles is None or not len(profiles) or not n:
            return pd.DataFrame({f: np.full(n, np.nan, dtype=np.float32) for f in self.feature_names_})
        table = profiles.set_axis(pd.Index(profiles["customer_id"].astype(str).to_numpy(), dtype=object))
        if table.index.has_duplicates:
            raise ValueError("profiles hold a customer more than once; validate them first")
        rows = table.index.get_indexer(ids)
        found = rows >= 0
        out = {}
        for spec, feature in zip(self.columns_, self.feature_names_, strict=True):
            values = np.full(n, np.nan, dtype=np.float32)
            if spec["name"] in table.columns:
                column = table[spec["name"]].iloc[rows[found]]
                if spec["kind"] == "number":
                    values[found] = pd.to_numeric(column.astype(object), errors="coerce").to_numpy(
                        dtype=np.float32, na_value=np.nan)
                else:
                    codes = pd.Categorical(column.astype(object).where(column.notna(), None).map(
                        lambda v: None if v is None else str(v)), categories=spec["categories"]).codes
                    values[found] = np.where(codes >= 0, codes, np.nan).astype(np.float32)
            out[feature] = values
        return pd.DataFrame(out)

    def add_to(self, X: pd.DataFrame, customer_ids, profiles: pd.DataFrame | None) -> pd.DataFrame:
        """``X`` with the profile feature columns added (same index)."""
        extra = self.transform(customer_ids, profiles).set_axis(X.index)
        return pd.concat([X, extra], axis=1)

    def label(self, feature: str) -> str:
        """Readable label of one of :attr:`feature_names_` (with the category names of a coded column)."""
        name = feature.removeprefix(PREFIX)
        spec = next((c for c in self.columns_ if c["name"] == name), None)
        if spec is not None and spec["kind"] == "category":
            shown = ", ".join(f"{i}={c}" for i, c in enumerate(spec["categories"][:6]))
            return f"profile: {name.replace('_', ' ')} ({shown}{', ...' if len(spec['categories']) > 6 else ''})"
        return f"profile: {name.replace('_', ' ')}"

    def _check(self):
        if not hasattr(self, "columns_"):
            raise RuntimeError("ProfileFeatures is not fitted; call fit first")

    # ------------------------------------------------------------------ persistence
    def get_state(self) -> dict:
        """A JSON-ready dict (no pickle)."""
        self._check()
        return {"columns": self.columns_, "skipped": self.skipped_, "max_categories": self.max_categories}

    @classmethod
    def from_state(cls, state: dict) -> ProfileFeatures:
        model = cls(max_categories=state.get("max_categories"))
        model.columns_ = [dict(c) for c in state["columns"]]
        model.skipped_ = dict(state.get("skipped", {}))
        model.feature_names_ = [PREFIX + c["name"] for c in model.columns_]
        return model

    def __repr__(self) -> str:
        fitted = f", features={self.feature_names_}" if hasattr(self, "columns_") else ""
        return f"ProfileFeatures(max_categories={self.max_categories}{fitted})"
