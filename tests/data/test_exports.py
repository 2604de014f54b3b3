"""Exports carry the table's values, never a formula a spreadsheet would run; CLI text never drives the terminal."""

from __future__ import annotations

import ast
import io
import sys
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from data import exports

LIVE_LINK = '=HYPERLINK("http://evil/","x")'


@pytest.mark.parametrize("risky", ["=1+1", "+33 6 12", "-2+3", "@SUM(A1)", "\tx", "\rx", "＝1+1", "＠SUM(A1)"])
def test_a_cell_that_would_start_a_formula_gets_an_apostrophe(risky: str) -> None:
    assert exports.neutralise_formulas(pd.DataFrame({"label": [risky]}))["label"].tolist() == [f"'{risky}"]


def test_harmless_text_numbers_and_missing_cells_are_left_alone() -> None:
    frame = pd.DataFrame({"label": ["visit", "a=b", None], "amount": [-3, 0, 2]})
    assert exports.neutralise_formulas(frame).equals(frame)


def test_headers_are_neutralised_too() -> None:
    assert exports.neutralise_formulas(pd.DataFrame({"=cmd": ["x"], "ok": ["y"]})).columns.tolist() == ["'=cmd", "ok"]


def test_only_the_text_cells_of_a_mixed_column_change_lists_being_joined_first() -> None:
    mixed = pd.DataFrame({"value": pd.Series(["=x", -1, ["=y", "z"], "ok"], dtype=object)})
    assert exports.neutralise_formulas(mixed)["value"].tolist() == ["'=x", -1, "'=y → z", "ok"]


def test_a_list_whose_first_item_is_a_formula_is_neutralised_after_joining() -> None:
    """The battery's case: `to_excel_bytes` neutralised before joining, so the joined cell was a live formula."""
    frame = pd.DataFrame({"journey": [[LIVE_LINK, "buy"]]})

    assert exports.neutralise_formulas(frame)["journey"].tolist() == [f"'{LIVE_LINK} → buy"]
    assert pd.read_csv(io.BytesIO(exports.to_csv_bytes(frame)), encoding="utf-8-sig")["journey"].tolist() == [
        f"'{LIVE_LINK} → buy"
    ]
    cell = openpyxl.load_workbook(io.BytesIO(exports.to_excel_bytes(frame))).active["A2"]
    assert (cell.data_type, cell.value) == ("s", f"{LIVE_LINK} → buy")


def test_categories_are_neutralised() -> None:
    frame = pd.DataFrame({"activity": pd.Categorical(["=x", "visit"])})
    assert exports.neutralise_formulas(frame)["activity"].tolist() == ["'=x", "visit"]


def test_the_shown_table_is_not_changed() -> None:
    frame = pd.DataFrame({"label": ["=1+1"]})
    exports.neutralise_formulas(frame)
    exports.to_csv_bytes(frame)
    assert frame["label"].tolist() == ["=1+1"]


def test_csv_reads_back_with_the_apostrophes_and_accents() -> None:
    csv = exports.to_csv_bytes(pd.DataFrame({"région": ["Île-de-France", "@home"], "n": [1, -2]}))
    assert csv.startswith(b"\xef\xbb\xbf")  # the byte-order mark Excel needs to read UTF-8
    assert pd.read_csv(io.BytesIO(csv), encoding="utf-8-sig").to_dict("list") == {
        "région": ["Île-de-France", "'@home"],
        "n": [1, -2],
    }


def test_excel_holds_text_as_string_cells_never_formulas_and_what_a_workbook_cannot() -> None:
    frame = pd.DataFrame(
        {
            "label": ['=HYPERLINK("http://x")', "bell\x07", "+33 6 12"],
            "at": pd.to_datetime(
                ["2025-01-01 10:00+01:00", "2025-01-02 00:00+00:00", "2025-01-03 00:00+00:00"], utc=True
            ),
            "path": [["visit", "buy"], ["call"], []],
            "=cmd": [1, 2, 3],
        }
    )
    workbook = exports.to_excel_bytes(frame, sheet_name="Journeys")
    sheet = openpyxl.load_workbook(io.BytesIO(workbook)).active
    rows = list(sheet.iter_rows(values_only=True))

    assert sheet.title == "Journeys"
    assert [cell.data_type for cell in sheet["A"]] == ["s", "s", "s", "s"]
    assert sheet["D1"].data_type == "s"
    assert rows == [
        ("label", "at", "path", "=cmd"),
        ('=HYPERLINK("http://x")', pd.Timestamp("2025-01-01 09:00"), "visit → buy", 1),
        ("bell", pd.Timestamp("2025-01-02 00:00"), "call", 2),
        ("+33 6 12", pd.Timestamp("2025-01-03 00:00"), None, 3),
    ]
    with zipfile.ZipFile(io.BytesIO(workbook)) as archive:
        assert b"<f>" not in archive.read("xl/worksheets/sheet1.xml")


def test_excel_marks_formula_like_text_with_the_quote_prefix_style_only() -> None:
    """Excel's own mark for a typed '=x: the cell shows =x (no apostrophe) and stays text if edited."""
    frame = pd.DataFrame({"label": ["=1+1", "-2+3", "+33 appel", "@home", "visit", "a=b"], "n": [-1, 0, 1, 2, 3, 4]})
    sheet = openpyxl.load_workbook(io.BytesIO(exports.to_excel_bytes(frame))).active

    assert [(cell.value, cell.data_type, cell.quotePrefix) for cell in sheet["A"][1:]] == [
        ("=1+1", "s", True),
        ("-2+3", "s", True),
        ("+33 appel", "s", True),
        ("@home", "s", True),
        ("visit", "s", False),
        ("a=b", "s", False),
    ]
    assert [(cell.value, cell.data_type, cell.quotePrefix) for cell in sheet["B"][1:3]] == [
        (-1, "n", False),
        (0, "n", False),
    ]


def test_an_about_sheet_follows_the_table_and_holds_its_fields_as_text() -> None:
    about = [("Log", '=HYPERLINK("http://evil/")'), ("Log id", "0123456789abcdef"), ("Filters", "all customers")]
    workbook = openpyxl.load_workbook(io.BytesIO(exports.to_excel_bytes(pd.DataFrame({"n": [1]}), "Variants", about)))

    assert workbook.sheetnames == ["Variants", "About"]
    sheet = workbook["About"]
    assert list(sheet.iter_rows(values_only=True)) == [("Field", "Value"), *about]
    assert (sheet["B2"].data_type, sheet["B2"].quotePrefix) == ("s", True)
    assert pd.read_excel(io.BytesIO(exports.to_excel_bytes(pd.DataFrame({"n": [1]}), about=about))).to_dict("list") == {
        "n": [1]
    }


def test_an_object_column_of_numbers_only_is_written_as_numbers() -> None:
    frame = pd.DataFrame({"version": pd.Series([3, 2], dtype=object), "goal": ["=buy", "buy"]})
    assert exports.neutralise_formulas(frame)["goal"].tolist() == ["'=buy", "buy"]
    sheet = openpyxl.load_workbook(io.BytesIO(exports.to_excel_bytes(frame))).active
    assert [cell.value for cell in sheet["A"]] == ["version", 3, 2]


def test_excel_cuts_a_text_longer_than_a_cell_holds() -> None:
    frame = pd.DataFrame({"path": ["a" * 40_000, "short"]})
    sheet = openpyxl.load_workbook(io.BytesIO(exports.to_excel_bytes(frame))).active

    assert sheet["A2"].value == "a" * 32_766 + "…"
    assert sheet["A3"].value == "short"


def test_no_command_writes_a_table_but_through_data_exports() -> None:
    """Every CLI `--out` goes through `write_csv`: no library module writes CSV or Excel on its own.

    The demo generator is the exception: it writes a log to import, whose labels Parcours made up.
    """
    repo = Path(__file__).resolve().parents[2]
    writers = {
        str(path.relative_to(repo))
        for package in ("data", "discovery", "segmentation")
        for path in (repo / package).rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute) and node.attr in {"to_csv", "to_excel"}
    }
    assert writers == {"data/demo.py", "data/exports.py"}


def test_write_csv_writes_what_the_download_holds(tmp_path) -> None:
    frame = pd.DataFrame({"persona_name": ["=c0", "buyers"], "persona": [0, 1]})

    exports.write_csv(frame, tmp_path / "p.csv")

    assert (tmp_path / "p.csv").read_bytes() == exports.to_csv_bytes(frame)
    assert pd.read_csv(tmp_path / "p.csv")["persona_name"].tolist() == ["'=c0", "buyers"]


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("\x1b[2J\x1b]0;pwned\x07name.csv", "[2J]0;pwnedname.csv"),
        ("line\rover", "lineover"),
        ("\x9b31mred", "31mred"),
        ("admin\u202egnp.exe", "admingnp.exe"),
        ("two\nlines\tand tab, café 客户 😀", "two\nlines\tand tab, café 客户 😀"),
    ],
)
def test_terminal_safe_drops_what_a_terminal_would_act_on(written: str, shown: str) -> None:
    assert exports.terminal_safe(written) == shown


def test_everything_printed_inside_terminal_safe_output_is_cleaned(capsys) -> None:
    with exports.terminal_safe_output():
        print("dataset \x1b[31mred")
        print("error: \x1b[2J", file=sys.stderr)

    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("dataset [31mred\n", "error: [2J\n")
