"""The Stages, funnel & churn page: cached library calls, pure figure and table builders, and its sections.

How far customers get (stage KPI cards, funnels), where they leave (churn points, where customers went after a
touchpoint, by outcome), and how they move between channels. Every section reads the log's journey definition
(`ui.journey_definition`), so this page and every other one agree on what "converted", "churned" and "reached a
stage" mean; the Journey definition page edits it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

import discovery
from data import Filters
from discovery import (
    OTHER_CHANNELS,
    OUTCOME_LABELS,
    ActionTarget,
    ChannelSwitches,
    ChurnPoints,
    Funnel,
    JourneyDefinition,
    StageChannelMix,
    StageKPIs,
    StageModel,
    WhereTheyWent,
    human_duration,
)
from ui.actions import show_act_on
from ui.definition import outcome_sentence
from ui.downloads import show_table
from ui.errors import reported_errors
from ui.markup import NO_VALUE, plain, plotly_text
from ui.state import BY_CONTENT_AND_DEFINITION, churn_figures, dataset_engine
from ui.tables import count_column, count_columns
from ui.workspace import comments_panel

__all__ = [
    "StageCard",
    "channel_mix_figure",
    "channel_mix_table",
    "churn_summary",
    "churn_table",
    "default_drop_off",
    "default_funnel_steps",
    "funnel_figure",
    "funnel_table",
    "show_channels",
    "show_churn",
    "show_funnel",
    "show_stage_kpis",
    "stage_cards",
    "stage_table",
    "switch_figure",
    "switch_table",
    "where_table",
]

SECONDS_PER_DAY = 86_400
CHANNELS_ON_A_CARD = 3
NO_STAY = "No event of this stage"
NO_GOAL_CHURN_POINTS = f"{discovery.NO_GOAL_CHURN_POINTS} Choose the goal on the Journey definition page to see them."
# A stage without touchpoints is reached by nobody and skipped by the drop-off: the next stage counts from the one
# before it.
NO_TOUCHPOINT = "No touchpoint in this stage: nobody gets this far, and nobody drops here"
SKIPPED_STAGE = f"{discovery.EMPTY_STAGE}: skipped"
CARD_HELP = (
    "Customers (unique journeys) who got at least this far: an event of this stage or of a later one. The drop is "
    "those of the previous stage who never got here. A stage with no touchpoint is reached by nobody."
)
STOPPED_LABEL = "(stopped: nothing after it)"
OTHERS_LABEL = "(less frequent next steps)"
_BY_STAGE, _BY_TOUCHPOINT = "Stages", "Touchpoints I choose"
_GROUP_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2")
_OTHER_COLOUR = "#9e9e9e"


@dataclass(frozen=True)
class StageCard:
    """One stage's KPI card: a metric (label, value, delta) and the lines under it."""

    label: str
    value: str
    delta: str | None
    details: tuple[str, ...]


# --- cached library calls, keyed by content ---


@st.cache_data(show_spinner=False, max_entries=64)
def _touchpoints(dataset_id: str) -> pd.DataFrame:
    """Every touchpoint of the whole log with its customers, most customers first."""
    with dataset_engine(dataset_id) as engine:
        counted = engine.activities()
    counted = counted.rename(columns={"cases": "customers"})[["activity", "customers"]]
    return counted.sort_values(["customers", "activity"], ascending=[False, True], ignore_index=True)


@st.cache_data(show_spinner="Measuring each stage…", max_entries=64, hash_funcs=BY_CONTENT_AND_DEFINITION)
def _stage_kpis(dataset_id: str, filters: Filters, definition: JourneyDefinition) -> StageKPIs:
    with dataset_engine(dataset_id) as engine:
        return discovery.stage_kpis(engine, definition, filters)


@st.cache_data(show_spinner="Counting the funnel…", max_entries=64, hash_funcs=BY_CONTENT_AND_DEFINITION)
def _funnel(
    dataset_id: str,
    filters: Filters,
    model: StageModel,
    steps: tuple[str, ...],
    by: str,
    within_seconds: float | None,
    directly: bool,
    goal: tuple[str, ...] = (),
) -> Funnel:
    with dataset_engine(dataset_id) as engine:
        return discovery.funnel(
            engine,
            steps,
            by=by,
            model=model,
            within_seconds=within_seconds,
            directly=directly,
            filters=filters,
            goal=goal,
        )


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=BY_CONTENT_AND_DEFINITION)
def _where_they_went(dataset_id: str, filters: Filters, activity: str, definition: JourneyDefinition) -> WhereTheyWent:
    with dataset_engine(dataset_id) as engine:
        return discovery.where_they_went(engine, activity, definition, filters)


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=BY_CONTENT_AND_DEFINITION)
def _channel_switches(dataset_id: str, filters: Filters) -> ChannelSwitches:
    with dataset_engine(dataset_id) as engine:
        return discovery.channel_switches(engine, filters)


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=BY_CONTENT_AND_DEFINITION)
def _channel_mix(dataset_id: str, filters: Filters, definition: JourneyDefinition) -> StageChannelMix:
    with dataset_engine(dataset_id) as engine:
        return discovery.channel_mix_by_stage(engine, definition, filters)


# --- pure builders ---


def _duration(seconds: float) -> str:
    return NO_VALUE if seconds is None or math.isnan(seconds) else human_duration(seconds)


def _top_channels(channel_mix: pd.DataFrame, stage: str) -> str:
    rows = channel_mix[channel_mix["stage"] == stage].head(CHANNELS_ON_A_CARD)
    return " · ".join(f"{channel} {share:.0%}" for channel, share in zip(rows["channel"], rows["share"], strict=True))


def _attribute_figures_wide(kpis: StageKPIs) -> pd.DataFrame:
    """Return one row per stage and one column per attribute figure some stage has values of ("nps: NPS")."""
    shown = kpis.attributes[kpis.attributes["values"] > 0]
    names = shown["attribute"] + ": " + shown["figure"]
    wide = shown.assign(name=names).pivot(index="stage", columns="name", values="value")
    return wide.reindex(index=list(kpis.stages), columns=list(dict.fromkeys(names)))


def _figure_text(name: str, value: float) -> str:
    """An attribute figure for a card: shares as percentages, NPS as a signed score, amounts with separators."""
    if name.endswith(": share satisfied"):
        return f"{value:.0%}"
    if name.endswith(": NPS"):
        return f"{value:+.0f}"
    return f"{value:,.2f}"


def stage_cards(kpis: StageKPIs) -> list[StageCard]:
    """Return one card per stage: customers who got that far, who did the stage, drop-off, times, channels, and
    what the attributes say of the stage."""
    table = kpis.table
    figures = _attribute_figures_wide(kpis)
    cards = []
    compared_with = "the selected customers"
    for index, (row, values) in enumerate(
        zip(table.itertuples(index=False), figures.itertuples(index=False), strict=True)
    ):
        kept = NO_VALUE if math.isnan(row.conversion_from_previous) else f"{row.conversion_from_previous:.0%}"
        attributes_text = " · ".join(
            f"{name} {_figure_text(name, value)}"
            for name, value in zip(figures.columns, values, strict=True)
            if not math.isnan(value)
        )
        details = (
            (
                f"{kept} of {compared_with}",
                f"{row.did_stage:,} did a step of this stage",
                f"Reached after {_duration(row.median_seconds_to_reach)} (median)",
                NO_STAY
                if math.isnan(row.median_seconds_in_stage)
                else f"In stage for {_duration(row.median_seconds_in_stage)} (median)",
                f"Channels: {_top_channels(kpis.channel_mix, row.stage) or NO_VALUE}",
                *([attributes_text] if attributes_text else []),
            )
            if row.touchpoints
            else (NO_TOUCHPOINT,)
        )
        cards.append(
            StageCard(
                label=row.stage,
                value=f"{row.customers:,}",
                delta=None if pd.isna(row.drop_off) or not row.drop_off else f"{row.drop_off:,} dropped",
                details=details,
            )
        )
        if row.touchpoints:  # the next stage with touchpoints compares with this one, over any empty stage between
            compared_with = "the previous stage" if _next_has_touchpoints(table, index) else repr(row.stage)
    return cards


def _next_has_touchpoints(table: pd.DataFrame, index: int) -> bool:
    return index + 1 < len(table) and bool(table["touchpoints"].iloc[index + 1])


def stage_table(kpis: StageKPIs) -> pd.DataFrame:
    """Return one row per stage with its KPIs, for the downloadable table under the cards."""
    table = kpis.table
    figures = _attribute_figures_wide(kpis)
    return pd.DataFrame(
        {
            "Stage": table["stage"].to_numpy(dtype=object),
            "Touchpoints": table["touchpoints"].to_numpy(),
            "Got at least this far": table["customers"].to_numpy(),
            "Did a step of this stage": table["did_stage"].to_numpy(),
            "Conversion from previous stage (%)": (100 * table["conversion_from_previous"]).round(1).to_numpy(),
            "Dropped off": table["drop_off"].to_numpy(),
            "Median time to reach": table["median_seconds_to_reach"].map(_duration).to_numpy(dtype=object),
            "Median time in stage": table["median_seconds_in_stage"].map(_duration).to_numpy(dtype=object),
            "Events": table["events"].to_numpy(),
            "Top channels (events)": [_top_channels(kpis.channel_mix, stage) for stage in table["stage"]],
            **{name: figures[name].to_numpy() for name in figures.columns},
        }
    )


def funnel_figure(result: Funnel) -> go.Figure:
    """Return the funnel as a plotly chart: customers per step, with the share kept from the previous step.

    The first step's share is of every selected customer, as in the library's funnel table; a stage without
    touchpoints is skipped (the library gives it no drop-off): its name says so, as its bar has no width to write
    in, and the step after it names the step its share is of.
    """
    table = result.table
    labels, text = [], []
    last = None  # the last step with touchpoints
    for index, row in enumerate(table.itertuples(index=False)):
        if pd.isna(row.drop_off):
            labels.append(plotly_text(f"{row.step} ({SKIPPED_STAGE})"))
            text.append(SKIPPED_STAGE)
            continue
        base = "all selected" if last is None else "previous" if last == index - 1 else f"'{table['step'].iloc[last]}'"
        conversion = 0 if math.isnan(row.conversion_from_previous) else row.conversion_from_previous
        labels.append(plotly_text(row.step))
        text.append(plotly_text(f"{row.customers:,} customers · {conversion:.0%} of {base}"))
        last = index
    figure = go.Figure(
        go.Funnel(
            y=labels,
            x=table["customers"].tolist(),
            text=text,
            textinfo="text",
            hovertemplate="%{y}: %{x:,} customers<extra></extra>",
            marker={"color": "#1f77b4"},
        )
    )
    figure.update_layout(margin={"l": 10, "r": 10, "t": 10, "b": 10}, height=80 + 60 * len(table))
    return figure


def funnel_table(result: Funnel) -> pd.DataFrame:
    """Return one row per funnel step: customers, conversion, drop-off and the median times."""
    table = result.table
    return pd.DataFrame(
        {
            "Step": table["step"].to_numpy(dtype=object),
            "Customers": table["customers"].to_numpy(),
            "Conversion from previous step (%)": (100 * table["conversion_from_previous"]).round(1).to_numpy(),
            "Conversion from first step (%)": (100 * table["conversion_from_first"]).round(1).to_numpy(),
            "Dropped off": table["drop_off"].to_numpy(),
            "Median time from previous step": table["median_seconds_from_previous"].map(_duration).to_numpy(object),
            "Median time from journey start": table["median_seconds_to_reach"].map(_duration).to_numpy(object),
        }
    )


def default_funnel_steps(model: StageModel, touchpoints: pd.DataFrame) -> list[str]:
    """Return the touchpoint most customers did in each stage, in stage order: a first funnel worth reading."""
    staged = touchpoints.assign(stage=touchpoints["activity"].map(dict(model.stage_of)))
    staged = staged.dropna(subset=["stage"]).drop_duplicates("stage")
    rank = {stage: index for index, stage in enumerate(model.stages)}
    return staged.sort_values("stage", key=lambda stages: stages.map(rank))["activity"].tolist()


def churn_table(figures: pd.DataFrame) -> pd.DataFrame:
    """Return churn points (of activities or of transitions) for display, most telling first; rates in percent."""
    names = (
        {"From": figures["source"], "To": figures["target"]}
        if "source" in figures
        else {"Touchpoint": figures["activity"]}
    )
    interval = [f"{low:.0%} – {high:.0%}" for low, high in zip(figures["ci_low"], figures["ci_high"], strict=True)]
    return pd.DataFrame(
        {
            **{label: values.to_numpy(dtype=object) for label, values in names.items()},
            "Stage": figures["stage"].to_numpy(dtype=object),
            "Customers": figures["customers"].to_numpy(),
            "Churned": figures["churned"].to_numpy(),
            "Churn rate (%)": (100 * figures["churn_rate"]).round(1).to_numpy(),
            "95% interval": interval,
            "Lift against its stage": figures["lift"].round(2).to_numpy(),
            "Lift against everyone": figures["lift_overall"].round(2).to_numpy(),
            "Stage churn rate (%)": (100 * figures["base_rate"]).round(1).to_numpy(),
        }
    )


def churn_summary(points: ChurnPoints, definition: JourneyDefinition) -> str:
    """Return in words how journeys ended, what churn means here, and which journeys the rates leave out."""
    outcomes = points.outcomes
    return "  \n".join(
        (
            plain(outcome_sentence(outcomes)),
            plain(definition.rules_in_words()),
            plain(
                f"{outcomes.censored:,} journeys are still open (censored): not converted and not churned yet. They "
                "are left out of every churn rate rather than counted as staying."
            ),
        )
    )


def default_drop_off(points: ChurnPoints, definition: JourneyDefinition) -> str | None:
    """Return the touchpoint before the goal that most customers churned right after: where to look first."""
    goal_stage = definition.goal_stage
    model = definition.stages
    before = (
        set(model.stage_of)
        if goal_stage is None
        else {
            name for name, stage in model.stage_of.items() if model.stages.index(stage) < model.stages.index(goal_stage)
        }
    )
    candidates = points.activities[points.activities["activity"].isin(before - set(definition.goal))]
    if candidates.empty:
        return None
    return str(candidates.sort_values(["churned", "activity"], ascending=[False, True]).iloc[0]["activity"])


def where_table(went: WhereTheyWent) -> pd.DataFrame:
    """Return, for each outcome, what its customers did right after the touchpoint: the common next steps, those
    who stopped, and the less frequent ones together."""
    rows = []
    for group in went.groups.itertuples(index=False):
        if not group.customers:
            continue
        steps = went.next_steps[went.next_steps["outcome"] == group.outcome]
        listed = [*zip(steps["activity"], steps["customers"], strict=True), (STOPPED_LABEL, group.stopped)]
        if group.others:
            listed.append((OTHERS_LABEL, group.others))
        for label, customers in sorted(listed, key=lambda item: -item[1]):
            if customers:
                rows.append(
                    (OUTCOME_LABELS[group.outcome], group.customers, label, customers, customers / group.customers)
                )
    return pd.DataFrame(
        rows, columns=["How the journey ended", "Customers in this group", "Next step", "Customers", "Share (%)"]
    ).assign(**{"Share (%)": lambda table: (100 * table["Share (%)"]).round(1)})


def _switch_grid(switches: ChannelSwitches, column: str) -> pd.DataFrame:
    """Return from × to channel grid of one matrix column, channels by the customers switching from or to them."""
    matrix = switches.matrix
    weight = pd.concat(
        [matrix.groupby("from_channel")["customers"].sum(), matrix.groupby("to_channel")["customers"].sum()]
    )
    order = weight.groupby(level=0).sum().sort_values(ascending=False, kind="stable").index.tolist()
    grid = matrix.pivot(index="from_channel", columns="to_channel", values=column)
    return grid.reindex(index=order, columns=order)


def switch_figure(switches: ChannelSwitches) -> go.Figure:
    """Return the channel-switch heatmap: customers switching from a channel (row) to the next (column)."""
    customers = _switch_grid(switches, "customers")
    gaps = _switch_grid(switches, "median_gap_seconds").map(_duration).where(customers.notna(), "")
    labels = customers.map(lambda count: "" if math.isnan(count) else f"{count:,.0f}")
    figure = go.Figure(
        go.Heatmap(
            z=customers.to_numpy(dtype=float),
            x=[plotly_text(channel) for channel in customers.columns],
            y=[plotly_text(channel) for channel in customers.index],
            text=labels.to_numpy(),
            texttemplate="%{text}",
            customdata=gaps.to_numpy(),
            hovertemplate="%{y} → %{x}: %{z:,} customers<br>median gap %{customdata}<extra></extra>",
            colorscale="Blues",
            colorbar={"title": {"text": "customers"}},
        )
    )
    figure.update_layout(
        xaxis={"title": {"text": "to channel"}, "side": "top"},
        yaxis={"title": {"text": "from channel"}, "autorange": "reversed"},
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        height=120 + 45 * len(customers),
    )
    return figure


def switch_table(switches: ChannelSwitches) -> pd.DataFrame:
    """Return the channel switches for display: customers and switches from → to, with the median gap."""
    matrix = switches.matrix
    return pd.DataFrame(
        {
            "From channel": matrix["from_channel"].to_numpy(dtype=object),
            "To channel": matrix["to_channel"].to_numpy(dtype=object),
            "Customers switching": matrix["customers"].to_numpy(),
            "Switches": matrix["transitions"].to_numpy(),
            "Median gap": matrix["median_gap_seconds"].map(_duration).to_numpy(dtype=object),
        }
    )


def channel_mix_figure(mix: StageChannelMix) -> go.Figure:
    """Return a stacked bar per stage of its events' share in each channel group."""
    groups = mix.groups
    names = list(dict.fromkeys(groups["group"]))
    colours = {
        name: (_OTHER_COLOUR if name == OTHER_CHANNELS else _GROUP_COLOURS[index % len(_GROUP_COLOURS)])
        for index, name in enumerate(names)
    }
    figure = go.Figure(
        [
            go.Bar(
                name=plotly_text(name),
                y=groups.loc[groups["group"] == name, "stage"].map(plotly_text).tolist(),
                x=groups.loc[groups["group"] == name, "share"].tolist(),
                orientation="h",
                marker={"color": colours[name]},
                hovertemplate="%{y}: %{x:.0%} of the stage's events<extra>%{fullData.name}</extra>",
            )
            for name in names
        ]
    )
    figure.update_layout(
        barmode="stack",
        xaxis={"tickformat": ".0%", "range": [0, 1], "title": {"text": "share of the stage's events"}},
        yaxis={"autorange": "reversed"},
        legend={"orientation": "h", "y": -0.25, "traceorder": "normal"},
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        height=140 + 40 * len(mix.stage_events),
    )
    return figure


def channel_mix_table(mix: StageChannelMix) -> pd.DataFrame:
    """Return each stage's events and the share of each channel group, in percent."""
    shares = mix.groups.pivot(index="stage", columns="group", values="share")
    shares = shares.reindex(index=mix.stage_events["stage"], columns=list(dict.fromkeys(mix.groups["group"])))
    return pd.DataFrame(
        {
            "Stage": mix.stage_events["stage"].to_numpy(dtype=object),
            "Events": mix.stage_events["events"].to_numpy(),
            **{f"{group} (%)": (100 * shares[group]).round(1).to_numpy() for group in shares.columns},
        }
    )


# --- page sections ---


def show_stage_kpis(dataset_id: str, filters: Filters, definition: JourneyDefinition) -> None:
    """Show one KPI card per stage, then the same figures as a downloadable table."""
    if not definition.stages.stage_of:
        st.info("No touchpoint is in a stage. Put touchpoints in stages on the Journey definition page, then save.")
        return
    with reported_errors():
        kpis = _stage_kpis(dataset_id, filters, definition)
    st.caption(
        f"**Customers who got at least as far as each stage**, of {kpis.customers_selected:,} customers "
        f"({plain(filters.describe())}): those with an event of the stage or of a later one; the cards also say how "
        "many did a step of the stage itself. Times are medians: from the journey's start to the stage, and from "
        "the first to the last event in it."
    )
    for card, column in zip(stage_cards(kpis), st.columns(len(kpis.stages)), strict=True):
        with column.container(border=True):
            # A drop-off is bad news going down: a red downward arrow, the count itself without a minus sign.
            st.metric(
                plain(card.label),
                card.value,
                delta=card.delta,
                delta_color="inverse",
                delta_arrow="down",
                help=CARD_HELP,
            )
            st.caption("  \n".join(plain(line) for line in card.details))
    show_table(
        stage_table(kpis),
        "stage-kpis",
        column_config=count_columns("Got at least this far", "Did a step of this stage", "Dropped off", "Events"),
    )
    with st.expander("Comments on a stage"):
        stage = st.selectbox("Stage", definition.stages.stages, key="comment-stage")
        comments_panel(dataset_id, "stage", stage)


def show_funnel(dataset_id: str, filters: Filters, definition: JourneyDefinition) -> None:
    """Show the funnel over the stages or over touchpoints the user picks, with an optional conversion window."""
    model = definition.stages
    touchpoints = _touchpoints(dataset_id)
    left, middle, right = st.columns([2, 1, 1])
    over = left.radio(
        "Funnel over", (_BY_STAGE, _BY_TOUCHPOINT), horizontal=True, key="funnel_over", bind="query-params"
    )
    window_days = middle.number_input(
        "Conversion window (days)",
        min_value=0.01,
        value=None,
        placeholder="no window",
        key="funnel_window",
        bind="query-params",
        help="Count a step only when it happens at most this long after the customer's first step. Empty: no limit.",
    )
    directly = right.toggle(
        "Direct steps only",
        key="funnel_direct",
        bind="query-params",
        help="On: each step must be the event right after the previous one. Off: it may come any time later.",
    )
    if over == _BY_STAGE:
        steps, by = list(model.stages), "stage"
    else:
        steps = st.multiselect(
            "Touchpoints, in funnel order",
            touchpoints["activity"].tolist(),
            default=default_funnel_steps(model, touchpoints),
            key="funnel_steps",
            bind="query-params",
            help="The order you pick them in is the order of the funnel.",
        )
        by = "activity"
    if len(steps) < 2:
        st.info("Pick at least two touchpoints, in the order customers should go through them.")
        return
    within_seconds = None if window_days is None else window_days * SECONDS_PER_DAY
    with reported_errors():
        result = _funnel(dataset_id, filters, model, tuple(steps), by, within_seconds, bool(directly), definition.goal)
    reading = " A stage step is done by an event of that stage or of a later one (got at least this far)."
    st.caption(
        f"Customers completing each step in order, of {result.customers_selected:,} customers "
        f"({plain(filters.describe())})"
        + ("." if within_seconds is None else f", within {window_days:g} days of their first step.")
        + (reading if by == "stage" and not directly else "")
    )
    st.plotly_chart(funnel_figure(result), width="stretch", key=f"funnel-chart-{dataset_id}")
    show_table(funnel_table(result), "funnel", column_config=count_columns("Customers", "Dropped off"))


def show_churn(dataset_id: str, filters: Filters, definition: JourneyDefinition) -> None:
    """Show how journeys ended and the churn points with their lifts, then where the customers of a chosen
    touchpoint went next, by how their journey ended."""
    with reported_errors():
        points = churn_figures(dataset_id, filters, definition)
    st.markdown(churn_summary(points, definition))
    if definition.goal:
        _show_churn_points(points)
    else:
        st.info(NO_GOAL_CHURN_POINTS, icon=":material/flag:")

    st.subheader("Where did they go next?")
    options = _touchpoints(dataset_id)["activity"].tolist()
    suggested = default_drop_off(points, definition)
    activity = st.selectbox(
        "Drop-off touchpoint",
        options,
        index=options.index(suggested) if suggested in options else 0,
        key="drop_off",
        bind="query-params",
        help="What the customers who did this touchpoint did right after their last time there, split by how their "
        "journey ended. Suggested: the touchpoint before the goal most churners left right after.",
    )
    if activity is None:
        return
    show_act_on(dataset_id, ActionTarget("churn point", activity))
    comments_panel(dataset_id, "churn_point", activity)
    with reported_errors():
        went = _where_they_went(dataset_id, filters, activity, definition)
    counts = dict(zip(went.groups["outcome"], went.groups["customers"], strict=True))
    st.caption(
        plain(
            f"{went.customers:,} customers did {activity}: "
            + ", ".join(f"{counts[outcome]:,} {OUTCOME_LABELS[outcome]}" for outcome in OUTCOME_LABELS)
            + "."
        )
    )
    show_table(
        where_table(went), "where-they-went", column_config=count_columns("Customers in this group", "Customers")
    )


def _show_churn_points(points: ChurnPoints) -> None:
    """Show the touchpoints and the transitions customers churn right after, with their lifts."""
    lift_against = st.radio(
        "Lift against",
        ("its stage", "everyone"),
        horizontal=True,
        key="lift",
        bind="query-params",
        help="Its stage: the churn rate of the touchpoints of the same stage (a one-touchpoint stage always gives "
        "1). Everyone: the churn rate of every decided journey.",
    )
    lift_column = "Lift against its stage" if lift_against == "its stage" else "Lift against everyone"
    rates = {
        "Customers": count_column("Decided journeys through it (censored ones left out)"),
        "Churned": count_column("Customers who churned right after it"),
        lift_column: st.column_config.NumberColumn(format="%.2f×", width="small", help="Churn rate ÷ the base rate."),
    }
    hidden = {"Lift against everyone" if lift_column == "Lift against its stage" else "Lift against its stage"}
    st.markdown("**Touchpoints customers churn right after**, most telling first")
    st.caption(
        "The 95% interval shows how sure a churn rate is (few customers, wide interval); rows are sorted by the low "
        "end of the lift against the stage."
    )
    activities = churn_table(points.activities)
    show_table(activities, "churn-points", column_config=rates, column_order=[c for c in activities if c not in hidden])
    with st.expander("Transitions (a → b) customers churn right after"):
        transitions = churn_table(points.transitions)
        show_table(
            transitions,
            "churn-transitions",
            column_config=rates,
            column_order=[c for c in transitions if c not in hidden],
        )


def show_channels(dataset_id: str, filters: Filters, definition: JourneyDefinition) -> None:
    """Show the omnichannel share, the channel-switch matrix and each stage's mix of channel groups."""
    with reported_errors():
        switches = _channel_switches(dataset_id, filters)
        mix = _channel_mix(dataset_id, filters, definition)
    if switches.matrix.empty and mix.channels.empty:
        st.info("This log has no channel column, or no customer changes channel: there is no channel mix to show.")
        return
    left, right = st.columns(2)
    left.metric("Omnichannel customers (used 2+ channels)", f"{switches.omnichannel_customers:,}")
    right.metric("Share of customers who are omnichannel", f"{switches.omnichannel_share:.0%}")
    st.markdown("**Channel switches**: customers whose next event came on another channel")
    if switches.matrix.empty:
        st.info("No customer changed channel from one event to the next.")
    else:
        st.plotly_chart(switch_figure(switches), width="stretch", key=f"switch-chart-{dataset_id}")
        show_table(switch_table(switches), "channel-switches")
    st.markdown("**Each stage's events by channel group** (the groups of the journey definition)")
    st.plotly_chart(channel_mix_figure(mix), width="stretch", key=f"mix-chart-{dataset_id}")
    show_table(channel_mix_table(mix), "stage-channel-mix")
