"""A CX lead confirms a log's journey definition in a real browser: the figures first say they follow an unconfirmed
suggestion, the definition page asks for the goal, the stages and the churn rule with the reasons, shows what a
change gives before saving, and once saved every page follows it.

Screenshots of each step go to test-results/ for a person to look at, at the 1400-pixel width a laptop shows.
"""

from __future__ import annotations

from dataclasses import replace

from data import Settings, Store, import_demo
from discovery import ChurnRule, definition_of, outcome_counts
from tests.browser.conftest import BROWSER_MARKS, expect_metrics, screenshot
from ui.definition import outcome_sentence

pytestmark = BROWSER_MARKS


def test_a_cx_lead_confirms_the_journey_definition_and_every_page_follows_it(
    server: str, browser_page, tmp_path
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    sidebar = page.get_by_test_id("stSidebar")
    page.goto(server)  # the first run stores the demo
    expect(page.get_by_test_id("stMetricValue").first).to_be_visible()
    store = Store(Settings(home=tmp_path / "home"))
    (dataset,) = store.datasets()
    suggested, _ = definition_of(store, dataset.id)
    with store.engine(dataset.id) as engine:
        before = outcome_counts(engine, suggested)
        thirty_days = replace(suggested, churn=ChurnRule(suggested.churn.touchpoints, 30))
        after = outcome_counts(engine, thirty_days)

    expect(page.get_by_text("These figures follow a suggested journey definition")).to_be_visible()
    expect_metrics(page, {"Churned (of decided journeys)": f"{before.churn_rate:.1%}"})
    screenshot(page, "definition-1-home-unconfirmed")

    sidebar.get_by_role("link", name="Journey definition").click()
    expect(page.get_by_role("heading", name="Journey definition")).to_be_visible()
    expect(page.get_by_text("Nobody has confirmed this log's journey definition yet")).to_be_visible()
    expect(page.get_by_text("'subscribe' looks like the goal: its name says 'subscribe'")).to_be_visible()
    expect(page.get_by_text(outcome_sentence(before))).to_be_visible()
    screenshot(page, "definition-2-asked")

    window = page.get_by_role("spinbutton", name="Silence that counts as churn")
    window.fill("30")
    window.press("Enter")
    expect(page.get_by_text(outcome_sentence(after))).to_be_visible()
    page.get_by_role("button", name="Save as version 1").click()
    expect(page.get_by_text("Version 1 is in force")).to_be_visible()
    screenshot(page, "definition-3-saved")
    assert definition_of(store, dataset.id) == (thirty_days, 1)

    sidebar.get_by_role("link", name="Stages, funnel & churn").click()
    expect(page.get_by_text("Journey definition version 1 (goal: subscribe).")).to_be_visible()
    page.get_by_role("tab", name="Churn points").click()
    churn_tab = page.get_by_role("tabpanel", name="Churn points")
    expect(churn_tab.get_by_test_id("stMarkdown").first).to_contain_text(outcome_sentence(after))
    screenshot(page, "definition-4-stages-follow")

    # A new log on the same server is asked about again.
    shop = import_demo(store, "shop")
    page.goto(f"{server}/?dataset={shop.id}")
    expect(page.get_by_text("These figures follow a suggested journey definition")).to_be_visible()
