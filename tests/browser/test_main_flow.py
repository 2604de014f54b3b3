"""A new user's first visit in a real browser: import a real log, then read its journey map, variants, churn
points and personas, each showing the numbers the library computes for the same file.

A real `streamlit run app.py` on a free port with its own PARCOURS_HOME, driven by Debian's Chromium through
Playwright (see conftest.py); pages are opened through the sidebar's page links, as a user would. Screenshots
of each step go to test-results/ for a person to look at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from data import Engine, load_log
from discovery import churn_points, journey_map, suggest_definition, variant_table
from segmentation import find_personas
from tests.browser.conftest import (
    BROWSER_MARKS,
    COMPLAINTS,
    expect_metrics,
    label_pixels,
    save_log,
    screenshot,
    upload_complaints,
)
from ui.definition import outcome_sentence

pytestmark = BROWSER_MARKS

LOG_NAME = "UWV complaints"
# The Journey map page's default sliders: every touchpoint, the paths covering 80% of the moves.
PATHS_SHOWN = 0.8
PERSONAS = 3


@dataclass(frozen=True)
class Expected:
    """What the library says about the complaints log, in the words the pages use."""

    customers: str
    map_drawn: str
    map_covered: str
    top_variant: str
    outcomes: str
    persona_sizes: list[str]


def _library_figures() -> Expected:
    """Compute the pages' figures with the library on the same file and the same detected mapping."""
    log = load_log(COMPLAINTS)
    with Engine.from_frame(log.frame) as engine:
        definition = suggest_definition(engine)
        model = definition.stages
        churn = churn_points(engine, definition)
        drawn = journey_map(
            engine,
            path_coverage=PATHS_SHOWN,
            stage_of=model.stage_of,
            stages=model.stages,
            churn=churn.by_activity,
        )
        top = variant_table(engine, limit=1).frame.iloc[0]
        labels = find_personas(engine, definition=definition, k=PERSONAS, seed=0, algorithm="kmeans").labels
    touchpoints = len(drawn.nodes) + len(drawn.hidden_activities)
    return Expected(
        customers=f"{drawn.cases:,}",
        map_drawn=f"Drawn: {len(drawn.nodes):,} of {touchpoints:,} touchpoints and {len(drawn.edges):,} of "
        f"{len(drawn.edges) + drawn.hidden_edges:,} paths",
        map_covered=f"{drawn.covered_cases:,} of {drawn.cases:,} customers",
        top_variant=f"#1 · {top['cases']:,} customers · {top['activities'][0]}",
        outcomes=outcome_sentence(churn.outcomes),
        persona_sizes=sorted(f"{size:,}" for size in np.bincount(labels)),
    )


def test_a_new_user_imports_a_log_and_reads_its_journeys_churn_and_personas(server: str, browser_page) -> None:
    from playwright.sync_api import expect

    expected = _library_figures()
    page = browser_page
    sidebar = page.get_by_test_id("stSidebar")

    page.goto(server)
    expect(page.get_by_test_id("stMetricValue").first).to_be_visible()
    sidebar.get_by_role("link", name="Import & data quality").click()
    upload_complaints(page)
    expect_metrics(page, {"Customers (unique journeys)": expected.customers})
    save_log(page, LOG_NAME)
    screenshot(page, "main-flow-1-imported")

    sidebar.get_by_role("link", name="Journey map").click()
    expect(page.get_by_role("heading", name="Journey map")).to_be_visible()
    expect(sidebar.get_by_role("combobox", name="Log")).to_have_value(LOG_NAME)
    caption = page.get_by_text(re.compile(r"^Each box counts"))
    expect(caption).to_contain_text(expected.map_drawn)
    expect(caption).to_contain_text(expected.map_covered)
    drawing = page.locator(".pc-canvas").first
    expect(drawing.locator("svg g.node").first).to_be_visible()
    assert label_pixels(drawing) >= 10  # the complaints log's many touchpoints stay readable on first draw
    screenshot(page, "main-flow-2-journey-map")

    sidebar.get_by_role("link", name="Variants & paths").click()
    expect(page.get_by_role("heading", name="Variants & paths")).to_be_visible()
    expect_metrics(page, {"Customers (unique journeys)": expected.customers})
    expect(page.get_by_role("combobox", name="Path")).to_have_value(expected.top_variant)
    screenshot(page, "main-flow-3-variants")

    sidebar.get_by_role("link", name="Stages, funnel & churn").click()
    page.get_by_role("tab", name="Churn points").click()
    churn_tab = page.get_by_role("tabpanel", name="Churn points")
    expect(churn_tab.get_by_test_id("stMarkdown").first).to_contain_text(expected.outcomes)
    screenshot(page, "main-flow-4-churn-points")

    sidebar.get_by_role("link", name="Personas").click()
    page.get_by_text("Choose how many automatically").click()
    page.get_by_label("Personas (k)").fill(str(PERSONAS))
    page.get_by_label("Personas (k)").press("Enter")
    page.get_by_role("button", name="Find personas").click()
    expect_metrics(page, {"Personas": str(PERSONAS)})
    customers = page.get_by_test_id("stMetric").filter(has=page.get_by_text("Customers (unique journeys)", exact=True))
    expect(customers).to_have_count(PERSONAS + 1)  # the headline, then one per persona card
    headline, *sizes = customers.get_by_test_id("stMetricValue").all_inner_texts()
    assert headline == expected.customers
    assert sorted(sizes) == expected.persona_sizes
    assert sum(int(size.replace(",", "")) for size in sizes) == int(expected.customers.replace(",", ""))
    screenshot(page, "main-flow-5-personas")
