"""The Designed vs actual page as Streamlit runs it: the figures are the library's, the design is saved as versions."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from data import Dataset, Store
from data.demo import designed_journey
from discovery import (
    DESIGNED_KIND,
    DesignedJourney,
    conformance,
    conformance_customers,
    designed_from_main_path,
    designed_of,
    save_designed,
    suggest_definition,
)
from tests.ui.apptest import metrics, open_page, upload, widget
from ui.designed import breakdown_figure, figure_choices, steps_table

PAGE = "pages/8_Designed_vs_actual.py"
TELECOM = DesignedJourney.from_dict(designed_journey("telecom"))


def table_with(app: AppTest, *columns: str) -> pd.DataFrame:
    (found,) = [frame.value for frame in app.dataframe if set(columns) <= set(frame.value.columns)]
    return found


def test_without_a_log_the_page_says_how_to_begin() -> None:
    app = open_page(PAGE)
    assert not app.exception
    assert app.info[0].value.startswith("No log is stored yet.")


@pytest.mark.slow  # pm4py checks the demo's variants: 10-25 s on this machine
def test_the_main_path_is_the_first_draft_and_its_figures_are_the_librarys(demo: tuple[Store, Dataset]) -> None:
    store, dataset = demo
    app = open_page(PAGE, dataset=dataset.id)
    assert not app.exception
    with store.engine(dataset.id) as engine:
        definition = suggest_definition(engine)
        draft = designed_from_main_path(engine, definition)
        result = conformance(engine, definition, draft)
    assert metrics(app)["Customers who follow it"] == f"{result.follows:,} of {result.checked:,}"
    shown = table_with(app, "Touchpoint", "Skipped it")
    assert shown.to_dict("list") == steps_table(result).to_dict("list")
    assert designed_of(store, dataset.id) == (None, None)  # a draft until saved


@pytest.mark.slow  # pm4py checks the demo's variants: 10-25 s on this machine
def test_an_imported_design_is_measured_saved_and_traced_to_customers(demo: tuple[Store, Dataset]) -> None:
    store, dataset = demo
    app = open_page(PAGE, dataset=dataset.id)
    app = upload(app, "designed.json", json.dumps(designed_journey("telecom")).encode())
    assert not app.exception
    with store.engine(dataset.id) as engine:
        definition = suggest_definition(engine)
        result = conformance(engine, definition, TELECOM)
    assert metrics(app)["Customers who follow it"] == f"{result.follows:,} of {result.checked:,}"
    assert (
        table_with(app, "Touchpoint", "Other channel")["Other channel"].tolist()
        == result.steps["other_channel"].tolist()
    )
    stages = table_with(app, "Stage", "Within target")
    assert stages["Within target"].tolist() == result.stage_times["within_target"].tolist()

    widget(app.button, "Save as a new version").click().run()
    assert not app.exception
    saved, record = designed_of(store, dataset.id)
    assert saved == TELECOM and record.version == 1
    assert len(store.document_history(dataset.id, DESIGNED_KIND, "")) == 1

    choices = figure_choices(result)
    label = next(name for name, (figure, _, _) in choices.items() if figure == "skipped")
    widget(app.selectbox, "Figure").select(label).run()
    figure, subject, count = choices[label]
    with store.engine(dataset.id) as engine:
        found = conformance_customers(engine, definition, result, figure, subject)
    assert found.total == count
    listed = table_with(app, "Customer", "Outcome")
    assert listed["Customer"].tolist() == found.customers["case_id"].tolist()[: len(listed)]


@pytest.mark.slow  # pm4py checks the demo's variants: 10-25 s on this machine
def test_the_breakdown_by_month_is_the_librarys(demo: tuple[Store, Dataset]) -> None:
    store, dataset = demo
    with store.engine(dataset.id) as engine:
        definition = suggest_definition(engine)
        save_designed(store, dataset.id, TELECOM)
        result = conformance(engine, definition, TELECOM, by="month")
    app = open_page(PAGE, dataset=dataset.id, view="By month, persona or segment")
    assert not app.exception
    shown = table_with(app, "Group", "Share who follow")
    assert shown["Group"].tolist() == result.breakdown["segment"].tolist()
    assert shown["Follow the design"].tolist() == result.breakdown["follows"].tolist()
    assert len(app.get("plotly_chart")) == 1
    figure = breakdown_figure(result.breakdown, "by month")
    assert list(figure.data[0].y) == result.breakdown["share_follows"].tolist()


@pytest.mark.slow  # the demo's page run: 10 s
def test_a_table_that_is_not_a_design_says_what_to_fix(demo: tuple[Store, Dataset]) -> None:
    _, dataset = demo
    app = open_page(PAGE, dataset=dataset.id)
    app = upload(app, "designed.json", b'{"format": "parcours.designed-journey", "format_version": 9}')
    assert not app.exception
    assert [error.value for error in app.error] == [
        "The file does not say it is a parcours.designed-journey of version 1."
    ]


@pytest.mark.slow  # pm4py checks the demo's variants: 10-25 s on this machine
def test_the_breakdown_by_persona_is_the_saved_runs(demo: tuple[Store, Dataset]) -> None:
    from segmentation import PersonaRun, find_personas, save_run

    store, dataset = demo
    save_designed(store, dataset.id, TELECOM)
    save_run(store, dataset.id, "Spring", PersonaRun(2, 0, "kmeans", names={0: "Web", 1: "Store"}))
    app = open_page(PAGE, dataset=dataset.id, view="By month, persona or segment")
    widget(app.radio, "Break down by").set_value("persona").run()
    assert not app.exception
    with store.engine(dataset.id) as engine:
        definition = suggest_definition(engine)
        found = find_personas(engine, k=2, seed=0, algorithm="kmeans")
        personas = pd.Series(["Web" if label == 0 else "Store" for label in found.labels], index=found.case_ids)
        result = conformance(engine, definition, TELECOM, by=personas)
    shown = table_with(app, "Group", "Share who follow")
    assert shown["Group"].tolist() == result.breakdown["segment"].tolist() == ["Store", "Web"]
    assert shown["Customers"].tolist() == result.breakdown["customers"].tolist()
    assert shown["Kept to the designed steps"].tolist() == result.breakdown["keeps_to_steps"].tolist()
