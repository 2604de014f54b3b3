"""The branded report in Chromium with the network cut off: every section shows, the map and the logo draw, and
nothing is requested but the file itself; the same report printed to PDF; the Reports page previews and downloads
it. Screenshots: test-results/report.png, test-results/reports-page.png."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from data import Settings, Store
from data.demo import generate_demo
from data.importing import import_file
from discovery import Branding, ReportView, logo_data_uri, render_report, report_pdf
from segmentation import REPORT_SECTIONS, PersonaRun, save_run, save_segment, stored_report_inputs
from tests.browser.conftest import BROWSER_MARKS, SCREENSHOTS, screenshot

pytestmark = BROWSER_MARKS

LOGO = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40">'
    b'<rect width="120" height="40" rx="8" fill="#0b6e4f"/><circle cx="20" cy="20" r="10" fill="#f4a261"/></svg>'
)


@pytest.fixture
def report_file(tmp_path: Path) -> Path:
    """Every section of a small stored telecom log's report, branded, written to a file."""
    log = tmp_path / "journeys.csv"
    generate_demo(300, scenario="telecom", seed=5).events.to_csv(log, index=False)
    (tmp_path / "logo.svg").write_bytes(LOGO)
    store = Store(Settings.from_env())
    dataset_id = import_file(log, store=store).id
    save_run(store, dataset_id, "Spring", PersonaRun(3, 0, "kmeans", names={0: "App-first", 1: "Store", 2: "Web"}))
    save_segment(store, dataset_id, "Web", {"channels": '["web"]'})
    save_segment(store, dataset_id, "Store", {"channels": '["store"]'})
    view = replace(ReportView.from_query("metric=cases&paths=70&a_segment=Web&b_segment=Store"), persona_run="Spring")
    branding = Branding("Acme Telecom", logo_data_uri(tmp_path / "logo.svg"), "#0b6e4f", "#f4a261")
    with store.engine(dataset_id) as engine:
        inputs = stored_report_inputs(store, dataset_id, engine, view)
        document = render_report(inputs, list(REPORT_SECTIONS.values()), branding)
    path = tmp_path / "report.html"
    path.write_text(document, encoding="utf-8")
    return path


def test_report_opens_offline_with_every_section_shown(browser_page, report_file: Path) -> None:
    from playwright.sync_api import expect

    page, requested = browser_page, []

    def only_the_file(route) -> None:
        if route.request.url == report_file.as_uri():
            route.continue_()
        else:
            requested.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_file)
    page.goto(report_file.as_uri())
    for key, section in REPORT_SECTIONS.items():
        expect(page.locator(f"#section-{key} h2")).to_have_text(section.title)
        expect(page.locator(f"#section-{key} .provenance").first).to_contain_text("Log: journeys.csv")
    expect(page.locator("#section-map svg g.node").first).to_be_visible()
    expect(page.locator("#section-stages .bar-row").first).to_be_visible()
    assert page.locator("header img.logo").evaluate("image => image.naturalWidth") == 120
    assert requested == []
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / "report.png", full_page=True)


def test_report_prints_to_pdf(report_file: Path) -> None:
    assert report_pdf(report_file.read_text(encoding="utf-8")).startswith(b"%PDF")


def test_reports_page_previews_the_report_and_downloads_it_stamped(server: str, browser_page) -> None:
    from playwright.sync_api import expect

    page = browser_page
    page.goto(server)  # the first run stores the demo
    expect(page.get_by_text("Most common touchpoints")).to_be_visible()
    page.goto(f"{server}/Reports?metric=Median+time&paths=60")
    preview = page.frame_locator("iframe").first
    expect(preview.locator("#section-map svg g.node").first).to_be_visible()
    expect(preview.locator("#section-map .view")).to_have_text(
        "Paths labelled with median time; touchpoints shown 100%; paths shown 60%."
    )
    for key in ("summary", "stages", "churn"):
        expect(preview.locator(f"#section-{key} h2")).to_have_text(REPORT_SECTIONS[key].title)
    screenshot(page, "reports-page")
    with page.expect_download() as started:
        page.get_by_role("button", name="HTML").click()
    download = started.value
    assert re.fullmatch(r"report_.+_[0-9a-f]{16}_(suggested|v\d+)_all-customers\.html", download.suggested_filename)
    assert Path(download.path()).read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
