"""An exploration session: the library calls three pages make under ten filters, for Parcours and for pm4py.

What a user lives through after an import: the Journey map, the Variants page and the Stages page, each opened under
ten realistic filters (a channel, a period, an attribute, a persona-like pair of attributes, a path), each filter new
to the engine. `PAGES` are the calls each page makes when its caches are empty (`ui/journey.py`, `ui/variants.py`,
`ui/stages.py`) as each is opened: the Stages page computes its open tab only, the stage KPIs of its first (its
funnel, churn points and channels are computed when their tab is opened).
`pm4py_pages` is what pm4py does for the same pages in one process from the same Parquet: its filters, the DFG and
performance DFG, every variant, and a stage funnel by pandas (journeys that got at least as far as each stage, the
stages of the suggested journey definition). pm4py's time filter keeps a journey whose span meets the window,
Parcours' one with an event inside it: the closest pm4py has.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from data import Engine, Filters, FirstLook
    from discovery import JourneyDefinition

TOP_VARIANTS = 25  # the Variants page's default number of paths
PATH_COVERAGE = 0.8  # the Journey map page's default share of paths drawn
# The stages of the telecom demo's suggested journey definition, by index: what pm4py's stage funnel counts.
TELECOM_STAGES = ("discovery", "consideration", "purchase", "post-purchase", "loyalty")
TELECOM_STAGE_OF = {
    **dict.fromkeys(("ad_click", "visit_store", "visit_website"), 0),
    **dict.fromkeys(("ask_about_offers", "check_coverage", "compare_offers"), 1),
    "subscribe": 2,
    **dict.fromkeys(
        (
            "activate_sim", "billing_dispute", "billing_question", "cancel_subscription", "nps_survey",
            "onboarding_email", "port_out_number", "price_increase_notice", "receive_bill", "report_network_issue",
            "use_app", "welcome_email",
        ),
        3,
    ),
    **dict.fromkeys(("loyalty_offer", "refer_a_friend", "upgrade_plan"), 4),
}  # fmt: skip
# The ten filters: (name, conditions). Conditions name the demo's columns; "steps" is a path (a map's arrow).
SESSION_FILTERS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("channel store", {"channels": ["store"]}),
    ("web in March", {"channels": ["web"], "period": ("2025-03-01", "2025-04-01")}),
    ("summer", {"period": ("2025-06-01", "2025-09-01")}),
    ("plan 50GB", {"attributes": {"plan": ["Mobile 50GB"]}}),
    ("Île-de-France", {"attributes": {"region": ["Île-de-France"]}}),
    ("aged 25-34", {"attributes": {"age_band": ["25-34"]}}),
    ("young app users", {"channels": ["app"], "attributes": {"age_band": ["18-24", "25-34"]}}),
    ("compared then subscribed", {"steps": [("compare_offers", "subscribe")]}),
    ("billing dispute", {"activities": ["billing_dispute"]}),
    ("call center since February", {"channels": ["call center"], "period": ("2025-02-01", "2026-01-01")}),
)


def parcours_filters(conditions: dict[str, Any]) -> Filters:
    """Return the `Filters` of one session filter."""
    from data import Filters

    start, end = (pd.Timestamp(day, tz="UTC") for day in conditions.get("period", ("NaT", "NaT")))
    return Filters(
        start=None if pd.isna(start) else start,
        end=None if pd.isna(end) else end,
        channels=frozenset(conditions["channels"]) if "channels" in conditions else None,
        attributes=tuple((name, frozenset(values)) for name, values in conditions.get("attributes", {}).items()),
        with_activities=frozenset(conditions["activities"]) if "activities" in conditions else None,
        with_steps=frozenset(map(tuple, conditions["steps"])) if "steps" in conditions else None,
    )


def journey_map_page(engine: Engine, definition: JourneyDefinition, filters: Filters) -> object:
    """The Journey map page: headline counts, churn points, the full map with its lanes, the drawn map's DOT."""
    import discovery

    engine.summary(filters)
    churn = discovery.churn_points(engine, definition, filters)
    model = definition.stages
    full = discovery.journey_map(engine, filters, stage_of=model.stage_of, stages=model.stages, churn=churn.by_activity)
    drawn = discovery.simplified_map(engine, full, filters, path_coverage=PATH_COVERAGE)
    return discovery.map_to_dot(drawn)


def first_map_page(engine: Engine) -> object:
    """The Journey map page opened on a new log: the suggested journey definition its banner, lanes and churn points
    need (once per log), then the map it draws, every customer selected."""
    import discovery
    from data import Filters

    return journey_map_page(engine, discovery.suggest_definition(engine), Filters())


def draw_first_look(look: FirstLook) -> bytes:
    """An import's first look drawn as the Import page draws it while the import goes on (`ui.journey.show_first_look`):
    the paths of 80 % of the moves, laid out by Graphviz, then drawn as SVG."""
    import discovery

    drawn = discovery.first_look_map(look, path_coverage=PATH_COVERAGE)
    dot, _ = discovery.map_layout(discovery.map_to_dot(drawn, rankdir="TB"))
    return discovery.render_dot(dot)


def variants_page(engine: Engine, definition: JourneyDefinition, filters: Filters) -> object:
    """The Variants page: the top paths with outcomes, the first path's customers with theirs, the paths after the
    touchpoint most customers did."""
    import discovery

    engine.summary(filters)
    table = discovery.variant_table(engine, filters, limit=TOP_VARIANTS, definition=definition)
    if table.frame.empty:
        return table
    outcomes = discovery.journey_outcomes(engine, definition, filters)
    customers = discovery.variant_cases(engine, table.frame["variant_ids"].iloc[0], filters)
    customers["case_id"].map(outcomes)
    anchor = engine.activities().sort_values("cases", ascending=False)["activity"].iloc[0]
    return discovery.paths(engine, anchor, direction="after", steps=3, top=6, filters=filters)


def stages_page(engine: Engine, definition: JourneyDefinition, filters: Filters) -> object:
    """The Stages page, which computes its open tab only: the stage KPIs of the first one."""
    import discovery

    engine.summary(filters)
    return discovery.stage_kpis(engine, definition, filters)


PAGES: dict[str, Callable[[Engine, JourneyDefinition, Filters], object]] = {
    "journey map": journey_map_page,
    "variants": variants_page,
    "stages": stages_page,
}


def parcours_session(engine: Engine, definition: JourneyDefinition) -> None:
    """Open the three pages under each session filter, in turn (each filter new to the engine)."""
    model = definition.stages
    stage_of = {name: model.stages.index(stage) for name, stage in model.stage_of.items()}
    if model.stages != TELECOM_STAGES or stage_of != TELECOM_STAGE_OF:
        raise SystemExit("the suggested stages are not those pm4py's funnel counts: update TELECOM_STAGE_OF")
    for _name, conditions in SESSION_FILTERS:
        filters = parcours_filters(conditions)
        for page in PAGES.values():
            page(engine, definition, filters)


def pm4py_filtered(frame: pd.DataFrame, conditions: dict[str, Any], columns: dict[str, str]) -> pd.DataFrame:
    """Return the journeys of a pm4py-formatted frame that one session filter keeps, with pm4py's own filters."""
    import pm4py

    if "channels" in conditions:
        frame = pm4py.filter_event_attribute_values(frame, columns["channel"], conditions["channels"], level="case")
    for name, values in conditions.get("attributes", {}).items():
        frame = pm4py.filter_event_attribute_values(frame, name, values, level="case")
    if "activities" in conditions:
        frame = pm4py.filter_event_attribute_values(frame, "concept:name", conditions["activities"], level="case")
    if "steps" in conditions:
        frame = pm4py.filter_directly_follows_relation(frame, [tuple(step) for step in conditions["steps"]])
    if "period" in conditions:
        start, end = (pd.Timestamp(day, tz="UTC") for day in conditions["period"])
        frame = pm4py.filter_time_range(frame, start, end, mode="traces_intersecting")
    return frame


def pm4py_pages(frame: pd.DataFrame, stage_of: dict[str, int] = TELECOM_STAGE_OF) -> None:
    """The three pages by pm4py on a filtered frame: the map (DFG with counts and times), every variant, and how many
    journeys got at least as far as each stage (`stage_of` maps a touchpoint to its stage's index)."""
    import pm4py

    pm4py.discover_dfg(frame)
    pm4py.discover_performance_dfg(frame)
    pm4py.get_variants(frame)
    furthest = frame["concept:name"].map(stage_of).groupby(frame["case:concept:name"]).max()
    [(furthest >= stage).sum() for stage in range(max(stage_of.values()) + 1)]


def pm4py_session(frame: pd.DataFrame, columns: dict[str, str]) -> None:
    """The session by pm4py: the three pages under each session filter."""
    for _name, conditions in SESSION_FILTERS:
        pm4py_pages(pm4py_filtered(frame, conditions, columns))
