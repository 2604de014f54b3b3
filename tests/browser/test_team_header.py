"""Parcours behind a sign-in proxy (`PARCOURS_AUTH=header`) in real browsers: the proxy's header names the user.

A small proxy adds the header an oauth2-proxy would add (`_header_proxy`), from the loopback address, the one
`PARCOURS_TRUSTED_PROXIES` allows here. Ana administers the Default workspace (PARCOURS_ADMINS), Bob views it: each
is named in the sidebar, Bob is offered no import, and a request naming nobody is refused with what is missing. A
request from an address that is not a proxy is refused too (tests/ui/test_team.py: a browser here always comes from
the loopback address). On the Designed vs actual page Ana restores an earlier design from its history, and Bob, who
cannot, comments on a designed step.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from data import DEFAULT_WORKSPACE, Settings, Store
from discovery import DesignedStage, designed_history, designed_of, save_designed
from tests.browser.conftest import (
    BROWSER_MARKS,
    STEP_TIMEOUT_MS,
    TALL_WINDOW,
    choose,
    dashboard,
    expand,
    screenshot,
)
from tests.data.test_store import event_log
from tests.discovery.test_conformance import DESIGN, LOG

pytestmark = BROWSER_MARKS

ANA = "ana@example.org"
BOB = "bob@example.org"
HEADER = "X-Auth-Request-Email"  # oauth2-proxy's name for it, not the default: the setting is read
SHOP_DESIGN = dataclasses.replace(DESIGN, name="Web shop")


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[str]:
    """The dashboard in header mode over a home holding one small web shop log with two versions of its design, the
    second without the optional compare step; yield its URL."""
    home = tmp_path / "home"
    ana = Store(Settings(home=home, auth="header", admins=(ANA,)), user=ANA)
    shop = event_log(LOG.astype({"timestamp": "datetime64[us, UTC]"}), source_sha256="5e" * 32)
    dataset = ana.import_log(shop, name="Shop week")
    ana.set_member(DEFAULT_WORKSPACE, BOB, "viewer")
    save_designed(ana, dataset.id, SHOP_DESIGN)
    explore, buy = SHOP_DESIGN.stages
    without_compare = DesignedStage("explore", explore.touchpoints[:1])
    save_designed(ana, dataset.id, dataclasses.replace(SHOP_DESIGN, stages=(without_compare, buy)))
    env = {
        "PARCOURS_AUTH": "header",
        "PARCOURS_TRUSTED_HEADER": HEADER,
        "PARCOURS_TRUSTED_PROXIES": "127.0.0.1",
        "PARCOURS_ADMINS": ANA,
    }
    with dashboard(home, tmp_path / "streamlit.log", env) as url:
        yield url


def opened(browser, url: str, headers: dict[str, str]):
    """A browser context of its own whose every request carries `headers`, on the home page.

    The headers are added by a small proxy on the loopback address, as oauth2-proxy adds them: Debian's Chromium 150
    does not send a context's `extra_http_headers` with the WebSocket handshake, which is where Streamlit reads them.
    """
    if headers:
        url = _header_proxy(url, headers)
    page = browser.new_context(viewport=TALL_WINDOW).new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    page.goto(url)
    return page


def _header_proxy(url: str, headers: dict[str, str]) -> str:
    """Start a proxy that adds `headers` to every request it forwards to `url`'s server; return its URL.

    Each connection carries one request (a plain request is sent on with "Connection: close"), so adding the headers
    to the head of a connection's first request adds them to every request, the WebSocket's handshake included.
    """
    target = urlsplit(url)
    added = "".join(f"{name}: {value}\r\n" for name, value in headers.items()).encode()
    listener = socket.create_server(("127.0.0.1", 0))

    def pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def forward(client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head and (chunk := client.recv(65536)):
            head += chunk
        first, _, rest = head.partition(b"\r\n")
        if b"upgrade:" not in rest.lower():
            rest = re.sub(rb"(?im)^connection:[^\r]*\r\n", b"", rest)
            added_here = added + b"Connection: close\r\n"
        else:
            added_here = added
        upstream = socket.create_connection((target.hostname, target.port))
        upstream.sendall(first + b"\r\n" + added_here + rest)
        threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
        pipe(client, upstream)

    def serve() -> None:
        while True:
            client, _ = listener.accept()
            threading.Thread(target=forward, args=(client,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}{target.path or '/'}"


def test_the_proxys_header_names_the_user_and_a_request_naming_nobody_is_refused(proxied: str, browser) -> None:
    from playwright.sync_api import expect

    ana = opened(browser, proxied, {HEADER: ANA})
    expect(ana.get_by_test_id("stSidebar").get_by_text(f"Signed in as {ANA}")).to_be_visible()
    expect(ana.get_by_test_id("stMetricValue").first).to_be_visible()
    expect(ana.get_by_role("button", name="Sign out")).to_have_count(0)  # the proxy signs users out, not Parcours
    ana.get_by_test_id("stSidebar").get_by_role("link", name="Import & data quality").click()
    expect(ana.locator("input[type=file]")).to_have_count(1)
    screenshot(ana, "header-1-admin-import")

    bob = opened(browser, proxied, {HEADER: BOB})
    expect(bob.get_by_test_id("stSidebar").get_by_text(f"Signed in as {BOB}")).to_be_visible()
    bob.get_by_test_id("stSidebar").get_by_role("link", name="Import & data quality").click()
    expect(bob.get_by_text("Only an editor of this workspace can import logs; you are a viewer.")).to_be_visible()
    expect(bob.locator("input[type=file]")).to_have_count(0)
    screenshot(bob, "header-2-viewer-import")

    nobody = opened(browser, proxied, {})
    expect(nobody.get_by_text(f"The sign-in proxy named nobody: the request has no {HEADER} header.")).to_be_visible()
    expect(nobody.get_by_test_id("stMetric")).to_have_count(0)
    expect(nobody.get_by_text("Shop week")).to_have_count(0)
    screenshot(nobody, "header-3-no-header")


def test_an_admin_restores_an_earlier_design_and_a_viewer_comments_on_a_step(proxied: str, browser, tmp_path) -> None:
    from playwright.sync_api import expect

    ana = opened(browser, proxied, {HEADER: ANA})
    ana.get_by_test_id("stSidebar").get_by_role("link", name="Designed vs actual").click()
    restore = ana.get_by_role("button", name="Restore this version")
    expand(ana, "Saved versions: who changed what, and when", restore)
    restore.click()
    expect(ana.get_by_text("Version 1 is back in force as version 3.")).to_be_visible()
    screenshot(ana, "header-4-design-restored")  # the table of versions is drawn on a canvas: look at it there
    store = Store(Settings(home=tmp_path / "home", auth="header", admins=(ANA,)), user=ANA)
    (dataset,) = store.datasets()
    assert designed_of(store, dataset.id)[0] == SHOP_DESIGN
    newest = designed_history(store, dataset.id)[0]
    assert (newest.version, newest.author, newest.changes) == (3, ANA, ("compare added to stage explore",))

    bob = opened(browser, proxied, {HEADER: BOB})
    bob.get_by_test_id("stSidebar").get_by_role("link", name="Designed vs actual").click()
    expect(
        bob.get_by_text("Only an editor of this workspace can save a designed journey; you are a viewer.")
    ).to_be_visible()
    expect(bob.get_by_role("button", name="Save as a new version")).to_have_count(0)
    refusal = bob.get_by_text("Only an editor of this workspace can restore a version; you are a viewer.")
    expand(bob, "Saved versions: who changed what, and when", refusal)
    expand(bob, "Comments on the design and its steps", bob.get_by_role("combobox", name="Comment on"))
    choose(bob, bob, "Comment on", "compare")
    # The box of the chosen step, drawn once the rerun for the choice is over.
    bob.locator(".st-key-comment-text-designed_step-compare textarea").fill("Why is compare optional? @ana@example.org")
    bob.get_by_role("button", name="Post the comment").click()
    expect(bob.get_by_text("Why is compare optional?")).to_be_visible()
    screenshot(bob, "header-5-design-comment")
    (comment,) = store.comments(dataset.id)
    assert (comment.target_kind, comment.target_key, comment.author) == ("designed_step", "compare", BOB)
