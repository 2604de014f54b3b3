"""Every download of every page carries no live formula, and says which log, definition and filters it comes from.

Streamlit's own table toolbar, which would export cells as they are, is turned off for the whole app; each table
goes through `ui.show_table`, whose CSV neutralises formula-like cells with an apostrophe and whose Excel file
writes them as text cells (quote-prefixed), with an About sheet naming the log, its definition and the filters.
"""

from __future__ import annotations

import ast
import io
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from data import Dataset, Filters, RawLog, Settings, Store, import_file
from discovery import definition_of, save_definition
from segmentation import PersonaRun, save_run
from tests.ui.apptest import APP, TIMEOUT_SECONDS, open_import_page, upload
from tests.ui.test_markup import PAGES
from ui.downloads import ExportStamp
from ui.params import filters_to_params

REPO = Path(__file__).resolve().parents[2]
# A cell a spreadsheet would run, or read as something else than text, when it starts with one of these.
FORMULA_START = re.compile(r"^[=+\-@\t\r\uff1d\uff0b\uff0d\uff20]")
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
# Labels a spreadsheet would run: touchpoints, channels, an attribute's name and values, the log's name.
FORMULAS = ("=1+1", "+33 appel", "-2+3", "@SUM(A1)", '=HYPERLINK("http://evil.example/","x")')
HOSTILE_NAME = '=HYPERLINK("http://evil.example/","log")'


@dataclass(frozen=True)
class StoredLog:
    """A stored log as the stamp reads it (a `Dataset` has more, which the stamp does not need)."""

    name: str
    id: str


def dataset(name: str = "Telecom demo", dataset_id: str = "0123456789abcdef") -> StoredLog:
    return StoredLog(name, dataset_id)


# ---------------------------------------------------------------- the stamp, on hand-made values


def test_a_stored_log_without_filters_is_named_in_full() -> None:
    stamp = ExportStamp.of_log(dataset(), Filters(), None)

    assert stamp.file_name("variants", "csv") == "variants_Telecom-demo_0123456789abcdef_suggested_all-customers.csv"
    assert stamp.about() == [
        ("Log", "Telecom demo"),
        ("Log id", "0123456789abcdef"),
        ("Journey definition version", "suggested (no version saved yet)"),
        ("Filters", "all customers"),
    ]


def test_filters_are_described_and_told_apart_in_the_file_name() -> None:
    store_only = ExportStamp.of_log(dataset(), Filters(channels=frozenset({"store"})), 3)
    web_only = ExportStamp.of_log(dataset(), Filters(channels=frozenset({"web"})), 3)

    assert ("Filters", "customers who used store") in store_only.about()
    assert ("Filters as in the page's link", '{"channels": "[\\"store\\"]"}') in store_only.about()
    assert ("Journey definition version", "3") in store_only.about()
    name = store_only.file_name("funnel", "xlsx")
    assert re.fullmatch(r"funnel_Telecom-demo_0123456789abcdef_v3_filtered-[0-9a-f]{6}\.xlsx", name)
    assert web_only.file_name("funnel", "xlsx") != name
    assert ExportStamp.of_log(dataset(), Filters(channels=frozenset({"store"})), 3).file_name("funnel", "xlsx") == name


def test_a_persona_is_stamped_as_the_link_names_it_not_by_its_customers() -> None:
    filters = Filters(case_ids=frozenset(f"c{number}" for number in range(500)))
    stamp = ExportStamp.of_log(dataset(), filters, 1, {"persona": "Fibre 2025:1"}, "Fibre 2025 · Heavy callers")

    assert ("Filters", "customers among 500 chosen customers (persona Fibre 2025 · Heavy callers)") in stamp.about()
    assert ("Filters as in the page's link", '{"persona": "Fibre 2025:1"}') in stamp.about()


def test_a_hostile_log_name_leaves_only_letters_digits_dots_and_dashes_in_the_file_name() -> None:
    stamp = ExportStamp.of_log(dataset("![logo](http://evil.example/logo.png)"), Filters(), 2)
    assert stamp.file_name("top", "csv") == "top_logo-http-evil.example-logo.png_0123456789abcdef_v2_all-customers.csv"
    slashes = ExportStamp.of_log(dataset("../../etc/passwd " + "x" * 60), Filters(), 2)
    assert slashes.file_name("top", "csv") == f"top_etc-passwd-{'x' * 29}_0123456789abcdef_v2_all-customers.csv"


def test_an_upload_is_stamped_as_not_stored_yet() -> None:
    stamp = ExportStamp.of_upload(RawLog(pd.DataFrame(), "calls 2025.csv", "csv", "0" * 64))

    assert stamp.file_name("columns", "csv") == "columns_calls-2025.csv_upload.csv"
    assert stamp.about() == [
        ("Log", "calls 2025.csv"),
        ("Log id", "not stored yet (an upload being checked)"),
        ("Rows", "every row read"),
    ]


def test_without_a_log_the_file_name_is_the_tables_own() -> None:
    assert ExportStamp().file_name("problems", "csv") == "problems.csv"


# ---------------------------------------------------------------- one way to show a table, no toolbar export


def test_streamlits_own_table_export_is_turned_off() -> None:
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["disableDataExport"] is True


def _long_table() -> None:
    import pandas as pd

    from ui.downloads import show_table

    show_table(pd.DataFrame({"Customer": [f"c{number}" for number in range(5)]}), "customers", shown_rows=3)
    show_table(pd.DataFrame({"Customer": ["a", "b", "c"]}), "short", shown_rows=3)


def test_a_long_table_shows_its_first_rows_says_so_and_downloads_every_row(offered) -> None:
    app = AppTest.from_function(_long_table).run()
    assert not app.exception
    assert app.dataframe[0].value["Customer"].tolist() == ["c0", "c1", "c2"]
    assert app.dataframe[1].value["Customer"].tolist() == ["a", "b", "c"]
    (caption,) = app.caption  # the short table says nothing
    assert caption.value == "Showing the first 3 of 5 rows: the downloads below hold all of them."
    (csv,) = [build for name, build in offered.values() if name.startswith("customers") and name.endswith(".csv")]
    assert pd.read_csv(io.BytesIO(csv()))["Customer"].tolist() == [f"c{number}" for number in range(5)]


def test_every_table_of_the_pages_goes_through_show_table() -> None:
    """`st.dataframe` is called in ui/downloads.py only: every other table has Parcours' downloads."""
    callers = []
    for path in [REPO / "app.py", *(REPO / "pages").glob("*.py"), *(REPO / "ui").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in {"dataframe", "table"} and _is_st(node.value):
                callers.append(str(path.relative_to(REPO)))
    assert callers == ["ui/downloads.py"]


def _is_st(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id == "st"


# ---------------------------------------------------------------- every download of every page


def formula_csv(customers: int = 120) -> str:
    """A log whose touchpoints, channels and attribute values (and one attribute's name) would run as formulas."""
    rows = ["client,etape,horodatage,canal,plan,@segment"]
    for number in range(customers):
        plan = FORMULAS[number % 3]
        steps = ["visit", FORMULAS[number % 5], FORMULAS[(number + 1) % 5], "buy" if number % 3 else "=cancel"]
        for step, label in enumerate(steps):
            text = label.replace('"', '""')
            rows.append(
                f'c{number},"{text}",2025-01-{1 + step + number % 20:02d} 10:00,'
                f'"{FORMULAS[(number + step) % 4]}","{plan}","-{number % 4} promo"'
            )
    return "\n".join(rows) + "\n"


@pytest.fixture
def formula_log(tmp_path, monkeypatch) -> Dataset:
    source = tmp_path / "formulas.csv"
    source.write_text(formula_csv(), encoding="utf-8")
    monkeypatch.setenv("PARCOURS_HOME", str(tmp_path / "home"))
    return import_file(source, store=Store(Settings.from_env()), channel="canal", name=HOSTILE_NAME)


@pytest.fixture
def offered(monkeypatch) -> dict[str, tuple[str, Callable[[], bytes | str]]]:
    """Every file a download button offers, by the button's file id or URL: its name, and what a click gives."""
    files: dict[str, tuple[str, Callable[[], bytes | str]]] = {}
    add, add_deferred = MediaFileManager.add, MediaFileManager.add_deferred

    def record(self, data, mimetype, coordinates, file_name=None, is_for_static_download=False):
        url = add(self, data, mimetype, coordinates, file_name, is_for_static_download)
        files[url] = (file_name, lambda: data)
        return url

    def record_deferred(self, data_callable, mimetype, coordinates, file_name=None, **options):
        file_id = add_deferred(self, data_callable, mimetype, coordinates, file_name, **options)
        files[file_id] = (file_name, data_callable)
        return file_id

    monkeypatch.setattr(MediaFileManager, "add", record)
    monkeypatch.setattr(MediaFileManager, "add_deferred", record_deferred)
    return files


def open_page(page: str | None, **query_params: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=TIMEOUT_SECONDS)
    app.query_params.update(query_params)
    if page is not None:
        app.switch_page(page)
    return app.run()


def unsafe_cells(values) -> list[str]:
    """Return the text cells a spreadsheet would run as a formula (a negative number is a number, not one)."""
    return [
        value
        for value in values
        if isinstance(value, str) and FORMULA_START.match(value) and not NUMBER.fullmatch(value)
    ]


def check_csv(content: bytes) -> pd.DataFrame:
    table = pd.read_csv(io.BytesIO(content), encoding="utf-8-sig", dtype=str, keep_default_na=False)
    cells = [*table.columns, *table.to_numpy().ravel()]
    assert not unsafe_cells(cells), unsafe_cells(cells)
    return table


def check_excel(content: bytes, stamp: list[tuple[str, str]]) -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    assert workbook.sheetnames[-1] == "About"
    about = list(workbook["About"].iter_rows(values_only=True))
    assert about[: len(stamp) + 1] == [("Field", "Value"), *stamp]
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", cell.value
                if isinstance(cell.value, str) and FORMULA_START.match(cell.value):
                    # A text cell, marked as Excel marks a typed '=x: shown without the apostrophe, never run.
                    assert (cell.data_type, cell.quotePrefix) == ("s", True), cell.value


def check_downloads(app: AppTest, files: dict, stamp: ExportStamp, where: str) -> set[str]:
    """Check every file the page offers; return the file names of its tables' downloads."""
    assert not app.exception, (where, app.exception)
    buttons = [button.proto.deferred_file_id or button.proto.url for button in app.get("download_button")]
    assert buttons and all(button in files for button in buttons), where
    shown = dict(files[button] for button in buttons)
    assert len(shown) == len(buttons), (where, sorted(shown))  # no two downloads of a page share a file name
    tables = set()
    for name, build in shown.items():
        stamped_tail = stamp.file_name("stem", name.rsplit(".", 1)[1]).removeprefix("stem")
        assert name.endswith(stamped_tail) and len(name) > len(stamped_tail), (where, name)
        content = build()
        if name.endswith(".csv"):
            check_csv(content)
            tables.add(name)
        elif name.endswith(".xlsx"):
            check_excel(content, stamp.about())
            tables.add(name)
    return tables


@pytest.mark.parametrize(
    "filters",
    [
        pytest.param(Filters(), marks=pytest.mark.slow),
        pytest.param(Filters(channels=frozenset({"=1+1", "+33 appel"})), marks=pytest.mark.slow),
    ],
    ids=["everyone", "filtered"],
)
def test_every_download_of_every_page_is_free_of_formulas_and_stamped(
    formula_log: Dataset, offered, filters: Filters
) -> None:
    store = Store(Settings.from_env())
    # A saved definition, by a hostile author, puts the definition page's history table among the downloads.
    save_definition(store, formula_log.id, definition_of(store, formula_log.id)[0], author="=cmd|'/C calc'!A0")
    stamp = ExportStamp.of_log(formula_log, filters, 1)
    link = {"dataset": formula_log.id, **filters_to_params(filters)}
    tables: dict[str, set[str]] = {}

    tables["home"] = check_downloads(open_page(None, **link), offered, stamp, "home")
    for page in PAGES:
        offered.clear()
        app = open_page(page, **link)
        if page == "pages/5_Personas.py":
            app.toggle(key="auto_k").set_value(False).run()
            app.number_input(key="k").set_value(2).run()
            app.button(key=f"personas-find-{formula_log.id}").click().run()
        if page == "pages/2_Journey_map.py":  # the close-up's tables, once a box is opened
            app.selectbox(key="open").select_index(0).run()
        # The journey definition page has no filter bar: what it shows is about every customer.
        page_stamp = ExportStamp.of_log(formula_log, Filters(), 1) if page == "pages/1_Journey_definition.py" else stamp
        tables[page] = check_downloads(app, offered, page_stamp, page)
        if page == "pages/4_Stages_funnel_and_churn.py":  # each tab's tables: only the open tab is drawn
            for tab in ("Funnel", "Churn points", "Channels"):
                offered.clear()
                app.session_state["tab"] = tab
                tables[f"{page}, {tab}"] = check_downloads(app.run(), offered, stamp, f"{page}, {tab}")
        if page == "pages/2_Journey_map.py":  # the process model's BPMN and PNML are stamped too
            offered.clear()
            app.session_state["view"] = "Process model"
            assert check_downloads(app.run(), offered, stamp, "process model") == set()

    # Each page offers both files of each of its tables; the Reports page offers a report (HTML, PDF), no table.
    assert tables.pop("pages/10_Reports.py") == set()
    for page, names in tables.items():
        stems = {name.rsplit(".", 1)[0] for name in names}
        assert names and names == {f"{stem}.{extension}" for stem in stems for extension in ("csv", "xlsx")}, page


def test_a_persona_chosen_in_the_sidebar_is_named_in_the_about_sheet(formula_log: Dataset, offered) -> None:
    save_run(Store(Settings.from_env()), formula_log.id, "Run", PersonaRun(2, 0, "kmeans", names={0: "=A", 1: "B"}))
    app = open_page(None, dataset=formula_log.id, persona="Run:0")
    assert not app.exception
    (excel,) = [
        build for name, build in offered.values() if name.startswith("top-touchpoints_") and name.endswith(".xlsx")
    ]

    about = dict(list(openpyxl.load_workbook(io.BytesIO(excel()))["About"].iter_rows(values_only=True))[1:])

    assert about["Filters"].startswith("customers among ")
    assert about["Filters"].endswith(" chosen customers (persona Run · =A)")
    assert about["Filters as in the page's link"] == '{"persona": "Run:0"}'


def test_every_download_of_the_import_page_is_free_of_formulas_and_stamped(offered) -> None:
    app = upload(open_import_page(), f"{HOSTILE_NAME}.csv", formula_csv(30).encode())
    # The page keeps the upload under the file's own name: what follows the name's last slash.
    raw = RawLog(pd.DataFrame(), f"{HOSTILE_NAME.rsplit('/', 1)[-1]}.csv", "csv", "")

    tables = check_downloads(app, offered, ExportStamp.of_upload(raw), "import")

    assert {name.split("_", 1)[0] for name in tables} >= {"preview", "columns", "mapped-preview"}, tables
