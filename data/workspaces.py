"""Workspaces, roles and what the Store records of who did what: the values the `Store` returns.

Every dataset belongs to one workspace; a user's role in a workspace decides what the `Store` lets them do there:
a viewer reads and exports (and may comment and save views), an editor also imports and edits what is decided
about a log (definitions, designed journeys, actions, personas, segments), an admin also manages the members,
renames nothing away by accident (deletes) and creates workspaces. In the local mode the one user is admin of
every workspace, so a single-user install never meets any of this.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

__all__ = [
    "DEFAULT_WORKSPACE",
    "ROLES",
    "Change",
    "Comment",
    "Member",
    "Workspace",
    "mentioned_users",
    "role_allows",
]

DEFAULT_WORKSPACE = "default"
ROLES = ("viewer", "editor", "admin")
# An @mention names a user as they sign in: an e-mail address or a plain id.
_MENTION = re.compile(r"(?<![\w.])@([\w.+-]+(?:@[\w-]+(?:\.[\w-]+)+)?)")


def role_allows(role: str | None, needed: str) -> bool:
    """Tell whether `role` (None: not a member) may do what needs `needed`."""
    return role is not None and ROLES.index(role) >= ROLES.index(needed)


def mentioned_users(text: str) -> tuple[str, ...]:
    """Return the users a comment @mentions, in the order they appear, each once."""
    return tuple(dict.fromkeys(match.group(1).rstrip(".") for match in _MENTION.finditer(text)))


@dataclass(frozen=True)
class Workspace:
    """A workspace and the acting user's role in it."""

    id: str
    name: str
    role: str


@dataclass(frozen=True)
class Member:
    user_id: str
    role: str


@dataclass(frozen=True)
class Change:
    """One change to something shared: who, when, what (action and target), before and after (JSON, or None)."""

    id: int
    workspace_id: str
    dataset_id: str | None
    user_id: str
    at: datetime
    action: str
    target: str
    before: object
    after: object


@dataclass(frozen=True)
class Comment:
    """A comment on a figure of a log: a touchpoint, a step, a stage, a churn point, a persona, an action, a view."""

    id: int
    dataset_id: str
    target_kind: str
    target_key: str
    author: str
    at: datetime
    text: str

    @property
    def mentions(self) -> tuple[str, ...]:
        return mentioned_users(self.text)
