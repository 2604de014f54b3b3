"""Improvement actions: what a team does to fix a journey, whom it targets, the KPI it should move, and when.

An action is one versioned `Store` document (kind `ACTION_KIND`, keyed by its id): every edit is saved as a new
version, so its history of changes — who changed what, when, from what to what — is `action_history`. It travels
as JSON (`Action.to_dict`, `Action.from_dict`) and is measured by `discovery.action_effect`.

>>> action = Action("Call back after a dispute", ActionTarget("churn point", "billing_dispute"), "churn")
>>> Action.from_dict(action.to_dict()) == action
True
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from data.errors import LogError, Problem
from data.store import Store

__all__ = [
    "ACTION_FORMAT",
    "ACTION_KIND",
    "KPIS",
    "OPEN_STATUSES",
    "STATUSES",
    "TARGET_KINDS",
    "TRANSITION_ARROW",
    "Action",
    "ActionChange",
    "ActionTarget",
    "action_history",
    "actions_of",
    "open_actions",
    "save_action",
]

ACTION_KIND = "action"
ACTION_FORMAT = "parcours.action"
FORMAT_VERSION = 1
STATUSES = ("idea", "planned", "live", "done", "dropped")
# An action still to be carried out or watched: the home page lists these.
OPEN_STATUSES = STATUSES[:3]
TARGET_KINDS = ("touchpoint", "transition", "stage", "churn point", "persona", "segment")
# The KPI an action should move; `kpi_on` names what some of them are measured on (see `Action`).
KPIS = ("conversion", "churn", "drop-off", "time to stage", "score", "conformance")
TRANSITION_ARROW = " → "
_ID_BYTES = 4
_MAX_ID_CHARS = 32
_HEX = "0123456789abcdef"
_MAX_TEXT_CHARS = 5_000


@dataclass(frozen=True)
class ActionTarget:
    """What an action aims at: a touchpoint, a transition ("a → b"), a stage, a churn point (a touchpoint), a
    persona or a segment, named by `value`."""

    kind: str
    value: str

    @property
    def transition(self) -> tuple[str, str]:
        """The (source, target) touchpoints of a transition target."""
        source, _, target = self.value.partition(TRANSITION_ARROW)
        return source, target

    def __str__(self) -> str:
        return f"{self.kind}: {self.value}"

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "value": self.value}


@dataclass(frozen=True)
class Action:
    """An improvement action.

    `kpi` is one of `KPIS`; `kpi_on` names what it is measured on where the KPI needs it: the touchpoint for
    "churn" right after one step (none: every churned journey), the stage for "drop-off" and "time to stage", the
    score attribute for "score". Left out, it is read from the target where the target says it (a churn point or
    touchpoint for churn, a stage for drop-off and time to stage). `go_live` is the day the action took effect
    (None while it is an idea). `id` is short random hex, the document key.
    """

    title: str
    target: ActionTarget
    kpi: str
    kpi_on: str | None = None
    go_live: dt.date | None = None
    status: str = "idea"
    owner: str = ""
    description: str = ""
    id: str = field(default_factory=lambda: secrets.token_hex(_ID_BYTES))

    def __post_init__(self) -> None:
        problems = []
        for name in ("title", "owner", "description"):
            value = getattr(self, name)
            if not isinstance(value, str) or len(value) > _MAX_TEXT_CHARS:
                problems.append(_problem(name, f"must be text of at most {_MAX_TEXT_CHARS:,} characters", value))
        if isinstance(self.title, str) and not self.title.strip():
            problems.append(_problem("title", "is missing", self.title, fix="Give the action a short title."))
        if not isinstance(self.target, ActionTarget):
            problems.append(_problem("target", "must be an ActionTarget", self.target))
        else:
            problems += _target_problems(self.target)
        if self.kpi not in KPIS:
            problems.append(
                _problem("kpi", "is not a KPI Parcours knows", self.kpi, fix=f"Use one of {_listed(KPIS)}.")
            )
        if self.kpi_on is not None and (not isinstance(self.kpi_on, str) or not self.kpi_on.strip()):
            problems.append(_problem("kpi_on", "must name a touchpoint, stage or attribute", self.kpi_on))
        if self.status not in STATUSES:
            problems.append(_problem("status", "is unknown", self.status, fix=f"Use one of {_listed(STATUSES)}."))
        if self.go_live is not None and (
            not isinstance(self.go_live, dt.date) or isinstance(self.go_live, dt.datetime)
        ):
            problems.append(_problem("go_live", "must be a date", self.go_live, fix="Give a day such as 2025-06-01."))
        if not isinstance(self.id, str) or not 0 < len(self.id) <= _MAX_ID_CHARS or set(self.id) - set(_HEX):
            problems.append(
                _problem("id", f"must be 1 to {_MAX_ID_CHARS} lower-case hex digits", self.id, fix="Leave it out.")
            )
        if problems:
            raise LogError(problems)
        for name in ("title", "owner", "description"):
            object.__setattr__(self, name, getattr(self, name).strip())

    def to_dict(self) -> dict[str, Any]:
        """The action as its JSON form: plain values, the day as ISO text."""
        return {
            "format": ACTION_FORMAT,
            "format_version": FORMAT_VERSION,
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "owner": self.owner,
            "status": self.status,
            "go_live": None if self.go_live is None else self.go_live.isoformat(),
            "target": self.target.to_dict(),
            "kpi": self.kpi,
            "kpi_on": self.kpi_on,
        }

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], *, source: str = "") -> Action:
        """Read the JSON form; LogError names every field that is wrong and how to fix it."""
        if not isinstance(values, Mapping):
            raise LogError(Problem("An action is a JSON object.", file=source or None))
        if values.get("format") != ACTION_FORMAT or values.get("format_version") != FORMAT_VERSION:
            raise LogError(
                Problem(
                    f"This does not say it is a {ACTION_FORMAT} of version {FORMAT_VERSION}.",
                    fix=f'Start it with "format": "{ACTION_FORMAT}", "format_version": {FORMAT_VERSION}.',
                    file=source or None,
                )
            )
        problems = []
        target = values.get("target")
        if not isinstance(target, Mapping) or not {"kind", "value"} <= set(target):
            problems.append(_problem("target", 'must be {"kind": …, "value": …}', target))
        problems += [
            _problem(name, "is missing", None, fix=f'Add "{name}".')
            for name in ("title", "kpi")
            if values.get(name) is None
        ]
        go_live = values.get("go_live")
        try:
            day = None if go_live is None else dt.date.fromisoformat(go_live)
        except (TypeError, ValueError):
            problems.append(_problem("go_live", "is not a day", go_live, fix="Write it as YYYY-MM-DD."))
        if problems:
            raise LogError([replace(problem, file=source or None) for problem in problems])
        known = {spec.name for spec in fields(cls)} - {"target", "go_live"}
        try:
            return cls(
                target=ActionTarget(target["kind"], target["value"]),
                go_live=day,
                **{name: values[name] for name in known if values.get(name) is not None},
            )
        except LogError as error:
            raise LogError(
                [replace(problem, file=problem.file or source or None) for problem in error.problems]
            ) from None


@dataclass(frozen=True)
class ActionChange:
    """One saved version of an action: who saved it, when, and each field it changed as (field, before, after);
    the first version lists every field it set, from None."""

    version: int
    author: str
    saved_at: dt.datetime
    changes: tuple[tuple[str, Any, Any], ...]

    def in_words(self) -> tuple[str, ...]:
        """Each change as 'field: before → after'."""
        return tuple(f"{name}: {_shown(before)} → {_shown(after)}" for name, before, after in self.changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "author": self.author,
            "saved_at": self.saved_at.isoformat(),
            "changes": [{"field": name, "before": before, "after": after} for name, before, after in self.changes],
        }


def save_action(store: Store, dataset_id: str, action: Action, *, author: str | None = None) -> int:
    """Save the action as its new version (a first save creates it) and return the version number."""
    if not isinstance(action, Action):
        raise TypeError(f"action must be an Action, not {type(action).__name__}")
    return store.save_document(dataset_id, ACTION_KIND, action.id, action.to_dict(), author=author)


def actions_of(store: Store, dataset_id: str) -> tuple[Action, ...]:
    """Return the dataset's actions as last saved, the most recent go-live first (ideas without one last)."""
    actions = [
        Action.from_dict(saved.payload, source=f"action {key}")
        for key, saved in store.documents(dataset_id, ACTION_KIND).items()
    ]
    return tuple(sorted(actions, key=lambda action: (action.go_live is None, -_ordinal(action.go_live), action.id)))


def open_actions(store: Store, dataset_id: str) -> tuple[Action, ...]:
    """Return the dataset's actions not done or dropped (an idea, planned or live), in the order of `actions_of`."""
    return tuple(action for action in actions_of(store, dataset_id) if action.status in OPEN_STATUSES)


def action_history(store: Store, dataset_id: str, action_id: str) -> tuple[ActionChange, ...]:
    """Return the action's versions, newest first, each with the fields it changed; LogError when there is none."""
    saved = store.document_history(dataset_id, ACTION_KIND, action_id)
    if not saved:
        raise LogError(
            Problem("This dataset has no action with this id.", fix="List them with `actions LOG`.", value=action_id)
        )
    oldest_first = saved[::-1]
    changes = []
    before: dict[str, Any] = {}
    for version in oldest_first:
        after = _fields(version.payload)
        changed = tuple((name, before.get(name), value) for name, value in after.items() if before.get(name) != value)
        changes.append(ActionChange(version.version, version.author, version.saved_at, changed))
        before = after
    return tuple(changes[::-1])


def _fields(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The fields a person edits, flat: the target as its kind and value."""
    values = {
        name: value for name, value in payload.items() if name not in ("format", "format_version", "id", "target")
    }
    target = payload.get("target") or {}
    return {"target": f"{target.get('kind')}: {target.get('value')}", **values}


def _target_problems(target: ActionTarget) -> list[Problem]:
    problems = []
    if target.kind not in TARGET_KINDS:
        problems.append(_problem("target.kind", "is unknown", target.kind, fix=f"Use one of {_listed(TARGET_KINDS)}."))
    if not isinstance(target.value, str) or not target.value.strip():
        problems.append(_problem("target.value", "is missing", target.value, fix="Name the target."))
    elif target.kind == "transition" and not all(target.transition):
        problems.append(
            _problem("target.value", "is not a transition", target.value, fix=f"Write it as 'a{TRANSITION_ARROW}b'.")
        )
    return problems


def _problem(name: str, message: str, value: object, *, fix: str = "") -> Problem:
    return Problem(f"The action's {name} {message}.", fix=fix, value=None if value is None else str(value))


def _listed(names: tuple[str, ...]) -> str:
    return ", ".join(names)


def _shown(value: Any) -> str:
    return "—" if value in (None, "") else str(value)


def _ordinal(day: dt.date | None) -> int:
    return 0 if day is None else day.toordinal()
