"""Segmentation: customer features, personas, persona profiles, saved persona runs and the comparison of any two
segments.

Nothing here imports streamlit. Every function takes an `Engine` (and `Filters`); results are frozen values.

>>> from segmentation import find_personas, persona_profiles  # doctest: +SKIP
>>> found = find_personas(engine, definition=definition, progress=print)  # doctest: +SKIP
>>> persona_profiles(engine, found.case_ids, found.labels, definition=definition).names  # doctest: +SKIP
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
from segmentation._personas import ALGORITHMS, MIN_STABILITY, SILHOUETTE_TOLERANCE, Personas, Progress
from segmentation._profiles import (
    TYPICAL_JOURNEY_SHARE,
    PersonaProfiles,
    attribute_segments,
    persona_profiles,
    readable_label,
)
from segmentation._projection import Projection, project_2d
from segmentation._report import REPORT_SECTIONS, report_comparison, report_personas, stored_report_inputs
from segmentation._runs import (
    PERSONA_PARAM,
    PERSONAS_KIND,
    FoundPersonas,
    PersonaRun,
    checked_names,
    find_personas,
    persona_from_param,
    persona_members,
    persona_options,
    persona_to_param,
    run_filters,
    save_run,
    saved_run,
    saved_runs,
)
from segmentation._segments import (
    SEGMENT_KIND,
    SavedSegment,
    attribute_ranges,
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
    "MIN_STABILITY",
    "PERSONAS_KIND",
    "PERSONA_PARAM",
    "REPORT_SECTIONS",
    "SEGMENT_KIND",
    "SILHOUETTE_TOLERANCE",
    "TYPICAL_JOURNEY_SHARE",
    "CustomerFeatures",
    "FoundPersonas",
    "PersonaProfiles",
    "PersonaRun",
    "Personas",
    "Progress",
    "Projection",
    "SavedSegment",
    "SegmentComparison",
    "attribute_ranges",
    "attribute_segments",
    "checked_names",
    "compare_segments",
    "customer_features",
    "find_personas",
    "percent_text",
    "persona_from_param",
    "persona_members",
    "persona_options",
    "persona_profiles",
    "persona_to_param",
    "points_text",
    "project_2d",
    "readable_kpis",
    "readable_label",
    "report_comparison",
    "report_personas",
    "run_filters",
    "save_run",
    "save_segment",
    "saved_run",
    "saved_runs",
    "saved_segment",
    "saved_segments",
    "seconds_text",
    "stored_report_inputs",
]
