"""In a real browser a table offers Parcours' downloads only: Streamlit's toolbar has no "Download as CSV".

The toolbar's export would hand out cells as they are; `client.disableDataExport` hides it (Streamlit 1.67 has no
per-table switch). The CSV that Parcours offers instead is stamped with the log, its definition and the filters.
"""

from __future__ import annotations

import re

import pandas as pd

from tests.browser.conftest import BROWSER_MARKS, SCREENSHOTS, screenshot

pytestmark = BROWSER_MARKS


def test_a_table_has_no_toolbar_export_and_its_csv_is_stamped(server: str, browser_page) -> None:
    from playwright.sync_api import expect

    page = browser_page
    page.goto(server)  # the first run stores the demo
    table = page.get_by_test_id("stDataFrame").first
    expect(table).to_be_visible()
    table.hover()
    toolbar = page.get_by_test_id("stElementToolbar").filter(visible=True).first
    expect(toolbar.get_by_role("button", name="Search")).to_be_visible()  # the toolbar is there …
    expect(toolbar.get_by_role("button", name="Download as CSV")).to_have_count(0)  # … without its export
    screenshot(page, "exports-1-home")
    table.hover()
    page.screenshot(path=SCREENSHOTS / "exports-2-toolbar-without-download.png")

    with page.expect_download() as started:
        page.get_by_test_id("stDownloadButton").first.get_by_role("button", name="CSV").click()
    download = started.value

    assert re.fullmatch(r"stored-logs_.+_[0-9a-f]{16}_(suggested|v\d+)_all-customers\.csv", download.suggested_filename)
    stored = pd.read_csv(download.path(), encoding="utf-8-sig")
    assert len(stored) == 1 and stored.columns[0] == "Log"
