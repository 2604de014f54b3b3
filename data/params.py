"""`Filters` to and from text parameters: a URL's, so that a copied link reopens the same view, and a saved
segment's, so that the dashboard and the command line read one segment alike.

Each condition becomes one parameter named after its `Filters` field (`channels`, `min_events` …) and
each attribute condition one `attr.<column>` parameter. Values are JSON (lists sorted, so one view
has one URL) because attribute values keep their type: DuckDB refuses to compare the text "3"
with an integer column. Instants travel in UTC, as a bare date when they fall on midnight.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import pandas as pd

from data.errors import LogError, Problem
from data.filters import ATTRIBUTE_PREFIX, SET_FIELDS, STEPS, Filters

__all__ = ["ATTRIBUTE_PREFIX", "filters_from_params", "filters_to_params", "is_filter_param"]

_INSTANTS = ("start", "end")
_NUMBERS = ("min_duration_seconds", "max_duration_seconds", "min_events", "max_events")
_FIX = "Open the page without this parameter, or choose the filter again in the sidebar."


def is_filter_param(name: str) -> bool:
    """Tell the parameters `filters_to_params` writes from the others of a URL (dataset, persona …)."""
    return (
        name in _INSTANTS
        or name in _NUMBERS
        or name in SET_FIELDS
        or name == STEPS
        or name.startswith(ATTRIBUTE_PREFIX)
    )


def filters_to_params(filters: Filters) -> dict[str, str]:
    """Return the query parameters naming every condition of `filters`; no condition gives {}."""
    if not isinstance(filters, Filters):
        raise TypeError(f"filters must be a Filters value, not {type(filters).__name__}")
    params: dict[str, str] = {}
    for name in _INSTANTS:
        stamp = getattr(filters, name)
        if stamp is not None:
            params[name] = _instant_text(stamp)
    for name in SET_FIELDS:
        values = getattr(filters, name)
        if values is not None:
            params[name] = _json(sorted(values, key=str))
    if filters.with_steps is not None:
        params[STEPS] = _json(sorted(filters.with_steps))
    for name in _NUMBERS:
        value = getattr(filters, name)
        if value is not None:
            params[name] = _json(value)
    for column, values in filters.attributes:
        params[ATTRIBUTE_PREFIX + column] = _json(sorted(values, key=_value_order))
    return params


def filters_from_params(params: Mapping[str, str]) -> Filters:
    """Return the `Filters` that `params` name; other parameters are ignored.

    A parameter that cannot be read (a hand-edited or truncated link) raises LogError listing every
    unreadable one, as does a window that ends before it starts.
    """
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a mapping of names to text, not {type(params).__name__}")
    problems: list[Problem] = []
    values: dict[str, object] = {}
    attributes: dict[str, frozenset] = {}
    for name, text in params.items():
        if not is_filter_param(name):
            continue
        if name in _INSTANTS:
            values[name] = _read(name, text, _instant, "a date such as 2025-03-01", problems)
        elif name in _NUMBERS:
            values[name] = _read(name, text, _number, "a number", problems)
        elif name in SET_FIELDS:
            values[name] = _read(name, text, _text_list, 'a list of names such as ["web","store"]', problems)
        elif name == STEPS:
            values[name] = _read(name, text, _step_list, 'a list of steps such as [["visit","buy"]]', problems)
        else:
            column = name.removeprefix(ATTRIBUTE_PREFIX)
            attributes[column] = _read(name, text, _scalar_list, 'a list of values such as ["north",3]', problems)
    if problems:
        raise LogError(problems)
    return Filters(**values, attributes=attributes)


def _instant_text(stamp: pd.Timestamp) -> str:
    utc = stamp.tz_convert("UTC")
    return f"{utc:%Y-%m-%d}" if utc == utc.normalize() else utc.isoformat()


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _value_order(value: object) -> tuple[str, str]:
    """Sort mixed attribute values (None, numbers, text) without comparing unlike types."""
    return (type(value).__name__, str(value))


def _read(name: str, text: object, parse, expected: str, problems: list[Problem]):
    try:
        return parse(text)
    except (TypeError, ValueError):
        problems.append(Problem(f"The filter {name!r} in this link is not {expected}.", fix=_FIX, value=str(text)))
        return None


def _instant(text: str) -> pd.Timestamp:
    stamp = pd.Timestamp(text)
    if pd.isna(stamp):
        raise ValueError(text)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp


def _number(text: str) -> int | float:
    value = json.loads(text)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(text)
    return value


def _text_list(text: str) -> frozenset[str]:
    values = json.loads(text)
    if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
        raise ValueError(text)
    return frozenset(values)


def _step_list(text: str) -> frozenset[tuple[str, str]]:
    steps = json.loads(text)
    if not isinstance(steps, list) or not all(
        isinstance(step, list) and len(step) == 2 and all(isinstance(name, str) for name in step) for step in steps
    ):
        raise ValueError(text)
    return frozenset(tuple(step) for step in steps)


def _scalar_list(text: str) -> frozenset:
    values = json.loads(text)
    if not isinstance(values, list) or any(isinstance(value, list | dict) for value in values):
        raise ValueError(text)
    return frozenset(values)
