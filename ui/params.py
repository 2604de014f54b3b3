"""What a URL carries: the filters (`data.params`) and the persona condition (`segmentation`), so that a copied link
reopens the same view. The codecs live in the library, where saved segments read them too.

A page's own settings (metric, sliders, tab, what is opened) are bound to the URL by their widgets
(`bind="query-params"`); Streamlit lets only those widgets change them, so code that rewrites the URL touches the
parameters it owns and no other (`write_owned`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import streamlit as st

from data.params import ATTRIBUTE_PREFIX, filters_from_params, filters_to_params, is_filter_param
from segmentation import PERSONA_PARAM, persona_from_param, persona_to_param

__all__ = [
    "ATTRIBUTE_PREFIX",
    "DATASET_PARAM",
    "PERSONA_PARAM",
    "current_view",
    "filters_from_params",
    "filters_to_params",
    "is_filter_param",
    "persona_from_param",
    "persona_to_param",
    "show_dataset",
    "write_owned",
    "write_view",
]

DATASET_PARAM = "dataset"
_VIEW = "parcours-view"


def write_owned(params: Mapping[str, str], owns: Callable[[str], bool]) -> None:
    """Make the URL's parameters that `owns` names say `params`, leaving every other parameter as it is."""
    for name in [name for name in st.query_params if owns(name) and name not in params]:
        del st.query_params[name]
    for name, value in params.items():
        if st.query_params.get(name) != value:
            st.query_params[name] = value


def show_dataset(dataset_id: str | None) -> None:
    """Make `dataset_id` the view of this session and of its URL, without the previous log's filters.

    None empties the view (no `dataset` in the URL): the pages then open the newest log, or say none is stored.
    """
    write_view({} if dataset_id is None else {DATASET_PARAM: dataset_id})


def current_view() -> dict[str, str]:
    """Return the URL's parameters, putting back the session's last view when the URL has none."""
    saved = st.session_state.get(_VIEW)
    if not st.query_params and saved:
        st.query_params.from_dict(saved)
    return st.query_params.to_dict()


def write_view(params: dict[str, str]) -> None:
    """Make the URL's log, filters and persona those of `params`; the page's own settings stay as they are."""
    view = {name: value for name, value in params.items() if _is_view_param(name)}
    write_owned(view, _is_view_param)
    st.session_state[_VIEW] = view


def _is_view_param(name: str) -> bool:
    return name in (DATASET_PARAM, PERSONA_PARAM) or is_filter_param(name)
