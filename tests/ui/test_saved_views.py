"""Saved views in the dashboard: "Save this view" keeps the page's query, the home page links to it."""

from __future__ import annotations

import pytest

import ui.views
from data import save_view, saved_views
from tests.ui.apptest import open_home, open_page, widget
from ui.navigation import MENU

MAP_PAGE = "pages/2_Journey_map.py"


def test_the_sidebar_saves_the_page_with_its_settings(demo, monkeypatch: pytest.MonkeyPatch) -> None:
    store, dataset = demo
    (map_link,) = [link for link in MENU["Explore"] if link.path == MAP_PAGE]
    # AppTest has no browser address bar: the page is the one the test opens.
    monkeypatch.setattr(ui.views, "current_page", lambda: map_link)
    app = open_page(MAP_PAGE, dataset=dataset.id, metric="Median time")
    assert not app.exception

    app.sidebar.text_input(key="view-name").input("Slow steps").run()
    app.sidebar.button(key="view-save").click().run()

    assert not app.exception
    (view,) = saved_views(store)
    assert (view.name, view.page, view.dataset_id) == ("Slow steps", MAP_PAGE, dataset.id)
    assert (view.query["dataset"], view.query["metric"]) == (dataset.id, "Median time")


def test_the_home_page_links_every_saved_view_with_its_query(demo) -> None:
    store, dataset = demo
    save_view(store, dataset.id, "Slow steps", MAP_PAGE, {"dataset": dataset.id, "metric": "Median time"}, owner="ana")
    app = open_home(dataset=dataset.id)
    assert not app.exception
    links = [link for link in app.main.get("page_link") if link.proto.page == "Journey_map"]
    (link,) = links
    assert link.label.startswith("Slow steps — Journey map of ")
    assert "saved by ana" in link.label
    assert "metric=Median+time" in link.proto.query_string

    widget(app.button, "Delete this view").click().run()
    assert saved_views(store) == []
