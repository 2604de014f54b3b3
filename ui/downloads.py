"""Every table a page shows can be downloaded, as CSV and as Excel, without carrying formulas.

The files are built by `data.exports` (lists joined, then formula-like cells neutralised; Excel text cells
written as strings), the same functions every CLI `--out` uses.
"""

from __future__ import annotations

from functools import partial

import pandas as pd
import streamlit as st

from data.exports import neutralise_formulas, to_csv_bytes, to_excel_bytes

__all__ = ["neutralise_formulas", "show_table", "to_csv_bytes", "to_excel_bytes"]

_FORMATS = (
    ("CSV", to_csv_bytes, "csv", "text/csv"),
    ("Excel", to_excel_bytes, "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
)


def show_table(frame: pd.DataFrame, file_stem: str, **dataframe_options) -> None:
    """Show a table with its CSV and Excel downloads; `file_stem` names the files and keys the buttons."""
    st.dataframe(frame, hide_index=True, width="stretch", **dataframe_options)
    with st.container(horizontal=True):
        for label, build, extension, mime in _FORMATS:
            st.download_button(
                label,
                data=partial(build, frame),
                file_name=f"{file_stem}.{extension}",
                mime=mime,
                icon=":material/download:",
                key=f"download-{extension}-{file_stem}",
                on_click="ignore",
            )
