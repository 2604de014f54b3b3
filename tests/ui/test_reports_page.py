"""The Reports page, run as Streamlit runs it: the report it previews is the library's for the page's view, its
sections are picked and bound to the URL, and what is not saved yet is said rather than drawn."""

from __future__ import annotations

import base64

import pytest
from streamlit.testing.v1 import AppTest

from data import Dataset, Settings, Store
from discovery import DISCOVERY_SECTIONS, Branding, ReportView, render_report
from segmentation import REPORT_SECTIONS, PersonaRun, save_run, save_segment, stored_report_inputs
from tests.ui import apptest
from tests.ui.apptest import widget
from ui.reports import REPORT_TITLE, preview_source

PAGE = "pages/10_Reports.py"


@pytest.fixture
def store() -> Store:
    return Store(Settings.from_env())


def open_page(**query_params: str) -> AppTest:
    return apptest.open_page(PAGE, **query_params)


def previewed(app: AppTest) -> str:
    (frame,) = app.get("iframe")
    source = frame.proto.src
    assert source.startswith("data:text/html;base64,")  # an opaque origin: nothing in it reaches the dashboard
    return base64.b64decode(source.removeprefix("data:text/html;base64,")).decode("utf-8")


def library_report(store: Store, dataset_id: str, view: ReportView, sections, title: str = REPORT_TITLE) -> str:
    with store.engine(dataset_id) as engine:
        inputs = stored_report_inputs(store, dataset_id, engine, view)
        return render_report(inputs, sections, Branding.from_settings(Settings.from_env()), title=title)


def test_without_a_log_the_page_says_how_to_begin() -> None:
    app = open_page()
    assert not app.exception
    assert app.info[0].value.startswith("No log is stored yet.")


def test_the_preview_is_the_librarys_report_of_the_links_view(demo_copy: tuple[Store, Dataset]) -> None:
    store, demo = demo_copy
    app = open_page(dataset=demo.id, metric="Median time", paths="60", channels='["web"]')  # as the map's link has it
    assert not app.exception
    view = ReportView("median", 100, 60, {"channels": '["web"]'})
    assert previewed(app) == library_report(store, demo.id, view, list(DISCOVERY_SECTIONS.values()))
    assert [button.label for button in app.get("download_button")] == ["HTML", "PDF"]
    assert app.get("download_button")[0].proto.url.endswith(".html")


@pytest.mark.slow
def test_picked_sections_and_title_make_the_report(demo_copy: tuple[Store, Dataset]) -> None:
    store, demo = demo_copy
    save_run(store, demo.id, "Spring", PersonaRun(3, 0, "kmeans", names={0: "A", 1: "B", 2: "C"}))
    app = open_page(dataset=demo.id)
    app.multiselect[0].set_value(["churn", "personas"]).run()
    app.text_input[0].set_value("Q1 <review>").run()
    assert not app.exception
    assert widget(app.selectbox, "Persona run").value == "Spring"
    expected = library_report(
        store,
        demo.id,
        ReportView(persona_run="Spring"),
        [REPORT_SECTIONS["churn"], REPORT_SECTIONS["personas"]],
        title="Q1 <review>",
    )
    assert previewed(app) == expected
    assert "Q1 &lt;review&gt;" in expected


def test_a_comparison_without_two_saved_segments_is_left_out_and_said(demo_copy: tuple[Store, Dataset]) -> None:
    store, demo = demo_copy
    save_segment(store, demo.id, "Web", {"channels": '["web"]'})
    app = open_page(dataset=demo.id)
    app.multiselect[0].set_value(["summary", "comparison"]).run()
    assert not app.exception
    assert any(info.value.startswith("Two saved segments are needed") for info in app.info)
    document = previewed(app)
    assert 'id="section-summary"' in document and 'id="section-comparison"' not in document


def test_preview_source_carries_the_document_whole() -> None:
    document = "<!DOCTYPE html><p>é &amp; ü</p>"
    source = preview_source(document)
    assert base64.b64decode(source.split(",", 1)[1]).decode("utf-8") == document
