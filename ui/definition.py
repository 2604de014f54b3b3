"""The journey definition page and the banner every figure page shows: ask the user, never guess silently.

The page walks through four choices — the goal, the stages, the churn rule, channel groups and attribute roles —
each with the library's suggestion and its reason, and shows live what the draft gives (conversion, churn, still
open) and where it looks wrong, before anything is saved. Saving adds a version that every page and CLI then
reads. `definition_banner` tells each figure page's reader which definition its numbers follow, and says so loudly
while nobody has confirmed the suggestion.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import replace
from numbers import Integral

import pandas as pd
import streamlit as st

from data import Filters, LogError, Problem
from data.store import JOURNEY_DEFINITION
from discovery import (
    ATTRIBUTE_ROLES,
    OTHER_CHANNELS,
    SCORE_SCALES,
    AttributeRole,
    ChurnRule,
    JourneyDefinition,
    Outcomes,
    StageModel,
    definition_warnings,
    outcome_counts,
    outcome_sentence,
)
from ui.downloads import current_stamp, show_table
from ui.errors import reported_errors
from ui.markup import EMPTY_CELL, plain
from ui.navigation import DEFINITION_PAGE
from ui.state import (
    BY_CONTENT_AND_DEFINITION,
    attribute_columns,
    channels,
    dataset_engine,
    definition_key,
    definition_version,
    journey_definition,
    save_journey_definition,
    store,
)
from ui.tables import PERCENT_STEP
from ui.workspace import allowed, restore_section

__all__ = [
    "DEFINITION_PAGE",
    "WINDOW_UNITS",
    "attribute_table",
    "channel_table",
    "definition_banner",
    "edited_attribute_roles",
    "edited_channel_groups",
    "edited_stage_model",
    "outcome_sentence",
    "show_definition_editor",
    "show_definition_file_loader",
    "show_history",
    "show_outcome_metrics",
    "stage_names_table",
    "touchpoint_table",
    "window_in_units",
]

WINDOW_UNITS = {"minutes": 1 / 1440, "hours": 1 / 24, "days": 1.0}
NO_ROLE_SCALE = "—"
GUESS_MARK = "⚠ "
ONCE_PER_CUSTOMER = "Once per customer"
_NO_GOAL_CHURN = (
    "{churned:,} journeys churned, but without a goal nobody converts, so every decided journey is a churn and a rate "
    "would read 100 %. Choose the goal on the Journey definition page."
)


# --- cached readers ---


@st.cache_data(show_spinner=False, max_entries=64)
def touchpoint_facts(dataset_id: str) -> pd.DataFrame:
    """Every touchpoint of the whole log: customers who did it, journeys it starts, and every journey of the log,
    most customers first."""
    with dataset_engine(dataset_id) as engine:
        counted = engine.query(
            """
            SELECT activity::VARCHAR AS activity, count(*) AS customers,
                   count(*) FILTER (WHERE first_pos = 0) AS starts, (SELECT count(*) FROM journeys) AS journeys
            FROM journey_activities GROUP BY activity
            """
        )
    return counted.sort_values(["customers", "activity"], ascending=[False, True], ignore_index=True)


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=BY_CONTENT_AND_DEFINITION)
def draft_outcomes(dataset_id: str, definition: JourneyDefinition) -> Outcomes:
    """How every journey of the log ends under a (draft) definition."""
    with dataset_engine(dataset_id) as engine:
        return outcome_counts(engine, definition)


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=BY_CONTENT_AND_DEFINITION)
def draft_warnings(dataset_id: str, definition: JourneyDefinition) -> tuple[str, ...]:
    """Where a (draft) definition looks wrong on this log, in words."""
    with dataset_engine(dataset_id) as engine:
        return definition_warnings(engine, definition, draft_outcomes(dataset_id, definition))


# --- pure builders ---


def stage_names_table(model: StageModel) -> pd.DataFrame:
    """Return the editable stage list: one row per stage, in order, with its order number."""
    return pd.DataFrame({"Stage": pd.Series(model.stages, dtype=object), "Order": range(1, len(model.stages) + 1)})


def edited_stage_names(model: StageModel, edited: pd.DataFrame) -> tuple[tuple[str, ...], dict[str, str]]:
    """Return the stages the editor now lists, by their order number, and the renames (old name → new name).

    A row keeps its index while it is edited, so a row of the original list whose name changed is a rename; a row
    deleted is a stage removed; a row added is a new stage.
    """
    rows = edited.assign(Stage=edited["Stage"].astype(object).map(lambda name: str(name or "").strip()))
    rows = rows[rows["Stage"] != ""]
    rows = rows.assign(Order=pd.to_numeric(rows["Order"], errors="coerce").fillna(len(rows) + 1))
    ordered = rows.sort_values("Order", kind="stable")
    renamed = {
        model.stages[index]: name
        for index, name in zip(ordered.index, ordered["Stage"], strict=True)
        if isinstance(index, Integral) and 0 <= index < len(model.stages) and model.stages[index] != name
    }
    return tuple(ordered["Stage"]), renamed


def touchpoint_table(model: StageModel, facts: pd.DataFrame) -> pd.DataFrame:
    """Return one editable row per touchpoint: its stage (None: none), customers, journeys it starts, and why."""
    rank = {stage: index for index, stage in enumerate(model.stages)}
    stage = facts["activity"].map(dict(model.stage_of))
    ordered = facts.assign(stage=stage, rank=stage.map(rank).fillna(len(rank))).sort_values(
        ["rank", "customers", "activity"], ascending=[True, False, True], kind="stable"
    )
    reasons = [model.reasons.get(activity) for activity in ordered["activity"]]
    return pd.DataFrame(
        {
            "Touchpoint": ordered["activity"].to_numpy(dtype=object),
            # object, not text: a touchpoint in no stage must read as None, the editor's blank choice.
            "Stage": pd.Series(
                ordered["stage"].astype(object).where(ordered["stage"].notna(), None).tolist(), dtype=object
            ),
            "Customers": ordered["customers"].to_numpy(),
            "Starts journeys": (ordered["starts"] / ordered["journeys"]).to_numpy(),
            "Why": [
                ("" if reason is None else GUESS_MARK if reason.is_guess else "") + model.why(activity)
                for activity, reason in zip(ordered["activity"], reasons, strict=True)
            ],
        }
    )


def edited_stage_model(
    model: StageModel, stages: tuple[str, ...], renamed: dict[str, str], edited: pd.DataFrame
) -> StageModel:
    """Return the model with the edited stage list, then each touchpoint in the stage chosen in the editor.

    Only the touchpoints whose stage changed are overridden, so the others keep the reason they were suggested.
    """
    renamed_model = model.with_stages(stages, renamed)
    # A blank cell comes back as None or NaN: both mean "in no stage".
    chosen = [
        renamed.get(stage, stage) if isinstance(stage, str) and renamed.get(stage, stage) in stages else None
        for stage in edited["Stage"]
    ]
    current = renamed_model.stage_of
    return renamed_model.with_overrides(
        {
            touchpoint: stage
            for touchpoint, stage in zip(edited["Touchpoint"], chosen, strict=True)
            if current.get(touchpoint) != stage
        }
    )


def channel_table(definition: JourneyDefinition, channel_names: list[str]) -> pd.DataFrame:
    """Return one editable row per channel of the log: its group and why it was suggested."""
    return pd.DataFrame(
        {
            "Channel": pd.Series(channel_names, dtype=object),
            "Group": pd.Series([definition.channel_group(name) for name in channel_names], dtype=object),
            "Why": [definition.why(f"channel:{name}") for name in channel_names],
        }
    )


def edited_channel_groups(edited: pd.DataFrame) -> dict[str, str]:
    """Return each channel's group as edited; a blank group or "other" leaves the channel in "other"."""
    groups = edited["Group"].astype(object).map(lambda group: str(group or "").strip())
    return {
        channel: group
        for channel, group in zip(edited["Channel"], groups, strict=True)
        if group and group != OTHER_CHANNELS
    }


def attribute_table(definition: JourneyDefinition, attribute_types: dict[str, str]) -> pd.DataFrame:
    """Return one editable row per attribute: role, scale, the lowest satisfied answer, whether it is counted once per
    customer, and why."""
    roles = {name: definition.role_of(name, kind) for name, kind in attribute_types.items()}
    return pd.DataFrame(
        {
            "Attribute": pd.Series(list(roles), dtype=object),
            "Role": pd.Series([role.role for role in roles.values()], dtype=object),
            "Scale": pd.Series([role.scale or NO_ROLE_SCALE for role in roles.values()], dtype=object),
            "Satisfied from": [
                math.nan if role.satisfied_from is None else role.satisfied_from for role in roles.values()
            ],
            ONCE_PER_CUSTOMER: [role.per_customer for role in roles.values()],
            "Why": [definition.why(f"attribute:{name}") for name in roles],
        }
    )


def edited_attribute_roles(edited: pd.DataFrame) -> dict[str, AttributeRole]:
    """Return each attribute's role as edited; LogError lists every role that does not hold together."""
    roles, problems = {}, []
    for name, role, scale, satisfied, per_customer in zip(
        edited["Attribute"],
        edited["Role"],
        edited["Scale"],
        edited["Satisfied from"],
        edited[ONCE_PER_CUSTOMER],
        strict=True,
    ):
        scale = None if role != "score" or scale in (None, NO_ROLE_SCALE) else scale
        satisfied = None if scale != "csat" or satisfied is None or pd.isna(satisfied) else float(satisfied)
        try:
            chosen = AttributeRole(role, scale, satisfied)
            # Ticked under a role that sums nothing up (an identifier, a category), the box says nothing.
            roles[name] = replace(chosen, per_customer=bool(per_customer) and chosen.is_summed)
        except LogError as error:
            problems += [replace(problem, column=name) for problem in error.problems]
    if problems:
        raise LogError(problems)
    return roles


def window_in_units(days: float | None) -> tuple[float | None, str]:
    """Return an inactivity window as a number in the largest unit that keeps it whole-ish, and that unit."""
    if days is None:
        return None, "days"
    for unit, size in (("days", 1.0), ("hours", 1 / 24), ("minutes", 1 / 1440)):
        if days >= size:
            return round(days / size, 4), unit
    return round(days * 1440, 4), "minutes"


# --- page sections ---


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=BY_CONTENT_AND_DEFINITION)
def _selected_outcomes(dataset_id: str, filters: Filters, definition: JourneyDefinition) -> Outcomes:
    with dataset_engine(dataset_id) as engine:
        return outcome_counts(engine, definition, filters)


def show_outcome_metrics(dataset_id: str, filters: Filters, definition: JourneyDefinition) -> None:
    """Show the selected journeys' conversion, churn and still-open counts as the definition defines them."""
    with reported_errors():
        outcomes = _selected_outcomes(dataset_id, filters, definition)
    columns = st.columns(3)
    if outcomes.has_goal:
        columns[0].metric(
            "Converted (of every journey)",
            f"{outcomes.conversion_rate:.1%}",
            help=f"{outcomes.converted_total:,} of {outcomes.journeys:,} journeys did a goal touchpoint.",
        )
    else:
        columns[0].metric("Converted", "no goal", help="Choose the goal on the Journey definition page.")
    if not outcomes.has_goal:
        churn, why = "no goal", _NO_GOAL_CHURN.format(churned=outcomes.churned_total)
    elif outcomes.churn_estimable:
        churn, why = (
            f"{outcomes.churn_rate:.1%}",
            f"{outcomes.churned_total:,} of {outcomes.decided:,} decided journeys churned.",
        )
    else:
        churn, why = "not yet", "More than half the journeys are still open: churn cannot be estimated yet."
    columns[1].metric("Churned (of decided journeys)", churn, help=why)
    columns[2].metric(
        "Still open (censored)",
        f"{outcomes.censored:,}",
        help="Journeys that neither converted nor churned yet: left out of the churn rate.",
    )


def definition_banner(dataset_id: str) -> JourneyDefinition:
    """Say which journey definition the page's figures follow (loudly while unconfirmed) and where it looks wrong;
    return it."""
    definition = journey_definition(dataset_id)
    version = definition_version(dataset_id)
    goal = ", ".join(definition.goal) or "none chosen"
    if version is None:
        st.warning(
            f"These figures follow a **suggested** journey definition that nobody has confirmed yet (goal: "
            f"{plain(goal)}). Check the goal, the stages and the churn rule, then save them.",
            icon=":material/rule:",
        )
        st.page_link(DEFINITION_PAGE, label="Confirm the journey definition", icon=":material/fact_check:")
    else:
        st.caption(f"Journey definition version {version} (goal: {plain(goal)}).")
    with reported_errors():
        warnings = draft_warnings(dataset_id, definition)
    if warnings:
        with st.expander(f"{len(warnings)} thing(s) in this definition look wrong", icon=":material/warning:"):
            for warning in warnings:
                st.markdown(f"- {plain(warning)}")
    return definition


def _base_definition(dataset_id: str) -> JourneyDefinition:
    """The definition the editor starts from: an uploaded file when one was loaded, else the one in force."""
    uploaded = st.session_state.get(f"definition-file-{dataset_id}")
    return uploaded if isinstance(uploaded, JourneyDefinition) else journey_definition(dataset_id)


def _goal_step(key: str, base: JourneyDefinition, facts: pd.DataFrame) -> tuple[str, ...]:
    st.subheader("1. The goal: what counts as conversion")
    reach = dict(zip(facts["activity"], facts["customers"] / facts["journeys"], strict=True))
    goal = st.multiselect(
        "Goal touchpoints",
        facts["activity"].tolist(),
        default=[name for name in base.goal if name in reach],
        key=f"goal-{key}",
        format_func=lambda name: f"{name} · {reach[name]:.0%} of customers",
        help="A journey with one of these has converted (a purchase, a subscription, a booking …). Never guessed "
        "from where a touchpoint comes: choose it.",
    )
    if base.why("goal"):
        st.caption(f"Suggested because {plain(base.why('goal'))}.")
    return tuple(goal)


def _stages_step(key: str, base: JourneyDefinition, facts: pd.DataFrame) -> StageModel:
    st.subheader("2. The stages")
    st.caption(
        "Add, rename, remove and reorder the stages (the order number decides), then put each touchpoint in a stage. "
        "A stage with no touchpoint is reached by nobody. Lines marked ⚠ were guessed: check them."
    )
    names = st.data_editor(
        stage_names_table(base.stages),
        key=f"stage-names-{key}",
        num_rows="dynamic",
        hide_index=True,
        placeholder=EMPTY_CELL,
        column_config={
            "Stage": st.column_config.TextColumn("Stage", required=True),
            "Order": st.column_config.NumberColumn("Order", min_value=1, step=1, required=True),
        },
    )
    stages, renamed = edited_stage_names(base.stages, names)
    if not stages:
        st.error("Keep at least one stage.")
        st.stop()
    edited = st.data_editor(
        touchpoint_table(base.stages, facts),
        key=f"stage-mapping-{key}",
        hide_index=True,
        placeholder=EMPTY_CELL,
        width="stretch",
        disabled=("Touchpoint", "Customers", "Starts journeys", "Why"),
        column_config={
            "Stage": st.column_config.SelectboxColumn(
                "Stage", options=list(stages), required=False, help="Blank: the touchpoint is in no stage."
            ),
            "Customers": st.column_config.NumberColumn(
                "Customers", format="localized", help="Customers who did it, whole log."
            ),
            "Starts journeys": st.column_config.NumberColumn(
                "Starts journeys", format="percent", step=PERCENT_STEP, help="Share of journeys whose first step it is."
            ),
        },
    )
    with reported_errors():
        return edited_stage_model(base.stages, stages, renamed, edited)


def _churn_step(key: str, base: JourneyDefinition, facts: pd.DataFrame, goal: tuple[str, ...]) -> ChurnRule:
    st.subheader("3. Churn: when a customer is gone")
    touchpoints = [name for name in facts["activity"] if name not in goal]
    chosen = st.multiselect(
        "Churn touchpoints",
        touchpoints,
        default=[name for name in base.churn.touchpoints if name in touchpoints],
        key=f"churn-touchpoints-{key}",
        help="A journey that does one of these (after its last goal step, if any) has churned: a cancellation, an "
        "unsubscribe, a number ported out.",
    )
    if base.why("churn.touchpoints"):
        st.caption(f"Suggested because {plain(base.why('churn.touchpoints'))}.")
    amount, unit = window_in_units(base.churn.inactivity_days)
    silence, unit_column = st.columns([2, 1])
    value = silence.number_input(
        "Silence that counts as churn",
        min_value=0.0,
        value=amount,
        step=1.0,
        format="%g",
        placeholder="no silence rule",
        key=f"churn-window-{key}",
        help="A journey that has not converted and stays silent this long before the log's end has churned; one "
        "silent for less is still open (censored). Empty or 0: no silence rule.",
    )
    chosen_unit = unit_column.selectbox(
        "Unit", list(WINDOW_UNITS), index=list(WINDOW_UNITS).index(unit), key=f"churn-unit-{key}"
    )
    if base.why("churn.inactivity_days"):
        st.caption(f"Suggested because {plain(base.why('churn.inactivity_days'))}.")
    days = None if not value else value * WINDOW_UNITS[chosen_unit]
    with reported_errors():
        return ChurnRule(tuple(chosen), days)


def _groups_and_roles_step(dataset_id: str, key: str, base: JourneyDefinition) -> tuple[dict, dict]:
    st.subheader("4. Channel groups and attribute roles")
    channel_names = channels(dataset_id)
    groups = {}
    if channel_names:
        st.caption(
            "Group channels as your team talks about them (online, offline, or any name); a blank group is 'other'."
        )
        edited = st.data_editor(
            channel_table(base, channel_names),
            key=f"channel-groups-{key}",
            hide_index=True,
            placeholder=EMPTY_CELL,
            width="stretch",
            disabled=("Channel", "Why"),
        )
        groups = edited_channel_groups(edited)
    else:
        st.caption("This log has no channel column.")
    attribute_types = attribute_columns(dataset_id)
    roles = {}
    if attribute_types:
        st.caption(
            "Say what each attribute is, so stage and persona figures sum it up rightly: an identifier is never "
            "averaged, an amount is summed, NPS is % promoters − % detractors, CSAT the share satisfied; a value that "
            "is the customer's own, repeated on each of their events, counts once per customer."
        )
        edited = st.data_editor(
            attribute_table(base, attribute_types),
            key=f"attribute-roles-{key}",
            hide_index=True,
            placeholder=EMPTY_CELL,
            width="stretch",
            disabled=("Attribute", "Why"),
            column_config={
                "Role": st.column_config.SelectboxColumn("Role", options=list(ATTRIBUTE_ROLES), required=True),
                "Scale": st.column_config.SelectboxColumn("Scale", options=[NO_ROLE_SCALE, *SCORE_SCALES]),
                "Satisfied from": st.column_config.NumberColumn(
                    "Satisfied from", help="CSAT only: the lowest answer that counts as satisfied (e.g. 4 on 1–5)."
                ),
                ONCE_PER_CUSTOMER: st.column_config.CheckboxColumn(
                    ONCE_PER_CUSTOMER,
                    help="The customer's own value, repeated on each of their events (an XES case attribute): "
                    "summed and averaged once per customer, not once per event.",
                ),
            },
        )
        with reported_errors():
            roles = edited_attribute_roles(edited)
    return groups, roles


def show_definition_editor(dataset_id: str) -> None:
    """The walk-through: four choices with suggestions and reasons, the draft's figures and warnings, Save."""
    base = _base_definition(dataset_id)
    # Widget keys carry the content they start from, so after a save or a loaded file they start again from it.
    key = f"{dataset_id}-{hashlib.sha256(definition_key(base).encode()).hexdigest()[:12]}"
    facts = touchpoint_facts(dataset_id)
    goal = _goal_step(key, base, facts)
    model = _stages_step(key, base, facts)
    churn = _churn_step(key, base, facts, goal)
    groups, roles = _groups_and_roles_step(dataset_id, key, base)
    with reported_errors():
        draft = JourneyDefinition(goal, model, churn, groups, roles, base.reasons)
        outcomes = draft_outcomes(dataset_id, draft)
        warnings = draft_warnings(dataset_id, draft)

    st.subheader("What this definition gives")
    st.info(outcome_sentence(outcomes), icon=":material/insights:")
    for warning in warnings:
        st.warning(plain(warning), icon=":material/warning:")
    version = definition_version(dataset_id)
    save_column, download_column = st.columns(2)
    with save_column:
        can_save = allowed("editor", "save a journey definition")
    if can_save and save_column.button(
        f"Save as version {(version or 0) + 1}", type="primary", icon=":material/save:", key=f"save-{key}"
    ):
        with reported_errors():
            saved = save_journey_definition(dataset_id, draft)
        st.session_state.pop(f"definition-file-{dataset_id}", None)
        st.toast(f"Saved version {saved}: every page of this log now uses it.", icon=":material/check:")
        st.rerun()
    download_column.download_button(
        "Download as JSON",
        data=json.dumps(draft.to_dict(), indent=2, ensure_ascii=False),
        file_name=current_stamp().file_name("journey-definition", "json"),
        mime="application/json",
        icon=":material/download:",
        key=f"download-definition-{dataset_id}",
        on_click="ignore",
    )


def show_definition_file_loader(dataset_id: str) -> None:
    """Load a definition file (JSON) into the editor, to review before saving it."""
    uploaded = st.file_uploader("Load a definition file (JSON)", type=["json"], key=f"definition-upload-{dataset_id}")
    if uploaded is None:
        return
    with reported_errors():
        try:
            values = json.loads(uploaded.getvalue().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise LogError(Problem(f"This is not JSON: {error}.", file=uploaded.name)) from None
        loaded = JourneyDefinition.from_dict(values, source=uploaded.name)
    key = f"definition-file-{dataset_id}"
    if st.session_state.get(key) != loaded:
        st.session_state[key] = loaded
        st.rerun()  # the editor above was drawn from the previous definition


def show_history(dataset_id: str) -> None:
    """List the saved versions of the definition (who saved each, and when), and offer to restore an earlier one."""
    history = store().definition_history(dataset_id)
    if not history:
        st.caption("No version saved yet: the figures follow the suggestion.")
        return
    show_table(
        pd.DataFrame(
            {
                "Version": [saved.version for saved in history],
                "Saved by": [saved.author for saved in history],
                "Saved at (UTC)": [saved.saved_at.replace(tzinfo=None) for saved in history],
                "Goal": [", ".join(saved.payload.get("goal", [])) for saved in history],
            }
        ),
        "definition-history",
    )
    restore_section(
        f"definition-{dataset_id}",
        [saved.version for saved in history],
        lambda version: store().restore_document(dataset_id, JOURNEY_DEFINITION, "", version),
    )
