"""Saved views: a named page with its query, kept per log, listed newest first, gone with the log."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime

import pytest

from data import (
    DEFAULT_WORKSPACE,
    REPORTS_PAGE,
    LogError,
    PermissionDenied,
    Settings,
    Store,
    delete_view,
    save_view,
    saved_reports,
    saved_views,
)
from tests.data.test_store import event_log


@pytest.fixture
def store(settings: Settings) -> Store:
    return Store(settings)


def test_a_saved_view_is_listed_with_its_page_query_and_owner(store: Store) -> None:
    dataset = store.import_log(event_log())
    first = save_view(store, dataset.id, " Churn in the app ", "pages/2_Journey_map.py", {"metric": "median"})
    second = save_view(store, dataset.id, "Home", "app.py", {"dataset": dataset.id}, owner="ana")

    views = saved_views(store)

    assert [view.name for view in views] == ["Home", "Churn in the app"]
    assert views[1] == first and views[0] == second
    assert (first.page, first.query, first.owner) == ("pages/2_Journey_map.py", {"metric": "median"}, "local")
    assert isinstance(first.saved_at, datetime) and first.saved_at.tzinfo is not None


def test_saving_a_name_again_replaces_the_view_and_deleting_forgets_it(store: Store) -> None:
    dataset = store.import_log(event_log())
    save_view(store, dataset.id, "mine", "app.py", {"a": "1"})
    save_view(store, dataset.id, "mine", "app.py", {"a": "2"})
    assert [view.query for view in saved_views(store)] == [{"a": "2"}]

    delete_view(store, dataset.id, "mine")
    delete_view(store, dataset.id, "mine")  # already gone: not an error
    assert saved_views(store) == []


def test_views_go_when_their_log_goes(store: Store) -> None:
    dataset = store.import_log(event_log())
    save_view(store, dataset.id, "mine", "app.py", {})
    store.delete(dataset.id)
    assert saved_views(store) == []


@pytest.mark.parametrize(
    ("name", "page", "query"),
    [
        ("ok", "../../etc/passwd", {}),
        ("ok", "https://evil.example/", {}),
        ("ok", "app.py", {"metric": 3}),
        ("ok", "app.py", {str(n): "" for n in range(101)}),
        ("ok", "app.py", {"metric": "x" * 10_001}),
        ("", "app.py", {}),
        ("x" * 201, "app.py", {}),
    ],
)
def test_a_view_that_could_not_be_opened_is_refused_with_what_to_fix(store: Store, name, page, query) -> None:
    dataset = store.import_log(event_log())
    with pytest.raises(LogError) as raised:
        save_view(store, dataset.id, name, page, query)
    assert raised.value.problems[0].message
    assert saved_views(store) == []


def test_the_cli_lists_each_view_with_its_address(store: Store, settings: Settings, run_cli) -> None:
    from data.__main__ import main

    dataset = store.import_log(event_log())
    save_view(store, dataset.id, "Slow steps", "pages/2_Journey_map.py", {"metric": "Median time"}, owner="ana")
    save_view(store, dataset.id, "Start", "app.py", {"dataset": dataset.id})

    listed = run_cli(main, "views", home=settings.home)
    as_json = run_cli(main, "views", "--json", home=settings.home)

    assert listed.returncode == 0
    lines = listed.stdout.splitlines()
    assert lines[0].endswith(f"local  Start  ?dataset={dataset.id}")
    assert lines[1].endswith("ana  Slow steps  Journey_map?metric=Median+time")
    assert [view["name"] for view in json.loads(as_json.stdout)] == ["Start", "Slow steps"]


def test_a_private_view_is_listed_to_its_owner_only(store: Store) -> None:
    dataset = store.import_log(event_log())
    save_view(store.as_user("ana"), dataset.id, "ana's draft", "app.py", {}, shared=False)
    save_view(store.as_user("ana"), dataset.id, "for the team", "app.py", {})

    assert {view.name: view.shared for view in saved_views(store.as_user("ana"))} == {
        "ana's draft": False,
        "for the team": True,
    }
    assert [view.name for view in saved_views(store.as_user("bo"))] == ["for the team"]


def test_a_member_cannot_replace_or_delete_another_members_view_but_an_admin_can(settings: Settings) -> None:
    ana = Store(dataclasses.replace(settings, auth="oidc", admins=("ana@example.org",)), user="ana@example.org")
    dataset = ana.import_log(event_log())
    for member in ("bob@example.org", "carl@example.org"):
        ana.set_member(DEFAULT_WORKSPACE, member, "viewer")
    bob, carl = ana.as_user("bob@example.org"), ana.as_user("carl@example.org")
    save_view(bob, dataset.id, "Churners", "app.py", {"a": "bob's"})
    save_view(bob, dataset.id, "Secret", "app.py", {}, shared=False)

    with pytest.raises(PermissionDenied) as raised:
        save_view(carl, dataset.id, "Churners", "app.py", {"a": "carl's"})
    (problem,) = raised.value.problems
    assert "belongs to bob@example.org" in problem.message and problem.fix == "Pick another name for your view."
    with pytest.raises(PermissionDenied) as raised:
        save_view(carl, dataset.id, "Secret", "app.py", {})
    assert "another member (it is private)" in raised.value.problems[0].message
    assert "bob" not in raised.value.problems[0].message  # a private view's owner is not told
    for attempt in (
        lambda: delete_view(carl, dataset.id, "Churners"),
        lambda: carl.save_annotation(dataset.id, "view", "Churners", {"owner": "carl@example.org"}),
        lambda: save_view(carl, dataset.id, "Carl's", "app.py", {}, owner="bob@example.org"),
    ):
        with pytest.raises(PermissionDenied):
            attempt()
    assert [(view.name, view.query) for view in saved_views(bob)] == [("Secret", {}), ("Churners", {"a": "bob's"})]
    assert not carl.may_change(dataset.id, "bob@example.org") and carl.may_change(dataset.id, "carl@example.org")

    save_view(bob, dataset.id, "Churners", "app.py", {"a": "bob's again"})  # the owner replaces it
    save_view(ana, dataset.id, "Churners", "app.py", {"a": "ana's"})  # and so does an admin
    assert [(view.owner, view.query) for view in saved_views(carl)] == [("ana@example.org", {"a": "ana's"})]
    delete_view(ana, dataset.id, "Secret")
    delete_view(carl, dataset.id, "Secret")  # gone already: nothing to refuse
    assert saved_views(bob) == saved_views(carl)


def test_a_saved_report_is_a_view_of_the_reports_page_under_the_same_rules(
    settings: Settings, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from data.__main__ import main

    ana = Store(dataclasses.replace(settings, auth="oidc", admins=("ana@example.org",)), user="ana@example.org")
    dataset = ana.import_log(event_log())
    ana.set_member(DEFAULT_WORKSPACE, "bob@example.org", "viewer")
    bob = ana.as_user("bob@example.org")
    query = {"dataset": dataset.id, "report_title": "Churn review", "sections": ["Summary", "Churn points"]}
    save_view(bob, dataset.id, "Monthly", REPORTS_PAGE, query)
    save_view(bob, dataset.id, "Draft", REPORTS_PAGE, query, shared=False)
    save_view(bob, dataset.id, "Slow steps", "pages/2_Journey_map.py", {"dataset": dataset.id})

    assert sorted((report.name, report.query == query) for report in saved_reports(bob)) == [
        ("Draft", True),
        ("Monthly", True),
    ]
    assert [report.name for report in saved_reports(ana)] == ["Monthly"]  # a private report is its owner's
    ana.set_member(DEFAULT_WORKSPACE, "carl@example.org", "editor")
    carl = ana.as_user("carl@example.org")
    with pytest.raises(PermissionDenied, match="belongs to bob"):
        save_view(carl, dataset.id, "Monthly", REPORTS_PAGE, {})
    with pytest.raises(PermissionDenied, match="belongs to bob"):
        delete_view(carl, dataset.id, "Monthly")
    delete_view(ana, dataset.id, "Monthly")  # an admin may
    assert [report.name for report in saved_reports(bob)] == ["Draft"]

    save_view(bob, dataset.id, "Monthly", REPORTS_PAGE, query)
    monkeypatch.setenv("PARCOURS_AUTH", "oidc")
    monkeypatch.setenv("PARCOURS_ADMINS", "ana@example.org")
    listed = run_cli(main, "--as", "ana@example.org", "views", "--reports", home=settings.home)
    assert listed.returncode == 0
    (line,) = listed.stdout.splitlines()
    address = f"Reports?dataset={dataset.id}&report_title=Churn+review&sections=Summary&sections=Churn+points"
    assert line.endswith(f"  bob@example.org  Monthly  {address}")  # a repeated parameter, as a multiselect writes it
