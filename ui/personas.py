"""Personas: clustering runs cached by content, saved as their parameters, and the pure builders the page shows.

A run is deterministic (features, k, seed, algorithm over the selected customers), so a saved run is stored as
its parameters, its selection (the view's filter parameters, a persona condition included) and its names — never
as one label per customer — and found again from the cache. The same runs give the filter bar's Persona
condition, so every page can show one persona's customers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from data import Filters, LogError, Problem
from discovery import (
    JourneyDefinition,
    StageKPIs,
    human_duration,
    journey_map,
    journey_outcomes,
    map_to_dot,
    stage_kpis,
)
from segmentation import PersonaProfiles, Personas, Projection, customer_features, persona_profiles, project_2d
from ui.downloads import show_table
from ui.params import PERSONA_PARAM, filters_from_params, is_filter_param, persona_from_param, persona_to_param
from ui.state import BY_CONTENT, BY_CONTENT_AND_DEFINITION, churn_figures, dataset_engine, store
from ui.tables import count_column, percent_column

__all__ = [
    "ALGORITHM_NAMES",
    "OVERVIEW_COLUMNS",
    "PERSONAS_KIND",
    "SIGNATURE_COLUMNS",
    "STAGE_COLUMNS",
    "Clustering",
    "RunChoice",
    "checked_names",
    "clustering",
    "events_text",
    "overview_table",
    "persona_cards",
    "persona_journey_dot",
    "persona_members",
    "persona_options",
    "persona_stage_kpis",
    "profiles",
    "projection_figure",
    "run_form",
    "run_payload",
    "save_form",
    "saved_runs",
    "selection_filters",
    "selection_params",
    "signature_table",
    "stage_table",
    "with_customers",
]

PERSONAS_KIND = "personas"
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
_CONVERSION_HELP = "Share of the persona's customers with a known outcome who converted"
_CHURN_HELP = "Share of the persona's customers with a known outcome who churned"
# Shares are kept as fractions in the tables (and their downloads) and shown as percentages, as on the cards.
OVERVIEW_COLUMNS = {
    "Customers": count_column("Customers (unique journeys) in the persona"),
    "Share of customers": percent_column("Share of the selected customers in the persona", "Share"),
    "Conversion rate": percent_column(_CONVERSION_HELP, "Conversion"),
    "Churn rate": percent_column(_CHURN_HELP, "Churn"),
    "Median journey duration": st.column_config.TextColumn("Duration", help="Median journey duration"),
    "Median journey length (events)": st.column_config.NumberColumn(
        "Events", width="small", help="Median journey length, in events"
    ),
    "Customers on the typical journey": count_column(
        "Customers of the persona whose journey is the typical one", "On typical"
    ),
}
SIGNATURE_COLUMNS = {
    "Customers": count_column("Customers of the persona who did it"),
    "Share of persona": percent_column("Share of the persona's customers who did it", "Persona"),
    "Share of others": percent_column("Share of the other selected customers who did it", "Others"),
    "Lift": st.column_config.NumberColumn(format="%.1f×", width=55, help="Share of persona ÷ share of others"),
    # Half a page wide, a card keeps its names to this width so the figures stay in view.
    "Touchpoint": st.column_config.TextColumn(width=130),
    "Path": st.column_config.TextColumn(width=130),
}
STAGE_COLUMNS = {
    "Customers reaching it": count_column("Customers of the persona with an event of the stage or a later one"),
    "Conversion from previous stage": percent_column("Customers reaching it ÷ customers reaching the stage before"),
    "Drop-off (customers)": count_column("Customers who reached the stage before but not this one"),
}


@dataclass(frozen=True, eq=False)
class Clustering:
    """The personas found for one run: each selected customer's label, how k was chosen, and the 2-D picture."""

    case_ids: pd.Index
    labels: np.ndarray
    n_clusters: int
    silhouette_by_k: dict
    projection: Projection

    def members(self, label: int) -> frozenset[str]:
        """Return the customers of persona `label`."""
        # A list first: a set built from an Arrow-backed index element by element takes five times longer.
        return frozenset(self.case_ids[self.labels == label].tolist())


@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=BY_CONTENT)
def clustering(dataset_id: str, filters: Filters, k: int | None, seed: int, algorithm: str) -> Clustering:
    """Cluster the customers `filters` selects into personas (`k=None`: chosen automatically)."""
    with dataset_engine(dataset_id) as engine:
        features = customer_features(engine, filters)
    model = Personas(k="auto" if k is None else k, algorithm=algorithm, random_state=seed)
    try:
        model.fit(features.matrix)
    except ValueError as error:
        raise LogError(Problem(str(error), fix="Ask for fewer personas, or widen the filters.")) from None
    return Clustering(
        case_ids=features.case_ids,
        labels=model.labels_,
        n_clusters=model.n_clusters_,
        silhouette_by_k={int(key): float(value) for key, value in model.silhouette_by_k_.items()},
        projection=project_2d(features, model.labels_, random_state=seed),
    )


@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=BY_CONTENT_AND_DEFINITION)
def profiles(
    dataset_id: str, filters: Filters, k: int | None, seed: int, algorithm: str, definition: JourneyDefinition
) -> PersonaProfiles:
    """The profiles of a run's personas, conversion and churn judged by the log's journey definition."""
    found = clustering(dataset_id, filters, k, seed, algorithm)
    with dataset_engine(dataset_id) as engine:
        outcomes = journey_outcomes(engine, definition, filters)
        return persona_profiles(engine, found.case_ids, found.labels, outcomes=outcomes, filters=filters)


@st.cache_data(show_spinner=False, max_entries=32, hash_funcs=BY_CONTENT_AND_DEFINITION)
def persona_journey_dot(
    dataset_id: str, filters: Filters, definition: JourneyDefinition, coverage: float = MAP_COVERAGE
) -> str:
    """The DOT journey map of the customers `filters` selects, with stage lanes and churn points."""
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
    return map_to_dot(found)


@st.cache_data(show_spinner=False, max_entries=32, hash_funcs=BY_CONTENT_AND_DEFINITION)
def persona_stage_kpis(dataset_id: str, filters: Filters, definition: JourneyDefinition) -> StageKPIs:
    """The stage KPIs of the customers `filters` selects."""
    with dataset_engine(dataset_id) as engine:
        return stage_kpis(engine, definition, filters)


def saved_runs(dataset_id: str) -> dict[str, dict]:
    """Every saved persona run of a log by name (read afresh: a save shows at once on every page)."""
    return store().annotations(dataset_id, PERSONAS_KIND)


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


def selection_filters(dataset_id: str, params: Mapping[str, str], _seen: tuple[str, ...] = ()) -> Filters:
    """Return the Filters a selection names, its persona condition turned into that persona's customers."""
    filters = filters_from_params(params)
    if PERSONA_PARAM not in params:
        return filters
    run, label = persona_from_param(params[PERSONA_PARAM])
    return with_customers(filters, persona_members(dataset_id, run, label, _seen))


def persona_members(dataset_id: str, run: str, label: int, _seen: tuple[str, ...] = ()) -> frozenset[str]:
    """Return the customers of persona `label` of the saved run `run`, found again from the run's parameters."""
    if run in _seen:
        raise LogError(
            Problem(
                "These saved persona runs were each found among the other's personas.",
                fix="Clear the Persona filter, then find and save the run again.",
                value=run,
            )
        )
    payload = store().annotation(dataset_id, PERSONAS_KIND, run)
    if payload is None:
        raise LogError(
            Problem("This persona run is no longer saved.", fix="Choose another persona in the sidebar.", value=run)
        )
    filters = selection_filters(dataset_id, payload["selection"], (*_seen, run))
    found = clustering(dataset_id, filters, payload["k"], payload["seed"], payload["algorithm"])
    if label not in set(found.labels.tolist()):
        raise LogError(
            Problem(
                f"The run {run!r} has no persona {label}.",
                fix="Choose the persona again in the sidebar.",
                value=str(label),
            )
        )
    return found.members(label)


@dataclass(frozen=True)
class RunChoice:
    """The run a user asked for: k (None: automatic), seed and algorithm, and the names of a saved run opened."""

    k: int | None
    seed: int
    algorithm: str
    names: tuple[tuple[str, str], ...] = ()
    saved_selection: tuple[tuple[str, str], ...] | None = None

    def key(self, dataset_id: str, selection: Mapping[str, str]) -> str:
        """A short key naming this run over this selection, for the widgets that belong to it."""
        text = json.dumps([dataset_id, self.k, self.seed, self.algorithm, sorted(selection.items())])
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def run_form(dataset_id: str) -> RunChoice | None:
    """Ask how to find the personas (or which saved run to open); return the run to show, or None yet."""
    runs = saved_runs(dataset_id)
    shown = _RUN.format(dataset_id)
    with st.container(border=True):
        if runs:
            opened = st.selectbox(
                "Open a saved run",
                [None, *runs],
                format_func=lambda run: "—" if run is None else run,
                key=f"personas-open-{dataset_id}",
                help="A saved run is found again from its parameters, on the current filters.",
            )
            if opened is not None and st.button("Open", key=f"personas-open-button-{dataset_id}"):
                st.session_state[shown] = _saved_choice(runs[opened])
        left, middle, right, last = st.columns([3, 2, 3, 2], vertical_alignment="bottom")
        automatic = left.toggle(
            "Choose how many automatically",
            value=True,
            key=f"personas-auto-{dataset_id}",
            help="On: Parcours tries several numbers of personas and keeps the one that separates customers best.",
        )
        k = middle.number_input("Personas (k)", 2, MAX_K, DEFAULT_K, disabled=automatic, key=f"personas-k-{dataset_id}")
        algorithm = right.selectbox(
            "Algorithm", list(ALGORITHM_NAMES), format_func=ALGORITHM_NAMES.get, key=f"personas-algo-{dataset_id}"
        )
        seed = last.number_input("Seed", 0, 2**31 - 1, 0, key=f"personas-seed-{dataset_id}")
        if st.button("Find personas", type="primary", icon=":material/groups:", key=f"personas-find-{dataset_id}"):
            k_chosen = None if automatic or algorithm == "hdbscan" else int(k)
            st.session_state[shown] = RunChoice(k_chosen, int(seed), algorithm)
    return st.session_state.get(shown)


def persona_cards(profiles: PersonaProfiles, choice: RunChoice, run_key: str) -> dict[int, str]:
    """Show one card per persona, its name editable; return label → the name now shown."""
    saved = dict(choice.names)
    names = {}
    columns = st.columns(2)
    for position, (label, row) in enumerate(profiles.table.iterrows()):
        with columns[position % 2].container(border=True):
            names[label] = st.text_input(
                "Persona name", saved.get(str(label), row["name"]), key=f"persona-name-{run_key}-{label}"
            )
            # Two figures a row: four in a half-page card cut their labels short.
            size, share = st.columns(2)
            size.metric("Customers (unique journeys)", f"{row['customers']:,}")
            share.metric("Share", f"{row['share']:.1%}", help="Share of the selected customers in this persona")
            conversion, churn = st.columns(2)
            conversion.metric("Conversion", _percent(row["conversion_rate"]), help=_CONVERSION_HELP)
            churn.metric("Churn", _percent(row["churn_rate"]), help=_CHURN_HELP)
            st.markdown(
                f"Median journey **{_duration_text(row['median_duration_seconds'])}**, "
                f"**{events_text(row['median_events'])}** · dominant channels: "
                f"**{', '.join(row['dominant_channels']) or 'none logged'}**"
            )
            st.markdown(
                f"Typical journey ({row['typical_variant_customers']:,} customers): "
                + " → ".join(row["typical_variant"])
            )
            touchpoints, paths = st.tabs(["Signature touchpoints", "Signature 2-step paths"])
            with touchpoints:
                show_table(
                    signature_table(profiles.signature_activities, label),
                    f"persona-{label}-touchpoints",
                    column_config=SIGNATURE_COLUMNS,
                )
            with paths:
                show_table(
                    signature_table(profiles.signature_paths, label),
                    f"persona-{label}-paths",
                    column_config=SIGNATURE_COLUMNS,
                )
    return names


def save_form(dataset_id: str, choice: RunChoice, names: Mapping[int, str]) -> None:
    """Save the run under a name: its parameters, the current selection and the persona names."""
    with st.form(f"personas-save-{dataset_id}", border=True):
        run_name = st.text_input("Run name", placeholder="e.g. Spring 2025 personas")
        if not st.form_submit_button("Save personas", icon=":material/save:"):
            return
    payload = run_payload(choice.k, choice.seed, choice.algorithm, checked_names(names), selection_params())
    store().save_annotation(dataset_id, PERSONAS_KIND, run_name.strip(), payload)
    st.success(f"Saved as {run_name.strip()!r}: its personas are now in the sidebar's Persona filter on every page.")


def _saved_choice(payload: Mapping) -> RunChoice:
    return RunChoice(
        payload["k"],
        payload["seed"],
        payload["algorithm"],
        tuple(payload["names"].items()),
        tuple(sorted(payload["selection"].items())),
    )


# --- pure builders ----------------------------------------------------------------------------------------------------


def run_payload(
    k: int | None, seed: int, algorithm: str, names: Mapping[int, str], selection: Mapping[str, str]
) -> dict:
    """The annotation saving a run: its parameters, its selection and its persona names (labels as text)."""
    return {
        "k": k,
        "seed": int(seed),
        "algorithm": algorithm,
        "names": {str(label): str(name) for label, name in names.items()},
        "selection": dict(selection),
    }


def checked_names(names: Mapping[int, str]) -> dict[int, str]:
    """Return the names trimmed, or raise LogError naming every blank or repeated one."""
    trimmed = {label: str(name).strip() for label, name in names.items()}
    problems = [
        Problem("A persona needs a name.", fix="Type a name.", value=str(label))
        for label, name in trimmed.items()
        if not name
    ]
    repeated = pd.Series(list(trimmed.values()))
    problems += [
        Problem("Two personas have this name.", fix="Give each persona its own name.", value=name)
        for name in repeated[repeated.duplicated() & repeated.ne("")].unique()
    ]
    if problems:
        raise LogError(problems)
    return trimmed


def persona_options(runs: Mapping[str, Mapping]) -> dict[str, str]:
    """Return `persona` parameter → "Run · Persona name" for every persona of every saved run."""
    return {
        persona_to_param(run, int(label)): f"{run} · {name}"
        for run, payload in runs.items()
        for label, name in sorted(payload["names"].items(), key=lambda item: int(item[0]))
    }


def overview_table(table: pd.DataFrame) -> pd.DataFrame:
    """One display row per persona: its name, size, outcomes, durations, channels and typical journey."""
    return pd.DataFrame(
        {
            "Persona": table["name"].to_numpy(),
            "Customers": table["customers"].to_numpy(),
            "Share of customers": table["share"].to_numpy(),
            "Conversion rate": table["conversion_rate"].to_numpy(),
            "Churn rate": table["churn_rate"].to_numpy(),
            "Median journey duration": table["median_duration_seconds"].map(_duration_text).to_numpy(),
            "Median journey length (events)": table["median_events"].to_numpy(),
            "Dominant channels": table["dominant_channels"].map(", ".join).to_numpy(),
            "Typical journey": table["typical_variant"].map(" → ".join).to_numpy(),
            "Customers on the typical journey": table["typical_variant_customers"].to_numpy(),
        }
    )


def signature_table(signatures: pd.DataFrame, persona: object) -> pd.DataFrame:
    """The persona's signature touchpoints (or 2-step paths), most lifted first, in words a reader can use."""
    rows = signatures[signatures["persona"] == persona]
    if "activity" in rows:
        what = rows["activity"].rename("Touchpoint")
    else:
        what = (rows["source"] + " → " + rows["target"]).rename("Path")
    return pd.DataFrame(
        {
            what.name: what.to_numpy(),
            "Customers": rows["customers"].to_numpy(),
            "Share of persona": rows["share"].to_numpy(),
            "Share of others": rows["others_share"].to_numpy(),
            "Lift": rows["lift"].to_numpy(),
        }
    )


def stage_table(kpis: StageKPIs) -> pd.DataFrame:
    """The stage KPIs as a display table: customers reaching each stage, conversion, drop-off and times."""
    table = kpis.table
    return pd.DataFrame(
        {
            "Stage": table["stage"].to_numpy(),
            "Customers reaching it": table["customers"].to_numpy(),
            "Conversion from previous stage": table["conversion_from_previous"].to_numpy(),
            "Drop-off (customers)": table["drop_off"].to_numpy(),
            "Median time to reach": table["median_seconds_to_reach"].map(_duration_text).to_numpy(),
            "Median time in stage": table["median_seconds_in_stage"].map(_duration_text).to_numpy(),
        }
    )


def projection_figure(projection: Projection, names: Mapping[object, str]) -> go.Figure:
    """A scatter of the sampled customers on the projection's two axes, one colour per persona."""
    points = projection.points.assign(Persona=projection.points["persona"].map(names).astype("str"))
    first, second = projection.explained_variance_ratio
    figure = px.scatter(
        points,
        x="x",
        y="y",
        color="Persona",
        hover_data={"case_id": True, "x": False, "y": False},
        labels={"x": f"1st direction ({first:.0%} of variance)", "y": f"2nd direction ({second:.0%} of variance)"},
        category_orders={"Persona": [names[label] for label in sorted(names, key=str)]},
        opacity=0.6,
    )
    figure.update_traces(marker={"size": 5})
    figure.update_layout(legend={"orientation": "h", "y": -0.2}, margin={"l": 10, "r": 10, "t": 30, "b": 10})
    return figure


def events_text(count: float) -> str:
    """Return a median journey length in words, one event or several."""
    return f"{count:g} event" if count == 1 else f"{count:g} events"


def _percent(share: float) -> str:
    return "n/a" if pd.isna(share) else f"{share:.1%}"


def _duration_text(seconds: float) -> str:
    return "" if pd.isna(seconds) else human_duration(seconds)
