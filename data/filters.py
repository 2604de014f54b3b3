"""One `Filters` value, accepted by every view, that selects whole journeys.

Every filter keeps or drops a case with all of its events, never single events, so that each count on
every page stays a count of unique customers and a map edge always equals the two-step funnel it
implies. `None` means "no condition". For the "any of" fields (channels, attribute values, case ids,
variant ids, start and end activities) an empty set matches no case, which is what an empty persona
must give; an empty `with_activities` or `without_activities` is no condition at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

import pandas as pd

from data.errors import LogError, Problem

__all__ = ["ATTRIBUTE_PREFIX", "SET_FIELDS", "STEPS", "WINDOW", "Filters"]

_LISTED_VALUES = 3
# The names of conditions that are not one field of Filters (see `Filters.conditions`).
WINDOW, ATTRIBUTE_PREFIX = "window", "attr."
_BOUNDS = {"duration": ("min_duration_seconds", "max_duration_seconds"), "events": ("min_events", "max_events")}
# The fields that hold a set of values (of which a case must match one, or all for with_activities).
SET_FIELDS = (
    "channels",
    "case_ids",
    "variant_ids",
    "start_activities",
    "end_activities",
    "with_activities",
    "without_activities",
)
# The field that holds steps, pairs of touchpoints: (source, target).
STEPS = "with_steps"
_DURATION_UNITS = ((86_400, "d"), (3_600, "h"), (60, "min"), (1, "s"))
_INCLUSIVE_WORDING = ("at least {}", "at most {}", "{} to {}")
_WINDOW_WORDING = ("from {}", "before {}", "{} → {}")


@dataclass(frozen=True)
class Filters:
    """Which journeys to keep; hashable, so it can key a cache or travel in a URL.

    A case is kept when it has at least one event in [start, end), at least one event on one of
    `channels`, for each `attributes` column at least one event with one of the values, every
    activity of `with_activities` and none of `without_activities`, every step of `with_steps` (a
    touchpoint directly followed by another, as a map's arrow), and its duration (seconds) and event
    count inside the inclusive bounds. `start` and `end` must carry a time zone.

    >>> Filters(channels={"store"}, min_events=2).describe()
    'customers who used store, with at least 2 events'
    """

    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    channels: frozenset[str] | None = None
    attributes: tuple[tuple[str, frozenset], ...] = ()
    case_ids: frozenset[str] | None = None
    variant_ids: frozenset[str] | None = None
    start_activities: frozenset[str] | None = None
    end_activities: frozenset[str] | None = None
    with_activities: frozenset[str] | None = None
    without_activities: frozenset[str] | None = None
    with_steps: frozenset[tuple[str, str]] | None = None
    min_duration_seconds: float | None = None
    max_duration_seconds: float | None = None
    min_events: int | None = None
    max_events: int | None = None

    def __post_init__(self) -> None:
        problems: list[Problem] = []
        for name in ("start", "end"):
            self._set(name, _timestamp(name, getattr(self, name), problems))
        for name in ("channels", "case_ids", "variant_ids", "start_activities", "end_activities"):
            self._set(name, _value_set(getattr(self, name)))
        for name in ("with_activities", "without_activities"):
            self._set(name, _value_set(getattr(self, name)) or None)
        self._set("with_steps", _step_set(self.with_steps, problems))
        self._set("attributes", _attribute_conditions(self.attributes))
        window = (self.start, self.end)
        if all(stamp is not None and stamp.tzinfo is not None for stamp in window) and self.start >= self.end:
            problems.append(Problem("The time window ends before it starts.", fix="Pick an end after the start."))
        _check_bounds("duration_seconds", self.min_duration_seconds, self.max_duration_seconds, problems)
        _check_bounds("events", self.min_events, self.max_events, problems)
        if problems:
            raise LogError(problems)

    def _set(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)

    @property
    def is_empty(self) -> bool:
        """True when no condition is set, so every journey is kept."""
        return all(getattr(self, spec.name) in (None, ()) for spec in fields(self))

    def describe(self, *, sentence_start: bool = False) -> str:
        """Return a short phrase naming the selected journeys, for titles and exports.

        Values are written as they are in the data ("Mobile 10GB"); with `sentence_start` only the phrase's own
        first word is capitalised, never a value (`str.capitalize` would lower-case every other letter).
        """
        if self.is_empty:
            phrase = "all customers"
        else:
            window = _window_phrase(self.start, self.end)
            head = "customers" if window is None else f"customers {window}"
            conditions = [phrase for name, phrase in self.conditions() if name != WINDOW]
            phrase = f"{head} {', '.join(conditions)}" if conditions else head
        # The phrase always opens with Parcours' own lower-case word ("all", "customers"), never with a value.
        return phrase[0].upper() + phrase[1:] if sentence_start else phrase

    def conditions(self) -> tuple[tuple[str, str], ...]:
        """Return each condition set, as (its name, what it keeps in words), in the order `describe` names them.

        The name is what `without` takes: a field of Filters, `window`, `duration`, `events`, or `attr.<column>`.
        """
        return tuple(self._conditions())

    def without(self, name: str) -> Filters:
        """Return these filters without the condition `name` (one of `conditions()`' names)."""
        if name == WINDOW:
            return replace(self, start=None, end=None)
        if name in _BOUNDS:
            low, high = _BOUNDS[name]
            return replace(self, **{low: None, high: None})
        if name.startswith(ATTRIBUTE_PREFIX):
            column = name.removeprefix(ATTRIBUTE_PREFIX)
            return replace(self, attributes=tuple(item for item in self.attributes if item[0] != column))
        if name not in (*SET_FIELDS, STEPS):
            raise ValueError(f"{name!r} is not a condition of Filters")
        return replace(self, **{name: None})

    def _conditions(self) -> Iterator[tuple[str, str]]:
        window = _window_phrase(self.start, self.end)
        if window is not None:
            yield WINDOW, window
        if self.channels is not None:
            yield "channels", f"who used {_listing(self.channels, 'or')}"
        for column, values in self.attributes:
            yield f"{ATTRIBUTE_PREFIX}{column}", f"whose {column} is {_listing(values, 'or')}"
        for name, template, conjunction in (
            ("start_activities", "starting with {}", "or"),
            ("end_activities", "ending with {}", "or"),
            ("with_activities", "who did {}", "and"),
            ("without_activities", "who never did {}", "or"),
        ):
            values = getattr(self, name)
            if values is not None:
                yield name, template.format(_listing(values, conjunction))
        if self.with_steps is not None:
            steps = [f"{source} → {target}" for source, target in sorted(self.with_steps)]
            noun = "step" if len(steps) == 1 else "steps"
            yield STEPS, f"who took the {noun} {_listing(steps, 'and')}"
        if self.variant_ids is not None:
            yield "variant_ids", f"following {_count(len(self.variant_ids), 'chosen path')}"
        if self.case_ids is not None:
            yield "case_ids", f"among {_count(len(self.case_ids), 'chosen customer')}"
        bounds = (
            ("duration", self.min_duration_seconds, self.max_duration_seconds, _human_seconds, "lasting {}"),
            ("events", self.min_events, self.max_events, str, "with {} events"),
        )
        for name, low, high, show, template in bounds:
            phrase = _bounds_phrase(low, high, show)
            if phrase:
                yield name, template.format(phrase)


def _timestamp(name: str, value: Any, problems: list[Problem]) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        problems.append(Problem(f"The {name} of the time window is not a date.", fix="Give a date.", value=str(value)))
        return None
    if stamp.tzinfo is None:
        problems.append(
            Problem(
                f"The {name} of the time window has no time zone, so the instant it means is unknown.",
                fix="Give it a time zone, e.g. pd.Timestamp('2025-01-01', tz='Europe/Paris').",
                value=str(value),
            )
        )
    return stamp


def _value_set(values: Any) -> frozenset | None:
    if values is None:
        return None
    if isinstance(values, str):
        return frozenset((values,))
    return frozenset(values)


def _step_set(steps: Any, problems: list[Problem]) -> frozenset[tuple[str, str]] | None:
    """Read steps as (source, target) pairs of names; none at all is no condition, as for with_activities."""
    if steps is None:
        return None
    pairs = set()
    for step in steps:
        if isinstance(step, str) or len(pair := tuple(step)) != 2 or not all(isinstance(name, str) for name in pair):
            problems.append(
                Problem(
                    "A step is two touchpoints: the one left and the next one.",
                    fix="Give pairs of names.",
                    column=STEPS,
                    value=str(step),
                )
            )
            continue
        pairs.add(pair)
    return frozenset(pairs) or None


def _attribute_conditions(conditions: Any) -> tuple[tuple[str, frozenset], ...]:
    if conditions is None:
        return ()
    pairs = conditions.items() if isinstance(conditions, Mapping) else conditions
    normalised = ((str(column), _value_set(values)) for column, values in pairs)
    return tuple(sorted(normalised, key=lambda pair: pair[0]))


def _check_bounds(name: str, low: float | None, high: float | None, problems: list[Problem]) -> None:
    for bound, value in (("min", low), ("max", high)):
        if value is not None and value < 0:
            problems.append(Problem(f"{bound}_{name} cannot be negative.", fix="Use 0 or more.", value=str(value)))
    if low is not None and high is not None and low > high:
        problems.append(Problem(f"min_{name} is larger than max_{name}.", fix="Swap the two bounds."))


def _window_phrase(start: pd.Timestamp | None, end: pd.Timestamp | None) -> str | None:
    # A window of whole days reads best with the last day it includes.
    if start is not None and end is not None and _is_midnight(start) and _is_midnight(end):
        end -= pd.Timedelta(days=1)
    phrase = _bounds_phrase(start, end, _day_or_time, _WINDOW_WORDING)
    return phrase and f"active {phrase}"


def _is_midnight(stamp: pd.Timestamp) -> bool:
    return stamp.time() == dt.time(0)


def _day_or_time(stamp: pd.Timestamp) -> str:
    return stamp.strftime("%Y-%m-%d" if _is_midnight(stamp) else "%Y-%m-%d %H:%M")


def _listing(values: Iterable, conjunction: str) -> str:
    names = sorted(map(str, values))
    if not names:
        return "nothing"
    if len(names) > _LISTED_VALUES:
        shown = ", ".join(names[:_LISTED_VALUES])
        return f"{shown} {conjunction} {len(names) - _LISTED_VALUES} more"
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} {conjunction} {names[-1]}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _bounds_phrase(
    low: Any, high: Any, show: Callable[[Any], str], wording: tuple[str, str, str] = _INCLUSIVE_WORDING
) -> str | None:
    """Phrase optional bounds with the wording for (low only, high only, both)."""
    if low is None and high is None:
        return None
    if high is None:
        return wording[0].format(show(low))
    if low is None:
        return wording[1].format(show(high))
    return wording[2].format(show(low), show(high))


def _human_seconds(seconds: float) -> str:
    size, unit = next(((size, unit) for size, unit in _DURATION_UNITS if seconds >= size), (1, "s"))
    return f"{round(seconds / size, 1):g} {unit}"
