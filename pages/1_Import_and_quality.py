"""Import & data quality: bring a log, confirm how its columns map, see what looks wrong, store it."""

from __future__ import annotations

import streamlit as st

import ui

st.set_page_config(page_title="Import & data quality · Parcours", page_icon="🧭", layout="wide")
ui.dataset_picker()

st.title("Import & data quality")
if not ui.allowed("editor", "import logs"):
    st.stop()
st.markdown(
    "Upload a log with one row per interaction — **who** (customer or case), **what** (touchpoint) and **when**. "
    "Parcours proposes how its columns map, checks every row, and shows what looks wrong before you store it."
)

raw = ui.choose_source()
if raw is None:
    st.stop()
ui.show_preview(raw)
choice = ui.mapping_form(raw)
if ui.stored_from_sample(raw, choice):
    st.stop()
log = ui.checked_log(raw, choice)
if log is None:
    st.stop()
ui.show_quality(raw, log)
ui.save_section(log)
