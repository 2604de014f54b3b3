"""The home page's stored logs: the list with size and last opened, and renaming or deleting one.

Renaming and deleting go through the library's `Store` (the delete removes the Parquet, the layout and every
row saved about the log, as `python -m data delete` does). A delete is asked twice: the second time with the
log's name and counts, since nothing can undo it.
"""

from __future__ import annotations

import streamlit as st

from data import Dataset, LogError
from ui.downloads import show_table
from ui.errors import reported_errors, show_error
from ui.markup import plain
from ui.params import show_dataset
from ui.state import forget_dataset, store
from ui.tables import count_columns, datasets_table
from ui.workspace import allowed

__all__ = ["deletion_question", "manage_stored_logs", "stored_logs", "unreadable_log"]

_PENDING_DELETE = "parcours-delete-pending"
_DONE = "parcours-logs-done"
_PICKED = "manage-log"


def stored_logs(datasets: list[Dataset]) -> None:
    """List the stored logs (counts, period, quality, size on disk, imported, last opened) with their downloads."""
    done = st.session_state.pop(_DONE, None)
    if done:
        st.success(plain(done))
    show_table(
        datasets_table(datasets), "stored-logs", column_config=count_columns("Customers", "Events", "Touchpoints")
    )


def deletion_question(dataset: Dataset) -> str:
    """Return the question a delete asks, with the log's name and what it holds."""
    return (
        f"Delete “{dataset.name}” for good? Its {dataset.n_cases:,} customers and {dataset.n_events:,} events, its "
        "files and everything saved about it (journey definitions, personas, segments) are removed; nothing can "
        "undo it."
    )


def unreadable_log(error: LogError, dataset: Dataset, datasets: list[Dataset]) -> None:
    """Say why the chosen log cannot be opened, offer to delete it (or rename or delete another), and end the page run.

    Every page opens the chosen log first: a log whose files are gone or damaged must not leave the pages, the only
    log of a workspace least of all, with no way out but the command line.
    """
    show_error(error)
    elsewhere = "Choose another log in the sidebar, or delete" if len(datasets) > 1 else "Delete"
    st.info(f"{elsewhere} “{plain(dataset.name)}” below and import it again.", icon=":material/build:")
    manage_stored_logs(datasets, dataset, expanded=True)
    st.stop()


def manage_stored_logs(datasets: list[Dataset], current: Dataset, *, expanded: bool = False) -> None:
    """Offer to rename or delete one stored log (the open one first); after a delete the page shows another log."""
    by_id = {dataset.id: dataset for dataset in datasets}
    ids = list(by_id)
    with st.expander("Rename or delete a stored log", expanded=expanded):
        picked_id = st.selectbox(
            "Stored log",
            ids,
            index=ids.index(current.id) if current.id in by_id else 0,
            format_func=lambda dataset_id: by_id[dataset_id].name,
            key=_PICKED,
        )
        picked = by_id[picked_id]
        left, right = st.columns(2)
        with left:
            name = st.text_input("New name", value=picked.name, key=f"rename-{picked.id}")
            if allowed("editor", "rename a log", picked.workspace_id) and st.button(
                "Rename", key="rename-log", icon=":material/edit:"
            ):
                with reported_errors(stop=False):
                    renamed = store().rename(picked.id, name)
                    _done(f"Renamed “{picked.name}” to “{renamed.name}”.")
        with right:
            if allowed("admin", "delete a log", picked.workspace_id):
                st.button(
                    "Delete…", key="delete-log", icon=":material/delete:", on_click=_ask_to_delete, args=(picked.id,)
                )
        if st.session_state.get(_PENDING_DELETE) == picked.id:
            _confirm_delete(picked, next((other for other in ids if other != picked.id), None), current)


def _ask_to_delete(dataset_id: str) -> None:
    st.session_state[_PENDING_DELETE] = dataset_id


def _confirm_delete(dataset: Dataset, fallback_id: str | None, current: Dataset) -> None:
    st.warning(plain(deletion_question(dataset)), icon="⚠️")
    yes, no = st.columns(2)
    if no.button("Cancel", key="delete-cancel"):
        st.session_state.pop(_PENDING_DELETE, None)
        st.rerun()
    if not yes.button("Yes, delete it", key="delete-confirm", type="primary"):
        return
    st.session_state.pop(_PENDING_DELETE, None)
    with reported_errors(stop=False):
        store().delete(dataset.id)
        forget_dataset(dataset.id)
        if dataset.id == current.id:
            show_dataset(fallback_id)
        st.session_state.pop(_PICKED, None)
        _done(f"Deleted “{dataset.name}”: {dataset.n_cases:,} customers and {dataset.n_events:,} events.")


def _done(message: str) -> None:
    """Say what was done on the next run, which shows the store as it now is."""
    st.session_state[_DONE] = message
    st.rerun()
