"""The retain list's filters, sort and page, as the page's URL carries them.

Everything the list shows is in its query string (``/ui?tier=gold&min_churn=60&sort=clv&dir=desc&page=2``),
so a view can be bookmarked, sent to a colleague, exported to CSV as shown, and returned to from
a customer's page. Parsing is lenient: a form sends empty fields for "any", and a value that is
not a number is reported on the page instead of failing the request.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

from crmid.serving.filters import LABEL_FILTERS
from crmid.serving.store.base import RETAIN_SORTS

__all__ = ["LABEL_FILTERS", "PAGE_SIZES", "ListQuery", "parse_list_query"]

#: rows per page the page offers; the first is the default
PAGE_SIZES = (50, 25, 100, 200)
#: the direction a column sorts in on its first click: the most urgent, valuable or risky first,
#: names and tiers from the top (platinum) down
_FIRST_DIRECTION_DESC = frozenset({"churn_probability", "clv", "value_at_risk"})


@dataclass(frozen=True)
class ListQuery:
    """One view of the retain list: filters (as typed), sort, page, and what could not be read.

    ``min_churn`` is in percent as the form shows it (``60`` = a churn probability of at least
    0.6); :meth:`store_filters` converts it.
    """

    tiers: tuple[str, ...] = ()
    labels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    min_churn: float | None = None
    min_value_at_risk: float | None = None
    sort: str = "rank"
    descending: bool = False
    page: int = 1
    size: int = PAGE_SIZES[0]
    errors: tuple[str, ...] = ()

    def store_filters(self, label_columns: Sequence[str]) -> dict:
        """Keyword arguments of the store's retain queries for these filters.

        Only the label filters on columns the store has are passed (``label_columns``).
        """
        labels = {LABEL_FILTERS[p]: v for p, v in self.labels.items() if v and LABEL_FILTERS[p] in label_columns}
        return {
            "tiers": list(self.tiers) or None,
            # percent to probability by division, as a person would: 57 -> 0.57 exactly as typed
            "min_churn": None if self.min_churn is None else self.min_churn / 100,
            "labels": labels,
            "min_value_at_risk": self.min_value_at_risk,
        }

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size

    @property
    def filtered(self) -> bool:
        """Whether any filter is set."""
        return bool(self.tiers or any(self.labels.values()) or self.min_churn is not None
                    or self.min_value_at_risk is not None)

    def params(self, **changes) -> list[tuple[str, str]]:
        """The query parameters of this view (defaults left out), after ``changes`` to its fields."""
        q = replace(self, **changes) if changes else self
        out: list[tuple[str, str]] = [("tier", t) for t in q.tiers]
        for name in LABEL_FILTERS:
            out += [(name, v) for v in q.labels.get(name, ())]
        if q.min_churn is not None:
            out.append(("min_churn", _plain(q.min_churn)))
        if q.min_value_at_risk is not None:
            out.append(("min_var", _plain(q.min_value_at_risk)))
        if q.sort != "rank" or q.descending:
            out += [("sort", q.sort), ("dir", "desc" if q.descending else "asc")]
        if q.size != PAGE_SIZES[0]:
            out.append(("size", str(q.size)))
        if q.page != 1:
            out.append(("page", str(q.page)))
        return out

    def url(self, path: str = "/ui", **changes) -> str:
        """``path`` with this view's query string (after ``changes``)."""
        query = urlencode(self.params(**changes))
        return f"{path}?{query}" if query else path

    def sort_url(self, column: str) -> str:
        """The link of a column header: sort by it (again: the other way round), from the first page."""
        descending = not self.descending if column == self.sort else column in _FIRST_DIRECTION_DESC
        return self.url(sort=column, descending=descending, page=1)

    def aria_sort(self, column: str) -> str:
        """The header's ``aria-sort``: how the list is sorted by this column, for screen readers."""
        if column != self.sort:
            return "none"
        return "descending" if self.descending else "ascending"


def _plain(x: float) -> str:
    """A number as typed back into the form: ``60.0`` -> ``60``."""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _number(params: Mapping[str, Sequence[str]], name: str, label: str, errors: list[str], *,
            low: float | None = None, high: float | None = None) -> float | None:
    values = [v.strip() for v in params.get(name, ()) if v.strip()]
    if not values:
        return None
    try:
        x = float(values[-1])
    except ValueError:
        x = math.nan
    if not math.isfinite(x):
        errors.append(f"{label}: {values[-1]!r} is not a number; the filter is not applied")
        return None
    if (low is not None and x < low) or (high is not None and x > high):
        errors.append(f"{label}: {values[-1]!r} is not between {_plain(low)} and {_plain(high)}; "
                      "the filter is not applied")
        return None
    return x


def _choice(params: Mapping[str, Sequence[str]], name: str, allowed: Sequence, default):
    values = [v for v in params.get(name, ()) if v]
    return values[-1] if values and values[-1] in allowed else default


def parse_list_query(params: Mapping[str, Sequence[str]]) -> ListQuery:
    """Read a view of the list from query parameters (name -> every value given).

    An empty value means "any"; repeated parameters (``tier=gold&tier=platinum``) keep every
    value. An unknown sort or page size falls back to the default.
    """
    errors: list[str] = []

    def values(name: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v.strip() for v in params.get(name, ()) if v.strip()))

    sort = _choice(params, "sort", RETAIN_SORTS, "rank")
    size = int(_choice(params, "size", [str(s) for s in PAGE_SIZES], str(PAGE_SIZES[0])))
    page_text = _choice(params, "page", [v for v in params.get("page", ()) if v.isdigit()], "1")
    return ListQuery(
        tiers=values("tier"),
        labels={name: values(name) for name in LABEL_FILTERS if values(name)},
        min_churn=_number(params, "min_churn", "Minimum churn", errors, low=0, high=100),
        min_value_at_risk=_number(params, "min_var", "Minimum value at risk", errors),
        sort=sort,
        descending=_choice(params, "dir", ("asc", "desc"), "asc") == "desc",
        page=max(1, int(page_text)),
        size=size,
        errors=tuple(errors),
    )
