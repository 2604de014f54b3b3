"""A workspace's home and reports, as Streamlit runs them: its open actions, its saved reports, its branding."""

from __future__ import annotations

import datetime as dt

from data import REPORTS_PAGE, saved_reports, saved_views
from discovery import Action, ActionTarget, save_action
from tests.ui.apptest import open_home, open_page
from ui.markup import plain

ACTIONS_PAGE_ADDRESS = "Actions"


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
