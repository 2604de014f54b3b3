"""Downloads carry the table's values, never a formula a spreadsheet would run."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
import pytest

from ui.downloads import neutralise_formulas, to_csv_bytes, to_excel_bytes


@pytest.mark.parametrize("risky", ["=1+1", "+33 6 12", "-2+3", "@SUM(A1)", "\tx", "\rx"])
def test_a_cell_that_would_start_a_formula_gets_an_apostrophe(risky: str) -> None:
    assert neutralise_formulas(pd.DataFrame({"label": [risky]}))["label"].tolist() == [f"'{risky}"]


def test_harmless_text_numbers_and_missing_cells_are_left_alone() -> None:
    frame = pd.DataFrame({"label": ["visit", "a=b", None], "amount": [-3, 0, 2]})
    assert neutralise_formulas(frame).equals(frame)


def test_headers_are_neutralised_too() -> None:
    assert neutralise_formulas(pd.DataFrame({"=cmd": ["x"], "ok": ["y"]})).columns.tolist() == ["'=cmd", "ok"]


def test_only_the_text_cells_of_a_mixed_column_change() -> None:
    mixed = pd.DataFrame({"value": pd.Series(["=x", -1, ["=y"], "ok"], dtype=object)})
    assert neutralise_formulas(mixed)["value"].tolist() == ["'=x", -1, ["=y"], "ok"]


def test_categories_are_neutralised() -> None:
    frame = pd.DataFrame({"activity": pd.Categorical(["=x", "visit"])})
    assert neutralise_formulas(frame)["activity"].tolist() == ["'=x", "visit"]


def test_the_shown_table_is_not_changed() -> None:
    frame = pd.DataFrame({"label": ["=1+1"]})
    neutralise_formulas(frame)
    to_csv_bytes(frame)
    assert frame["label"].tolist() == ["=1+1"]


def test_csv_reads_back_with_the_apostrophes_and_accents() -> None:
    csv = to_csv_bytes(pd.DataFrame({"région": ["Île-de-France", "@home"], "n": [1, -2]}))
    assert csv.startswith(b"\xef\xbb\xbf")  # the byte-order mark Excel needs to read UTF-8
    assert pd.read_csv(io.BytesIO(csv), encoding="utf-8-sig").to_dict("list") == {
        "région": ["Île-de-France", "'@home"],
        "n": [1, -2],
    }


def test_excel_holds_text_not_formulas_and_what_a_workbook_cannot() -> None:
    frame = pd.DataFrame(
        {
            "label": ['=HYPERLINK("http://x")', "bell\x07"],
            "at": pd.to_datetime(["2025-01-01 10:00+01:00", "2025-01-02 00:00+00:00"], utc=True),
            "path": [["visit", "buy"], ["call"]],
        }
    )
    sheet = openpyxl.load_workbook(io.BytesIO(to_excel_bytes(frame, sheet_name="Journeys"))).active
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert sheet.title == "Journeys"
    assert [cell.data_type for cell in sheet["A"][1:]] == ["s", "s"]
    assert rows == [
        ('\'=HYPERLINK("http://x")', pd.Timestamp("2025-01-01 09:00"), "visit → buy"),
        ("bell", pd.Timestamp("2025-01-02 00:00"), "call"),
    ]
