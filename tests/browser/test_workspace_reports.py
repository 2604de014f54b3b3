"""A workspace's reports in real browsers, behind a sign-in proxy (`PARCOURS_AUTH=header`, see test_team_header.py).

Ana administers the Default workspace: she brands its reports on the Workspace page (name, colour, an SVG logo
uploaded), the Reports page previews a report carrying them, she saves it, and the home page lists it beside the
log's open action. Bob, a viewer, sees the branding but is offered no form to change it.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from data import DEFAULT_WORKSPACE, Settings, Store, saved_reports
from discovery import Action, ActionTarget, save_action
from tests.browser.conftest import BROWSER_MARKS, dashboard, screenshot
from tests.browser.test_team_header import ANA, BOB, HEADER, opened
from tests.data.test_store import event_log

pytestmark = BROWSER_MARKS

LOGO = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 4 1"><rect width="4" height="1" fill="#0b6e4f"/></svg>'


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[str]:
    """The dashboard in header mode over a home holding one small log with one live action; yield its URL."""
    home = tmp_path / "home"
    ana = Store(Settings(home=home, auth="header", admins=(ANA,)), user=ANA)
    dataset = ana.import_log(event_log(), name="Shop week")
    ana.set_member(DEFAULT_WORKSPACE, BOB, "viewer")
    target = ActionTarget("touchpoint", "visit_website")
    live = Action("Faster checkout", target, "conversion", go_live=dt.date(2026, 11, 2), status="live", owner="ana")
    save_action(ana, dataset.id, live)
    env = {"PARCOURS_AUTH": "header", "PARCOURS_TRUSTED_HEADER": HEADER, "PARCOURS_ADMINS": ANA}
    with dashboard(home, tmp_path / "streamlit.log", env) as url:
        yield url


def test_an_admin_brands_the_reports_saves_one_and_the_home_page_lists_it(proxied: str, browser, tmp_path) -> None:
    from playwright.sync_api import expect

    (tmp_path / "logo.svg").write_bytes(LOGO)
    ana = opened(browser, proxied, {HEADER: ANA})
    ana.get_by_test_id("stSidebar").get_by_role("link", name="Workspace").click()
    ana.get_by_role("textbox", name="Company name").fill("Acme Telecom")
    ana.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(tmp_path / "logo.svg"))
    ana.get_by_role("button", name="Save the branding").click()
    expect(ana.get_by_text("Reports carry Acme Telecom")).to_be_visible()
    screenshot(ana, "workspace-1-branding")

    ana.get_by_test_id("stSidebar").get_by_role("link", name="Reports").click()
    preview = ana.frame_locator("iframe")
    expect(preview.get_by_text("Acme Telecom")).to_be_visible()
    ana.get_by_role("button", name="Save this report").click()
    ana.get_by_role("textbox", name="Name of the report").fill("Weekly shop review")
    ana.get_by_role("textbox", name="Name of the report").press("Enter")
    ana.get_by_role("button", name="Save", exact=True).click()
    expect(ana.get_by_text(re.compile("Saved “Weekly shop review”"))).to_be_visible()
    ana.keyboard.press("Escape")  # close the popover: the screenshot shows the branded preview
    expect(ana.get_by_role("textbox", name="Name of the report")).to_be_hidden()
    screenshot(ana, "workspace-2-report")
    store = Store(Settings(home=tmp_path / "home", auth="header", admins=(ANA,)), user=ANA)
    (report,) = saved_reports(store)
    assert (report.name, report.owner) == ("Weekly shop review", ANA)
    assert store.branding(DEFAULT_WORKSPACE)["logo"] == "data:image/svg+xml;base64," + base64.b64encode(LOGO).decode()

    ana.get_by_test_id("stSidebar").get_by_role("link", name="Home").click()
    expect(ana.get_by_role("link", name="Weekly shop review — Reports of Shop week")).to_be_visible()
    expect(ana.get_by_role("link", name="Faster checkout — live, ana, goes live 2026-11-02")).to_be_visible()
    screenshot(ana, "workspace-3-home")

    bob = opened(browser, proxied, {HEADER: BOB})
    bob.get_by_test_id("stSidebar").get_by_role("link", name="Workspace").click()
    expect(bob.get_by_text("Reports carry Acme Telecom")).to_be_visible()
    expect(bob.get_by_text("Only an admin of this workspace can set the branding; you are a viewer.")).to_be_visible()
    expect(bob.get_by_role("button", name="Save the branding")).to_have_count(0)
