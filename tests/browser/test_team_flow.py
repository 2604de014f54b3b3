"""A team uses Parcours together in real browsers, signed in through a local OIDC provider (`oidc-provider-mock`).

Ana administers the Default workspace (PARCOURS_ADMINS) and the Retail one; Bob views the Default workspace only.
They sign in through `st.login` in two browser contexts: Bob is offered no import, edit or delete (and the library
refuses him too), a link to Retail's log does not open it for him, Ana's comment appears on Bob's open page without
a click, and Ana restores an earlier journey definition from its history. The secrets live in this test's
temporary folder, never in the repository.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from data import DEFAULT_WORKSPACE, PermissionDenied, Settings, Store, import_demo, save_view
from tests.browser.conftest import (
    BROWSER_MARKS,
    REPO,
    STEP_TIMEOUT_MS,
    TALL_WINDOW,
    _free_port,
    _wait_until_healthy,
    choose,
    expand,
    save_log,
    screenshot,
    stop,
)
from tests.data.test_store import event_log
from tests.ui.test_import_page import JOURNEYS
from tests.ui.test_team import save_two_definitions

pytestmark = BROWSER_MARKS

ANA = "ana@example.org"
BOB = "bob@example.org"
# How long to wait for a comment to reach the other open page: it takes about 1.5 s here (the fragment reruns every
# 3 s); a loaded CI machine once took more than 10 s, and tests hold no timing assertions.
COMMENT_SECONDS = 30
LOG_SHOWN = 6_000  # characters of the dashboard's log pytest shows under a failed test


@dataclasses.dataclass(frozen=True)
class Team:
    url: str
    settings: Settings
    demo_id: str
    retail_id: str
    log: Path  # the dashboard's output

    def store(self, user: str) -> Store:
        return Store(self.settings, user=user)


def _started(command: list[str], log_path: Path, env: dict[str, str]) -> subprocess.Popen:
    with log_path.open("wb") as log:
        return subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)


@pytest.fixture
def team(tmp_path: Path) -> Iterator[Team]:
    """The OIDC provider and the dashboard (PARCOURS_AUTH=oidc) on free ports, over a home holding the demo."""
    home = tmp_path / "home"
    settings = Settings(home=home, auth="oidc", admins=(ANA,))
    demo = import_demo(Store(dataclasses.replace(settings, auth="local")))
    ana = Store(settings, user=ANA)
    ana.set_member(DEFAULT_WORKSPACE, BOB, "viewer")
    retail = ana.create_workspace("Retail")
    theirs = ana.import_log(event_log(), name="Retail journeys", workspace=retail.id)

    provider_port, app_port = _free_port(), _free_port()
    provider = _started(
        [
            sys.executable,
            "-m",
            "oidc_provider_mock",
            "--port",
            str(provider_port),
            *("--user-claims", json.dumps({"sub": "ana", "email": ANA})),
            *("--user-claims", json.dumps({"sub": "bob", "email": BOB})),
        ],
        tmp_path / "provider.log",
        dict(os.environ),
    )
    secrets, log = tmp_path / "secrets.toml", tmp_path / "streamlit.log"
    secrets.write_text(
        "[auth]\n"
        f'redirect_uri = "http://localhost:{app_port}/oauth2callback"\n'
        f'cookie_secret = "{os.urandom(24).hex()}"\n'
        'client_id = "parcours"\n'
        'client_secret = "not-a-secret"\n'
        f'server_metadata_url = "http://127.0.0.1:{provider_port}/.well-known/openid-configuration"\n',
        encoding="utf-8",
    )
    app = _started(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.port",
            str(app_port),
            "--server.headless=true",
            "--logger.level=info",  # says why a fragment's refresh was dropped, should one be
            f"--secrets.files={secrets}",
        ],
        log,
        {**os.environ, "PARCOURS_HOME": str(home), "PARCOURS_AUTH": "oidc", "PARCOURS_ADMINS": ANA},
    )
    try:
        _wait_until_healthy(f"http://127.0.0.1:{app_port}", app, log)
        yield Team(f"http://localhost:{app_port}", settings, demo.id, theirs.id, log)
    finally:
        stop(app)
        stop(provider)
        print(log.read_text(encoding="utf-8", errors="replace")[-LOG_SHOWN:])  # on a failure


def signed_in(browser, team: Team, subject: str):
    """A browser context of its own, signed in as the provider's user `subject`; return its page on the home page."""
    from playwright.sync_api import expect

    page = browser.new_context(viewport=TALL_WINDOW).new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    page.goto(team.url)
    page.get_by_role("button", name="Sign in").click()
    page.locator(f"button[name=sub][value={subject}]").click()
    expect(page.get_by_test_id("stMetricValue").first).to_be_visible()
    return page


@dataclasses.dataclass
class Traffic:
    """What a page said and sent while it was watched: its console, and when it sent each websocket message."""

    console: list[str] = dataclasses.field(default_factory=list)
    sent: list[float] = dataclasses.field(default_factory=list)
    received: list[float] = dataclasses.field(default_factory=list)


def watch(page) -> Traffic:
    """Record the page's console and websocket traffic from now on (a fragment's refresh is a message sent)."""
    traffic = Traffic()

    def frames(websocket) -> None:
        websocket.on("framesent", lambda _: traffic.sent.append(time.monotonic()))
        websocket.on("framereceived", lambda _: traffic.received.append(time.monotonic()))

    page.on("console", lambda message: traffic.console.append(f"{message.type}: {message.text}"))
    page.on("websocket", frames)
    return traffic


def comment_arrives(page, text: str, traffic: Traffic, server_log: Path) -> None:
    """Wait for a teammate's comment on the open page; if it never comes, say what the page and the server did.

    CI lost such a refresh twice in many runs, never reproduced here (loaded or not): the message says whether the
    page still sent its refreshes and got answers, whether the text came but hidden, and what Streamlit logged, in
    place of the page's whole accessibility tree that fills Playwright's own message and hid the rest.
    """
    from playwright.sync_api import expect

    waited_from = time.monotonic()
    try:
        expect(page.get_by_text(text)).to_be_visible(timeout=COMMENT_SECONDS * 1000)
    except AssertionError as error:
        sent = [round(at - waited_from, 1) for at in traffic.sent if at >= waited_from]
        received = [round(at - waited_from, 1) for at in traffic.received if at >= waited_from]
        logged = [
            line
            for line in server_log.read_text(encoding="utf-8", errors="replace").splitlines()
            if any(word in line.lower() for word in ("fragment", "rerun", "session", "error", "warning", "websocket"))
        ]
        raise AssertionError(
            f"{text!r} not shown within {COMMENT_SECONDS} s ({page.get_by_text(text).count()} element(s) hold it; "
            f"the panel still says no comment: {page.get_by_text('No comment yet.').is_visible()}); "
            f"meanwhile the page sent {len(sent)} websocket message(s), at {sent[-20:]} s, and received "
            f"{len(received)}, the last at {received[-1:]} s; its console: {traffic.console[-20:]}; "
            f"the server logged: {logged[-30:]}; "
            f"Playwright said: {str(error)[:300]}"
        ) from None


def test_a_team_signs_in_works_by_role_and_sees_each_others_comments(team: Team, browser) -> None:
    from playwright.sync_api import expect

    anonymous = browser.new_context(viewport=TALL_WINDOW).new_page()
    anonymous.goto(team.url)
    expect(anonymous.get_by_role("button", name="Sign in")).to_be_visible()
    expect(anonymous.get_by_test_id("stMetric")).to_have_count(0)
    screenshot(anonymous, "team-1-sign-in")

    save_view(team.store(ANA), team.demo_id, "Churners", "app.py", {"dataset": team.demo_id})
    ana = signed_in(browser, team, "ana")
    bob = signed_in(browser, team, "bob")
    expect(bob.get_by_test_id("stSidebar").get_by_text("Signed in as bob")).to_be_visible()

    # Bob, a viewer, is offered no import, rename or delete; the library refuses him as well.
    expand(bob, "Rename or delete a stored log", bob.get_by_text("Only an admin of this workspace can delete a log"))
    expect(bob.get_by_role("button", name="Delete…")).to_have_count(0)
    screenshot(bob, "team-2-viewer-home")
    with pytest.raises(PermissionDenied):
        team.store(BOB).delete(team.demo_id)
    with pytest.raises(PermissionDenied):
        team.store(BOB).rename(team.demo_id, "mine")
    bob.get_by_test_id("stSidebar").get_by_role("link", name="Import & data quality").click()
    expect(bob.get_by_text("Only an editor of this workspace can import logs; you are a viewer.")).to_be_visible()
    expect(bob.locator("input[type=file]")).to_have_count(0)
    screenshot(bob, "team-3-viewer-import")
    bob.get_by_test_id("stSidebar").get_by_role("link", name="Journey definition").click()
    expect(bob.get_by_text("Only an editor of this workspace can save a journey definition")).to_be_visible()
    expect(bob.get_by_role("button", name="Save as version 1")).to_have_count(0)

    # A link to the Retail workspace's log opens Bob's own log instead.
    bob.goto(f"{team.url}/?dataset={team.retail_id}")
    expect(bob.get_by_text("not in your workspaces")).to_be_visible()
    expect(bob.get_by_text("Retail journeys")).to_have_count(0)
    screenshot(bob, "team-4-other-workspace")

    # Ana comments on a saved view; Bob's open page shows it without a click.
    traffic = watch(bob)
    bob.goto(team.url)
    expand(bob, "Comments on a saved view", bob.get_by_text("No comment yet."))
    expand(ana, "Comments on a saved view", ana.get_by_label("Your comment"))
    ana.get_by_label("Your comment").fill("@bob@example.org the churners cluster after the bill")
    ana.get_by_role("button", name="Post the comment").click()
    expect(ana.get_by_text("the churners cluster after the bill")).to_be_visible()
    comment_arrives(bob, "the churners cluster after the bill", traffic, team.log)
    screenshot(bob, "team-5-comment-arrived")
    bob.reload()
    expect(bob.get_by_text("Mentions of you")).to_be_visible()
    # Under "Mentions of you" and under the log's recent comments.
    expect(bob.get_by_text("the churners cluster after the bill").filter(visible=True)).to_have_count(2)


def test_an_admin_restores_an_earlier_journey_definition(team: Team, browser) -> None:
    from playwright.sync_api import expect

    store = team.store(ANA)
    save_two_definitions(store, team.demo_id)

    ana = signed_in(browser, team, "ana")
    ana.get_by_test_id("stSidebar").get_by_role("link", name="Journey definition").click()
    expect(ana.get_by_text("Version 2 is in force")).to_be_visible()
    restore = ana.get_by_role("button", name="Restore this version")
    expand(ana, "Load a definition file, or see the saved versions", restore)
    restore.click()
    expect(ana.get_by_text("Version 3 is in force")).to_be_visible()
    ana.get_by_test_id("stExpander").get_by_text("Every change to this log").first.click()
    screenshot(ana, "team-6-restored")

    assert store.definition(team.demo_id).payload == store.definition(team.demo_id, 1).payload
    assert store.history(team.demo_id)[0].user_id == ANA

    ana.get_by_test_id("stSidebar").get_by_role("link", name="Workspace").click()
    expect(ana.get_by_role("heading", name="Members")).to_be_visible()
    expect(ana.get_by_role("button", name="Add or change")).to_be_visible()
    screenshot(ana, "team-7-workspace")


def test_an_admin_imports_a_log_into_the_workspace_picked_in_the_sidebar(team: Team, browser, tmp_path) -> None:
    from playwright.sync_api import expect

    journeys = tmp_path / "retail-week.csv"
    journeys.write_text(JOURNEYS.decode(), encoding="utf-8")
    ana = signed_in(browser, team, "ana")
    sidebar = ana.get_by_test_id("stSidebar")
    choose(ana, sidebar, "Workspace", "Retail (admin)")
    expect(sidebar.get_by_role("combobox", name="Log")).to_have_value("Retail journeys")
    sidebar.get_by_role("link", name="Import & data quality").click()
    ana.locator("input[type=file]").set_input_files(journeys)
    ana.get_by_test_id("stForm").get_by_role("button", name="Apply the mapping").click()
    save_log(ana, "Retail week")
    screenshot(ana, "team-8-imported")

    (stored,) = [dataset for dataset in team.store(ANA).datasets() if dataset.name == "Retail week"]
    assert stored.workspace_id != DEFAULT_WORKSPACE
    assert stored.workspace_id == team.store(ANA).dataset(team.retail_id).workspace_id
