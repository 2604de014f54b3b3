"""Segmentation: customer features, personas, persona profiles and the comparison of any two segments.

Nothing here imports streamlit. Every function takes an `Engine` (and `Filters`); results are frozen values.

>>> from segmentation import Personas, customer_features, persona_profiles  # doctest: +SKIP
>>> features = customer_features(engine)  # doctest: +SKIP
>>> model = Personas(k="auto", random_state=0).fit(features.matrix)  # doctest: +SKIP
>>> persona_profiles(engine, features.case_ids, model.labels_).names  # doctest: +SKIP
"""

from segmentation._compare import ALPHA, SegmentComparison, compare_segments
from segmentation._features import BLOCK_WEIGHTS, CustomerFeatures, customer_features
from segmentation._personas import ALGORITHMS, Personas
from segmentation._profiles import PersonaProfiles, attribute_segments, persona_profiles
from segmentation._projection import Projection, project_2d

__all__ = [
    "ALGORITHMS",
    "ALPHA",
    "BLOCK_WEIGHTS",
    "CustomerFeatures",
    "PersonaProfiles",
    "Personas",
    "Projection",
    "SegmentComparison",
    "attribute_segments",
    "compare_segments",
    "customer_features",
    "persona_profiles",
    "project_2d",
]
