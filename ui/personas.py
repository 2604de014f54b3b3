"""Personas page: persona runs cached by content, the run form and cards, and the pure builders the page shows.

Finding, saving and opening runs is the library's (`segmentation.find_personas`, `save_run`, `saved_runs`,
`persona_members`); this module caches what it finds by content, shows its progress and draws it. The same saved
runs give the filter bar's Persona condition, so every page can show one persona's customers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from data import Filters
from discovery import JourneyDefinition, Outcomes, StageKPIs, duration_words, journey_map, stage_kpis
from segmentation import (
    MIN_STABILITY,
    PERSONA_PARAM,
    SILHOUETTE_TOLERANCE,
    TYPICAL_JOURNEY_SHARE,
    FoundPersonas,
    PersonaProfiles,
    PersonaRun,
    checked_names,
    find_personas,
    persona_options,
    persona_profiles,
    run_filters,
    save_run,
)
from segmentation import persona_members as library_persona_members
from segmentation import saved_runs as library_saved_runs
from ui.downloads import show_table
from ui.journey import map_dot, map_layout
from ui.markup import NO_VALUE, plain, plotly_text
from ui.params import is_filter_param
from ui.state import BY_CONTENT_AND_DEFINITION, churn_figures, dataset_engine, store
from ui.tables import count_column
from ui.workspace import allowed

__all__ = [
    "ALGORITHM_NAMES",
    "EVIDENCE_COLUMNS",
    "OVERVIEW_COLUMNS",
    "SIGNATURE_COLUMNS",
    "STAGE_COLUMNS",
    "RunChoice",
    "attribute_lines",
    "churn_text",
    "conversion_text",
    "events_text",
    "evidence_caption",
    "evidence_figure",
    "evidence_table",
    "found_personas",
    "found_run",
    "journey_text",
    "overview_table",
    "persona_cards",
    "persona_journey_dot",
    "persona_members",
    "persona_options",
    "persona_stage_kpis",
    "profiles",
    "projection_figure",
    "run_form",
    "save_form",
    "saved_runs",
    "selection_caption",
    "selection_filters",
    "selection_params",
    "signature_table",
    "stage_table",
    "with_customers",
]

ALGORITHM_NAMES = {
    "kmeans": "k-means (mini-batch for large logs)",
    "minibatch": "mini-batch k-means",
    "agglomerative": "agglomerative (Ward)",
    "hdbscan": "HDBSCAN (finds how many itself)",
}
MAP_COVERAGE = 0.8
DEFAULT_K = 4
MAX_K = 12
_RUN = "personas-run-{}"
_CONVERSION_HELP = "Share of the persona's journeys that did a goal touchpoint (the journey definition's goal)"
_CHURN_HELP = (
    "Share of the persona's decided journeys that churned (the journey definition's churn rule); journeys still "
    "open are left out, and the rate is not given while more than half are"
)
_PERCENT = "%.1f %%"
OVERVIEW_COLUMNS = {
    "Customers": count_column("Customers (unique journeys) in the persona"),
    "Share of customers (%)": st.column_config.NumberColumn(
        "Share (%)", format=_PERCENT, help="Share of the selected customers in the persona", width="small"
    ),
    "Conversion": st.column_config.TextColumn(help=_CONVERSION_HELP),
    "Churn": st.column_config.TextColumn(help=_CHURN_HELP),
    "Still open (%)": st.column_config.NumberColumn(
        format=_PERCENT, help="Share of the persona's journeys neither converted nor churned yet (censored)"
    ),
    "Median journey duration": st.column_config.TextColumn("Duration", help="Median journey duration"),
    "Median journey length (events)": st.column_config.NumberColumn(
        "Events", width="small", help="Median journey length, in events"
    ),
}
SIGNATURE_COLUMNS = {
    "Customers": count_column("Customers of the persona who did it"),
    "Persona (%)": st.column_config.NumberColumn(format=_PERCENT, help="Share of the persona's customers who did it"),
    "Others (%)": st.column_config.NumberColumn(
        format=_PERCENT, help="Share of the other selected customers who did it"
    ),
    "Lift": st.column_config.NumberColumn(
        format="%.1f×", width=55, help="Share of persona ÷ share of others, each with half a customer added"
    ),
    # Half a page wide, a card keeps its names to this width so the figures stay in view.
    "Touchpoint": st.column_config.TextColumn(width=130),
    "Path": st.column_config.TextColumn(width=130),
}
STAGE_COLUMNS = {
    "Got at least this far": count_column("Customers with a step of this stage or of a later one"),
    "Did a step of it": count_column("Customers with a step of this stage"),
    "Conversion from previous stage (%)": st.column_config.NumberColumn(
        format=_PERCENT, help="Customers who got this far ÷ customers who got as far as the stage before"
    ),
    "Drop-off (customers)": count_column("Customers who got as far as the stage before but not this one"),
}
EVIDENCE_COLUMNS = {
    "Silhouette": st.column_config.NumberColumn(
        format="%.3f", help="How much closer customers are to their own persona than to the next (−1 to 1)"
    ),
    "Stability": st.column_config.NumberColumn(
        format="%.2f", help="Agreement between clusterings from different seeds (adjusted Rand index; 1: the same)"
    ),
}


@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=BY_CONTENT_AND_DEFINITION)
def found_personas(
    dataset_id: str, filters: Filters, k: int | None, seed: int, algorithm: str, definition: JourneyDefinition | None
) -> FoundPersonas:
    """The personas of the customers `filters` selects (`k=None`: chosen automatically), found under `definition`.

    A progress bar, fed by the library, shows how far the work is; it is made here, inside the cached function, so
    that a cached answer replays it (already gone) instead of pointing at a bar of an earlier page run.
    """
    bar = st.progress(0.0, text="Finding the personas…")

    def progress(fraction: float, message: str) -> None:
        bar.progress(min(max(fraction, 0.0), 1.0), text=message)

    try:
        with dataset_engine(dataset_id) as engine:
            return find_personas(
                engine, filters, definition=definition, k=k, seed=seed, algorithm=algorithm, progress=progress
            )
    finally:
        bar.empty()


@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=BY_CONTENT_AND_DEFINITION)
def profiles(
    dataset_id: str,
    filters: Filters,
    k: int | None,
    seed: int,
    algorithm: str,
    found_under: JourneyDefinition | None,
    definition: JourneyDefinition,
) -> PersonaProfiles:
    """The profiles of a run's personas (found under `found_under`), their conversion, churn and attributes judged
    by the definition in force."""
    found = found_personas(dataset_id, filters, k, seed, algorithm, found_under)
    with dataset_engine(dataset_id) as engine:
        return persona_profiles(engine, found.case_ids, found.labels, definition=definition, filters=filters)


@st.cache_data(show_spinner=False, max_entries=32, hash_funcs=BY_CONTENT_AND_DEFINITION)
def persona_journey_dot(
    dataset_id: str, filters: Filters, definition: JourneyDefinition, coverage: float = MAP_COVERAGE
) -> str:
    """The DOT journey map of the customers `filters` selects, with stage lanes and churn points, laid out as the
    Journey map page lays out its own."""
    points = churn_figures(dataset_id, filters, definition)
    model = definition.stages
    with dataset_engine(dataset_id) as engine:
        found = journey_map(
            engine,
            filters,
            activity_coverage=coverage,
            path_coverage=coverage,
            stage_of=model.stage_of,
            stages=model.stages,
            churn=points.by_activity,
        )
    dot, _ = map_layout(map_dot(found, "cases"))
    return dot


@st.cache_data(show_spinner=False, max_entries=32, hash_funcs=BY_CONTENT_AND_DEFINITION)
def persona_stage_kpis(dataset_id: str, filters: Filters, definition: JourneyDefinition) -> StageKPIs:
    """The stage KPIs of the customers `filters` selects."""
    with dataset_engine(dataset_id) as engine:
        return stage_kpis(engine, definition, filters)


def saved_runs(dataset_id: str) -> dict[str, PersonaRun]:
    """Every saved persona run of a log by name (read afresh: a save shows at once on every page)."""
    return library_saved_runs(store(), dataset_id)


def persona_members(dataset_id: str, run: str, label: int) -> frozenset[str]:
    """Return the customers of persona `label` of the saved run `run`, found again (from the cache) from its run."""
    return library_persona_members(store(), dataset_id, run, label, find=_cached_finder(dataset_id))


def selection_filters(dataset_id: str, params: Mapping[str, str]) -> Filters:
    """Return the Filters a selection names, its persona condition turned into that persona's customers."""
    return run_filters(store(), dataset_id, params, find=_cached_finder(dataset_id))


def selection_params() -> dict[str, str]:
    """The view's parameters that select customers: the filters and the persona condition."""
    return {
        name: value
        for name, value in st.query_params.to_dict().items()
        if is_filter_param(name) or name == PERSONA_PARAM
    }


def with_customers(filters: Filters, customers: frozenset[str]) -> Filters:
    """Return `filters` further restricted to `customers`."""
    kept = customers if filters.case_ids is None else customers & filters.case_ids
    return replace(filters, case_ids=kept)


@dataclass(frozen=True)
class RunChoice:
    """The run a user asked for, and whether it is a saved run opened (whose selection may differ from the view's)."""

    run: PersonaRun
    opened: bool = False

    def key(self, dataset_id: str, selection: Mapping[str, str]) -> str:
        """A short key naming this run over this selection, for the widgets that belong to it."""
        run = self.run
        text = json.dumps([dataset_id, run.k, run.seed, run.algorithm, sorted(selection.items())])
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def run_form(dataset_id: str, definition: JourneyDefinition) -> RunChoice | None:
    """Ask how to find the personas (or which saved run to open); return the run to show, or None yet.

    A new run is found under the journey definition in force; a saved run under the one it was saved with.
    """
    runs = saved_runs(dataset_id)
    shown = _RUN.format(dataset_id)
    with st.container(border=True):
        opened = None
        if runs:
            opened = st.selectbox(
                "Open a saved run",
                [None, *runs],
                format_func=lambda run: "—" if run is None else run,
                key="run",
                bind="query-params",
                help="A saved run is found again from its parameters, on the current filters. Its name in the page's "
                "link reopens it.",
            )
        left, middle, right, last = st.columns([3, 2, 3, 2], vertical_alignment="bottom")
        automatic = left.toggle(
            "Choose how many automatically",
            value=True,
            key="auto_k",
            bind="query-params",
            help="On: Parcours tries 2 to 8 personas and keeps the number whose personas come out the same "
            "whatever the seed and separate customers best.",
        )
        k = middle.number_input("Personas (k)", 2, MAX_K, DEFAULT_K, disabled=automatic, key="k", bind="query-params")
        algorithm = right.selectbox(
            "Algorithm", list(ALGORITHM_NAMES), format_func=ALGORITHM_NAMES.get, key="algorithm", bind="query-params"
        )
        seed = last.number_input("Seed", 0, 2**31 - 1, 0, key="seed", bind="query-params")
        if st.button(
            "Find personas",
            type="primary",
            icon=":material/groups:",
            key=f"personas-find-{dataset_id}",
            on_click=_close_saved_run,
        ):
            k_chosen = None if automatic or algorithm == "hdbscan" else int(k)
            st.session_state[shown] = RunChoice(PersonaRun(k_chosen, int(seed), algorithm, definition=definition))
    if opened is not None:
        return RunChoice(runs[opened], opened=True)
    return st.session_state.get(shown)


def _close_saved_run() -> None:
    """Finding new personas closes the saved run the page showed (before the page runs again)."""
    st.session_state["run"] = None


def persona_cards(found: PersonaProfiles, choice: RunChoice, run_key: str) -> dict[int, str]:
    """Show one card per persona, its name editable; return label → the name now shown."""
    saved = choice.run.names
    names = {}
    columns = st.columns(2)
    for position, (label, row) in enumerate(found.table.iterrows()):
        with columns[position % 2].container(border=True):
            names[label] = st.text_input(
                "Persona name", saved.get(label, row["name"]), key=f"persona-name-{run_key}-{label}"
            )
            # Two figures a row: four in a half-page card cut their labels short.
            size, share = st.columns(2)
            size.metric("Customers (unique journeys)", f"{row['customers']:,}")
            share.metric("Share", _percent(row["share"]), help="Share of the selected customers in this persona")
            outcomes = found.outcomes(label)
            conversion, churn = st.columns(2)
            conversion.metric("Conversion", _percent_or_dash(outcomes.conversion_rate), help=_CONVERSION_HELP)
            churn.metric("Churn", _percent_or_dash(outcomes.churn_rate), help=_CHURN_HELP)
            # Why a rate is missing is too long for a metric in a half-page card ("no goal cho…"): said below it.
            missing = [
                f"{name}: {why}"
                for name, rate, why in (
                    ("Conversion", outcomes.conversion_rate, conversion_text(outcomes.conversion_rate)),
                    ("Churn", outcomes.churn_rate, churn_text(outcomes.churn_rate, outcomes)),
                )
                if pd.isna(rate)
            ]
            if missing:
                st.caption(" · ".join(missing))
            st.markdown(
                f"Median journey **{plain(duration_words(row['median_duration_seconds'] / 86_400))}**, "
                f"**{events_text(row['median_events'])}** · dominant channels: "
                f"**{plain(', '.join(row['dominant_channels']) or 'none logged')}**"
            )
            st.markdown(plain(journey_text(row, found.common_paths[found.common_paths["persona"] == label])))
            lines = attribute_lines(found.attributes, label)
            if lines:
                st.markdown("  \n".join(plain(line) for line in lines))
            touchpoints, paths = st.tabs(["Signature touchpoints", "Signature 2-step paths"])
            with touchpoints:
                show_table(
                    signature_table(found.signature_activities, label),
                    f"persona-{label}-touchpoints",
                    column_config=SIGNATURE_COLUMNS,
                )
            with paths:
                show_table(
                    signature_table(found.signature_paths, label),
                    f"persona-{label}-paths",
                    column_config=SIGNATURE_COLUMNS,
                )
    return names


def save_form(dataset_id: str, choice: RunChoice, names: Mapping[int, str]) -> None:
    """Save the run under a name: its parameters, the current selection, its definition and the persona names."""
    if not allowed("editor", "save personas"):
        return
    with st.form(f"personas-save-{dataset_id}", border=True):
        run_name = st.text_input("Run name", placeholder="e.g. Spring 2025 personas")
        if not st.form_submit_button("Save personas", icon=":material/save:"):
            return
    save_run(
        store(),
        dataset_id,
        run_name,
        replace(choice.run, names=checked_names(names), selection=selection_params()),
    )
    st.success(f"Saved as {run_name.strip()!r}: its personas are now in the sidebar's Persona filter on every page.")


# --- pure builders ----------------------------------------------------------------------------------------------------


def overview_table(table: pd.DataFrame, common_paths: pd.DataFrame) -> pd.DataFrame:
    """One display row per persona: its name, size, outcomes, durations, channels and typical journey (rates in %,
    durations in words, so that the download reads as the page does)."""
    rows = []
    for label, row in table.iterrows():
        journeys = int(row["customers"])
        rows.append(
            {
                "Persona": row["name"],
                "Customers": journeys,
                "Share of customers (%)": round(100 * row["share"], 1),
                "Conversion": conversion_text(row["conversion_rate"]),
                "Churn": churn_text(row["churn_rate"], has_goal=row["has_goal"]),
                "Still open (%)": round(100 * row["censored"] / journeys, 1),
                "Median journey duration": duration_words(row["median_duration_seconds"] / 86_400),
                "Median journey length (events)": float(row["median_events"]),
                "Dominant channels": ", ".join(row["dominant_channels"]),
                "Typical journey": journey_text(row, common_paths[common_paths["persona"] == label]),
            }
        )
    return pd.DataFrame(rows)


def _percent_or_dash(rate: object) -> str:
    return NO_VALUE if pd.isna(rate) else _percent(rate)


def conversion_text(rate: object) -> str:
    """A conversion rate in %, or why there is none."""
    if pd.isna(rate):
        return "no goal chosen"
    return _percent(rate)


def churn_text(rate: object, outcomes: Outcomes | None = None, *, has_goal: bool = True) -> str:
    """A churn rate in %, or why there is none: no goal, or too many journeys still open (how many, when known)."""
    if not pd.isna(rate):
        return _percent(rate)
    if not has_goal or (outcomes is not None and not outcomes.has_goal):
        return "no goal chosen"
    if outcomes is None or not outcomes.journeys:
        return "cannot be estimated"
    return f"cannot be estimated ({_percent(outcomes.censored_share)} still open)"


def journey_text(row: pd.Series, common_paths: pd.DataFrame) -> str:
    """The persona's typical journey with the share that follows it, or — when no journey is followed by a stated
    share of the persona — its most common steps."""
    if row["typical_journey"]:
        return (
            f"Typical journey, followed by {_percent(row['typical_journey_share'])} of them "
            f"({row['typical_journey_customers']:,} customers): " + " → ".join(row["typical_journey"])
        )
    steps = "; ".join(
        f"{path.source} → {path.target} ({_percent(path.share)})" for path in common_paths.itertuples(index=False)
    )
    return (
        f"No single journey is followed by {_percent(TYPICAL_JOURNEY_SHARE)} of them; their most common steps: "
        f"{steps or 'none'}"
    )


def attribute_lines(attributes: pd.DataFrame, persona: object) -> list[str]:
    """One line per attribute of the persona, as its role says: a category's top values with shares, an amount's
    total and per customer, an NPS in points, a CSAT as the share satisfied, a mean."""
    rows = attributes[attributes["persona"] == persona]
    lines = []
    for name, figures in rows.groupby("attribute", sort=False):
        if figures["role"].iloc[0] == "category":
            shown = ", ".join(f"{f.figure} {_percent(f.value)}" for f in figures.itertuples(index=False))
            lines.append(f"{name}: {shown} (of {figures['values'].iloc[0]:,} customers)")
            continue
        value = dict(zip(figures["figure"], figures["value"], strict=True))
        answers = f"{figures['values'].iloc[0]:,} values"
        if "total" in value:
            lines.append(f"{name}: {value['total']:,.2f} in total, {value['per customer']:,.2f} per customer")
        elif "NPS" in value:
            lines.append(f"{name}: NPS {value['NPS']:+.0f} (promoters − detractors, {answers})")
        elif "share satisfied" in value:
            lines.append(f"{name}: {_percent(value['share satisfied'])} satisfied ({answers})")
        else:
            lines.append(f"{name}: mean {value['mean']:,.2f} ({answers})")
    return lines


def signature_table(signatures: pd.DataFrame, persona: object) -> pd.DataFrame:
    """The persona's signature touchpoints (or 2-step paths), most lifted first, shares in %."""
    rows = signatures[signatures["persona"] == persona]
    if "activity" in rows:
        what = rows["activity"].rename("Touchpoint")
    else:
        what = (rows["source"] + " → " + rows["target"]).rename("Path")
    return pd.DataFrame(
        {
            what.name: what.to_numpy(),
            "Customers": rows["customers"].to_numpy(),
            "Persona (%)": (100 * rows["share"]).round(1).to_numpy(),
            "Others (%)": (100 * rows["others_share"]).round(1).to_numpy(),
            "Lift": rows["lift"].round(2).to_numpy(),
        }
    )


def stage_table(kpis: StageKPIs) -> pd.DataFrame:
    """The stage KPIs as a display table: customers per stage under both readings, conversion, drop-off, times."""
    table = kpis.table
    conversion = (100 * table["conversion_from_previous"]).round(1)
    return pd.DataFrame(
        {
            "Stage": table["stage"].to_numpy(),
            "Got at least this far": table["customers"].to_numpy(),
            "Did a step of it": table["did_stage"].to_numpy(),
            "Conversion from previous stage (%)": conversion.astype("Float64").to_numpy(),
            "Drop-off (customers)": table["drop_off"].to_numpy(),
            "Median time to reach": table["median_seconds_to_reach"].map(_duration_text).to_numpy(),
            "Median time in stage": table["median_seconds_in_stage"].map(_duration_text).to_numpy(),
        }
    )


def evidence_table(found: FoundPersonas) -> pd.DataFrame:
    """Silhouette and stability of every number of personas tried, the one kept marked."""
    evidence = found.evidence
    return pd.DataFrame(
        {
            "Personas (k)": evidence["k"].to_numpy(),
            "Silhouette": evidence["silhouette"].round(3).to_numpy(),
            "Stability": evidence["stability"].round(2).to_numpy(),
            "Kept": np.where(evidence["chosen"], "✔ kept", ""),
        }
    )


def evidence_figure(found: FoundPersonas) -> go.Figure:
    """Silhouette and stability by number of personas, the number kept marked, the stability bar drawn."""
    evidence = found.evidence
    figure = go.Figure()
    for column, name in (("stability", "Stability (agreement across seeds)"), ("silhouette", "Silhouette")):
        figure.add_scatter(x=evidence["k"], y=evidence[column], name=name, mode="lines+markers")
    figure.add_hline(y=MIN_STABILITY, line_dash="dot", line_color="#8a94a3", annotation_text="stable enough")
    figure.add_vline(x=found.n_clusters, line_color="#1f6fb5", annotation_text=f"kept: {found.n_clusters}")
    figure.update_layout(
        xaxis={"title": "Personas (k)", "dtick": 1},
        yaxis={"title": "Score"},
        legend={"orientation": "h", "y": -0.3},
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        height=300,
    )
    return figure


def selection_caption(filters: Filters, definition: JourneyDefinition) -> str:
    """Which customers the personas are found among and what converting and churning mean, as plain text."""
    return plain(f"{filters.describe(sentence_start=True)}. {definition.rules_in_words()}")


def evidence_caption(found: FoundPersonas) -> str:
    """How the number of personas was chosen, in words."""
    if len(found.silhouette_by_k) == 1:
        return f"{found.n_clusters} personas, as asked; their silhouette and stability are shown for reference."
    return (
        f"Parcours tried {min(found.silhouette_by_k)} to {max(found.silhouette_by_k)} personas, each from "
        f"several seeds. It kept {found.n_clusters}: among the numbers whose clusterings agree across seeds "
        f"(stability ≥ {MIN_STABILITY:g}), the smallest whose silhouette is within {SILHOUETTE_TOLERANCE:g} of the "
        "best — closer than that is a tie the seed would decide."
    )


def projection_figure(projection, names: Mapping[object, str]) -> go.Figure:
    """A scatter of the sampled customers on the projection's two axes, one colour per persona."""
    points = projection.points.assign(Persona=projection.points["persona"].map(names).astype("str"))
    first, second = projection.explained_variance_ratio
    figure = go.Figure()
    for label in sorted(names, key=str):
        shown = points[points["persona"] == label]
        figure.add_scattergl(
            x=shown["x"],
            y=shown["y"],
            mode="markers",
            name=plotly_text(names[label]),
            text=shown["case_id"].map(plotly_text),
            hovertemplate="%{text}<extra>%{fullData.name}</extra>",
            marker={"size": 5, "opacity": 0.6},
        )
    figure.update_layout(
        xaxis={"title": f"1st direction ({first:.0%} of variance)"},
        yaxis={"title": f"2nd direction ({second:.0%} of variance)"},
        legend={"orientation": "h", "y": -0.2},
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
    )
    return figure


def events_text(count: float) -> str:
    """Return a median journey length in words, one event or several."""
    return f"{count:g} event" if count == 1 else f"{count:g} events"


def found_run(dataset_id: str, filters: Filters, run: PersonaRun) -> FoundPersonas:
    """The personas of `run` over the customers `filters` selects, from the cache when found before."""
    return found_personas(dataset_id, filters, run.k, run.seed, run.algorithm, run.definition)


def _cached_finder(dataset_id: str):
    """The library's `find` for saved runs, served from this page's cache."""

    def find(filters: Filters, run: PersonaRun) -> FoundPersonas:
        return found_run(dataset_id, filters, run)

    return find


def _percent(share: object) -> str:
    return "" if pd.isna(share) else f"{100 * float(share):.1f} %"


def _duration_text(seconds: float) -> str:
    return "" if pd.isna(seconds) else duration_words(seconds / 86_400)
