"""What a URL carries: the filters (`data.params`) and the persona condition (`segmentation`), so that a copied link
reopens the same view. The codecs live in the library, where saved segments read them too."""

from __future__ import annotations

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
]
