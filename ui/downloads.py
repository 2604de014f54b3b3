"""Every table a page shows can be downloaded, as CSV and as Excel, without carrying formulas.

`show_table` is the one way a page shows a table: Streamlit's own table toolbar would export the cells as they are
(`=…`, `+33 …`, `-2+3` raw), so it is turned off for the whole app (`client.disableDataExport` in
`.streamlit/config.toml`) and each table gets Parcours' two downloads instead. The files are built by
`data.exports` (lists joined, then formula-like cells neutralised; Excel text cells written as strings), the same
functions every CLI `--out` uses.

Every download is stamped with where its table comes from (`ExportStamp`): the log's name and id, the journey
definition's version and the filters in force. The sidebar builds the stamp once per page run, as it picks the log
and reads the filters, so no page passes it along; the Excel file holds it in an "About" sheet, the file names of
both formats carry it (a CSV has no place for it that every spreadsheet and `pandas.read_csv` would skip).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from functools import partial

import pandas as pd
import streamlit as st

from data import Dataset, Filters, RawLog
from data.exports import neutralise_formulas, to_csv_bytes, to_excel_bytes
from ui.params import filters_to_params

__all__ = [
    "ExportStamp",
    "current_stamp",
    "neutralise_formulas",
    "show_table",
    "stamp_exports",
    "stamped_excel",
    "to_csv_bytes",
    "to_excel_bytes",
]

_CSV_MIME = "text/csv"
_EXCEL_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_STAMP_KEY = "parcours-export-stamp"
_NAME_CHARS = 40
_DIGEST_CHARS = 6
_UNSAFE_IN_FILE_NAME = re.compile(r"[^\w.]+")


@dataclass(frozen=True)
class ExportStamp:
    """Where a downloaded table comes from: which log, which journey definition, which of its customers."""

    log_name: str = ""
    log_id: str | None = None  # None for an upload not stored yet
    definition_version: int | None = None  # None while the suggested definition has not been saved
    filters: str = "all customers"  # as `Filters.describe()` says it
    filters_link: str = ""  # the filters as the page's link holds them (JSON), empty when there are none

    @classmethod
    def of_log(
        cls,
        dataset: Dataset,
        filters: Filters,
        definition_version: int | None,
        link_params: dict[str, str] | None = None,
        persona: str | None = None,
    ) -> ExportStamp:
        """The stamp of a stored log's tables under these filters.

        `link_params` are the filters as the page's link holds them (a persona by its run and number, not its
        customers), by default those of `filters`; `persona` names the persona the filters keep, if any.
        """
        params = filters_to_params(filters) if link_params is None else link_params
        link = json.dumps(params, sort_keys=True, ensure_ascii=False) if params else ""
        described = filters.describe() if persona is None else f"{filters.describe()} (persona {persona})"
        return cls(dataset.name, dataset.id, definition_version, described, link)

    @classmethod
    def of_upload(cls, raw: RawLog) -> ExportStamp:
        """The stamp of an upload's tables, before it is stored."""
        return cls(raw.name, None, None, "every row read")

    def about(self) -> list[tuple[str, str]]:
        """Return the (field, value) rows of the Excel file's About sheet."""
        if not self.log_name:
            return [("Log", "none")]
        if self.log_id is None:
            return [
                ("Log", self.log_name),
                ("Log id", "not stored yet (an upload being checked)"),
                ("Rows", self.filters),
            ]
        version = "suggested (no version saved yet)" if self.definition_version is None else self.definition_version
        rows = [
            ("Log", self.log_name),
            ("Log id", self.log_id),
            ("Journey definition version", str(version)),
            ("Filters", self.filters),
        ]
        if self.filters_link:
            rows.append(("Filters as in the page's link", self.filters_link))
        return rows

    def file_name(self, stem: str, extension: str) -> str:
        """Return `stem` followed by the log, its id, the definition version and the filters, for a file name."""
        if not self.log_name:
            return f"{stem}.{extension}"
        parts = [stem, _file_name_part(self.log_name)]
        if self.log_id is None:
            parts.append("upload")
        else:
            parts += [self.log_id, "suggested" if self.definition_version is None else f"v{self.definition_version}"]
            parts.append(f"filtered-{_digest(self.filters_link)}" if self.filters_link else "all-customers")
        return f"{'_'.join(part for part in parts if part)}.{extension}"


def stamp_exports(stamp: ExportStamp) -> None:
    """Make `stamp` the one of every table the rest of this page run shows (the sidebar calls this)."""
    st.session_state[_STAMP_KEY] = stamp


def current_stamp() -> ExportStamp:
    """Return the stamp of this page run's downloads."""
    return st.session_state.get(_STAMP_KEY, ExportStamp())


def stamped_excel(frame: pd.DataFrame, stamp: ExportStamp, sheet_name: str = "Parcours") -> bytes:
    """Return the Excel download of `frame`, its stamp and the time of the download in an About sheet."""
    exported_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    return to_excel_bytes(frame, sheet_name, about=[*stamp.about(), ("Exported at (UTC)", exported_at)])


def show_table(frame: pd.DataFrame, file_stem: str, **dataframe_options) -> None:
    """Show a table with its CSV and Excel downloads; `file_stem` names the files and keys the buttons."""
    st.dataframe(frame, hide_index=True, width="stretch", **dataframe_options)
    stamp = current_stamp()
    with st.container(horizontal=True):
        for label, build, extension, mime in (
            ("CSV", partial(to_csv_bytes, frame), "csv", _CSV_MIME),
            ("Excel", partial(stamped_excel, frame, stamp), "xlsx", _EXCEL_MIME),
        ):
            st.download_button(
                label,
                data=build,
                file_name=stamp.file_name(file_stem, extension),
                mime=mime,
                icon=":material/download:",
                key=f"download-{extension}-{file_stem}",
                on_click="ignore",
            )


def _file_name_part(text: str) -> str:
    """Return `text` as letters, digits, dots and dashes only (a log's name is anyone's), at most 40 characters."""
    return _UNSAFE_IN_FILE_NAME.sub("-", text).strip("-.")[:_NAME_CHARS].strip("-.")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:_DIGEST_CHARS]
