"""The steps of the Import & data quality page: source, preview, mapping, check, quality report, save.

Each step is one function the page calls in order; each widget key carries the source's content
hash, so a new file starts from its own detected mapping instead of the previous file's choices.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial

import pandas as pd
import streamlit as st

from data import (
    AmbiguousDateError,
    ColumnMapping,
    Dataset,
    EventLog,
    InvalidRows,
    LogError,
    MappingSuggestion,
    QualityReport,
    RawLog,
    Settings,
    import_sample_isolated,
    parquet_rows,
)
from data.columnar import SAMPLE_ROWS
from data.timestamps import FORMAT_HELP
from ui.downloads import ExportStamp, show_table, stamp_exports
from ui.errors import reported_errors, show_error
from ui.import_memory import kept_upload, remember_choices, remembered_choices, restored_upload
from ui.journey import show_first_look
from ui.markup import plain
from ui.navigation import JOURNEY_MAP_PAGE
from ui.params import show_dataset
from ui.state import (
    build_log,
    read_parquet_sample,
    read_sql_source,
    read_upload,
    settings,
    store,
    suggest_mapping,
)
from ui.tables import (
    SEVERITY_ICONS,
    columns_table,
    findings_table,
    numbered_rows,
    offending_rows,
    problems_table,
    quality_badge,
)
from ui.workspace import current_workspace_id

__all__ = [
    "ImportChoice",
    "checked_log",
    "choose_source",
    "limits_text",
    "mapping_form",
    "proposed_mapping",
    "role_options",
    "save_section",
    "show_preview",
    "show_quality",
    "stored_from_sample",
]

UPLOAD_TYPES = ("csv", "tsv", "txt", "gz", "xlsx", "parquet", "jsonl", "ndjson", "xes")
PREVIEW_ROWS = 20
EXAMPLES_IN_LABEL = 2
EXAMPLE_CHARS = 24
HOME_PAGE = "app.py"
_FILE, _DATABASE = "A file", "A configured database"
_TABLE, _QUERY = "A table or view", "One SELECT query"
_SQL_REQUEST = "import-sql-request"
_DAY_MONTH_LABELS = {True: "Day first (31/12/2025)", False: "Month first (12/31/2025)"}


@dataclass(frozen=True)
class ImportChoice:
    """What the user confirmed in the mapping form."""

    mapping: ColumnMapping
    split_after_days: float | None


def limits_text(config: Settings) -> str:
    """Return the operator's limits on an upload, in words."""
    return (
        f"Accepted: CSV/TSV (also .gz), Excel .xlsx, Parquet, JSON lines, XES (also .xes.gz). "
        f"At most {config.max_upload_mb:,} MB per file, {config.max_uncompressed_mb:,} MB once decompressed, "
        f"and {config.max_events:,} events."
    )


def role_options(suggestion: MappingSuggestion, columns: Sequence[str], role: str) -> list[str]:
    """Return the columns to offer for a role: its candidates best first, then the others in file order."""
    candidates = [candidate.column for candidate in suggestion.candidates.get(role, ())]
    return [*candidates, *(column for column in columns if column not in candidates)]


def proposed_mapping(suggestion: MappingSuggestion, columns: Sequence[str], timezone: str) -> ColumnMapping:
    """Return the mapping the form starts from: the detected one, else each role's best candidate.

    With nothing detected the first columns are proposed; the check after the form then says what
    to change. Naive times are read in the operator's time zone.
    """
    if suggestion.mapping is not None:
        return replace(suggestion.mapping, timezone=timezone)
    best = {role: role_options(suggestion, columns, role)[:1] for role in ("case_id", "activity", "timestamp")}
    return ColumnMapping(
        case_id=(best["case_id"] or [""])[0],
        activity=tuple(best["activity"]),
        timestamp=(best["timestamp"] or [""])[0],
        timezone=timezone,
    )


def choose_source() -> RawLog | None:
    """Show the upload (and the operator's SQL sources, if any); return the table read, or None yet."""
    config = settings()
    sources = sorted(config.sql_sources)
    if sources and st.radio("Where is the log?", (_FILE, _DATABASE), horizontal=True) == _DATABASE:
        return _database_table(sources)
    return _uploaded_file(config)


def show_preview(raw: RawLog) -> None:
    """Show the first rows as read, and every column name that had to be changed."""
    stamp_exports(ExportStamp.of_upload(raw))  # from here on the page's tables are the upload's
    st.subheader("Preview")
    show_table(raw.frame.head(PREVIEW_ROWS), "preview")
    renames = raw.frame.attrs.get("column_renames", ())
    if renames:
        st.warning("Some column names were changed so that each one is unique and usable:")
        show_table(problems_table(renames), "column-renames")


def mapping_form(raw: RawLog) -> ImportChoice:
    """Show the detected mapping (or the one the URL remembers for this file) in an editable form and return
    what it holds once applied; the URL then remembers it."""
    with reported_errors():
        suggestion = suggest_mapping(raw)
    columns = [str(column) for column in raw.frame.columns]
    remembered = remembered_choices(raw.sha256, columns)
    proposed = remembered.get("mapping") or proposed_mapping(suggestion, columns, settings().timezone)
    key = f"mapping-{raw.sha256[:16]}"
    st.subheader("Columns")
    with st.expander("Every column, with example values and the roles it could play"):
        show_table(columns_table(suggestion, columns), "columns")
    with st.form(key):
        left, right = st.columns(2)
        with left:
            case_id = _role_box("Customer / case id", "case_id", suggestion, columns, proposed.case_id, key)
            activity = st.multiselect(
                "Touchpoint / activity",
                role_options(suggestion, columns, "activity"),
                default=list(proposed.activity),
                format_func=lambda column: _option_label(suggestion, column),
                key=f"{key}-activity",
                help="Several columns are joined with '-' (e.g. activity + lifecycle).",
            )
            for column in activity:
                st.caption(_reason(suggestion, "activity", column))
            timestamp = _role_box("Time", "timestamp", suggestion, columns, proposed.timestamp, key)
            channel = _role_box("Channel (optional)", "channel", suggestion, columns, proposed.channel, key)
        with right:
            timestamp_format = st.text_input(
                "Timestamp format",
                value=proposed.timestamp_format or "",
                placeholder="detected automatically",
                key=f"{key}-format",
                help=f"Leave empty to detect it (zones such as Z, +01:00, UTC, CET or Europe/Paris are read from "
                f"the values), or give {FORMAT_HELP}.",
            )
            zones = _time_zones(proposed.timezone)
            timezone = st.selectbox(
                "Time zone of times that carry none",
                zones,
                index=zones.index(proposed.timezone),
                key=f"{key}-timezone",
            )
            split_days = st.number_input(
                "Split into journeys after this many days without activity (0: one journey per customer)",
                min_value=0.0,
                value=remembered.get("split_after_days", 0.0),
                step=1.0,
                key=f"{key}-split",
            )
        st.form_submit_button("Apply the mapping", type="primary")
    mapping = ColumnMapping(
        case_id=case_id,
        activity=tuple(activity),
        timestamp=timestamp,
        channel=channel,
        timestamp_format=timestamp_format.strip() or None,
        timezone=timezone,
    )
    remember_choices(raw.sha256, columns, mapping=mapping, split_after_days=split_days or None)
    return ImportChoice(mapping=mapping, split_after_days=split_days or None)


def checked_log(raw: RawLog, choice: ImportChoice) -> EventLog | None:
    """Read the log through the chosen mapping; show what stops it and offer what can (day order, dropping rows)."""
    columns = [str(column) for column in raw.frame.columns]
    remembered = remembered_choices(raw.sha256, columns)
    dayfirst = st.session_state.get(_day_month_key(raw), remembered.get("dayfirst"))
    mapping = replace(choice.mapping, dayfirst=dayfirst)
    with st.status("Checking the log…") as status:
        outcome = build_log(raw, mapping, False, choice.split_after_days)
        if isinstance(outcome, EventLog):
            status.update(label=f"Read {len(outcome.frame):,} events.", state="complete")
        else:
            status.update(label="This log cannot be imported as it is.", state="error")
    if isinstance(outcome, AmbiguousDateError) or dayfirst is not None:
        _day_month_order(raw, columns, dayfirst)
    if isinstance(outcome, EventLog):
        return outcome
    show_error(outcome)
    if isinstance(outcome, AmbiguousDateError):
        return None
    dropping = build_log(raw, mapping, True, choice.split_after_days)
    if isinstance(dropping, LogError):
        return None
    dropped = dropping.options["dropped_rows"]
    dropped_rows = _drop_invalid_rows(
        raw, columns, f"skip these {dropped:,} row(s) and import the other {len(dropping.frame):,} events"
    )
    return dropping if dropped_rows else None


def show_quality(raw: RawLog, log: EventLog) -> None:
    """Show the headline counts, the quality findings and, for each, the source rows it points at."""
    report = log.quality
    st.subheader(f"Data quality · {quality_badge(report)}")
    metrics = st.columns(4)
    metrics[0].metric("Customers (unique journeys)", f"{report.cases:,}")
    metrics[1].metric("Events", f"{report.events:,}")
    metrics[2].metric("Touchpoints (distinct activities)", f"{report.activities:,}")
    metrics[3].metric("Invalid rows dropped", f"{log.options['dropped_rows']:,}")
    st.caption(
        f"From {report.start:%Y-%m-%d %H:%M} to {report.end:%Y-%m-%d %H:%M} UTC · timestamps read as "
        f"{log.options['timestamp_format']}."
    )
    with st.expander("The first events as Parcours reads them"):
        show_table(log.frame.head(PREVIEW_ROWS), "mapped-preview")
    if not report.findings:
        st.success("No problems found.")
        return
    _show_findings(report, lambda rows: offending_rows(raw.frame, rows))


def _show_findings(report: QualityReport, rows_of: Callable[[Sequence[int]], pd.DataFrame]) -> None:
    """Show the quality findings, then the source rows behind each (`rows_of` returns them, numbered)."""
    show_table(findings_table(report), "quality-findings")
    st.markdown("**Example rows behind each finding**, as they are in the file:")
    for finding in report.findings:
        if finding.examples:
            with st.expander(f"{SEVERITY_ICONS[finding.severity]} · {finding.message}"):
                show_table(rows_of(finding.examples), f"rows-{finding.code}")


def save_section(log: EventLog) -> None:
    """Store the checked log under a name, then link to the home page with it selected."""
    saved_key = f"saved-{log.source_sha256[:16]}"
    st.subheader("Save")
    name = st.text_input("Name", value=log.name, max_chars=200, key=f"name-{log.source_sha256[:16]}")
    if st.button("Save to the store", type="primary"):
        with reported_errors(), st.status("Storing the log…", expanded=True) as status:
            st.write("Writing the events as Parquet and building the journey layout…")
            dataset = store().import_log(log, name=name, workspace=current_workspace_id())
            status.update(label="Stored.", state="complete", expanded=False)
        st.session_state[saved_key] = dataset.id
        show_dataset(dataset.id)
        st.rerun()
    saved_id = st.session_state.get(saved_key)
    if saved_id is None:
        return
    with reported_errors():
        dataset = store().dataset(saved_id)
    if dataset.mapping == log.mapping and dataset.options == log.options:
        _stored_message(dataset)


def stored_from_sample(raw: RawLog, choice: ImportChoice) -> bool:
    """Offer to check every row of a large upload and store it in a child process, never reading it whole into the
    server; return False for an upload read whole, which the page checks before it is stored.

    A typed Parquet file is stored by DuckDB; any other (a large CSV, times kept as text…) by pandas in the same
    child, whose checks name each bad row: the page then offers to drop them, or asks the order of day and month.
    Read whole into the server, checked, then stored, a 10M-event Parquet file took 68 s and 4.9 GB of its memory
    (this way about a third of that time), and a 10M-event CSV more than the reading child's 8 GB.
    """
    if raw.sample_of is None:
        return False
    key = raw.sha256[:16]
    columns = [str(column) for column in raw.frame.columns]
    dayfirst = st.session_state.get(_day_month_key(raw), remembered_choices(raw.sha256, columns).get("dayfirst"))
    mapping = replace(choice.mapping, dayfirst=dayfirst)
    attempt = (mapping, choice.split_after_days)
    refused = st.session_state.get(f"refused-{key}")
    error = refused[1] if refused is not None and refused[0] == attempt else None
    st.subheader("Save")
    st.caption("Every row is checked while the log is stored; its data quality report follows.")
    drop_invalid_rows = False
    if error is not None:
        show_error(error)
        if isinstance(error, AmbiguousDateError) or dayfirst is not None:
            _day_month_order(raw, columns, dayfirst)
        elif isinstance(error, InvalidRows):
            rows = {problem.row for problem in error.problems}
            drop_invalid_rows = _drop_invalid_rows(
                raw, columns, f"skip these {len(rows):,} row(s) and import the others"
            )
    name = st.text_input("Name", value=raw.name, max_chars=200, key=f"name-{key}")
    if st.button("Check every row and save to the store", type="primary"):
        status = st.status("Checking every row and storing the log…")
        first_look = st.empty()  # under the status: the journey map's first look, drawn while the import goes on
        with reported_errors(), status:
            try:
                dataset = import_sample_isolated(
                    raw,
                    mapping,
                    settings=settings(),
                    user=store().user,
                    workspace=current_workspace_id(),
                    name=name,
                    drop_invalid_rows=drop_invalid_rows,
                    split_after_days=choice.split_after_days,
                    on_progress=lambda doing: status.update(label=doing),
                    on_first_look=partial(show_first_look, first_look),
                )
            except LogError as refusal:
                st.session_state[f"refused-{key}"] = (attempt, refusal)
                status.update(label="This log cannot be stored as it is.", state="error")
            else:
                st.session_state.pop(f"refused-{key}", None)
                st.session_state[f"saved-{key}"] = dataset.id
                status.update(label="Stored.", state="complete")
                show_dataset(dataset.id)
        st.rerun()
    saved_id = st.session_state.get(f"saved-{key}")
    if saved_id is not None:
        with reported_errors():
            dataset = store().dataset(saved_id)
        if dataset.mapping == mapping and dataset.options.get("split_after_days") == choice.split_after_days:
            _stored_message(dataset)
            st.markdown(f"**Data quality** · {quality_badge(dataset.quality)}")
            if dataset.quality.findings:
                _show_findings(
                    dataset.quality, lambda rows: numbered_rows(parquet_rows(raw.sample_of, rows, settings=settings()))
                )
    return True


def _day_month_key(raw: RawLog) -> str:
    return f"day-month-{raw.sha256[:16]}"


def _day_month_order(raw: RawLog, columns: list[str], dayfirst: bool | None) -> None:
    """Ask which order of day and month the file's dates use, when its values alone leave it open."""
    orders = tuple(_DAY_MONTH_LABELS)
    chosen_order = st.radio(
        "The dates could be read both ways: which order does this file use?",
        orders,
        index=None if dayfirst is None else orders.index(dayfirst),
        format_func=_DAY_MONTH_LABELS.__getitem__,
        horizontal=True,
        key=_day_month_key(raw),
    )
    remember_choices(raw.sha256, columns, dayfirst=chosen_order)


def _drop_invalid_rows(raw: RawLog, columns: list[str], what: str) -> bool:
    """Offer to drop the rows the checks refused (`what` says how many go and stay); return whether to."""
    dropped_rows = st.checkbox(
        f"Drop invalid rows: {what}",
        value=remembered_choices(raw.sha256, columns).get("drop_invalid_rows", False),
        key=f"drop-{raw.sha256[:16]}",
    )
    remember_choices(raw.sha256, columns, drop_invalid_rows=dropped_rows or None)
    return dropped_rows


def _stored_message(dataset: Dataset) -> None:
    st.success(
        plain(
            f"Stored as “{dataset.name}”: {dataset.n_events:,} events of {dataset.n_cases:,} customers "
            f"({dataset.n_activities:,} touchpoints)."
        )
    )
    opened = {"dataset": dataset.id}
    with st.container(horizontal=True):
        st.page_link(
            JOURNEY_MAP_PAGE, label="Open its journey map", icon=":material/account_tree:", query_params=opened
        )
        st.page_link(HOME_PAGE, label="Open it on the home page", icon=":material/home:", query_params=opened)


def _uploaded_file(config: Settings) -> RawLog | None:
    upload = st.file_uploader(
        "Event log",
        type=list(UPLOAD_TYPES),
        max_upload_size=config.max_upload_mb,
        help="One row per interaction: who (customer or case), what (touchpoint) and when.",
    )
    st.caption(limits_text(config))
    if upload is None:
        with reported_errors():
            staged = restored_upload()
    else:
        with reported_errors():
            staged = kept_upload(upload)
    if staged is None:
        return None
    with reported_errors(), st.status(f"Reading {plain(staged.name)}…") as status:
        path = str(staged.path)
        raw = read_parquet_sample(path, staged.sha256, staged.name) or read_upload(path, staged.sha256, staged.name)
        status.update(label=_read_label(raw), state="complete")
    return raw


def _database_table(sources: list[str]) -> RawLog | None:
    source = st.selectbox(
        "Source", sources, help="Named by the operator in PARCOURS_SQL_SOURCES or in the secrets; never a URL."
    )
    kind = st.radio("Read", (_TABLE, _QUERY), horizontal=True)
    if kind == _TABLE:
        table = st.text_input("Table or view", help="A wrong name lists the tables and views the source has.")
        request = (source, table.strip(), None)
    else:
        query = st.text_area("Query", placeholder="SELECT customer, action, happened_at FROM touchpoints")
        request = (source, None, query.strip())
    if st.button("Read from the database", disabled=not any(request[1:])):
        st.session_state[_SQL_REQUEST] = request
    request = st.session_state.get(_SQL_REQUEST)
    if request is None:
        return None
    with reported_errors(), st.status(f"Reading from {request[0]}…") as status:
        raw = read_sql_source(*request)
        status.update(label=_read_label(raw), state="complete")
    return raw


def _read_label(raw: RawLog) -> str:
    rows, columns = raw.frame.shape
    details = [raw.format]
    if "encoding" in raw.frame.attrs:
        details.append(f"encoding {raw.frame.attrs['encoding']}")
    if "delimiter" in raw.frame.attrs:
        details.append(f"delimiter {raw.frame.attrs['delimiter']!r}")
    if raw.sample_of is not None and rows == SAMPLE_ROWS:
        return plain(
            f"Read the first {rows:,} rows × {columns} columns of {raw.name} ({', '.join(details)}) to preview it: "
            "every row is checked when it is saved."
        )
    return plain(f"Read {rows:,} rows × {columns} columns from {raw.name} ({', '.join(details)}).")


def _role_box(
    label: str, role: str, suggestion: MappingSuggestion, columns: list[str], proposed: str | None, key: str
) -> str | None:
    """A selectbox for one role with its candidates first; the optional channel may be left empty."""
    options: list[str | None] = list(role_options(suggestion, columns, role))
    if role == "channel":
        options.insert(0, None)
    chosen = st.selectbox(
        label,
        options,
        index=options.index(proposed) if proposed in options else 0,
        format_func=lambda column: "(none)" if column is None else _option_label(suggestion, column),
        key=f"{key}-{role}",
    )
    if chosen is not None:
        st.caption(_reason(suggestion, role, chosen))
    return chosen


def _option_label(suggestion: MappingSuggestion, column: str) -> str:
    examples = [_shortened(value) for value in suggestion.examples.get(column, ())[:EXAMPLES_IN_LABEL]]
    return f"{column} — e.g. {', '.join(examples)}" if examples else column


def _shortened(value: str) -> str:
    return value if len(value) <= EXAMPLE_CHARS else value[: EXAMPLE_CHARS - 1] + "…"


def _reason(suggestion: MappingSuggestion, role: str, column: str) -> str:
    for candidate in suggestion.candidates.get(role, ()):
        if candidate.column == column:
            return plain(f"{column}: {candidate.reason}.")
    return plain(f"{column}: your choice (not among the detected candidates).")


def _time_zones(default: str) -> list[str]:
    zones = sorted(zoneinfo.available_timezones())
    return zones if default in zones else [default, *zones]
