"""A workspace's home and reports, as Streamlit runs them: its open actions, its saved reports, its branding."""

from __future__ import annotations

import datetime as dt

from discovery import Action, ActionTarget, save_action
from tests.ui.apptest import open_home
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
