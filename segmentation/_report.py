"""The report's sections that read personas and segments, and the report's inputs for a stored dataset.

Discovery's report (`discovery.render_report`) may not read personas, so its registry holds the sections discovery
computes; `REPORT_SECTIONS` adds the personas of a saved run and the comparison of two saved segments, and is the
registry the dashboard and `python -m segmentation report` offer. A view's `persona` condition (a link copied
with a persona filter) is read here too, the way the sidebar reads it.

>>> inputs = stored_report_inputs(store, dataset_id, engine, ReportView.from_query(link))  # doctest: +SKIP
>>> html = render_report(inputs, list(REPORT_SECTIONS.values()), Branding.from_settings(settings))  # doctest: +SKIP
"""

from __future__ import annotations

import html

import pandas as pd

from data.engine import Engine
from data.errors import LogError, Problem
from data.store import Store
from discovery import (
    DISCOVERY_SECTIONS,
    EMPTY_STAGE,
    JourneyDefinition,
    ReportInputs,
    ReportView,
    Section,
    bar_chart,
    definition_of,
    html_table,
    log_report_inputs,
    report_section,
)
from segmentation._compare import SegmentComparison, compare_segments, percent_text, points_text, readable_kpis
from segmentation._profiles import PersonaProfiles, persona_profiles
from segmentation._runs import (
    PERSONA_PARAM,
    find_personas,
    persona_options,
    run_filters,
    saved_run,
    saved_runs,
)
from segmentation._segments import saved_segment

__all__ = ["REPORT_SECTIONS", "report_comparison", "report_personas", "stored_report_inputs"]

REPORT_SECTIONS: dict[str, Section] = dict(DISCOVERY_SECTIONS)
_KPI_COLUMNS = ["KPI", "A", "B", "Effect (A − B)", "95 % interval", "Significant"]


def stored_report_inputs(
    store: Store,
    dataset_id: str,
    engine: Engine,
    view: ReportView,
    definition: tuple[JourneyDefinition, str] | None = None,
) -> ReportInputs:
    """Return the inputs of a stored dataset's report: its definition in force (or `definition`, with its source
    in words), the view's filters and persona condition as the sidebar reads them, and the stamp naming them."""
    version = None
    if definition is None:
        found, version = definition_of(store, dataset_id, engine)
        definition = found, "suggested from the log" if version is None else f"saved, version {version}"
    persona = view.selection.get(PERSONA_PARAM)
    return log_report_inputs(
        engine,
        view,
        definition[0],
        definition_source=definition[1],
        definition_version=version,
        store=store,
        dataset_id=dataset_id,
        filters=run_filters(store, dataset_id, view.selection),
        persona=None if persona is None else persona_options(saved_runs(store, dataset_id)).get(persona, persona),
    )


def report_personas(inputs: ReportInputs) -> PersonaProfiles:
    """Return the profiles of the view's saved persona run, found again over the view's customers and judged by the
    definition in force, named as saved: what the Personas page shows when that run is opened."""
    store, dataset_id = _stored(inputs, "personas")
    if inputs.view.persona_run is None:
        known = ", ".join(saved_runs(store, dataset_id)) or "none saved yet"
        raise LogError(
            Problem("The personas section needs a saved persona run.", fix=f"Choose one of the saved runs: {known}.")
        )
    run = saved_run(store, dataset_id, inputs.view.persona_run)
    found = find_personas(
        inputs.engine, inputs.filters, definition=run.definition, k=run.k, seed=run.seed, algorithm=run.algorithm
    )
    profiles = persona_profiles(
        inputs.engine, found.case_ids, found.labels, definition=inputs.definition, filters=inputs.filters
    )
    for label, name in run.names.items():
        if label in profiles.table.index:
            profiles = profiles.rename(label, name)
    return profiles


def report_comparison(inputs: ReportInputs) -> SegmentComparison:
    """Return the comparison of the view's two saved segments within the view's customers, as the Compare page
    makes it (a persona condition of a segment found again from its saved run)."""
    store, dataset_id = _stored(inputs, "comparison")
    if inputs.view.segments is None:
        raise LogError(
            Problem(
                "The comparison section needs two saved segments.",
                fix="Pick them on the Compare page and copy its link, or give --compare A B.",
            )
        )
    segments = [saved_segment(store, dataset_id, name) for name in inputs.view.segments]
    filters = [run_filters(store, dataset_id, {**inputs.view.selection, **segment.params}) for segment in segments]
    runs = {None if segment.persona is None else segment.persona[0] for segment in segments}
    return compare_segments(
        inputs.engine,
        *filters,
        definition=inputs.definition,
        defined_by_behaviour=len(runs) == 1 and None not in runs,
    )


@report_section(REPORT_SECTIONS, "personas", "Personas")
def _personas(inputs: ReportInputs) -> str:
    profiles = report_personas(inputs)
    table = profiles.table
    bars = bar_chart(
        [(row.name, row.share, f"{row.customers:,} · {percent_text(row.share)}") for row in table.itertuples()]
    )
    rows = [
        (
            row.name,
            f"{row.customers:,}",
            percent_text(row.share),
            "no goal" if pd.isna(row.conversion_rate) else percent_text(row.conversion_rate),
            _churn_cell(row),
            ", ".join(row.dominant_channels),
            " → ".join(row.typical_journey),
        )
        for row in table.itertuples()
    ]
    return (
        f"<p>The personas of the saved run {_quoted(inputs.view.persona_run)}, found again among the selected "
        f"customers.</p>{bars}"
        + html_table(
            ["Persona", "Customers", "Share", "Converted", "Churned", "Dominant channels", "Typical journey"],
            rows,
            numeric=(1, 2, 3, 4),
        )
    )


def _churn_cell(row) -> str:
    """A persona's churn rate, or why there is none: no goal (every decided journey would be a churn) or too many
    of its journeys still open. The profiles' rates are nullable: a missing one is pd.NA, which no comparison tests."""
    if not pd.isna(row.churn_rate):
        return percent_text(row.churn_rate)
    return "no goal" if not row.has_goal else "not yet known"


@report_section(REPORT_SECTIONS, "comparison", "Comparison")
def _comparison(inputs: ReportInputs) -> str:
    result = report_comparison(inputs)
    kpis = readable_kpis(result)[_KPI_COLUMNS]
    a, b = inputs.view.segments
    head = (
        f"<p>A: {_quoted(a)}, {result.customers_a:,} customers. B: {_quoted(b)}, {result.customers_b:,} customers "
        f"({result.customers_in_both:,} in both).</p><p>{_escaped(result.rules)}</p>"
        + "".join(f'<p class="provenance">{_escaped(caveat)}</p>' for caveat in result.caveats)
    )
    table = html_table(_KPI_COLUMNS, kpis.itertuples(index=False, name=None))
    if result.funnel.empty:
        return head + table
    funnel = html_table(
        ["Stage", "A got at least this far", "B got at least this far", "Difference (A − B)"],
        [
            _funnel_row(row.stage, row.touchpoints, row.share_a, row.share_b, row.difference)
            for row in result.funnel.itertuples()
        ],
        numeric=(1, 2, 3),
    )
    return f"{head}{table}<h3>Stage funnels</h3>{funnel}"


def _funnel_row(stage: str, touchpoints: int, share_a: float, share_b: float, difference: float) -> tuple[str, ...]:
    """A stage's row of the two funnels; a stage without touchpoints says so and why it is not tested."""
    if not touchpoints:
        return f"{stage} ({EMPTY_STAGE})", percent_text(share_a), percent_text(share_b), "not tested"
    return stage, percent_text(share_a), percent_text(share_b), points_text(difference)


def _stored(inputs: ReportInputs, section: str) -> tuple[Store, str]:
    if inputs.store is None or inputs.dataset_id is None:
        raise LogError(
            Problem(f"The {section} section reads what is saved for a stored dataset.", fix="Import the log first.")
        )
    return inputs.store, inputs.dataset_id


def _quoted(text: object) -> str:
    return _escaped(f"“{text}”")


def _escaped(text: object) -> str:
    return html.escape(str(text), quote=True)
