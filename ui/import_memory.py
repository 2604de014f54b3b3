"""What the import page remembers across a browser reload, which starts a new Streamlit session.

The uploaded file is staged on the server by the library (`Store.uploads`, kept for an hour after it was last
read) and named in the URL by its content hash (`?upload=<sha256>`); the mapping choices travel in the URL too
(`?choices={…}`), tied to the file they were made for, so a reload shows the same file, mapping, day order and
"drop invalid rows". Nothing a URL says is trusted: an unknown hash reads nothing (another user's upload is unknown
to this user, even by its hash), and choices that do not fit the file's columns are ignored in favour of the detected
mapping. What the session keeps is kept with the user it was for, so a session signed in as someone else since
restores nothing of theirs.
"""

from __future__ import annotations

import json
import zoneinfo
from dataclasses import replace

import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from data import ColumnMapping, LogError, StagedUpload
from ui.markup import plain
from ui.state import store

__all__ = [
    "CHOICES_PARAM",
    "UPLOAD_PARAM",
    "choices_from_param",
    "choices_to_param",
    "kept_upload",
    "remember_choices",
    "remembered_choices",
    "restored_upload",
]

UPLOAD_PARAM = "upload"
CHOICES_PARAM = "choices"
# The hash prefix that ties choices to their file; the same 16 characters name the form's widgets.
_FILE_KEY_CHARS = 16
_STAGED = "import-staged-upload"
_RESTORED = "import-restored-upload"
_TIME_ZONES = frozenset(zoneinfo.available_timezones()) | {"UTC"}


def choices_to_param(sha256: str, choices: dict) -> str:
    """Return the URL text of the import choices made for the file with this content hash."""
    return json.dumps({"file": sha256[:_FILE_KEY_CHARS], **choices}, sort_keys=True, ensure_ascii=False)


def choices_from_param(text: str | None, sha256: str, columns: list[str]) -> dict:
    """Return the choices a URL holds for this file, keeping only those that fit it: a mapping of its own
    columns (as a `ColumnMapping`), days before splitting journeys, the day/month order, dropping invalid rows."""
    try:
        saved = json.loads(text) if text else {}
    except ValueError:
        return {}
    if not isinstance(saved, dict) or saved.get("file") != sha256[:_FILE_KEY_CHARS]:
        return {}
    choices = {}
    mapping = _mapping(saved.get("mapping"), columns)
    if mapping is not None:
        choices["mapping"] = mapping
    split = saved.get("split_after_days")
    if isinstance(split, int | float) and not isinstance(split, bool) and 0 < split < float("inf"):
        choices["split_after_days"] = float(split)
    for flag in ("dayfirst", "drop_invalid_rows"):
        if isinstance(saved.get(flag), bool):
            choices[flag] = saved[flag]
    return choices


def remembered_choices(sha256: str, columns: list[str]) -> dict:
    """Return the choices this page's URL holds for the file (see `choices_from_param`)."""
    return choices_from_param(st.query_params.get(CHOICES_PARAM), sha256, columns)


def remember_choices(sha256: str, columns: list[str], **changes: object) -> None:
    """Put these choices for the file in the URL, beside the ones it already holds for it."""
    choices = {
        name: value.to_dict() if isinstance(value, ColumnMapping) else value
        for name, value in {**remembered_choices(sha256, columns), **changes}.items()
        if value is not None
    }
    text = choices_to_param(sha256, choices)
    if st.query_params.get(CHOICES_PARAM) != text:
        st.query_params[CHOICES_PARAM] = text


def kept_upload(upload: UploadedFile) -> StagedUpload:
    """Stage the uploaded file once (per upload) and name it in the URL, so a reload shows it again."""
    staged = st.session_state.get(_STAGED)
    if staged is None or staged[0] != (store().user, upload.file_id):
        staged = ((store().user, upload.file_id), store().uploads.stage(upload.getvalue(), upload.name))
        st.session_state[_STAGED] = staged
    _name_in_url(staged[1].sha256)
    return staged[1]


def restored_upload() -> StagedUpload | None:
    """Return the file the URL names when this session has none in the uploader, or None.

    A file removed from the uploader in this session is forgotten, not restored.
    """
    if st.session_state.pop(_STAGED, None) is not None:
        _forget()
        return None
    kept = st.session_state.get(_RESTORED)
    restored = kept[1] if kept is not None and kept[0] == store().user else None
    # Choosing another log in the sidebar rewrites the URL: the file restored in this session stays.
    wanted = st.query_params.get(UPLOAD_PARAM) or (restored and restored.sha256)
    if not wanted:
        return None
    if st.query_params.get(UPLOAD_PARAM) != wanted:
        st.query_params[UPLOAD_PARAM] = wanted
    if restored is None or restored.sha256 != wanted:
        restored = store().uploads.get(wanted)
        st.session_state[_RESTORED] = (store().user, restored)
    if restored is None:
        st.info(
            "The file uploaded before this page was reloaded is no longer kept on the server (it keeps one for an "
            "hour after it was last used): upload it again."
        )
        _forget()
        return None
    st.caption(
        f"Showing **{plain(restored.name)}**, uploaded before this page was reloaded (kept on the server for an "
        "hour after its last use). Upload another file to replace it."
    )
    st.button("Start again without this file", on_click=_forget, key="import-forget-upload")
    return restored


def _mapping(saved: object, columns: list[str]) -> ColumnMapping | None:
    if not isinstance(saved, dict):
        return None
    try:
        mapping = ColumnMapping.from_dict(saved)
    except (LogError, TypeError, ValueError):
        return None
    roles = [mapping.case_id, *mapping.activity, mapping.timestamp]
    if not mapping.activity or not all(isinstance(column, str) and column in columns for column in roles):
        return None
    if mapping.channel is not None and mapping.channel not in columns:
        return None
    if not (mapping.timestamp_format is None or isinstance(mapping.timestamp_format, str)):
        return None
    if mapping.timezone not in _TIME_ZONES or mapping.attributes is not None:
        return None
    return replace(mapping, dayfirst=None)


def _name_in_url(sha256: str) -> None:
    if st.query_params.get(UPLOAD_PARAM) != sha256:
        st.query_params[UPLOAD_PARAM] = sha256
        st.query_params.pop(CHOICES_PARAM, None)  # made for another file


def _forget() -> None:
    st.session_state.pop(_RESTORED, None)
    for name in (UPLOAD_PARAM, CHOICES_PARAM):
        st.query_params.pop(name, None)
