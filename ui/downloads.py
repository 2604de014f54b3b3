"""Every table a page shows can be downloaded, as CSV and as Excel, without carrying formulas.

`show_table` is the one way a page shows a table: Streamlit's own table toolbar would export the cells as they are
(`=…`, `+33 …`, `-2+3` raw), so it is turned off for the whole app (`client.disableDataExport` in
`.streamlit/config.toml`) and each table gets Parcours' two downloads instead. The files are built by
`data.exports` (lists joined, then formula-like cells neutralised; Excel text cells written as strings), the same
functions every CLI `--out` uses.

Every download is stamped with where its table comes from (`data.exports.ExportStamp`, which reports share): the
log's name and id, the journey definition's version and the filters in force. The sidebar builds the stamp once per
page run, as it picks the log and reads the filters, so no page passes it along; the Excel file holds it in an
"About" sheet, the file names of both formats carry it (a CSV has no place for it that every spreadsheet and
`pandas.read_csv` would skip).
"""

from __future__ import annotations

import datetime as dt
from functools import partial

import pandas as pd
import streamlit as st

from data.exports import ExportStamp, neutralise_formulas, to_csv_bytes, to_excel_bytes
from ui.markup import NO_VALUE

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


def show_table(frame: pd.DataFrame, file_stem: str, shown_rows: int | None = None, **dataframe_options) -> None:
    """Show a table with its CSV and Excel downloads; `file_stem` names the files and keys the buttons.

    With `shown_rows`, a longer table shows its first rows only and says so: the browser gets what a reader scrolls
    (a path's customers at 10M events were 3 MB over the websocket), the downloads still every row.
    """
    shown = frame if shown_rows is None else frame.head(shown_rows)
    # A missing figure reads as a dash, as on the cards, not as Streamlit's "None" (a conversion of an empty stage).
    st.dataframe(shown, hide_index=True, width="stretch", placeholder=NO_VALUE, **dataframe_options)
    if len(shown) < len(frame):
        st.caption(f"Showing the first {len(shown):,} of {len(frame):,} rows: the downloads below hold all of them.")
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
