"""The Actions page's parts: the list of improvement actions, the form that creates and edits one, its history of
changes, and its measured effect with the weekly chart; plus the "Act on this" links other pages show.

Every action is saved through the library (`discovery.save_action`), so the page, the CLI and the API list the same
actions; a persona or segment target's customers are found here, from the saved persona run or segment.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from data import Filters
from data.errors import LogError, Problem
from discovery import (
    KPIS,
    STATUSES,
    TARGET_KINDS,
    TRANSITION_ARROW,
    Action,
    ActionChange,
    ActionEffect,
    ActionTarget,
    DesignedJourney,
    JourneyDefinition,
    action_effect,
    action_history,
    actions_of,
    change_text,
    designed_of,
    interval_text,
    open_actions,
    save_action,
)
from segmentation import persona_from_param, saved_segments
from ui.downloads import show_table
from ui.errors import reported_errors
from ui.markup import plain, plotly_text
from ui.params import write_owned
from ui.personas import persona_members, selection_filters
from ui.state import BY_CONTENT_AND_DEFINITION, dataset_engine, store
from ui.tables import count_columns, percent_column
from ui.workspace import allowed

__all__ = [
    "ACTIONS_PAGE",
    "ACTION_PARAM",
    "NEW_TARGET_PARAM",
    "action_form",
    "actions_table",
    "chosen_action",
    "effect_figure",
    "effect_table",
    "history_table",
    "listed_actions",
    "map_target",
    "open_actions_section",
    "show_act_on",
    "show_effect",
    "show_history",
    "statuses_of",
    "target_from_param",
    "targeting",
]

ACTIONS_PAGE = "pages/9_Actions.py"
# The target an "Act on this" link pre-fills, as "kind:value" (e.g. "churn point:billing_dispute").
NEW_TARGET_PARAM = "new_target"
ACTION_PARAM = "action"
GROUP_COLOURS = {"targeted": "#1f6fb5", "untargeted": "#8a94a3"}
_TOUCHPOINT_KINDS = ("touchpoint", "churn point")


def target_from_param(text: str | None) -> ActionTarget | None:
    """The target a link pre-fills, or None when the URL names none (or one that cannot be read)."""
    if not text:
        return None
    kind, _, value = text.partition(":")
    return ActionTarget(kind, value) if kind in TARGET_KINDS and value else None


def map_target(touchpoint: str | None, step: tuple[str | None, str | None] | None) -> ActionTarget | None:
    """The target of a map element: a touchpoint, or a step between two touchpoints (not a journey's start or end)."""
    if touchpoint is not None:
        return ActionTarget("touchpoint", touchpoint)
    if step is not None and all(step):
        return ActionTarget("transition", f"{step[0]}{TRANSITION_ARROW}{step[1]}")
    return None


def targeting(actions: tuple[Action, ...], target: ActionTarget) -> tuple[Action, ...]:
    """The actions aimed at `target`; a touchpoint and the churn point of the same name are one place."""
    places = {(target.kind, target.value)}
    if target.kind in _TOUCHPOINT_KINDS:
        places = {(kind, target.value) for kind in _TOUCHPOINT_KINDS}
    return tuple(action for action in actions if (action.target.kind, action.target.value) in places)


def show_act_on(dataset_id: str, target: ActionTarget | None) -> None:
    """The actions already aimed at a map element or churn point, and a small "Act on this" link opening the
    Actions page with a new action's target filled in."""
    if target is None:
        return
    aimed = targeting(listed_actions(dataset_id), target)
    if aimed:
        st.caption("Actions on it: " + "; ".join(plain(f"{action.title} ({action.status})") for action in aimed))
    st.page_link(
        ACTIONS_PAGE,
        label=f"Act on this {target.kind}",
        icon=":material/task_alt:",
        query_params={"dataset": dataset_id, NEW_TARGET_PARAM: f"{target.kind}:{target.value}"},
    )


def actions_table(actions: tuple[Action, ...]) -> pd.DataFrame:
    """One row per action, for the list."""
    return pd.DataFrame(
        {
            "Title": [action.title for action in actions],
            "Status": [action.status for action in actions],
            "Owner": [action.owner for action in actions],
            "Go-live": [action.go_live for action in actions],
            "Target": [str(action.target) for action in actions],
            "KPI": [action.kpi + (f" ({action.kpi_on})" if action.kpi_on else "") for action in actions],
            "Id": [action.id for action in actions],
        }
    )


def history_table(changes: tuple[ActionChange, ...]) -> pd.DataFrame:
    """One row per saved version: who, when, and each field it changed (before → after)."""
    return pd.DataFrame(
        {
            "Version": [change.version for change in changes],
            "Saved by": [change.author for change in changes],
            "Saved at (UTC)": [change.saved_at.replace(tzinfo=None) for change in changes],
            "Changes": ["; ".join(change.in_words()) for change in changes],
        }
    )


def effect_table(effect: ActionEffect) -> pd.DataFrame:
    """The KPI of each group and period, its interval and the customers measured and left out."""
    rows = effect.groups
    return pd.DataFrame(
        {
            "Customers": rows["group"],
            "Journeys started": rows["period"].map({"before": "before the go-live", "after": "from the go-live"}),
            "Measured (unique customers)": rows["customers"],
            "Left out, still open": rows["excluded"],
            "KPI": rows["value"],
            "95 % low": rows["ci_low"],
            "95 % high": rows["ci_high"],
        }
    )


def effect_figure(effect: ActionEffect) -> go.Figure:
    """The KPI by week of journey start, one line per group, with the go-live marked."""
    figure = go.Figure()
    for group, rows in effect.weekly.groupby("group", sort=False):
        figure.add_scatter(
            x=rows["week"],
            y=rows["value"],
            mode="lines+markers",
            name=group,
            line={"color": GROUP_COLOURS[group]},
            customdata=rows["customers"],
            hovertemplate="week of %{x|%Y-%m-%d}: %{y:.3g} (%{customdata:,} customers)<extra>" + group + "</extra>",
        )
    figure.add_vline(x=effect.go_live, line_dash="dash", line_color="#c0392b")
    figure.add_annotation(x=effect.go_live, y=1, yref="paper", text="go-live", showarrow=False, yanchor="bottom")
    figure.update_layout(
        title=plotly_text(f"{effect.kpi} ({effect.unit}), by week the journeys started"),
        xaxis_title="week the journeys started",
        yaxis_title=plotly_text(effect.unit),
        yaxis_tickformat=".0%" if effect.unit == "share" else None,
        margin={"t": 60, "b": 40},
        legend={"orientation": "h"},
    )
    return figure


def action_form(
    dataset_id: str, definition: JourneyDefinition, action: Action | None, new_target: ActionTarget | None = None
) -> Action | None:
    """A form creating an action (`action` None) or editing one; return the saved action when the user saves."""
    if not allowed("editor", "create or edit actions"):
        return None
    target = action.target if action is not None else new_target or ActionTarget("touchpoint", "")
    key = f"action-form-{action.id if action else 'new'}"
    with st.form(key, border=True):
        title = st.text_input("Title", action.title if action else "", placeholder="e.g. Call back after a dispute")
        left, right = st.columns(2)
        kind = left.selectbox("Target", TARGET_KINDS, TARGET_KINDS.index(target.kind))
        value = right.text_input(
            "Target name",
            target.value,
            help="A touchpoint, a transition as 'a → b', a stage, a saved segment's name, or a persona as RUN:LABEL.",
        )
        kpi = left.selectbox("KPI it should move", KPIS, KPIS.index(action.kpi) if action else 1)
        kpi_on = right.text_input(
            "Measured on (optional)",
            (action.kpi_on or "") if action else "",
            help="The touchpoint churn is measured right after, the stage of a drop-off or time to stage, or the "
            "score attribute. Left empty, it is read from the target.",
        )
        status = left.selectbox("Status", STATUSES, STATUSES.index(action.status) if action else 0)
        go_live = right.date_input("Go-live", action.go_live if action else None, format="YYYY-MM-DD")
        owner = left.text_input("Owner", action.owner if action else "")
        description = st.text_area("Description", action.description if action else "")
        if not st.form_submit_button("Save the action", icon=":material/save:"):
            return None
    saved = Action(
        title,
        ActionTarget(kind, value.strip()),
        kpi,
        kpi_on=kpi_on.strip() or None,
        go_live=go_live if isinstance(go_live, dt.date) else None,
        status=status,
        owner=owner,
        description=description,
        **({"id": action.id} if action else {}),
    )
    save_action(store(), dataset_id, saved)
    return saved


def chosen_action(shown: tuple[Action, ...]) -> Action:
    """The action the URL names (`?action=ID`), else the first shown; choosing another writes its id to the URL.

    Bound to the URL by hand: a bound selectbox would write the action's title there, which an edit changes.
    """
    by_id = {action.id: action for action in shown}
    ids = list(by_id)
    wanted = st.query_params.get(ACTION_PARAM)
    chosen = st.selectbox(
        "Action",
        ids,
        ids.index(wanted) if wanted in by_id else 0,
        format_func=lambda key: f"{by_id[key].title} ({key})",
        key=f"action-{wanted}",
    )
    write_owned({ACTION_PARAM: chosen}, lambda name: name == ACTION_PARAM)
    return by_id[chosen]


def statuses_of(actions: tuple[Action, ...]) -> list[str]:
    """The statuses the actions have, in the order an action goes through them."""
    return [status for status in STATUSES if any(action.status == status for action in actions)]


def listed_actions(dataset_id: str) -> tuple[Action, ...]:
    return actions_of(store(), dataset_id)


def open_actions_section(dataset_id: str) -> None:
    """List the log's open actions (an idea, planned or live) with their owner, status, go-live day and target, each a
    link that opens it on the Actions page."""
    with reported_errors(stop=False):
        shown = open_actions(store(), dataset_id)
        if not shown:
            st.caption("No open action on this log: the Actions page plans one, the map's “Act on this” too.")
        for action in shown:
            st.page_link(
                ACTIONS_PAGE,
                label=plain(_open_action_label(action)),
                icon=":material/task_alt:",
                query_params={"dataset": dataset_id, ACTION_PARAM: action.id},
            )


def _open_action_label(action: Action) -> str:
    go_live = f"goes live {action.go_live:%Y-%m-%d}" if action.go_live else "no go-live day"
    return f"{action.title} — {action.status}, {action.owner or 'no owner'}, {go_live}, on {action.target}"


def show_history(dataset_id: str, action: Action) -> None:
    show_table(history_table(action_history(store(), dataset_id, action.id)), f"action-history-{action.id}")


def show_effect(dataset_id: str, filters: Filters, definition: JourneyDefinition, action: Action) -> None:
    """The action's measured effect: the figures with their intervals and sample sizes, the caveat and the chart."""
    window = st.slider("Days before and after the go-live", 7, 365, 90, key="window_days", bind="query-params")
    designed = designed_of(store(), dataset_id)[0] if action.kpi == "conformance" else None
    effect = _effect(dataset_id, filters, definition, action, window, _segment(dataset_id, action), designed)
    st.markdown(f"**{plain(effect.kpi)}**")
    change, low, high = effect.difference
    unit = effect.unit
    columns = st.columns(2)
    columns[0].metric("After − before (targeted)", change_text(change, unit))
    columns[0].caption(f"95 % interval {interval_text(low, high, unit)}.")
    if effect.did is None:
        columns[1].caption("No untargeted customers to compare with: no difference in differences.")
    else:
        did, did_low, did_high = effect.did
        columns[1].metric("Difference in differences", change_text(did, unit))
        columns[1].caption(
            f"Against {plain(effect.untargeted)}; 95 % interval {interval_text(did_low, did_high, unit)}."
        )
    shares = {name: percent_column() for name in ("KPI", "95 % low", "95 % high")} if unit == "share" else {}
    show_table(
        effect_table(effect),
        f"action-effect-{action.id}",
        column_config={**count_columns("Measured (unique customers)", "Left out, still open"), **shares},
    )
    st.caption(f"Intervals: {plain(effect.interval_method)}.")
    st.caption(
        f"Journeys that started from {effect.before_start:%Y-%m-%d} until the go-live on {effect.go_live:%Y-%m-%d} "
        f"against those that started from it until {effect.after_end:%Y-%m-%d} (UTC days). "
        f"{plain(effect.censoring)} Left out: "
        f"{effect.excluded:,}."
    )
    st.warning(effect.caveat, icon=":material/info:")
    st.plotly_chart(effect_figure(effect), key=f"effect-chart-{action.id}")


@st.cache_data(show_spinner="Measuring the action's effect…", max_entries=32, hash_funcs=BY_CONTENT_AND_DEFINITION)
def _effect(
    dataset_id: str,
    filters: Filters,
    definition: JourneyDefinition,
    action: Action,
    window_days: int,
    segment: Filters | None,
    designed: DesignedJourney | None,
) -> ActionEffect:
    with dataset_engine(dataset_id) as engine:
        return action_effect(
            engine, definition, action, filters, window_days=window_days, segment=segment, designed=designed
        )


def _segment(dataset_id: str, action: Action) -> Filters | None:
    """The customers of a persona (RUN:LABEL) or saved segment target, found from what is saved."""
    target = action.target
    if target.kind == "persona":
        run, label = persona_from_param(target.value)
        return Filters(case_ids=persona_members(dataset_id, run, label))
    if target.kind == "segment":
        saved = saved_segments(store(), dataset_id)
        if target.value not in saved:
            raise LogError(
                Problem(
                    "This dataset has no saved segment of this name.",
                    fix="Save it on the Compare page, or edit the action's target.",
                    value=target.value,
                )
            )
        return selection_filters(dataset_id, saved[target.value].params)
    return None
