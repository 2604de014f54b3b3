"""The import flow in a real browser: upload a real log, confirm its mapping, save it, find it on the home page.

A real `streamlit run app.py` on a free port with its own PARCOURS_HOME, driven by Debian's Chromium
through Playwright (see conftest.py). Screenshots of each step go to test-results/ for a person to look at.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from data import load_log
from data.demo import generate_demo
from tests.browser.conftest import (
    BROWSER_MARKS,
    COMPLAINTS,
    SCREENSHOTS,
    dashboard,
    expect_metrics,
    save_log,
    screenshot,
    upload_complaints,
)
from tests.data.test_large_uploads import EVENTS, journeys_csv

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


POLL_MS = 50


def test_a_typed_parquet_file_is_previewed_then_checked_and_stored_in_one_step_its_map_drawn_meanwhile(
    server: str, browser_page, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    log = generate_demo(40_000, scenario="telecom", seed=3).events  # 725k events: the first look shows for seconds
    log["timestamp"] = pd.to_datetime(log["timestamp"], utc=True)  # instants, as a warehouse export stores them
    path = tmp_path / "telecom.parquet"
    log.to_parquet(path, index=False)
    page = browser_page
    button = _uploaded_and_mapped(page, server, path, case_column="customer_id")
    expect(button).to_be_visible()
    expect(page.get_by_test_id("stMetric")).to_have_count(0)  # no report before every row is checked
    screenshot(page, "import-flow-parquet-1-preview-and-mapping")

    page.get_by_label("Name").fill("Telecom sample")
    page.get_by_label("Name").press("Enter")
    button.click()
    # The first look at the journey map is on the page only while the import goes on: look for it until it ends.
    stored = page.get_by_text(f"Stored as “Telecom sample”: {len(log):,} events of 40,000 customers")
    drawn_boxes = page.locator(".pc-canvas svg g.node")
    boxes_seen = 0
    while not stored.is_visible():
        if not boxes_seen and (boxes_seen := drawn_boxes.count()):
            SCREENSHOTS.mkdir(exist_ok=True)  # not `screenshot`, which waits for the run to end
            page.screenshot(path=SCREENSHOTS / "import-flow-parquet-2-first-look-while-storing.png", full_page=True)
        page.wait_for_timeout(POLL_MS)
    assert boxes_seen > 2  # start, end and the touchpoints
    expect(page.get_by_text("Data quality ·")).to_be_visible()
    screenshot(page, "import-flow-parquet-3-stored-with-its-quality")


def test_a_large_csv_with_a_bad_row_is_previewed_named_dropped_and_stored(browser_page, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    path = tmp_path / "journeys.csv"
    path.write_bytes(journeys_csv(bad_row=EVENTS - 5))
    with dashboard(tmp_path / "home", tmp_path / "streamlit.log", {"PARCOURS_WHOLE_UPLOAD_ROWS": "1000"}) as url:
        page = browser_page
        button = _uploaded_and_mapped(page, url, path, case_column="client")
        button.click()
        drop = page.get_by_text("Drop invalid rows: skip these 1 row(s) and import the others")
        expect(drop).to_be_visible()
        screenshot(page, "import-flow-large-csv-1-bad-row-named")

        drop.click()
        button.click()
        expect(page.get_by_text(f"Stored as “journeys.csv”: {EVENTS - 1:,} events of")).to_be_visible()
        expect(page.get_by_text("Data quality ·")).to_be_visible()
        screenshot(page, "import-flow-large-csv-2-stored-with-its-quality")


def _uploaded_and_mapped(page, server: str, path: Path, *, case_column: str):
    """Upload the file at `path` on the Import page, apply the proposed mapping, and return the save button."""
    from playwright.sync_api import expect

    page.goto(f"{server}/Import_and_quality")
    page.locator("input[type=file]").set_input_files(path)
    form = page.get_by_test_id("stForm")
    expect(form.get_by_role("combobox", name="Customer / case id")).to_have_value(re.compile(f"^{case_column} —"))
    form.get_by_role("button", name="Apply the mapping").click()
    return page.get_by_role("button", name="Check every row and save to the store")
