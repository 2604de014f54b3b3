"""Discovery: journey maps, variants, paths, process models, stages, churn and channels over the engine.

Every function takes an `Engine` and a `Filters`, counts unique customers, and returns a frozen result with
`to_dict()`. Nothing here imports streamlit.

>>> from discovery import journey_map, map_to_dot  # doctest: +SKIP
>>> dot = map_to_dot(journey_map(engine, activity_coverage=0.8), metric="median")  # doctest: +SKIP
"""

from discovery._channels import ChannelSwitches, StageChannelMix, channel_mix_by_stage, channel_switches
from discovery._churn import (
    ActivityChurn,
    ChurnPoints,
    WhereTheyWent,
    churn_points,
    journey_outcomes,
    where_they_went,
    wilson_interval,
)
from discovery._customers import CustomerJourney, CustomersBehind, customer_journey, customers_behind
from discovery._definition import (
    ATTRIBUTE_ROLES,
    DEFINITION_FORMAT,
    OTHER_CHANNELS,
    SCORE_SCALES,
    AttributeRole,
    ChurnRule,
    JourneyDefinition,
    definition_in_force,
    definition_of,
    definition_warnings,
    duration_words,
    outcome_counts,
    outcome_relation,
    read_definition,
    save_definition,
    suggest_attribute_roles,
    suggest_channel_groups,
    suggest_definition,
    suggest_goal,
    suggest_inactivity_days,
    write_definition,
)
from discovery._dot import EDGE_ID_PREFIX, METRICS, NODE_ID_PREFIX, dot_quote, human_duration, map_to_dot
from discovery._funnel import Funnel, StageKPIs, funnel, stage_kpis
from discovery._maps import CHURN_POINT_LIFT, JourneyMap, journey_map, json_records, simplified_map
from discovery._models import ALGORITHMS, ProcessModel, discover_model, to_bpmn_xml, to_pnml
from discovery._paths import END_LABEL, OTHER_LABEL, START_LABEL, PathFlows, paths, paths_between
from discovery._relations import (
    CENSORED_MAJORITY,
    CHURNED_OUTCOMES,
    CONVERTED_OUTCOMES,
    OUTCOME_LABELS,
    OUTCOMES,
    Outcomes,
    stage_relation,
)
from discovery._stages import DEFAULT_STAGES, StageModel, StageReason, closest_names, suggest_stages
from discovery._variants import VariantTable, variant_cases, variant_table

__all__ = [
    "ALGORITHMS",
    "ATTRIBUTE_ROLES",
    "CENSORED_MAJORITY",
    "CHURNED_OUTCOMES",
    "CHURN_POINT_LIFT",
    "CONVERTED_OUTCOMES",
    "DEFAULT_STAGES",
    "DEFINITION_FORMAT",
    "EDGE_ID_PREFIX",
    "END_LABEL",
    "METRICS",
    "NODE_ID_PREFIX",
    "OTHER_CHANNELS",
    "OTHER_LABEL",
    "OUTCOMES",
    "OUTCOME_LABELS",
    "SCORE_SCALES",
    "START_LABEL",
    "ActivityChurn",
    "AttributeRole",
    "ChannelSwitches",
    "ChurnPoints",
    "ChurnRule",
    "CustomerJourney",
    "CustomersBehind",
    "Funnel",
    "JourneyDefinition",
    "JourneyMap",
    "Outcomes",
    "PathFlows",
    "ProcessModel",
    "StageChannelMix",
    "StageKPIs",
    "StageModel",
    "StageReason",
    "VariantTable",
    "WhereTheyWent",
    "channel_mix_by_stage",
    "channel_switches",
    "churn_points",
    "closest_names",
    "customer_journey",
    "customers_behind",
    "definition_in_force",
    "definition_of",
    "definition_warnings",
    "discover_model",
    "dot_quote",
    "duration_words",
    "funnel",
    "human_duration",
    "journey_map",
    "journey_outcomes",
    "json_records",
    "map_to_dot",
    "outcome_counts",
    "outcome_relation",
    "paths",
    "paths_between",
    "read_definition",
    "save_definition",
    "simplified_map",
    "stage_kpis",
    "stage_relation",
    "suggest_attribute_roles",
    "suggest_channel_groups",
    "suggest_definition",
    "suggest_goal",
    "suggest_inactivity_days",
    "suggest_stages",
    "to_bpmn_xml",
    "to_pnml",
    "variant_cases",
    "variant_table",
    "where_they_went",
    "wilson_interval",
    "write_definition",
]
