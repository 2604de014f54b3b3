"""Discovery: journey maps, variants, paths, process models, stages, churn and channels over the engine.

Every function takes an `Engine` and a `Filters`, counts unique customers, and returns a frozen result with
`to_dict()`. Nothing here imports streamlit.

>>> from discovery import journey_map, map_to_dot  # doctest: +SKIP
>>> dot = map_to_dot(journey_map(engine, activity_coverage=0.8), metric="median")  # doctest: +SKIP
"""

# --- maps & variants ---
from discovery._dot import METRICS, dot_quote, human_duration, map_to_dot
from discovery._maps import CHURN_POINT_LIFT, JourneyMap, journey_map, simplified_map
from discovery._models import ALGORITHMS, ProcessModel, discover_model, to_bpmn_xml, to_pnml
from discovery._paths import END_LABEL, OTHER_LABEL, START_LABEL, PathFlows, paths, paths_between
from discovery._variants import OUTCOMES, VariantTable, variant_cases, variant_table

__all__ = [
    "ALGORITHMS",
    "CHURN_POINT_LIFT",
    "END_LABEL",
    "METRICS",
    "OTHER_LABEL",
    "OUTCOMES",
    "START_LABEL",
    "JourneyMap",
    "PathFlows",
    "ProcessModel",
    "VariantTable",
    "discover_model",
    "dot_quote",
    "human_duration",
    "journey_map",
    "map_to_dot",
    "paths",
    "paths_between",
    "simplified_map",
    "to_bpmn_xml",
    "to_pnml",
    "variant_cases",
    "variant_table",
]

# --- stages, churn & channels ---
from discovery._channels import (
    OFFLINE_CHANNELS,
    ONLINE_CHANNELS,
    ChannelSwitches,
    StageChannelMix,
    channel_mix_by_stage,
    channel_switches,
)
from discovery._churn import (
    ActivityChurn,
    ChurnDefinition,
    ChurnPoints,
    WhereTheyWent,
    churn_points,
    journey_outcomes,
    where_they_went,
)
from discovery._funnel import Funnel, StageKPIs, funnel, stage_kpis
from discovery._stages import CHURN_KEYWORDS, DEFAULT_STAGES, STAGE_KEYWORDS, StageModel, StageReason, suggest_stages

__all__ += [
    "CHURN_KEYWORDS",
    "DEFAULT_STAGES",
    "OFFLINE_CHANNELS",
    "ONLINE_CHANNELS",
    "STAGE_KEYWORDS",
    "ActivityChurn",
    "ChannelSwitches",
    "ChurnDefinition",
    "ChurnPoints",
    "Funnel",
    "StageChannelMix",
    "StageKPIs",
    "StageModel",
    "StageReason",
    "WhereTheyWent",
    "channel_mix_by_stage",
    "channel_switches",
    "churn_points",
    "funnel",
    "journey_outcomes",
    "stage_kpis",
    "suggest_stages",
    "where_they_went",
]
