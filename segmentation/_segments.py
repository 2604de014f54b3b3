"""Segments: saved selections of customers, a persona condition, and numeric attributes grouped into ranges.

A saved segment is the filter bar's selection kept under a name, as its text parameters (`data.params`, the form
a copied link carries) and, when it keeps one persona's customers, a `persona` condition naming a saved persona
run and label. It is stored as a `Store` annotation of kind `SEGMENT_KIND`, so the dashboard and
`python -m segmentation compare --a segment:NAME` read the same segments.

A numeric attribute (age, revenue, a score) would make one segment per distinct value; `attribute_ranges` groups
customers into a few ranges of it first, cut at its quantiles rounded to two significant figures.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from itertools import pairwise

import numpy as np
import pandas as pd

from data.engine import Engine
from data.errors import LogError, Problem
from data.filters import Filters
from data.params import filters_from_params, is_filter_param
from data.store import Store
from discovery import JourneyDefinition, closest_names
from segmentation._runs import PERSONA_PARAM, persona_from_param

__all__ = [
    "RANGES",
    "SEGMENT_KIND",
    "SavedSegment",
    "attribute_ranges",
    "save_segment",
    "saved_segment",
    "saved_segments",
]

SEGMENT_KIND = "segment"
RANGES = 4
_SIGNIFICANT_DIGITS = 2
_EVERY_CUSTOMER = Filters()
_NUMBER_ROLE = "number"

# Each customer's mean of the attribute over the events that carry it, from exact decimal sums, so that the same
# log always puts a customer in the same range whatever order DuckDB's threads add the values in. A journey's own
# events decide it, whatever the filters: computed once per engine (`Engine.per_journey`), then read for the
# selected customers.
_EVERY_CUSTOMER_MEAN_SQL = """
SELECT case_code, avg({column}::DECIMAL(38, 10))::DOUBLE AS value FROM steps WHERE {column} IS NOT NULL GROUP BY ALL
"""
_CUSTOMER_MEANS_SQL = "SELECT j.case_id, m.value FROM {means} m JOIN journeys j USING (case_code) ORDER BY m.case_code"


@dataclass(frozen=True)
class SavedSegment:
    """A named selection of customers: the filter parameters (`data.params`) and, maybe, a persona condition."""

    name: str
    params: Mapping[str, str]

    @property
    def persona(self) -> tuple[str, int] | None:
        """The saved persona run and label whose customers the segment keeps, or None."""
        text = self.params.get(PERSONA_PARAM)
        return None if text is None else persona_from_param(text)

    def filters(self, persona_members: Callable[[str, int], frozenset[str]] | None = None) -> Filters:
        """Return the Filters selecting the segment's customers.

        A persona condition needs `persona_members(run, label)`, which finds the persona's customers again from
        its saved run; without it such a segment raises LogError.
        """
        filters = filters_from_params(self.params)
        persona = self.persona
        if persona is None:
            return filters
        if persona_members is None:
            raise LogError(
                Problem(
                    f"The segment {self.name!r} keeps the customers of persona {persona[1]} of the saved run "
                    f"{persona[0]!r}, which only the dashboard can find again.",
                    fix="Compare it on the Compare page, or give the persona as persona:N with --k and --seed.",
                    value=self.name,
                )
            )
        members = persona_members(*persona)
        return replace(filters, case_ids=members if filters.case_ids is None else members & filters.case_ids)


def save_segment(store: Store, dataset_id: str, name: str, params: Mapping[str, str]) -> SavedSegment:
    """Save the selection `params` (filter parameters and persona condition) as the dataset's segment `name`.

    Parameters that select no customers (the dataset, a page's settings) are left out; a selection that cannot be
    read raises LogError before anything is saved. Saving a name again replaces that segment.
    """
    if not isinstance(params, Mapping):
        raise TypeError(f"params must map parameter names to text, not {type(params).__name__}")
    kept = {str(key): str(value) for key, value in params.items() if _selects_customers(str(key))}
    segment = SavedSegment(str(name).strip(), kept)
    filters_from_params(kept)
    if PERSONA_PARAM in kept:
        persona_from_param(kept[PERSONA_PARAM])
    store.save_annotation(dataset_id, SEGMENT_KIND, segment.name, {"filters": kept})
    return segment


def saved_segments(store: Store, dataset_id: str) -> dict[str, SavedSegment]:
    """Return every saved segment of the dataset, by name (in name order)."""
    return {
        name: SavedSegment(name, dict(payload["filters"]))
        for name, payload in store.annotations(dataset_id, SEGMENT_KIND).items()
    }


def saved_segment(store: Store, dataset_id: str, name: str) -> SavedSegment:
    """Return the dataset's saved segment `name`, or raise LogError with the closest names."""
    payload = store.annotation(dataset_id, SEGMENT_KIND, name)
    if payload is None:
        known = list(store.annotations(dataset_id, SEGMENT_KIND))
        fix = closest_names(name, known) if known else "Save one on the Compare page first."
        raise LogError(Problem("This dataset has no saved segment of this name.", fix=fix, value=name))
    return SavedSegment(name, dict(payload["filters"]))


def _selects_customers(name: str) -> bool:
    return is_filter_param(name) or name == PERSONA_PARAM


def attribute_ranges(
    engine: Engine, column: str, filters: Filters = _EVERY_CUSTOMER, ranges: int = RANGES
) -> pd.Series:
    """Return each selected customer's range of the numeric attribute `column`, by case id.

    A customer's value is the mean over the events that carry one (customers with none are left out). With no
    more distinct values than `ranges`, each value is its own group; otherwise the cuts are the `ranges`-quantiles
    of the customers' values, rounded to two significant figures and kept when they fall inside the values seen,
    so there may be fewer ranges than asked. The ranges read "under 30", "30 to under 45", "45 and over" and are
    the categories of the result, in order.

    >>> attribute_ranges(engine, "age").value_counts(sort=False)  # doctest: +SKIP
    """
    if not isinstance(engine, Engine):
        raise TypeError(f"attribute_ranges needs an Engine, not {type(engine).__name__}")
    stored_as = engine.attribute_columns.get(column)
    problems = []
    if stored_as is not None and JourneyDefinition().role_of(column, stored_as).role != _NUMBER_ROLE:
        problems.append(Problem("This attribute is not a number, so it has no ranges.", column=column))
    if isinstance(ranges, bool) or not isinstance(ranges, int) or ranges < 2:
        problems.append(Problem("Ask for at least 2 ranges.", value=str(ranges)))
    if problems:
        raise LogError(problems)
    every = engine.per_journey(_EVERY_CUSTOMER_MEAN_SQL.format(column=engine.attribute_column(column)))
    means = engine.query(_CUSTOMER_MEANS_SQL.format(means=every), filters=filters)
    values = means["value"].to_numpy(np.float64)
    distinct = np.unique(values)
    if distinct.size <= ranges:
        labels, ranked = [_number(value) for value in distinct], np.searchsorted(distinct, values)
    else:
        cuts = _cuts(values, ranges)
        labels, ranked = _range_labels(cuts), np.searchsorted(cuts, values, side="right")
    return pd.Series(
        pd.Categorical.from_codes(ranked, categories=labels, ordered=True),
        index=pd.Index(means["case_id"], name="case_id"),
        name=column,
    )


def _cuts(values: np.ndarray, ranges: int) -> np.ndarray:
    """The round cuts between ranges: quantiles rounded to two significant figures, inside the values.

    A cut at or below the smallest value (most customers share it) moves to the next value, so that the customers
    of the smallest value make a range of their own rather than none.
    """
    rounded = np.array([_round_significant(value) for value in np.quantile(values, np.arange(1, ranges) / ranges)])
    lowest = values.min()
    rounded = np.where(rounded > lowest, rounded, values[values > lowest].min())
    return np.unique(rounded[rounded <= values.max()])


def _round_significant(value: float) -> float:
    if value == 0 or not math.isfinite(value):
        return float(value)
    return round(float(value), _SIGNIFICANT_DIGITS - 1 - math.floor(math.log10(abs(value))))


def _range_labels(cuts: np.ndarray) -> list[str]:
    inner = [f"{_number(low)} to under {_number(high)}" for low, high in pairwise(cuts)]
    return [f"under {_number(cuts[0])}", *inner, f"{_number(cuts[-1])} and over"]


def _number(value: float) -> str:
    return f"{value:,.15g}"
