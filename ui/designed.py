"""The Designed vs actual page's widgets: the designed journey edited as a table, saved as versions, and the
journeys measured against it (`discovery.conformance`), with the customers behind every figure.

The design being edited lives in the session until it is saved; the saved versions are the Store's
("designed_journey" documents), so a save shows at once to every teammate and the history keeps the old ones, with
what each changed; an editor restores one as a new version, and every member comments on the design and its steps.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from data import Filters, LogError, Problem
from discovery import (
    STEP_CHECKS,
    Conformance,
    DesignedJourney,
    DesignedVersion,
    JourneyDefinition,
    conformance,
    conformance_by,
    conformance_customers,
    conformance_overlay,
    designed_from_bpmn,
    designed_from_main_path,
    designed_from_table,
    designed_history,
    designed_of,
    designed_to_bpmn_xml,
    map_layout,
    map_to_dot,
    restore_designed,
    save_designed,
)
from segmentation import PersonaRun
from ui import journey
from ui.customers import customers_table
from ui.downloads import current_stamp, show_table
from ui.errors import show_error
from ui.graph_view import show_graph
from ui.markup import EMPTY_CELL, plain, plotly_text
from ui.personas import found_run, saved_runs, selection_filters
from ui.state import BY_CONTENT_AND_DEFINITION, dataset_engine, store
from ui.tables import count_column, percent_column
from ui.workspace import allowed, comments_panel, restore_section

__all__ = [
    "BREAKDOWNS",
    "breakdown_figure",
    "conformance_broken_down",
    "conformance_of",
    "design_comments",
    "design_editor",
    "figure_choices",
    "history_table",
    "persona_assignment",
    "show_breakdown",
    "show_customers_of",
    "show_overlay",
    "show_results",
    "steps_table",
    "touchpoint_names",
    "working_design",
]

BREAKDOWNS = ("month", "persona", "attribute")
_BREAKDOWN_LABELS = {"month": "Month of journey start", "persona": "Persona (saved run)", "attribute": "Attribute"}
_CHECK_LABELS = {
    "did": "Did it",
    "skipped": "Skipped it",
    "out_of_order": "Out of order",
    "other_channel": "Other channel",
    "repeated": "Repeated it",
}
_BY_DESIGN = {DesignedJourney: lambda designed: json.dumps(designed.to_dict(), sort_keys=True)}


def _session_key(dataset_id: str, part: str) -> str:
    return f"designed-{part}-{dataset_id}"


@st.cache_data(show_spinner="Measuring the journeys against the design…", max_entries=32, hash_funcs={
    **BY_CONTENT_AND_DEFINITION,
    **_BY_DESIGN,
})  # fmt: skip
def conformance_of(
    dataset_id: str,
    filters: Filters,
    definition: JourneyDefinition,
    designed: DesignedJourney,
) -> Conformance:
    """The selected journeys measured against `designed` (see `discovery.conformance`)."""
    with dataset_engine(dataset_id) as engine:
        return conformance(engine, definition, designed, filters)


def conformance_broken_down(
    dataset_id: str, filters: Filters, definition: JourneyDefinition, designed: DesignedJourney, by: str | pd.Series
) -> Conformance:
    """The cached result broken down `by`: one more GROUP BY (not cached: it is fast, and `by` may be a persona
    assignment of every customer)."""
    result = conformance_of(dataset_id, filters, definition, designed)
    with dataset_engine(dataset_id) as engine:
        return conformance_by(engine, result, by)


@st.cache_data(show_spinner="Reading the main path…", max_entries=16, hash_funcs=BY_CONTENT_AND_DEFINITION)
def main_path_draft(dataset_id: str, filters: Filters, definition: JourneyDefinition) -> DesignedJourney:
    with dataset_engine(dataset_id) as engine:
        return designed_from_main_path(engine, definition, filters)


@st.cache_data(show_spinner=False, max_entries=64)
def touchpoint_names(dataset_id: str) -> list[str]:
    """Every touchpoint of the log, the most frequent first, for the editor's choices."""
    with dataset_engine(dataset_id) as engine:
        return list(engine.activity_names)


# --- the design ---


def working_design(dataset_id: str, filters: Filters, definition: JourneyDefinition) -> DesignedJourney:
    """The design being edited: the one last loaded into the editor, else the saved one, else the main path."""
    key = _session_key(dataset_id, "base")
    if key not in st.session_state:
        saved, _ = designed_of(store(), dataset_id)
        _load(dataset_id, saved if saved is not None else main_path_draft(dataset_id, filters, definition))
    return DesignedJourney.from_dict(st.session_state[key])


def _load(dataset_id: str, designed: DesignedJourney) -> None:
    """Put `designed` in the editor, replacing what was being edited."""
    st.session_state[_session_key(dataset_id, "base")] = designed.to_dict()
    generation = _session_key(dataset_id, "generation")
    st.session_state[generation] = st.session_state.get(generation, 0) + 1


def _read_upload(upload, definition: JourneyDefinition) -> DesignedJourney:
    data = upload.getvalue()
    if upload.name.lower().endswith(".bpmn") or data.lstrip().startswith(b"<"):
        return designed_from_bpmn(data, definition, source=upload.name)
    try:
        values = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise LogError(Problem(f"The file is neither JSON nor BPMN: {error}.", file=upload.name)) from None
    return DesignedJourney.from_dict(values, source=upload.name)


def history_table(versions: list[DesignedVersion]) -> pd.DataFrame:
    """The saved versions of a design (newest first): who saved each when, and what it changed."""
    return pd.DataFrame(
        {
            "Version": [one.version for one in versions],
            "Saved (UTC)": [one.saved_at.strftime("%Y-%m-%d %H:%M") for one in versions],
            "By": [one.author for one in versions],
            "Name": [one.designed.name for one in versions],
            "Touchpoints": [len(one.designed.path) for one in versions],
            "What changed": ["; ".join(one.changes) for one in versions],
        }
    )


def _restored(dataset_id: str, version: int) -> int:
    """Restore `version` as a new version and put it in the editor; return the new version's number."""
    saved = restore_designed(store(), dataset_id, version)
    _load(dataset_id, designed_of(store(), dataset_id, saved)[0])
    return saved


def design_editor(
    dataset_id: str, filters: Filters, definition: JourneyDefinition, touchpoints: list[str], channels: list[str]
) -> DesignedJourney | None:
    """Edit the design as a table (start it from the main path or a file), save it as a new version, export it.

    Returns the edited design, or None (with what to fix) while the table does not make one.
    """
    base = working_design(dataset_id, filters, definition)
    start, upload_column = st.columns([1, 2], vertical_alignment="bottom")
    if start.button("Start from the main path", icon=":material/route:", help="The most common journey, as a draft"):
        _load(dataset_id, main_path_draft(dataset_id, filters, definition))
        st.rerun()
    upload = upload_column.file_uploader(
        "Or import a designed journey (JSON, or BPMN 2.0)",
        type=["json", "bpmn", "xml"],
        key=_session_key(dataset_id, "upload"),
        help="A JSON file exported here, or a BPMN diagram whose tasks are named after touchpoints.",
    )
    if upload is not None and st.session_state.get(_session_key(dataset_id, "uploaded")) != upload.file_id:
        st.session_state[_session_key(dataset_id, "uploaded")] = upload.file_id
        _load(dataset_id, _read_upload(upload, definition))
        st.rerun()
    generation = st.session_state.get(_session_key(dataset_id, "generation"), 0)
    name = st.text_input("Name of the design", base.name, key=_session_key(dataset_id, f"name-{generation}"))
    edited = st.data_editor(
        base.to_table(),
        key=_session_key(dataset_id, f"editor-{generation}"),
        num_rows="dynamic",
        hide_index=True,
        placeholder=EMPTY_CELL,
        width="stretch",
        column_config={
            "stage": st.column_config.TextColumn("Stage", required=True, help="Stages run in the order they appear"),
            "touchpoint": st.column_config.SelectboxColumn("Touchpoint", options=touchpoints, required=True),
            "required": st.column_config.CheckboxColumn("Required", default=True, help="Off: optional"),
            "order": st.column_config.NumberColumn(
                "Order", min_value=1, step=1, default=1, help="1 first, within the stage"
            ),
            "channel": st.column_config.SelectboxColumn(
                "Expected channel", options=channels, help="A channel or a channel group; empty: any channel"
            ),
            "target_days": st.column_config.NumberColumn(
                "Target (days)", min_value=0.0, help="Days from the journey's start to reach the stage; once a stage"
            ),
        },
    )
    try:
        designed = designed_from_table(edited, name=name or base.name, notes=base.notes)
    except LogError as error:
        show_error(error, file_stem="designed-journey-problems")
        return None
    with st.container(horizontal=True):
        if allowed("editor", "save a designed journey") and st.button(
            "Save as a new version", icon=":material/save:", type="primary"
        ):
            version = save_designed(store(), dataset_id, designed)
            _load(dataset_id, designed)
            st.toast(f"Saved as version {version}.")
        stamp = current_stamp()
        st.download_button(
            "JSON",
            json.dumps(designed.to_dict(), indent=2, ensure_ascii=False),
            stamp.file_name("designed-journey", "json"),
            "application/json",
            icon=":material/download:",
            on_click="ignore",
        )
        st.download_button(
            "BPMN",
            designed_to_bpmn_xml(designed),
            stamp.file_name("designed-journey", "bpmn"),
            "application/xml",
            icon=":material/download:",
            on_click="ignore",
        )
    with st.expander("Saved versions: who changed what, and when"):
        versions = designed_history(store(), dataset_id)
        if not versions:
            st.caption("No version saved yet: this design is a draft until you save it.")
        else:
            show_table(history_table(versions), "designed-journey-versions")
            numbers = [one.version for one in versions]
            version = st.selectbox("Open version", numbers, key=_session_key(dataset_id, "version"))
            if st.button("Open this version", icon=":material/history:", help="In the editor, without saving it"):
                _load(dataset_id, designed_of(store(), dataset_id, int(version))[0])
                st.rerun()
            restore_section(f"designed-{dataset_id}", numbers, lambda picked: _restored(dataset_id, picked))
    return designed


def design_comments(dataset_id: str, designed: DesignedJourney) -> None:
    """Comments on the design as a whole and on each designed step (a touchpoint of its path)."""
    whole = "The designed journey as a whole"
    with st.expander("Comments on the design and its steps"):
        subject = st.selectbox(
            "Comment on", [whole, *(touchpoint.name for touchpoint in designed.path)], key="comment-designed"
        )
        if subject == whole:
            comments_panel(dataset_id, "designed_journey", "")
        else:
            comments_panel(dataset_id, "designed_step", subject)


# --- the results ---


def _percent(share: float) -> str:
    return "–" if pd.isna(share) else f"{share:.0%}"


def steps_table(result: Conformance) -> pd.DataFrame:
    """Per designed touchpoint, in designed order, the customers of each check."""
    steps = result.steps
    return pd.DataFrame(
        {
            "Stage": steps["stage"],
            "Touchpoint": steps["touchpoint"],
            "Required": steps["required"].map({True: "required", False: "optional"}),
            "Expected channel": steps["channel"].fillna("any"),
            **{_CHECK_LABELS[check]: steps[check] for check in ("did", *STEP_CHECKS)},
        }
    )


def _stage_table(result: Conformance) -> pd.DataFrame:
    times = result.stage_times
    return pd.DataFrame(
        {
            "Stage": times["stage"],
            "Target (days)": times["target_days"],
            "Did a step of it": times["reached"],
            "Median days to its first step": times["median_days"].round(2),
            "Within target": times["within_target"],
            "Share within target": times["share_within_target"],
        }
    )


def show_results(result: Conformance) -> None:
    """The headline, the steps, the unexpected touchpoints and loops, and the time against target per stage."""
    follows, keeps, checked = result.follows, result.keeps_to_steps, result.checked
    first, second = st.columns(3), st.columns(3)
    first[0].metric(
        "Follow the designed journey",
        _percent(result.share_follows),
        help="Unique customers whose whole journey fits the design: nothing skipped, repeated or added",
    )
    first[1].metric("Customers who follow it", f"{follows:,} of {checked:,}")
    first[2].metric("Mean fitness", f"{result.mean_fitness:.2f}", help="1: as designed; weighted by customers")
    second[0].metric(
        "Kept to the designed steps",
        _percent(result.share_keeps_to_steps),
        help="Did the designed steps as designed, whatever else they did around them (touchpoints not in the design)",
    )
    second[1].metric("Customers who kept to them", f"{keeps:,} of {checked:,}")
    st.caption(f"Fitness by {plain(result.method)}: {plain(result.why)}")
    st.subheader("Each designed step")
    counts = ("Did it", "Skipped it", "Out of order", "Other channel", "Repeated it")
    show_table(steps_table(result), "designed-steps", column_config={name: count_column() for name in counts})
    st.caption(
        "Unique customers. Skipped: did not do it, yet went on to a later designed step. Out of order: did it "
        "before a step designed to come earlier, or after one designed to come later. Other channel: did it at "
        "least once on a channel that is neither the expected one nor in the expected channel group."
    )
    left, right = st.columns(2)
    with left:
        st.markdown("**Unexpected touchpoints** (not in the design)")
        unexpected = result.unexpected.rename(columns={"touchpoint": "Touchpoint", "customers": "Customers"})
        show_table(unexpected, "designed-unexpected", column_config={"Customers": count_column()})
    with right:
        st.markdown("**Loops** (back to the same or an earlier designed step)")
        loops = result.loops.rename(columns={"source": "From", "target": "Back to", "customers": "Customers"})
        show_table(loops, "designed-loops", column_config={"Customers": count_column()})
    st.subheader("Time to each stage's first designed step, against its target")
    show_table(
        _stage_table(result),
        "designed-stage-times",
        column_config={
            "Share within target": percent_column(),
            "Did a step of it": count_column(),
            "Within target": count_column(),
        },
    )


def show_overlay(dataset_id: str, filters: Filters, definition: JourneyDefinition, result: Conformance) -> None:
    """The journey map with the designed path in green, unexpected touchpoints in orange and loops in purple."""
    touchpoints = journey.first_touchpoint_share(dataset_id, filters, definition) / 100
    drawn = journey.map_of(dataset_id, filters, definition, touchpoints, 0.8)
    dot, _ = map_layout(map_to_dot(drawn, metric="cases", rankdir="TB", overlay=conformance_overlay(result)))
    show_graph(dot, key=f"designed-map-{dataset_id}", label="Journey map with the designed journey")
    st.caption(
        "Green: the designed touchpoints and steps customers took. Orange: touchpoints the design does not expect. "
        "Purple: loops back to the same or an earlier designed step. The map keeps the paths that cover 80 % of the "
        "moves, as on the Journey map page; every figure counts unique customers."
    )


def persona_assignment(dataset_id: str, run_name: str) -> pd.Series:
    """Each customer's persona in the saved run `run_name` (found again over the run's own selection)."""
    run: PersonaRun = saved_runs(dataset_id)[run_name]
    found = found_run(dataset_id, selection_filters(dataset_id, run.selection), run)
    names = [run.names.get(int(label), f"Persona {int(label) + 1}") for label in found.labels]
    return pd.Series(names, index=found.case_ids.astype(str), name=run_name)


def breakdown_figure(breakdown: pd.DataFrame, title: str) -> go.Figure:
    """The share of customers who follow the design per group (a line by month shows whether it improves)."""
    groups = [plotly_text(segment) for segment in breakdown["segment"]]
    figure = go.Figure(
        [
            go.Scatter(
                x=groups,
                y=breakdown[share],
                name=name,
                mode="lines+markers",
                customdata=breakdown[[count, "checked"]],
                hovertemplate="%{x}: %{y:.0%} (%{customdata[0]:,} of %{customdata[1]:,} customers)<extra></extra>",
            )
            for name, share, count in (
                ("follow the designed journey", "share_follows", "follows"),
                ("kept to the designed steps", "share_keeps_to_steps", "keeps_to_steps"),
            )
        ]
    )
    figure.update_layout(
        height=320,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        title=plotly_text(title),
        yaxis={"tickformat": ".0%", "rangemode": "tozero", "title": "share of customers"},
        legend={"orientation": "h", "y": -0.2},
    )
    return figure


def show_breakdown(
    dataset_id: str,
    filters: Filters,
    definition: JourneyDefinition,
    designed: DesignedJourney,
    attributes: list[str],
) -> tuple[str | pd.Series | None, Conformance | None]:
    """Break the share who follow down by month, persona or attribute; return the `by` and the result."""
    kind = st.radio(
        "Break down by",
        BREAKDOWNS,
        format_func=_BREAKDOWN_LABELS.get,
        horizontal=True,
        key="breakdown",
        bind="query-params",
    )
    by: str | pd.Series | None = "month"
    if kind == "persona":
        runs = list(saved_runs(dataset_id))
        if not runs:
            st.info("No persona run is saved for this log yet: find and save one on the Personas page.")
            return None, None
        run = st.selectbox("Saved persona run", runs, key="persona_run", bind="query-params")
        by = persona_assignment(dataset_id, run)
    elif kind == "attribute":
        if not attributes:
            st.info("This log has no attribute to break down by.")
            return None, None
        by = st.selectbox("Attribute", attributes, key="attribute", bind="query-params")
    result = conformance_broken_down(dataset_id, filters, definition, designed, by)
    breakdown = result.breakdown
    title = f"Share of customers who follow the design, by {_BREAKDOWN_LABELS[kind].lower()}"
    st.plotly_chart(breakdown_figure(breakdown, title), key=f"designed-breakdown-{kind}")
    if kind == "month":
        st.caption(
            "Journeys that started recently may still be open: they have had less time to leave the design, so the "
            "last months can look better than they will end up."
        )
    table = breakdown.rename(
        columns={
            "segment": "Group",
            "customers": "Customers",
            "follows": "Follow the design",
            "keeps_to_steps": "Kept to the designed steps",
            "checked": "Checked",
            "share_follows": "Share who follow",
            "share_keeps_to_steps": "Share who kept to the steps",
            "mean_fitness": "Mean fitness",
        }
    )
    show_table(
        table,
        f"designed-by-{kind}",
        column_config={
            "Share who follow": percent_column(),
            "Share who kept to the steps": percent_column(),
            **{name: count_column() for name in ("Customers", "Follow the design", "Kept to the designed steps")},
            "Checked": count_column(),
        },
    )
    return by, result


# --- the customers behind a figure ---


def figure_choices(result: Conformance) -> dict[str, tuple[str, object, int]]:
    """Every figure of the results in words → (figure, subject, its number of customers), non-zero ones only."""
    choices: dict[str, tuple[str, object, int]] = {
        f"Follow the designed journey ({result.follows:,})": ("follows", None, result.follows),
        f"Leave the designed journey ({result.checked - result.follows:,})": (
            "deviates",
            None,
            result.checked - result.follows,
        ),
        f"Kept to the designed steps ({result.keeps_to_steps:,})": ("keeps_to_steps", None, result.keeps_to_steps),
    }
    for row in result.steps.itertuples():
        for check in STEP_CHECKS:
            count = int(getattr(row, check))
            if count:
                choices[f"{row.touchpoint}: {_CHECK_LABELS[check].lower()} ({count:,})"] = (
                    check,
                    row.touchpoint,
                    count,
                )
    for row in result.unexpected.itertuples():
        choices[f"Unexpected {row.touchpoint} ({row.customers:,})"] = ("unexpected", row.touchpoint, row.customers)
    for row in result.loops.itertuples():
        choices[f"Loop {row.source} → {row.target} ({row.customers:,})"] = (
            "loop",
            (row.source, row.target),
            row.customers,
        )
    for row in result.stage_times.itertuples():
        if pd.notna(row.within_target) and row.reached > row.within_target:
            late = int(row.reached - row.within_target)
            choices[f"Stage {row.stage}: first step after its target ({late:,})"] = ("late", row.stage, late)
    return choices


def show_customers_of(
    dataset_id: str, definition: JourneyDefinition, result: Conformance, by: str | pd.Series | None = None
) -> None:
    """Ask which figure to open and list its customers (their number is the figure)."""
    choices = figure_choices(result)
    chosen = st.selectbox("Figure", list(choices), key="figure", bind="query-params")
    figure, subject, _count = choices[chosen]
    groups: Mapping[str, object] = {}
    segment = None
    if by is not None and result.breakdown is not None:
        groups = {"(every group)": None, **{str(value): value for value in result.breakdown["segment"]}}
        segment = st.selectbox("Group", list(groups), key="group")
        segment = groups[segment]
    with dataset_engine(dataset_id) as engine:
        found = conformance_customers(
            engine, definition, result, figure, subject, by=by if segment is not None else None, segment=segment
        )
    st.markdown(f"**Customers who {plain(found.what)}**: {found.total:,} (unique journeys)")
    if found.total:
        show_table(customers_table(found), "designed-customers", column_config={"Events": count_column()})
        if not found.complete:
            st.caption(f"The {len(found.customers):,} whose journeys started first are listed, of {found.total:,}.")
