"""Saved views: "Save this view" in the sidebar of every analysis page, and the list on the home page.

A view is the page and its URL query (log, filters and every bound setting), saved through `data.save_view`;
opening one is a link to the page with that query, so it shows exactly what was saved. A saved report is the same
thing for the Reports page ("Save this report" there), listed apart on the home page.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import streamlit as st

from data import (
    REPORTS_PAGE,
    Dataset,
    SavedView,
    delete_view,
    page_address,
    save_view,
    saved_reports,
    saved_views,
)
from ui.errors import reported_errors
from ui.markup import plain
from ui.navigation import MENU, PageLink
from ui.state import store
from ui.workspace import comments_panel

__all__ = ["current_page", "report_saver", "saved_reports_section", "saved_views_section", "view_saver"]

_SAVED = "parcours-view-saved"


def current_page() -> PageLink | None:
    """Return the menu entry of the page in the browser's address bar, None when there is no browser."""
    url = st.context.url
    if not url:
        return None
    path = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    links = [link for section in MENU.values() for link in section]
    return next((link for link in links if page_address(link.path) == path), links[0])


def view_saver(dataset: Dataset) -> None:
    """Offer to save the page as it is now (its settings and filters) under a name, for the whole team to reopen;
    the Reports page offers "Save this report" instead."""
    page = current_page()
    if page is not None and page.path != REPORTS_PAGE:
        _saver(dataset, page.path, "view", f"{page.label} — my settings")


def report_saver(dataset: Dataset) -> None:
    """Offer to save the report as it is now (title, sections, map settings, log and filters: the page's URL)."""
    _saver(dataset, REPORTS_PAGE, "report", "Monthly churn review")


def _saver(dataset: Dataset, page: str, noun: str, placeholder: str) -> None:
    saved = st.session_state.pop(f"{_SAVED}-{noun}", None)
    if saved:
        st.toast(plain(saved), icon=":material/bookmark_added:")
    with st.popover(f"Save this {noun}", icon=":material/bookmark_add:", width="stretch"):
        name = st.text_input(
            f"Name of the {noun}",
            key=f"{noun}-name",
            placeholder=placeholder,
            help=f"Saves this page with its settings and filters; the home page lists the saved {noun}s.",
        )
        sharing = st.radio(
            "Who sees it",
            ("Shared with the workspace", "Private"),
            key=f"{noun}-sharing",
            horizontal=True,
            help=f"A private {noun} is listed to you only; a shared one to every member of the workspace.",
        )
        if st.button("Save", key=f"{noun}-save", disabled=not name.strip()):
            with reported_errors(stop=False):
                query = {key: _setting(st.query_params.get_all(key)) for key in st.query_params}
                view = save_view(store(), dataset.id, name, page, query, shared=sharing != "Private")
                st.session_state[f"{_SAVED}-{noun}"] = f"Saved “{view.name}”: the home page lists it."
                st.rerun()


def saved_views_section() -> None:
    """List the saved views but the reports as links that reopen them (page, log, who saved it when); offer to comment
    on any saved view or report, and to delete one of the user's own (any, for an admin of its workspace)."""
    with reported_errors():
        views = saved_views(store())
        names = {dataset.id: dataset.name for dataset in store().datasets()}
    _links([view for view in views if view.page != REPORTS_PAGE], names, ":material/bookmark:")
    if not any(view.page != REPORTS_PAGE for view in views):
        st.caption("No view is saved yet: the sidebar of every page has “Save this view”.")
    if not views:
        return
    with st.expander("Comments on a saved view or report"):
        commented = st.selectbox(
            "Saved view",
            range(len(views)),
            format_func=lambda index: _describe(views[index], names),
            key="view-comment-pick",
        )
        comments_panel(views[commented].dataset_id, "view", views[commented].name)
    with st.expander("Delete a saved view or report"):
        yours = [view for view in views if store().may_change(view.dataset_id, view.owner)]
        if not yours:
            st.caption("You can delete the views you saved (and an admin, any view of the workspace): none yet.")
            return
        chosen = st.selectbox(
            "Saved view", range(len(yours)), format_func=lambda index: _describe(yours[index], names), key="view-pick"
        )
        if st.button("Delete this view", key="view-delete", icon=":material/delete:"):
            with reported_errors(stop=False):
                delete_view(store(), yours[chosen].dataset_id, yours[chosen].name)
                st.rerun()


def saved_reports_section() -> None:
    """List the saved reports as links that reopen the Reports page with their title, sections, log and filters."""
    with reported_errors():
        reports = saved_reports(store())
        names = {dataset.id: dataset.name for dataset in store().datasets()}
    _links(reports, names, ":material/description:")
    if not reports:
        st.caption("No report is saved yet: the Reports page has “Save this report”.")


def _setting(values: list[str]) -> str | list[str]:
    """A URL parameter as a view keeps it: its text, or all its values where the URL repeats it (a multiselect)."""
    return values[0] if len(values) == 1 else values


def _links(views: list[SavedView], names: dict[str, str], icon: str) -> None:
    for view in views:
        st.page_link(view.page, label=plain(_describe(view, names)), icon=icon, query_params=view.query)


def _describe(view: SavedView, names: dict[str, str]) -> str:
    pages = {link.path: link.label for section in MENU.values() for link in section}
    return (
        f"{view.name} — {pages.get(view.page, view.page)} of {names.get(view.dataset_id, view.dataset_id)}, "
        f"saved by {view.owner} on {view.saved_at:%Y-%m-%d %H:%M} UTC{'' if view.shared else ' (private)'}"
    )
