"""In a real browser: reloading the import page keeps the file and the mapping choices (a reload starts a new
Streamlit session, which AppTest can only imitate)."""

from __future__ import annotations

import re

from data import load_log
from tests.browser.conftest import BROWSER_MARKS, COMPLAINTS, expect_metrics, screenshot, upload_complaints

pytestmark = BROWSER_MARKS


def test_reloading_the_import_page_keeps_the_file_and_the_mapping(server: str, browser_page) -> None:
    from playwright.sync_api import expect

    expected = load_log(COMPLAINTS).quality
    page = browser_page
    page.goto(f"{server}/Import_and_quality")
    upload_complaints(page)
    expect_metrics(page, {"Events": f"{expected.events:,}"})
    expect(page).to_have_url(re.compile(r"[?&]upload=[0-9a-f]{64}"))
    expect(page).to_have_url(re.compile(r"[?&]choices="))

    page.reload()

    expect(page.get_by_text("uploaded before this page was reloaded")).to_be_visible()
    form = page.get_by_test_id("stForm")
    expect(form.get_by_role("group", name="Selected values")).to_contain_text("ComplaintTopic_EN —")
    expect_metrics(page, {"Customers (unique journeys)": f"{expected.cases:,}", "Events": f"{expected.events:,}"})
    screenshot(page, "import-after-reload")
