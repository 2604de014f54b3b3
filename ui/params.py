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
    "PERSONA_PARAM",
    "filters_from_params",
    "filters_to_params",
    "is_filter_param",
    "persona_from_param",
    "persona_to_param",
    "write_owned",
]


def write_owned(params: Mapping[str, str], owns: Callable[[str], bool]) -> None:
    """Make the URL's parameters that `owns` names say `params`, leaving every other parameter as it is."""
    for name in [name for name in st.query_params if owns(name) and name not in params]:
        del st.query_params[name]
    for name, value in params.items():
        if st.query_params.get(name) != value:
            st.query_params[name] = value
