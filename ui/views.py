"""Saved views: "Save this view" in the sidebar of every analysis page, and the list on the home page.

A view is the page and its URL query (log, filters and every bound setting), saved through `data.save_view`;
opening one is a link to the page with that query, so it shows exactly what was saved.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import streamlit as st

from data import Dataset, SavedView, delete_view, page_address, save_view, saved_views
from ui.errors import reported_errors
from ui.markup import plain
from ui.navigation import MENU, PageLink
from ui.state import store
from ui.workspace import comments_panel

__all__ = ["current_page", "saved_views_section", "view_saver"]

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
    """Offer to save the page as it is now (its settings and filters) under a name, for the whole team to reopen."""
    page = current_page()
    if page is None:
        return
    saved = st.session_state.pop(_SAVED, None)
    if saved:
        st.toast(plain(saved), icon=":material/bookmark_added:")
    with st.popover("Save this view", icon=":material/bookmark_add:", width="stretch"):
        name = st.text_input(
            "Name of the view",
            key="view-name",
            placeholder=f"{page.label} — my settings",
            help="Saves this page with its settings and filters; the home page lists the saved views.",
        )
        sharing = st.radio(
            "Who sees it",
            ("Shared with the workspace", "Private"),
            key="view-sharing",
            horizontal=True,
            help="A private view is listed to you only; a shared one to every member of the workspace.",
        )
        if st.button("Save", key="view-save", disabled=not name.strip()):
            with reported_errors(stop=False):
                query = st.query_params.to_dict()
                view = save_view(store(), dataset.id, name, page.path, query, shared=sharing != "Private")
                st.session_state[_SAVED] = f"Saved “{view.name}”: the home page lists it."
                st.rerun()


def saved_views_section() -> None:
    """List the saved views as links that reopen them (page, log, who saved it when), with their comments, and offer
    to delete one of the user's own (any, for an admin of its workspace)."""
    with reported_errors():
        views = saved_views(store())
        names = {dataset.id: dataset.name for dataset in store().datasets()}
    if not views:
        st.caption("No view is saved yet: the sidebar of every page has “Save this view”.")
        return
    for view in views:
        st.page_link(
            view.page, label=plain(_describe(view, names)), icon=":material/bookmark:", query_params=view.query
        )
    with st.expander("Comments on a saved view"):
        commented = st.selectbox(
            "Saved view",
            range(len(views)),
            format_func=lambda index: _describe(views[index], names),
            key="view-comment-pick",
        )
        comments_panel(views[commented].dataset_id, "view", views[commented].name)
    with st.expander("Delete a saved view"):
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


def _describe(view: SavedView, names: dict[str, str]) -> str:
    pages = {link.path: link.label for section in MENU.values() for link in section}
    return (
        f"{view.name} — {pages.get(view.page, view.page)} of {names.get(view.dataset_id, view.dataset_id)}, "
        f"saved by {view.owner} on {view.saved_at:%Y-%m-%d %H:%M} UTC{'' if view.shared else ' (private)'}"
    )
