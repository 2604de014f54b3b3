"""A workspace's home and reports, as Streamlit runs them: its open actions, its saved reports, its branding."""

from __future__ import annotations

import base64
import datetime as dt

import pytest

from data import DEFAULT_WORKSPACE, REPORTS_PAGE, Dataset, Settings, Store, saved_reports, saved_views
from discovery import Action, ActionTarget, save_action
from tests.data.test_store import event_log
from tests.ui.apptest import open_home, open_page, widget
from tests.ui.test_team import ANA, BOB, WORKSPACE_PAGE, sign_in
from ui.markup import plain

ACTIONS_PAGE_ADDRESS = "Actions"
CLEAN_SVG = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10"/></svg>'


def test_the_home_page_links_the_open_actions_of_the_log_only(demo) -> None:
    store, dataset = demo
    live = Action(
        "Call back after a dispute",
        ActionTarget("churn point", "billing_dispute"),
        "churn",
        go_live=dt.date(2025, 3, 1),
        status="live",
        owner="ana",
    )
    idea = Action("Shorter sign-up form", ActionTarget("touchpoint", "visit_website"), "conversion")
    done = Action("Old campaign", ActionTarget("touchpoint", "visit_website"), "conversion", status="done")
    for action in (live, idea, done):
        save_action(store, dataset.id, action)

    app = open_home(dataset=dataset.id)

    assert not app.exception
    assert "Open actions" in [header.value for header in app.subheader]
    links = [link for link in app.main.get("page_link") if link.proto.page == ACTIONS_PAGE_ADDRESS]
    assert [link.label for link in links] == [
        plain("Call back after a dispute — live, ana, goes live 2025-03-01, on churn point: billing_dispute"),
        plain("Shorter sign-up form — idea, no owner, no go-live day, on touchpoint: visit_website"),
    ]
    assert links[0].proto.query_string == f"dataset={dataset.id}&action={live.id}"


def test_without_an_open_action_the_home_page_says_where_to_plan_one(demo) -> None:
    _, dataset = demo
    app = open_home(dataset=dataset.id)
    assert not app.exception
    assert any(caption.value.startswith("No open action on this log") for caption in app.caption)


def test_a_report_saved_on_the_reports_page_is_listed_home_and_reopens_with_its_settings(demo) -> None:
    store, dataset = demo
    # What the page's bound widgets write to the URL in a browser (AppTest has no address bar to write to).
    settings = {"dataset": dataset.id, "sections": ["Churn points", "Summary"], "report_title": "Churn review"}
    app = open_page(REPORTS_PAGE, **settings)
    assert app.text_input(key="report_title").value == "Churn review"
    app.text_input(key="report-name").input("Monthly churn").run()
    app = app.button(key="report-save").click().run()

    assert not app.exception
    (report,) = saved_reports(store)
    assert (report.name, report.page, report.owner, report.shared) == ("Monthly churn", REPORTS_PAGE, "local", True)
    assert report.query == settings  # both sections, where the URL repeats the parameter
    assert saved_views(store) == [report]

    home = open_home(dataset=dataset.id)
    assert not home.exception
    (link,) = [link for link in home.main.get("page_link") if link.proto.page == "Reports"]
    assert link.label.startswith(plain("Monthly churn — Reports of "))
    assert "sections=Churn+points&sections=Summary" in link.proto.query_string
    assert any(caption.value.startswith("No view is saved yet") for caption in home.caption)  # a report is no view

    reopened = open_page(REPORTS_PAGE, **report.query)
    assert not reopened.exception
    assert reopened.multiselect(key="sections").value == ["churn", "summary"]


@pytest.fixture
def small_team(monkeypatch: pytest.MonkeyPatch) -> tuple[Store, Dataset]:
    """A small log in a team install: ana administers the Default workspace, bob views it."""
    monkeypatch.setenv("PARCOURS_AUTH", "oidc")
    monkeypatch.setenv("PARCOURS_ADMINS", ANA)
    ana = Store(Settings.from_env(), user=ANA)
    ana.set_member(DEFAULT_WORKSPACE, BOB, "viewer")
    return ana, ana.import_log(event_log())


def test_an_admin_brands_the_workspaces_reports_on_the_workspace_page(small_team, monkeypatch) -> None:
    ana, dataset = small_team
    sign_in(monkeypatch, ANA)
    app = open_page(WORKSPACE_PAGE, dataset=dataset.id)
    assert not app.exception
    app.text_input(key=f"branding-company-{DEFAULT_WORKSPACE}").input("Acme <Telecom>")
    app.color_picker(key=f"branding-primary-{DEFAULT_WORKSPACE}").pick("#0b6e4f")
    app.get("file_uploader")[0].set_value(("logo.svg", CLEAN_SVG, "image/svg+xml"))
    app = widget(app.button, "Save the branding").click().run()

    assert not app.exception, app.exception
    saved = ana.branding(DEFAULT_WORKSPACE)
    assert (saved["company"], saved["primary"]) == ("Acme <Telecom>", "#0b6e4f")
    assert "accent" not in saved  # left as the operator's: it stays theirs
    assert saved["logo"].startswith("data:image/svg+xml;base64,")
    assert any("Acme \\<Telecom\\>" in text.value and "its own logo" in text.value for text in app.markdown)
    assert any("branding: reports" in frame.value.to_string() for frame in app.dataframe)  # the history

    report = open_page(REPORTS_PAGE, dataset=dataset.id, sections="Summary")
    assert not report.exception
    (frame,) = report.get("iframe")
    document = base64.b64decode(frame.proto.src.removeprefix("data:text/html;base64,")).decode("utf-8")
    assert '<p class="company">Acme &lt;Telecom&gt;</p>' in document and "#0b6e4f" in document


def test_a_viewer_sees_the_branding_but_is_not_offered_to_change_it(small_team, monkeypatch) -> None:
    ana, dataset = small_team
    ana.set_branding(DEFAULT_WORKSPACE, {"company": "Acme"})
    sign_in(monkeypatch, BOB)
    app = open_page(WORKSPACE_PAGE, dataset=dataset.id)
    assert not app.exception
    assert any("Reports carry **Acme**" in text.value for text in app.markdown)
    assert "Save the branding" not in [button.label for button in app.button]
    assert any("Only an admin of this workspace can set the branding" in caption.value for caption in app.caption)
