"""Saved views: a page with its settings and filters (the URL's query), named so that a team can reopen it.

A view belongs to the log it shows and goes when the log goes. It is kept as the page's file and its query
parameters, not as a full URL, so that it opens on whatever host serves the dashboard. A saved report is a view of
the Reports page: its title, sections and map settings are in that page's URL with the log and the filters, so
reopening it writes the same report (with the definition and the branding then in force).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath

from data.errors import LogError, Problem
from data.store import Store

__all__ = [
    "HOME_PAGE",
    "REPORTS_PAGE",
    "VIEW_KIND",
    "SavedView",
    "delete_view",
    "page_address",
    "save_view",
    "saved_reports",
    "saved_views",
]

VIEW_KIND = "view"
HOME_PAGE = "app.py"
REPORTS_PAGE = "pages/10_Reports.py"
MAX_QUERY_PARAMS = 100
MAX_VALUE_CHARS = 10_000


@dataclass(frozen=True)
class SavedView:
    """A named view of one log: its page (a file under `pages/`, or `app.py`) and its query parameters (a list where
    the URL repeats one, as a multiselect writes it); shared with the workspace, or private (listed to its owner
    only)."""

    dataset_id: str
    name: str
    page: str
    query: dict[str, str | list[str]]
    owner: str
    saved_at: datetime
    shared: bool = True

    def to_dict(self) -> dict:
        return asdict(self) | {"saved_at": self.saved_at.isoformat()}


def save_view(
    store: Store,
    dataset_id: str,
    name: str,
    page: str,
    query: Mapping[str, str | list[str]],
    *,
    owner: str | None = None,
    shared: bool = True,
) -> SavedView:
    """Save the view `name` of a log; the owner is the store's user unless given (only an admin gives another).

    A view of the same name is replaced only if it is the user's own or they administer the workspace; otherwise
    `PermissionDenied` says whose it is and to pick another name.
    """
    _check_view(page, query)
    view = SavedView(
        dataset_id=dataset_id,
        name=name.strip() if isinstance(name, str) else name,
        page=page,
        query={key: value if isinstance(value, str) else list(value) for key, value in query.items()},
        owner=owner or store.user,
        saved_at=datetime.now(UTC).replace(microsecond=0),
        shared=bool(shared),
    )
    payload = {key: value for key, value in view.to_dict().items() if key not in ("dataset_id", "name")}
    store.save_annotation(dataset_id, VIEW_KIND, view.name, payload)
    return view


def saved_views(store: Store) -> list[SavedView]:
    """Return the saved views of every log the store's user can open, newest first: the shared ones and their own
    private ones (a view saved before views could be private is shared)."""
    views = [
        SavedView(
            dataset_id=dataset.id,
            name=name,
            page=payload["page"],
            query=payload["query"],
            owner=payload["owner"],
            saved_at=datetime.fromisoformat(payload["saved_at"]),
            shared=payload.get("shared", True),
        )
        for dataset in store.datasets()
        for name, payload in store.annotations(dataset.id, VIEW_KIND).items()
        if payload.get("shared", True) or payload["owner"] == store.user
    ]
    return sorted(views, key=lambda view: (view.saved_at, view.name), reverse=True)


def saved_reports(store: Store) -> list[SavedView]:
    """Return the saved reports (the saved views of the Reports page) the store's user can open, newest first."""
    return [view for view in saved_views(store) if view.page == REPORTS_PAGE]


def delete_view(store: Store, dataset_id: str, name: str) -> None:
    """Forget a saved view (only its owner or an admin of the workspace may); forgetting one that is not there is not
    an error."""
    store.delete_annotation(dataset_id, VIEW_KIND, name)


def page_address(page: str) -> str:
    """Return the page's address under the dashboard's URL, as Streamlit names it: no number, "" for home."""
    return "" if page == HOME_PAGE else re.sub(r"^\d+_", "", PurePosixPath(page).stem)


def _check_view(page: object, query: object) -> None:
    problems = []
    if not isinstance(page, str) or not (page == HOME_PAGE or (page.startswith("pages/") and page.endswith(".py"))):
        problems.append(Problem("A view opens a page of the dashboard (app.py or pages/….py).", value=str(page)))
    if not isinstance(query, Mapping) or len(query) > MAX_QUERY_PARAMS:
        problems.append(Problem(f"A view keeps at most {MAX_QUERY_PARAMS} settings.", column="query"))
    elif not all(isinstance(key, str) and _is_setting(value) for key, value in query.items()):
        problems.append(
            Problem(
                f"A view's settings are text (or lists of text), each at most {MAX_VALUE_CHARS:,} characters.",
                column="query",
            )
        )
    if problems:
        raise LogError(problems)


def _is_setting(value: object) -> bool:
    texts = [value] if isinstance(value, str) else value if isinstance(value, list | tuple) else [None]
    return all(isinstance(text, str) for text in texts) and sum(map(len, texts)) <= MAX_VALUE_CHARS
