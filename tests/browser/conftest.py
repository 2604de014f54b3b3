"""What every browser test shares: a real `streamlit run app.py`, Debian's Chromium, and the steps a user repeats.

Each test gets the dashboard on a free port with its own empty PARCOURS_HOME and one tall Chromium page.
Screenshots go to test-results/ (git-ignored) for a person to look at.
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
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

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
# A select box's list, or an expander's content, shows within a second on an idle machine; past this, a rerun closed
# it and it is opened again.
OPTION_TIMEOUT_MS = 15_000
ATTEMPTS_TO_CHOOSE = 4
# Streamlit scrolls inside its main block, so only a tall window shows a whole page on a screenshot.
TALL_WINDOW = {"width": 1400, "height": 2600}

# Locally a machine without Chromium skips these tests; CI installs it and must run them.
MISSING_CHROMIUM = not CHROMIUM.exists() and not os.environ.get("CI")
BROWSER_MARKS = [pytest.mark.browser, pytest.mark.skipif(MISSING_CHROMIUM, reason="apt-get install chromium")]


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: CI must install Debian's chromium (apt-get install chromium).")
    return CHROMIUM


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """Run the dashboard on a free port with an empty home; yield its URL."""
    with dashboard(tmp_path / "home", tmp_path / "streamlit.log") as url:
        yield url


@contextmanager
def dashboard(home: Path, log_path: Path, env: Mapping[str, str] | None = None) -> Iterator[str]:
    """Run the dashboard on a free port over `home`, with `env` added to the environment; yield its URL."""
    port = _free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port), "--server.headless=true"],
            cwd=REPO,
            env={**os.environ, "PARCOURS_HOME": str(home), **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(url, process, log_path)
        yield url
    finally:
        stop(process)


def stop(process: subprocess.Popen) -> None:
    """End a server the test started: politely, then for good after 10 seconds."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def browser_page(chromium: Path):
    """One tall Chromium page whose every wait is generous."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=TALL_WINDOW)
        page.set_default_timeout(STEP_TIMEOUT_MS)
        expect.set_options(timeout=STEP_TIMEOUT_MS)
        try:
            yield page
        finally:
            browser.close()


@pytest.fixture
def browser(chromium: Path):
    """Chromium, for tests that open several browser contexts (users) of their own."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        expect.set_options(timeout=STEP_TIMEOUT_MS)
        try:
            yield browser
        finally:
            browser.close()


def upload_complaints(page) -> None:
    """On the Import page: upload the BPIC 2016 complaints CSV, check the detected mapping and apply it."""
    from playwright.sync_api import expect

    page.locator("input[type=file]").set_input_files(COMPLAINTS)
    form = page.get_by_test_id("stForm")
    expect(form.get_by_role("combobox", name="Customer / case id")).to_have_value(re.compile("^CustomerID —"))
    expect(form.get_by_role("group", name="Selected values")).to_contain_text("ComplaintTopic_EN —")
    expect(form.get_by_role("combobox", name="Time", exact=True)).to_have_value(re.compile("^ContactDate —"))
    form.get_by_role("button", name="Apply the mapping").click()


def save_log(page, name: str) -> None:
    """On the Import page, once the mapping is applied: store the log under `name`."""
    from playwright.sync_api import expect

    page.get_by_label("Name").fill(name)
    page.get_by_label("Name").press("Enter")
    page.get_by_role("button", name="Save to the store").click()
    expect(page.get_by_text(f"Stored as “{name}”")).to_be_visible()


def expect_metrics(page, counts: dict[str, str]) -> None:
    """Expect each metric labelled with a key of `counts` to show its value."""
    from playwright.sync_api import expect

    for label, value in counts.items():
        metric = page.get_by_test_id("stMetric").filter(has=page.get_by_text(label, exact=True))
        expect(metric.get_by_test_id("stMetricValue")).to_have_text(value)


def idle(page) -> None:
    """Wait until the page's script run is over: a click made during a run can land on an element being redrawn."""
    from playwright.sync_api import expect

    expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state", "notRunning")


def choose(page, within, label: str, option: str) -> None:
    """Pick `option` of the select box `label` inside `within`, once the page is idle.

    A rerun landing between opening the box and clicking its option closes the list (seen on a loaded CI machine),
    so the box is opened again until the option can be clicked.
    """
    choice = page.get_by_role("option", name=option, exact=True)
    _reopened(
        page,
        lambda: within.get_by_role("combobox", name=label).fill(option),
        lambda timeout: choice.click(timeout=timeout),
        on_miss=lambda: page.keyboard.press("Escape"),
    )


def expand(page, summary: str, shown) -> None:
    """Open the expander titled `summary` until `shown`, a locator inside it, is visible, once the page is idle.

    A rerun landing on the click can redraw the expander closed (a step once waited its 90 s for a button inside
    one here, the machine loaded), so it is opened again until what it holds shows.
    """
    _reopened(page, page.get_by_text(summary).click, lambda timeout: shown.wait_for(state="visible", timeout=timeout))


def _reopened(page, open_it, finish, on_miss=lambda: None) -> None:
    """Once the page is idle, `open_it()` then `finish(timeout)`; a `finish` that times out (a rerun closed what was
    opened) has `on_miss()` called and everything done again, ATTEMPTS_TO_CHOOSE times in all, the last one with
    Playwright's own timeout."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    for _ in range(ATTEMPTS_TO_CHOOSE - 1):
        idle(page)
        open_it()
        try:
            finish(OPTION_TIMEOUT_MS)
            return
        except PlaywrightTimeoutError:
            on_miss()
    idle(page)
    open_it()
    finish(None)


def screenshot(page, name: str) -> None:
    """Save the whole page once its script run is over and its charts are drawn."""
    from playwright.sync_api import expect

    expect(page.get_by_test_id("stStatusWidget")).to_be_hidden()
    # A chart's code loads after the script run (a skeleton stands in meanwhile). Plotly and the maps' component then
    # draw in the browser; a chart in a closed tab is never drawn.
    expect(page.get_by_test_id("stSkeleton").filter(visible=True)).to_have_count(0)
    for chart in page.get_by_test_id("stPlotlyChart").filter(visible=True).all():
        expect(chart.locator(".main-svg").first).to_be_visible()
    for drawing in page.locator(".pc-canvas").filter(visible=True).all():
        expect(drawing.locator("svg g.node").first).to_be_visible()
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


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


def label_pixels(drawing) -> float:
    """The on-screen size, in pixels, of a box label of an interactive drawing as it is zoomed now."""
    return drawing.evaluate(
        """canvas => {
            const svg = canvas.querySelector("svg"), box = svg.viewBox.baseVal;
            const text = svg.querySelector("g.node text");
            return parseFloat(text.getAttribute("font-size")) * canvas.clientWidth / box.width;
        }"""
    )
