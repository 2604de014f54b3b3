"""The home page's stored logs: size and last opened listed, a log renamed or deleted (after a confirmation)."""

from __future__ import annotations

from pathlib import Path

import pytest

from data import Dataset, Settings, Store
from data.importing import import_demo
from tests.ui.apptest import errors, metrics, open_home, open_page, widget
from ui.logs import deletion_question
from ui.markup import plain


@pytest.fixture
def store() -> Store:
    return Store(Settings.from_env())


def listed(app) -> list[str]:
    return app.dataframe[0].value["Log"].tolist()


def files(dataset: Dataset) -> list[Path]:
    """The dataset's files on disk but its manifest (which records their sizes)."""
    return [path for path in dataset.layout_path.parent.iterdir() if path.name != "manifest.json"]


def test_the_list_shows_size_on_disk_and_when_the_open_log_was_last_opened(store: Store) -> None:
    telecom, shop = import_demo(store, "telecom"), import_demo(store, "shop")
    app = open_home(dataset=shop.id)
    table = app.dataframe[0].value
    opened = store.dataset(shop.id).last_opened_at
    assert opened is not None and store.dataset(telecom.id).last_opened_at is None
    assert table["Log"].tolist() == [shop.name, telecom.name]
    assert table["Last opened"].tolist() == [f"{opened:%Y-%m-%d %H:%M} UTC", "never"]
    assert table["Customers"].tolist() == [shop.n_cases, telecom.n_cases]
    sizes = [sum(path.stat().st_size for path in files(dataset)) for dataset in (shop, telecom)]
    assert [dataset.size_bytes for dataset in (shop, telecom)] == sizes
    assert table["Size on disk"].tolist() == [f"{size / 1024**2:,.1f} MB" for size in sizes]


def test_renaming_shows_the_new_name_everywhere(demo_copy: tuple[Store, Dataset]) -> None:
    store, demo = demo_copy
    app = open_home(dataset=demo.id)
    app.text_input(key=f"rename-{demo.id}").input("Abonnés — printemps [2025]").run()
    app.button(key="rename-log").click().run()
    assert not app.exception
    assert store.dataset(demo.id).name == "Abonnés — printemps [2025]"
    assert app.success[0].value == plain(f"Renamed “{demo.name}” to “Abonnés — printemps [2025]”.")
    assert listed(app) == ["Abonnés — printemps [2025]"]
    assert plain("Abonnés — printemps [2025]") in [subheader.value for subheader in app.subheader]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("   ", "A dataset needs a name."),
        ("x" * 201, "The name is longer than 200 characters."),
        ("Spring\x1b[2J", "The name holds control characters (U+001B), which would break how it is shown."),
    ],
)
def test_a_bad_name_is_refused_with_the_librarys_reason_and_the_page_goes_on(
    demo_copy: tuple[Store, Dataset], name: str, message: str
) -> None:
    store, demo = demo_copy
    app = open_home(dataset=demo.id)
    app.text_input(key=f"rename-{demo.id}").input(name).run()
    app.button(key="rename-log").click().run()
    assert not app.exception
    assert errors(app) == [message]
    assert store.dataset(demo.id).name == demo.name
    assert metrics(app)["Customers (unique journeys)"] == f"{demo.n_cases:,}"


def test_delete_asks_with_the_name_and_counts_and_cancel_keeps_the_log(demo_copy: tuple[Store, Dataset]) -> None:
    store, demo = demo_copy
    app = open_home(dataset=demo.id)
    app.button(key="delete-log").click().run()
    assert plain(deletion_question(demo)) in [warning.value for warning in app.warning]
    assert f"{demo.n_cases:,} customers and {demo.n_events:,} events" in deletion_question(demo)
    app.button(key="delete-cancel").click().run()
    assert not app.exception
    assert [dataset.id for dataset in store.datasets()] == [demo.id]
    assert not [button for button in app.button if button.key == "delete-confirm"]


def test_deleting_the_open_log_removes_its_files_and_shows_the_next_one(store: Store) -> None:
    telecom, shop = import_demo(store, "telecom"), import_demo(store, "shop")
    app = open_home(dataset=shop.id)
    assert metrics(app)["Customers (unique journeys)"] == f"{shop.n_cases:,}"
    app.button(key="delete-log").click().run()
    app.button(key="delete-confirm").click().run()
    assert not app.exception
    assert [dataset.id for dataset in store.datasets()] == [telecom.id]
    assert not shop.events_path.parent.exists()
    assert app.query_params["dataset"] == telecom.id
    assert widget(app.selectbox, "Log").value == telecom.id
    assert metrics(app)["Customers (unique journeys)"] == f"{telecom.n_cases:,}"
    assert listed(app) == [telecom.name]
    assert app.success[0].value == plain(
        f"Deleted “{shop.name}”: {shop.n_cases:,} customers and {shop.n_events:,} events."
    )
    assert not [warning for warning in app.warning if "no longer stored" in warning.value]
    app.switch_page("pages/2_Journey_map.py").run()
    assert not app.exception
    assert widget(app.selectbox, "Log").options == [telecom.name]


def test_deleting_another_log_keeps_the_open_one_and_its_filters(store: Store) -> None:
    telecom, shop = import_demo(store, "telecom"), import_demo(store, "shop")
    app = open_home(dataset=telecom.id, channels='["store"]')
    widget(app.selectbox, "Stored log").select(shop.id).run()
    app.button(key="delete-log").click().run()
    assert plain(deletion_question(shop)) in [warning.value for warning in app.warning]
    app.button(key="delete-confirm").click().run()
    assert not app.exception
    assert [dataset.id for dataset in store.datasets()] == [telecom.id]
    assert app.query_params["dataset"] == telecom.id
    assert app.query_params["channels"] == '["store"]'


def test_deleting_the_last_log_shows_the_empty_state(demo_copy: tuple[Store, Dataset]) -> None:
    store, demo = demo_copy
    app = open_home(dataset=demo.id)
    app.button(key="delete-log").click().run()
    app.button(key="delete-confirm").click().run()
    assert not app.exception
    assert store.datasets() == []
    assert "dataset" not in app.query_params
    assert app.info[0].value.startswith("No log is stored yet.")
    assert not app.metric


def test_a_log_whose_layout_is_gone_says_so_on_every_page_and_can_be_deleted_there(
    demo_copy: tuple[Store, Dataset],
) -> None:
    store, demo = demo_copy
    demo.layout_path.unlink()
    app = open_page("pages/2_Journey_map.py", dataset=demo.id)
    assert not app.exception
    assert errors(app) == ["The stored journey layout is missing."]
    assert app.info[0].value == f"Delete “{plain(demo.name)}” below and import it again."
    assert not app.metric
    app.button(key="delete-log").click().run()
    app.button(key="delete-confirm").click().run()
    assert not app.exception
    assert store.datasets() == []
    assert app.info[0].value.startswith("No log is stored yet.")


def test_a_damaged_log_leaves_the_others_a_click_away(store: Store) -> None:
    telecom, shop = import_demo(store, "telecom"), import_demo(store, "shop")
    shop.layout_path.write_bytes(b"not a database" * 1_000)
    app = open_home(dataset=shop.id)
    assert not app.exception
    assert errors(app)[0].startswith("This is not a DuckDB layout")
    assert app.info[0].value == (
        f"Choose another log in the sidebar, or delete “{plain(shop.name)}” below and import it again."
    )
    assert widget(app.selectbox, "Stored log").value == shop.id
    widget(app.selectbox, "Log").select(telecom.id).run()
    assert not app.exception
    assert metrics(app)["Customers (unique journeys)"] == f"{telecom.n_cases:,}"
    assert [dataset.id for dataset in store.datasets()] == [shop.id, telecom.id]
