"""Designed vs actual in Chromium, as a CX lead uses it: import the company's designed journey, read how many
customers follow it and where the others leave it, save it as a version, and see it drawn on the journey map.

Screenshots go to test-results/ for a person to look at.
"""

from __future__ import annotations

import json
import re

from data import Settings, Store
from data.demo import designed_journey
from discovery import DesignedJourney, conformance, definition_of, designed_of
from tests.browser.conftest import BROWSER_MARKS, expect_metrics, screenshot

pytestmark = BROWSER_MARKS


def test_import_measure_save_and_overlay_a_designed_journey(server: str, browser_page, tmp_path) -> None:
    from playwright.sync_api import expect

    page = browser_page
    page.goto(server)  # the first run stores the demo
    expect(page.get_by_test_id("stMetricValue").first).to_be_visible()
    store = Store(Settings(home=tmp_path / "home"))
    (dataset,) = store.datasets()
    definition, _ = definition_of(store, dataset.id)
    design_file = tmp_path / "telecom-designed.json"
    design_file.write_text(json.dumps(designed_journey("telecom")), encoding="utf-8")
    designed = DesignedJourney.from_dict(designed_journey("telecom"))
    with store.engine(dataset.id) as engine:
        result = conformance(engine, definition, designed)

    page.get_by_test_id("stSidebar").get_by_role("link", name="Designed vs actual").click()
    expect(page.get_by_role("heading", name="Designed vs actual").first).to_be_visible()
    page.locator("input[type=file]").set_input_files(design_file)
    expect_metrics(page, {"Customers who follow it": f"{result.follows:,} of {result.checked:,}"})
    page.get_by_role("button", name="Save as a new version").click()
    expect(page.get_by_text("Saved as version 1.")).to_be_visible()
    screenshot(page, "designed-vs-actual")
    assert designed_of(store, dataset.id)[0] == designed

    page.get_by_role("tab", name="On the journey map").click()
    drawing = page.locator(".pc-canvas").first
    expect(drawing.locator("svg g.node").first).to_be_visible()
    expect(drawing.locator('svg g.edge path[stroke="#2e7d32"]').first).to_be_visible()
    screenshot(page, "designed-vs-actual-map")

    page.get_by_role("tab", name=re.compile("^By month")).click()
    expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible()
    screenshot(page, "designed-vs-actual-by-month")
