"""The template environment of the web page and the formats of its numbers.

Templates and the stylesheet are package data of :mod:`crmid.serving.api.ui` (listed under
``[tool.setuptools.package-data]``), read through :mod:`importlib.resources` so they are found
in an editable install and in a wheel alike.
"""

from __future__ import annotations

import functools
import math
from importlib import resources
from typing import Any

import jinja2

__all__ = ["days", "environment", "humanize", "money", "number", "percent", "render", "stylesheet"]

#: shown for a value that is missing (a prospect has no churn probability, a run no finish time)
MISSING = "—"


def _missing(x: Any) -> bool:
    if x is None:
        return True
    try:
        return math.isnan(float(x))
    except (TypeError, ValueError):
        return False


def percent(x: Any, digits: int = 0) -> str:
    """A share as a percentage: ``0.634`` -> ``63%`` (``digits`` after the point)."""
    return MISSING if _missing(x) else f"{float(x) * 100:.{digits}f}%"


def money(x: Any, digits: int = 2) -> str:
    """An amount of money with thousands separators: ``1234.5`` -> ``1,234.50``.

    No currency symbol: the data contract's amounts carry none.
    """
    return MISSING if _missing(x) else f"{float(x):,.{digits}f}"


def days(x: Any) -> str:
    """A number of days, rounded to whole days: ``41.6`` -> ``42 days``."""
    if _missing(x):
        return MISSING
    if math.isinf(float(x)):  # a quantile never reached: the chance of buying again stays below it
        return "not expected"
    n = round(float(x))
    return f"{n:,} day" if n == 1 else f"{n:,} days"


def number(x: Any, digits: int = 0) -> str:
    """A plain number with thousands separators."""
    return MISSING if _missing(x) else f"{float(x):,.{digits}f}"


def humanize(code: Any) -> str:
    """A code or column name for people: ``retain_vip_personal_outreach`` -> ``retain vip personal outreach``."""
    return MISSING if _missing(code) or code == "" else str(code).replace("_", " ")


def stylesheet() -> bytes:
    """The page's stylesheet, ``static/ui.css``."""
    return resources.files(__package__).joinpath("static", "ui.css").read_bytes()


@functools.cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment: the package's templates, autoescaping on for every template."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(__package__, "templates"),
        # on for every template whatever its name: the page shows ids and reasons from the data
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(percent=percent, money=money, days=days, number=number, humanize=humanize)
    env.globals["MISSING"] = MISSING
    return env


def render(template: str, **context: Any) -> str:
    """Render one template of the package with ``context``."""
    return environment().get_template(template).render(**context)
