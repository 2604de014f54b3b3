"""The main flow in a real browser: upload a real log, confirm its mapping, save it, find it on the home page.

A real `streamlit run app.py` on a free port with its own PARCOURS_HOME, driven by Debian's Chromium
through Playwright. Screenshots of each step go to test-results/ (git-ignored) for a person to look at.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from data import load_log
from tests.conftest import DATASETS, REPO

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
COMPLAINTS = DATASETS / "bpic16-complaints" / "BPI2016_Complaints.csv"
SCREENSHOTS = REPO / "test-results"
SERVER_START_SECONDS = 60
# The first page run stores the demo log and a save builds a DuckDB layout: waits are generous, never asserted.
STEP_TIMEOUT_MS = 90_000


# Locally a machine without Chromium skips these tests; CI installs it and must run them.
MISSING_CHROMIUM = not CHROMIUM.exists() and not os.environ.get("CI")
pytestmark = [pytest.mark.browser, pytest.mark.skipif(MISSING_CHROMIUM, reason="apt-get install chromium")]


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: CI must install Debian's chromium (apt-get install chromium).")
    return CHROMIUM


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """Run the dashboard on a free port with an empty home; yield its URL."""
    port = _free_port()
    log_path = tmp_path / "streamlit.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.headless=true"],
            cwd=REPO,
            env={**os.environ, "PARCOURS_HOME": str(tmp_path / "home")},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(url, process, log_path)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_upload_confirm_save_and_find_the_log_on_the_home_page(chromium: Path, server: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    expected = load_log(COMPLAINTS).quality
    counts = {
        "Customers (unique journeys)": f"{expected.cases:,}",
        "Events": f"{expected.events:,}",
        "Touchpoints (distinct activities)": f"{expected.activities:,}",
    }
    SCREENSHOTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        # Streamlit scrolls inside its main block, so only a tall window shows a whole page on a screenshot.
        page = browser.new_page(viewport={"width": 1400, "height": 2600})
        page.set_default_timeout(STEP_TIMEOUT_MS)
        expect.set_options(timeout=STEP_TIMEOUT_MS)
        try:
            page.goto(server)
            expect(page.get_by_test_id("stMetricValue").first).to_be_visible()
            _screenshot(page, "1-home-first-run")

            page.goto(f"{server}/Import_and_quality")
            page.locator("input[type=file]").set_input_files(COMPLAINTS)
            form = page.get_by_test_id("stForm")
            expect(form.get_by_role("combobox", name="Customer / case id")).to_have_value(re.compile("^CustomerID —"))
            expect(form.get_by_role("group", name="Selected values")).to_contain_text("ComplaintTopic_EN —")
            expect(form.get_by_role("combobox", name="Time", exact=True)).to_have_value(re.compile("^ContactDate —"))
            form.get_by_role("button", name="Apply the mapping").click()
            _expect_metrics(page, counts)
            _screenshot(page, "2-import-mapping-and-quality")

            page.get_by_label("Name").fill("UWV complaints")
            page.get_by_label("Name").press("Enter")
            page.get_by_role("button", name="Save to the store").click()
            expect(page.get_by_text("Stored as “UWV complaints”")).to_be_visible()
            _screenshot(page, "3-import-saved")

            page.get_by_role("link", name="Open it on the home page").click()
            expect(page.get_by_role("heading", name="UWV complaints")).to_be_visible()
            _expect_metrics(page, counts)
            _screenshot(page, "4-home-with-the-new-log")
        finally:
            browser.close()


def _expect_metrics(page, counts: dict[str, str]) -> None:
    from playwright.sync_api import expect

    for label, value in counts.items():
        metric = page.get_by_test_id("stMetric").filter(has=page.get_by_text(label, exact=True))
        expect(metric.get_by_test_id("stMetricValue")).to_have_text(value)


def _screenshot(page, name: str) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_test_id("stStatusWidget")).to_be_hidden()  # the script run is over
    page.screenshot(path=SCREENSHOTS / f"import-flow-{name}.png", full_page=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_healthy(url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"streamlit exited with {process.returncode}:\n{log_path.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    pytest.fail(f"streamlit did not answer within {SERVER_START_SECONDS} s:\n{log_path.read_text(errors='replace')}")
