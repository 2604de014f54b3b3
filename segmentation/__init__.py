"""Segmentation: customer features, personas, persona profiles and the comparison of any two segments.

Nothing here imports streamlit. Every function takes an `Engine` (and `Filters`); results are frozen values.

>>> from segmentation import Personas, customer_features, persona_profiles  # doctest: +SKIP
>>> features = customer_features(engine)  # doctest: +SKIP
>>> model = Personas(k="auto", random_state=0).fit(features.matrix)  # doctest: +SKIP
>>> persona_profiles(engine, features.case_ids, model.labels_).names  # doctest: +SKIP
"""

from segmentation._compare import (
    ALPHA,
    CORRECTION,
    FAMILIES,
    SegmentComparison,
    compare_segments,
    percent_text,
    points_text,
    readable_kpis,
    seconds_text,
)
from segmentation._features import BLOCK_WEIGHTS, CustomerFeatures, customer_features
from segmentation._personas import ALGORITHMS, Personas
from segmentation._profiles import PersonaProfiles, attribute_segments, persona_profiles
from segmentation._projection import Projection, project_2d
from segmentation._segments import (
    PERSONA_PARAM,
    SEGMENT_KIND,
    SavedSegment,
    attribute_ranges,
    persona_from_param,
    persona_to_param,
    save_segment,
    saved_segment,
    saved_segments,
)

__all__ = [
    "ALGORITHMS",
    "ALPHA",
    "BLOCK_WEIGHTS",
    "CORRECTION",
    "FAMILIES",
    "PERSONA_PARAM",
    "SEGMENT_KIND",
    "CustomerFeatures",
    "PersonaProfiles",
    "Personas",
    "Projection",
    "SavedSegment",
    "SegmentComparison",
    "attribute_ranges",
    "attribute_segments",
    "compare_segments",
    "customer_features",
    "percent_text",
    "persona_from_param",
    "persona_profiles",
    "persona_to_param",
    "points_text",
    "project_2d",
    "readable_kpis",
    "save_segment",
    "saved_segment",
    "saved_segments",
    "seconds_text",
]
