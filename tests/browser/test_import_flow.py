"""The import flow in a real browser: upload a real log, confirm its mapping, save it, find it on the home page.

A real `streamlit run Home.py` on a free port with its own PARCOURS_HOME, driven by Debian's Chromium
through Playwright (see conftest.py). Screenshots of each step go to test-results/ for a person to look at.
"""

from __future__ import annotations

from data import load_log
from tests.browser.conftest import (
    BROWSER_MARKS,
    COMPLAINTS,
    expect_metrics,
    save_log,
    screenshot,
    upload_complaints,
)

pytestmark = BROWSER_MARKS


def test_upload_confirm_save_and_find_the_log_on_the_home_page(server: str, browser_page) -> None:
    from playwright.sync_api import expect

    expected = load_log(COMPLAINTS).quality
    counts = {
        "Customers (unique journeys)": f"{expected.cases:,}",
        "Events": f"{expected.events:,}",
        "Touchpoints (distinct activities)": f"{expected.activities:,}",
    }
    page = browser_page
    page.goto(server)
    expect(page.get_by_test_id("stMetricValue").first).to_be_visible()
    screenshot(page, "import-flow-1-home-first-run")

    page.goto(f"{server}/Import_and_quality")
    upload_complaints(page)
    expect_metrics(page, counts)
    screenshot(page, "import-flow-2-import-mapping-and-quality")

    save_log(page, "UWV complaints")
    screenshot(page, "import-flow-3-import-saved")

    page.get_by_role("link", name="Open it on the home page").click()
    expect(page.get_by_role("heading", name="UWV complaints")).to_be_visible()
    expect_metrics(page, counts)
    screenshot(page, "import-flow-4-home-with-the-new-log")
