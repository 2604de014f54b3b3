"""The Stages, funnel & churn page: cached library calls, pure figure and table builders, and its sections.

How far customers get (stage KPI cards, funnels), where they leave (churn points, where non-converters went
instead), how they move between channels, and the stage mapping editor. Every section reads the stage model
and churn definition through `ui.stage_model` and `ui.churn_definition`, so this page and every other one
agree on them; what the editor saves is what they all use.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

import discovery
from data import Filters
from discovery import (
    ChannelSwitches,
    ChurnDefinition,
    ChurnPoints,
    Funnel,
    StageChannelMix,
    StageKPIs,
    StageModel,
    WhereTheyWent,
    human_duration,
)
from ui.downloads import show_table
from ui.errors import reported_errors
from ui.state import (
    BY_CONTENT_AND_SETUP,
    STAGES_ANNOTATION,
    churn_figures,
    dataset_engine,
    reset_stage_setup,
    save_stage_setup,
    setup_key,
    store,
)
from ui.tables import count_column, count_columns, percent_column

__all__ = [
    "StageCard",
    "channel_mix_figure",
    "channel_mix_table",
    "churn_summary",
    "churn_table",
    "default_funnel_steps",
    "edited_model",
    "funnel_figure",
    "funnel_table",
    "has_saved_setup",
    "mapping_table",
    "show_channels",
    "show_churn",
    "show_funnel",
    "show_stage_kpis",
    "stage_cards",
    "stage_setup_editor",
    "stage_table",
    "switch_figure",
    "switch_table",
    "where_table",
]

SECONDS_PER_DAY = 86_400
CHANNELS_ON_A_CARD = 3
NO_VALUE = "—"
NO_STAY = "No event of this stage"
CARD_HELP = (
    "Customers (unique journeys) who got this far: an event of this stage or of a later one. The drop is those of "
    "the previous stage who never got here."
)
STOPPED_LABEL = "(stopped: nothing after it)"
OTHERS_LABEL = "(less frequent next steps)"
_BY_STAGE, _BY_TOUCHPOINT = "Stages", "Touchpoints I choose"
_KIND_COLOURS = {"online": "#1f77b4", "offline": "#ff7f0e", "other": "#9e9e9e"}
_PERCENT = st.column_config.NumberColumn(format="percent")


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


@st.cache_data(show_spinner="Measuring each stage…", max_entries=64, hash_funcs=BY_CONTENT_AND_SETUP)
def _stage_kpis(dataset_id: str, filters: Filters, model: StageModel) -> StageKPIs:
    with dataset_engine(dataset_id) as engine:
        return discovery.stage_kpis(engine, model, filters)


@st.cache_data(show_spinner="Counting the funnel…", max_entries=64, hash_funcs=BY_CONTENT_AND_SETUP)
def _funnel(
    dataset_id: str,
    filters: Filters,
    model: StageModel,
    steps: tuple[str, ...],
    by: str,
    within_seconds: float | None,
    directly: bool,
) -> Funnel:
    with dataset_engine(dataset_id) as engine:
        return discovery.funnel(
            engine, steps, by=by, model=model, within_seconds=within_seconds, directly=directly, filters=filters
        )


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=BY_CONTENT_AND_SETUP)
def _where_they_went(
    dataset_id: str, filters: Filters, activity: str, model: StageModel, definition: ChurnDefinition
) -> WhereTheyWent:
    with dataset_engine(dataset_id) as engine:
        return discovery.where_they_went(engine, activity, model, definition, filters)


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=BY_CONTENT_AND_SETUP)
def _channel_switches(dataset_id: str, filters: Filters) -> ChannelSwitches:
    with dataset_engine(dataset_id) as engine:
        return discovery.channel_switches(engine, filters)


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=BY_CONTENT_AND_SETUP)
def _channel_mix(dataset_id: str, filters: Filters, model: StageModel) -> StageChannelMix:
    with dataset_engine(dataset_id) as engine:
        return discovery.channel_mix_by_stage(engine, model, filters)


def has_saved_setup(dataset_id: str) -> bool:
    """Tell whether a person saved a stage mapping for this log (else the suggested one is in use)."""
    return store().annotation(dataset_id, *STAGES_ANNOTATION) is not None


# --- pure builders ---


def _duration(seconds: float) -> str:
    return NO_VALUE if seconds is None or math.isnan(seconds) else human_duration(seconds)


def _top_channels(channel_mix: pd.DataFrame, stage: str) -> str:
    rows = channel_mix[channel_mix["stage"] == stage].head(CHANNELS_ON_A_CARD)
    return " · ".join(f"{channel} {share:.0%}" for channel, share in zip(rows["channel"], rows["share"], strict=True))


def _attribute_means_wide(kpis: StageKPIs) -> pd.DataFrame:
    """Return one row per stage and one `Average <attribute>` column per attribute some stage has values of."""
    means = kpis.attribute_means[kpis.attribute_means["values"] > 0]
    wide = means.pivot(index="stage", columns="attribute", values="mean")
    wide = wide.reindex(index=list(kpis.stages), columns=list(dict.fromkeys(means["attribute"])))
    return wide.rename(columns=lambda attribute: f"Average {attribute}")


def stage_cards(kpis: StageKPIs) -> list[StageCard]:
    """Return one card per stage: customers reaching it, drop-off and conversion, times, channels, averages."""
    table = kpis.table
    means = _attribute_means_wide(kpis)
    cards = []
    for index, (row, averages) in enumerate(
        zip(table.itertuples(index=False), means.itertuples(index=False), strict=True)
    ):
        base = "the selected customers" if index == 0 else "the previous stage"
        kept = NO_VALUE if math.isnan(row.conversion_from_previous) else f"{row.conversion_from_previous:.0%}"
        averages_text = " · ".join(
            f"{name.removeprefix('Average ')} {value:,.2f}"
            for name, value in zip(means.columns, averages, strict=True)
            if not math.isnan(value)
        )
        details = (
            f"{kept} of {base}",
            f"Reached after {_duration(row.median_seconds_to_reach)} (median)",
            NO_STAY
            if math.isnan(row.median_seconds_in_stage)
            else f"In stage for {_duration(row.median_seconds_in_stage)} (median)",
            f"Channels: {_top_channels(kpis.channel_mix, row.stage) or NO_VALUE}",
            *([f"Averages: {averages_text}"] if averages_text else []),
        )
        cards.append(
            StageCard(
                label=row.stage,
                value=f"{row.customers:,}",
                delta=f"{row.drop_off:,} dropped" if row.drop_off else None,
                details=details,
            )
        )
    return cards


def stage_table(kpis: StageKPIs) -> pd.DataFrame:
    """Return one row per stage with its KPIs, for the downloadable table under the cards."""
    table = kpis.table
    means = _attribute_means_wide(kpis)
    return pd.DataFrame(
        {
            "Stage": table["stage"].to_numpy(dtype=object),
            "Customers reaching it": table["customers"].to_numpy(),
            "Conversion from previous stage": table["conversion_from_previous"].to_numpy(),
            "Dropped off": table["drop_off"].to_numpy(),
            "Median time to reach": table["median_seconds_to_reach"].map(_duration).to_numpy(dtype=object),
            "Median time in stage": table["median_seconds_in_stage"].map(_duration).to_numpy(dtype=object),
            "Events": table["events"].to_numpy(),
            "Top channels (events)": [_top_channels(kpis.channel_mix, stage) for stage in table["stage"]],
            **{name: means[name].to_numpy() for name in means.columns},
        }
    )


def funnel_figure(result: Funnel) -> go.Figure:
    """Return the funnel as a plotly chart: customers per step, with the share kept from the previous step.

    The first step's share is of every selected customer, as in the library's funnel table.
    """
    table = result.table
    bases = ["all selected", *["previous"] * (len(table) - 1)]
    text = [
        f"{customers:,} customers · {conversion:.0%} of {base}"
        for customers, conversion, base in zip(
            table["customers"], table["conversion_from_previous"].fillna(0), bases, strict=True
        )
    ]
    figure = go.Figure(
        go.Funnel(
            y=table["step"].tolist(),
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
            "Conversion from previous step": table["conversion_from_previous"].to_numpy(),
            "Conversion from first step": table["conversion_from_first"].to_numpy(),
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
    """Return churn points (of activities or of transitions) for display, most telling first."""
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
            "Churn rate": figures["churn_rate"].to_numpy(),
            "95% interval": interval,
            "Lift": figures["lift"].round(2).to_numpy(),
            "Stage rate": figures["base_rate"].to_numpy(),
        }
    )


def churn_summary(points: ChurnPoints, definition: ChurnDefinition) -> str:
    """Return in words what churn means here, the base rate, and which journeys the rates leave out and why."""
    judged = points.churned + points.converted
    churn_words = ", ".join(points.churn_activities) or "none in this log"
    lines = [
        f"**{points.churned:,} customers churned** and **{points.converted:,} converted** (reached "
        f"*{definition.goal_stage}* or a later stage without churning): a base churn rate of "
        + (f"**{points.base_churn_rate:.1%}** of the {judged:,} journeys whose outcome is known." if judged else "—."),
        f"Churn is a churn touchpoint ({churn_words})"
        + (
            f" or a journey that stopped before converting and stayed silent for {definition.inactivity_days:g} "
            "days before the log's end."
            if definition.inactivity_days is not None
            else "; there is no silence rule."
        ),
    ]
    if definition.inactivity_days is not None:
        lines.append(
            f"**{points.censored:,} journeys are censored**: they have not converted and were last seen less than "
            f"{definition.inactivity_days:g} days before the log ends, so they may still convert. They are left "
            "out of every rate rather than counted as staying."
        )
    else:
        lines.append(
            f"**{points.active:,} journeys are still open**: not converted and without a churn touchpoint. With no "
            "silence rule their outcome is unknown, so they are left out of every rate."
        )
    return "  \n".join(lines)


def where_table(went: WhereTheyWent) -> pd.DataFrame:
    """Return what non-converters did right after the activity: the common next steps, those who stopped, others."""
    rows = went.next_activities
    extra = [(STOPPED_LABEL, went.stopped), *([(OTHERS_LABEL, went.others)] if went.others else [])]
    labels = [*rows["activity"].tolist(), *(label for label, _ in extra)]
    customers = [*rows["customers"].tolist(), *(count for _, count in extra)]
    table = pd.DataFrame({"Next step": pd.Series(labels, dtype=object), "Customers": customers})
    table["Share"] = table["Customers"] / went.customers if went.customers else math.nan
    return table.sort_values("Customers", ascending=False, kind="stable", ignore_index=True)


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
            x=customers.columns.tolist(),
            y=customers.index.tolist(),
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
    """Return a stacked bar per stage of its events' online, offline and other shares."""
    kinds = mix.kinds
    figure = go.Figure(
        [
            go.Bar(
                name=kind,
                y=kinds["stage"].tolist(),
                x=kinds[f"{kind}_share"].tolist(),
                orientation="h",
                marker={"color": colour},
                hovertemplate=f"%{{y}}: %{{x:.0%}} of the stage's events {kind}<extra></extra>",
            )
            for kind, colour in _KIND_COLOURS.items()
        ]
    )
    figure.update_layout(
        barmode="stack",
        xaxis={"tickformat": ".0%", "range": [0, 1], "title": {"text": "share of the stage's events"}},
        yaxis={"autorange": "reversed"},
        legend={"orientation": "h", "y": -0.25, "traceorder": "normal"},
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        height=140 + 40 * len(kinds),
    )
    return figure


def channel_mix_table(mix: StageChannelMix) -> pd.DataFrame:
    """Return each stage's events and their online, offline and other shares."""
    kinds = mix.kinds
    return pd.DataFrame(
        {
            "Stage": kinds["stage"].to_numpy(dtype=object),
            "Events": kinds["events"].to_numpy(),
            "Online": kinds["online_share"].to_numpy(),
            "Offline": kinds["offline_share"].to_numpy(),
            "Other channel": kinds["other_share"].to_numpy(),
        }
    )


def mapping_table(model: StageModel, touchpoints: pd.DataFrame) -> pd.DataFrame:
    """Return one editable row per touchpoint: its stage (None: no stage) and why it is there, by stage order."""
    rank = {stage: index for index, stage in enumerate(model.stages)}
    stage = touchpoints["activity"].map(dict(model.stage_of))
    ordered = touchpoints.assign(stage=stage, rank=stage.map(rank).fillna(len(rank))).sort_values(
        ["rank", "customers", "activity"], ascending=[True, False, True], kind="stable"
    )
    return pd.DataFrame(
        {
            "Touchpoint": ordered["activity"].to_numpy(dtype=object),
            # object, not text: a touchpoint in no stage must read as None, the editor's blank choice.
            "Stage": pd.Series(
                ordered["stage"].astype(object).where(ordered["stage"].notna(), None).tolist(), dtype=object
            ),
            "Customers": ordered["customers"].to_numpy(),
            "Why": [model.why(activity) for activity in ordered["activity"]],
        }
    )


def edited_model(model: StageModel, edited: pd.DataFrame) -> StageModel:
    """Return `model` with the stages chosen in the editor; a blank stage takes the touchpoint out of every stage.

    Only the touchpoints whose stage changed are overridden, so the others keep the reason they were suggested.
    """
    chosen = edited["Stage"].astype(object)
    chosen = chosen.where(chosen.notna() & (chosen != ""), None)
    current = edited["Touchpoint"].map(dict(model.stage_of)).astype(object)
    current = current.where(current.notna(), None)
    changed = chosen.ne(current) & ~(chosen.isna() & current.isna())
    return model.with_overrides(dict(zip(edited.loc[changed, "Touchpoint"], chosen[changed], strict=True)))


# --- page sections ---


def show_stage_kpis(dataset_id: str, filters: Filters, model: StageModel) -> None:
    """Show one KPI card per stage, then the same figures as a downloadable table."""
    if not model.stage_of:
        st.info("No touchpoint is in a stage. Put touchpoints in stages in the **Stage mapping** tab, then save.")
        return
    with reported_errors():
        kpis = _stage_kpis(dataset_id, filters, model)
    st.caption(
        f"**Customers reaching each stage**, of {kpis.customers_selected:,} customers ({filters.describe()}): those "
        "with an event of the stage or of a later one. Times are medians: from the journey's start to the stage, "
        "and from the first to the last event in it."
    )
    for card, column in zip(stage_cards(kpis), st.columns(len(kpis.stages)), strict=True):
        with column.container(border=True):
            # A drop-off is bad news going down: a red downward arrow, the count itself without a minus sign.
            st.metric(
                card.label, card.value, delta=card.delta, delta_color="inverse", delta_arrow="down", help=CARD_HELP
            )
            st.caption("  \n".join(card.details))
    show_table(
        stage_table(kpis),
        "stage-kpis",
        column_config={
            "Conversion from previous stage": _PERCENT,
            **count_columns("Customers reaching it", "Dropped off", "Events"),
        },
    )


def show_funnel(dataset_id: str, filters: Filters, model: StageModel) -> None:
    """Show the funnel over the stages or over touchpoints the user picks, with an optional conversion window."""
    touchpoints = _touchpoints(dataset_id)
    left, middle, right = st.columns([2, 1, 1])
    over = left.radio("Funnel over", (_BY_STAGE, _BY_TOUCHPOINT), horizontal=True, key=f"funnel-over-{dataset_id}")
    window_days = middle.number_input(
        "Conversion window (days)",
        min_value=0.01,
        value=None,
        placeholder="no window",
        key=f"funnel-window-{dataset_id}",
        help="Count a step only when it happens at most this long after the customer's first step. Empty: no limit.",
    )
    directly = right.toggle(
        "Direct steps only",
        key=f"funnel-directly-{dataset_id}",
        help="On: each step must be the event right after the previous one. Off: it may come any time later.",
    )
    if over == _BY_STAGE:
        steps, by = list(model.stages), "stage"
    else:
        steps = st.multiselect(
            "Touchpoints, in funnel order",
            touchpoints["activity"].tolist(),
            default=default_funnel_steps(model, touchpoints),
            key=f"funnel-steps-{dataset_id}",
            help="The order you pick them in is the order of the funnel.",
        )
        by = "activity"
    if len(steps) < 2:
        st.info("Pick at least two touchpoints, in the order customers should go through them.")
        return
    within_seconds = None if window_days is None else window_days * SECONDS_PER_DAY
    with reported_errors():
        result = _funnel(dataset_id, filters, model, tuple(steps), by, within_seconds, bool(directly))
    st.caption(
        f"Customers completing each step in order, of {result.customers_selected:,} customers ({filters.describe()})"
        + ("." if within_seconds is None else f", within {window_days:g} days of their first step.")
    )
    st.plotly_chart(funnel_figure(result), width="stretch", key=f"funnel-chart-{dataset_id}")
    show_table(
        funnel_table(result),
        "funnel",
        column_config={"Conversion from previous step": _PERCENT, "Conversion from first step": _PERCENT},
    )


def show_churn(dataset_id: str, filters: Filters, model: StageModel, definition: ChurnDefinition) -> None:
    """Show the churn points with their lift, then where the non-converters of a chosen touchpoint went instead."""
    with reported_errors():
        points = churn_figures(dataset_id, filters, model, definition)
    st.markdown(churn_summary(points, definition))
    rates = {
        "Customers": count_column("Customers (unique journeys) through it whose outcome is known"),
        "Churned": count_column("Customers who churned right after it"),
        "Churn rate": percent_column("Churned ÷ customers"),
        "Lift": st.column_config.NumberColumn(
            format="%.2f×", width="small", help="Churn rate ÷ the stage's churn rate."
        ),
        "Stage rate": percent_column("The churn rate of the stage's touchpoints together"),
    }
    st.markdown("**Touchpoints customers churn right after**, most telling first")
    st.caption(
        "Lift compares a touchpoint's churn rate with its stage's; the 95% interval shows how sure that rate is "
        "(few customers, wide interval)."
    )
    show_table(churn_table(points.activities), "churn-points", column_config=rates)
    with st.expander("Transitions (a → b) customers churn right after"):
        show_table(churn_table(points.transitions), "churn-transitions", column_config=rates)

    st.subheader("Where did they go instead?")
    options = points.activities["activity"].tolist() or _touchpoints(dataset_id)["activity"].tolist()
    activity = st.selectbox(
        "Drop-off touchpoint",
        options,
        key=f"drop-off-{dataset_id}",
        help="The customers who did this touchpoint and did not convert: what they did right after it.",
    )
    if activity is None:
        return
    with reported_errors():
        went = _where_they_went(dataset_id, filters, activity, model, definition)
    st.caption(
        f"{went.customers:,} customers did {activity} and did not convert; after their last {activity}, "
        f"{went.stopped:,} did nothing more."
    )
    show_table(where_table(went), "where-they-went", column_config={"Share": _PERCENT})


def show_channels(dataset_id: str, filters: Filters, model: StageModel) -> None:
    """Show the omnichannel share, the channel-switch matrix and the online/offline mix of each stage."""
    with reported_errors():
        switches = _channel_switches(dataset_id, filters)
        mix = _channel_mix(dataset_id, filters, model)
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
    st.markdown("**Online and offline share of each stage's events**")
    st.plotly_chart(channel_mix_figure(mix), width="stretch", key=f"mix-chart-{dataset_id}")
    show_table(
        channel_mix_table(mix),
        "stage-channel-mix",
        column_config={"Online": _PERCENT, "Offline": _PERCENT, "Other channel": _PERCENT},
    )


def stage_setup_editor(dataset_id: str, model: StageModel, definition: ChurnDefinition) -> None:
    """Edit the stage of each touchpoint and what counts as churn; "Save" makes every page of this log use them."""
    touchpoints = _touchpoints(dataset_id)
    # Keys carry the saved content, so after a save or a reset the widgets start again from what is now in use.
    version = hashlib.sha256(f"{setup_key(model)}{setup_key(definition)}".encode()).hexdigest()[:12]
    st.markdown(
        "Put each touchpoint in a stage (blank: in no stage) and say what counts as churn. **Save** makes every page "
        "of this log use them; **Reset to suggested** goes back to the automatic suggestion."
    )
    with st.form(f"stage-setup-{dataset_id}-{version}", border=False):
        edited = st.data_editor(
            mapping_table(model, touchpoints),
            key=f"stage-mapping-{dataset_id}-{version}",
            hide_index=True,
            width="stretch",
            disabled=("Touchpoint", "Customers", "Why"),
            column_config={
                "Stage": st.column_config.SelectboxColumn(
                    "Stage", options=list(model.stages), required=False, help="Blank: the touchpoint is in no stage."
                ),
                "Customers": st.column_config.NumberColumn("Customers", help="Customers who did it, whole log."),
            },
        )
        churn_column, goal_column, silence_column = st.columns(3)
        churn_activities = churn_column.multiselect(
            "Churn touchpoints",
            touchpoints["activity"].tolist(),
            default=list(definition.churn_activities_in(touchpoints["activity"])),
            help="A journey with one of these has churned (a cancellation, an unsubscribe, a number ported out).",
        )
        goal_stage = goal_column.selectbox(
            "Goal stage",
            model.stages,
            index=model.stages.index(definition.goal_stage) if definition.goal_stage in model.stages else 0,
            help="A customer who gets this far, or further, has converted.",
        )
        inactivity_days = silence_column.number_input(
            "Silence that counts as churn (days)",
            min_value=0.0,
            value=None if definition.inactivity_days is None else float(definition.inactivity_days),
            step=1.0,
            format="%g",
            placeholder="no silence rule",
            help="A journey that stops before converting and stays silent this long before the log's end has "
            "churned; one silent for less is censored. Empty: no silence rule.",
        )
        saved = st.form_submit_button("Save", type="primary", icon=":material/save:")
    if saved:
        with reported_errors():
            churn = ChurnDefinition(tuple(churn_activities), goal_stage, inactivity_days)
            save_stage_setup(dataset_id, edited_model(model, edited), churn)
        st.rerun()
    if st.button(
        "Reset to suggested",
        icon=":material/restart_alt:",
        disabled=not has_saved_setup(dataset_id),
        key=f"reset-stages-{dataset_id}",
        help="Forget the saved mapping: stages are suggested again from names and positions, churn by keywords.",
    ):
        with reported_errors():
            reset_stage_setup(dataset_id)
        st.rerun()
