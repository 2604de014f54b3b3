"""A CX lead acts on a churn point in a real browser: from the Stages page's churn points to a new action on the
Actions page, saved with its go-live, then its measured effect with the weekly chart.

Screenshots go to test-results/ for a person to look at.
"""

from __future__ import annotations

import datetime as dt
import re

from data import Settings, Store
from discovery import Action, ActionTarget, action_effect, actions_of, definition_of, save_action
from tests.browser.conftest import BROWSER_MARKS, expect_metrics, screenshot
from ui.actions import change_text

pytestmark = BROWSER_MARKS


def test_a_cx_lead_acts_on_a_churn_point_and_sees_its_effect(server: str, browser_page, tmp_path) -> None:
    from playwright.sync_api import expect

    page = browser_page
    sidebar = page.get_by_test_id("stSidebar")
    page.goto(server)  # the first run stores the demo
    expect(page.get_by_test_id("stMetricValue").first).to_be_visible()
    sidebar.get_by_role("link", name="Stages, funnel & churn").click()
    page.get_by_role("tab", name="Churn points").click()
    churn_tab = page.get_by_role("tabpanel", name="Churn points")
    churn_tab.get_by_role("link", name="Act on this churn point").click()

    expect(page.get_by_role("heading", name="Actions")).to_be_visible()
    form = page.get_by_test_id("stForm").first
    target_name = form.get_by_role("textbox", name="Target name", exact=True)
    expect(target_name).to_have_value(re.compile(".+"))
    target = target_name.input_value()
    form.get_by_role("textbox", name="Title", exact=True).fill("Win back after the first click")
    # The go-live is typed segment by segment, as a person types a day into its year, month and day.
    form.get_by_role("spinbutton", name="year, Go-live").click()
    page.keyboard.type("20250601")
    expect(form.get_by_role("spinbutton", name="day, Go-live")).to_have_attribute("aria-valuetext", "01")
    form.get_by_role("button", name="Save the action").click()
    expect(page.get_by_text("After − before (targeted)")).to_be_visible()

    store = Store(Settings(home=tmp_path / "home"))
    (dataset,) = store.datasets()
    (action,) = actions_of(store, dataset.id)
    assert (action.title, action.target.kind, action.target.value) == (
        "Win back after the first click",
        "churn point",
        target,
    )
    assert action.go_live.isoformat() == "2025-06-01"
    definition, _ = definition_of(store, dataset.id)
    with store.engine(dataset.id) as engine:
        effect = action_effect(engine, definition, action)
    expect_metrics(page, {"After − before (targeted)": change_text(effect.difference[0], effect.unit)})
    expect(page.get_by_text("This is an observational comparison")).to_be_visible()
    screenshot(page, "actions-effect")

    # An action on a stage has customers outside it to compare with: the difference in differences is shown too.
    staged = Action(
        "Compare offers in store",
        ActionTarget("stage", "consideration"),
        "conversion",
        go_live=dt.date(2025, 6, 1),
        status="live",
        owner="Ana",
    )
    save_action(store, dataset.id, staged)
    page.goto(f"{server}/Actions?dataset={dataset.id}&action={staged.id}")
    with store.engine(dataset.id) as engine:
        did = action_effect(engine, definition, staged).did
    expect_metrics(page, {"Difference in differences": change_text(did[0], "share")})
    screenshot(page, "actions-difference-in-differences")
