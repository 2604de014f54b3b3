"""XES logs, read as they stream and bounded as they stream.

Parcours reads XES itself rather than through pm4py's importer: limits are checked element by element
(events, distinct attribute keys, value sizes), so a hostile log is refused before it fills memory; every
structural fault (a trace inside a trace, an event outside any trace, a second log, a document that is not
a log) is a typed error with its line, where pm4py raises SyntaxError or AttributeError; the encoding is the
one the file declares (UTF-16 included); and a date that does not parse is kept as written, so that the
timestamp check shows the bad value.

The table is the one pm4py builds: one row per event, event attributes under their keys and trace
attributes under "case:<key>", columns in order of first appearance; int, float and boolean values typed,
dates as UTC instants (a date without offset read as UTC, as pm4py reads it) when every date of the key
parses. Meta-attributes (attributes of attributes), lists, containers, globals, extensions and classifiers
are not columns of the log.
"""

from __future__ import annotations

import io

import defusedxml
import defusedxml.ElementTree
import pandas as pd
from defusedxml.ElementTree import ParseError as XMLParseError
from lxml import etree

from data.errors import LimitExceeded, Problem, UnsafeInput, UnsupportedFormat
from data.settings import Settings

__all__ = ["read_xes"]

CASE_PREFIX = "case:"
_ATTRIBUTE_TAGS = frozenset({"string", "date", "int", "float", "boolean", "id", "list", "container"})
_IGNORED_TAGS = frozenset({"global", "extension", "classifier"})
# What each open element is to the reader: the log, a trace, an event, an attribute, or something skipped whole.
_LOG, _TRACE, _EVENT, _ATTRIBUTE, _SKIPPED = "log", "trace", "event", "attribute", "skipped"
_PLACES = {_LOG: "the <log>", _TRACE: "a <trace>", _EVENT: "an <event>"}
_YEARS_1_TO_9999 = (pd.Timestamp("0001-01-01", tz="UTC"), pd.Timestamp("9999-12-31 23:59:59.999999", tz="UTC"))
# What libxml2 says when a document passes its limits on depth (256) and on the length of a text (10 MB).
_PARSER_LIMITS = ("XML_PARSE_HUGE", "too big", "huge text", "too long")
_FIX = "Export the log again from the process-mining tool; XES is <log>, then <trace>s, each holding <event>s."


def read_xes(content: bytes, file: str | None, settings: Settings) -> pd.DataFrame:
    """Return the events of an XES document as a table, or raise a LogError saying what is wrong and where."""
    refuse_xml_declarations(content, file)
    reader = _Reader(file, settings)
    elements = etree.iterparse(
        io.BytesIO(content),
        events=("start", "end"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        for action, element in elements:
            if action == "start":
                reader.start(element)
            else:
                reader.end(element)
    except etree.XMLSyntaxError as error:
        if any(sign in error.msg for sign in _PARSER_LIMITS):
            raise LimitExceeded(
                Problem(
                    "The XES file nests elements more than 256 deep or holds a text of more than 10 MB: no event "
                    f"log does, so it is not read ({error.msg}).",
                    fix="Export the log again; XES attributes are <string key=… value=…/>, never large texts.",
                    file=file,
                    row=error.lineno,
                )
            ) from None
        raise UnsupportedFormat(
            Problem(
                f"The XES file is not well-formed XML ({error.msg}).",
                fix="Export the log again.",
                file=file,
                row=error.lineno,
            )
        ) from None
    return reader.frame()


def refuse_xml_declarations(content: bytes, file: str | None) -> None:
    """Raise UnsafeInput if the XML declares a DOCTYPE or entities (XXE, billion laughs).

    A DOCTYPE may only stand before the root element, so the scan stops at the root's opening
    tag; lxml refuses a DOCTYPE anywhere later as malformed XML.
    """
    try:
        next(defusedxml.ElementTree.iterparse(io.BytesIO(content), events=("start",), forbid_dtd=True), None)
    except defusedxml.DefusedXmlException:
        raise UnsafeInput(
            Problem(
                "The XES file declares a DOCTYPE or entities, which can read server files or expand without end.",
                fix="Export the log again without a DOCTYPE: XES needs none.",
                file=file,
            )
        ) from None
    except LookupError as error:  # expat's way of saying the declared encoding is unknown
        raise UnsupportedFormat(
            Problem(
                f"The XES file declares an encoding Parcours does not know ({error}).",
                fix='Correct the encoding in its first line, e.g. <?xml version="1.0" encoding="UTF-8"?>.',
                file=file,
                row=1,
            )
        ) from None
    except XMLParseError as error:
        raise UnsupportedFormat(
            Problem(
                f"The XES file is not well-formed XML ({error}).",
                fix="Export the log again.",
                file=file,
                row=error.position[0],
            )
        ) from None


class _Reader:
    """Builds the rows of an XES log from the start and end of its elements, clearing each one once read."""

    def __init__(self, file: str | None, settings: Settings):
        self._file = file
        self._settings = settings
        self._open: list[str] = []
        self._columns: dict[str, set[str]] = {}  # column -> the XES types its values came as
        self._rows: list[dict] = []
        self._trace: dict = {}
        self._trace_events: list[dict] = []
        self._event: dict = {}
        self._events = 0

    def start(self, element: etree._Element) -> None:
        tag = etree.QName(element).localname
        parent = self._open[-1] if self._open else None
        if parent is None:
            if tag != _LOG:
                self._refuse(element, f"The file is XML but not an XES log: it starts with <{tag}>, not <log>.")
            self._open.append(_LOG)
            return
        if parent in (_ATTRIBUTE, _SKIPPED):
            self._open.append(_SKIPPED)  # meta-attributes, list items, globals: not columns of the log
            return
        if tag in (_LOG, _TRACE, _EVENT):
            self._open.append(self._open_container(element, tag, parent))
            return
        if tag in _ATTRIBUTE_TAGS:
            if parent in (_TRACE, _EVENT):
                self._attribute(element, tag, parent)
            self._open.append(_ATTRIBUTE)
            return
        self._open.append(_SKIPPED)  # globals, extensions, classifiers and elements XES does not define

    def end(self, element: etree._Element) -> None:
        closed = self._open.pop()
        if closed == _EVENT:
            self._trace_events.append(self._event)
        elif closed == _TRACE:
            case = {CASE_PREFIX + key: value for key, value in self._trace.items()}
            self._rows.extend({**event, **case} for event in self._trace_events)
            self._trace_events = []
        # Read elements are dropped, so that memory holds the rows and not the document.
        element.clear(keep_tail=False)
        while element.getprevious() is not None:
            del element.getparent()[0]

    def frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(self._rows)
        for column, types in self._columns.items():
            if types == {"date"} and column in frame.columns:
                frame[column] = _instants(frame[column])
        return frame

    def _open_container(self, element: etree._Element, tag: str, parent: str) -> str:
        expected = {_LOG: None, _TRACE: _LOG, _EVENT: _TRACE}[tag]
        if parent != expected:
            where = "outside any <trace>" if tag == _EVENT and parent == _LOG else f"inside {_PLACES[parent]}"
            article = "an" if tag == _EVENT else "a"
            self._refuse(element, f"The XES file has {article} <{tag}> {where}.")
        if tag == _TRACE:
            self._trace = {}
        else:
            self._events += 1
            if self._events > self._settings.max_events:
                raise LimitExceeded(
                    Problem(
                        f"The log has more than {self._settings.max_events:,} events, the most this installation "
                        "accepts.",
                        fix="Filter it to a period or a sample of customers, or ask the operator to raise "
                        "PARCOURS_MAX_EVENTS.",
                        file=self._file,
                    )
                )
            self._event = {}
        return tag

    def _attribute(self, element: etree._Element, tag: str, owner: str) -> None:
        key = element.get("key")
        if key is None:
            self._refuse(element, f"An XES <{tag}> attribute has no key.")
        value = element.get("value")
        limit = self._settings.max_field_bytes
        if value is not None and len(value) * 4 > limit and len(value.encode("utf-8", "surrogatepass")) > limit:
            raise LimitExceeded(
                Problem(
                    f"An attribute value is longer than the {limit:,} bytes a cell may hold.",
                    fix="Remove or shorten the value, or ask the operator to raise PARCOURS_MAX_FIELD_BYTES.",
                    file=self._file,
                    row=element.sourceline,
                    column=key,
                    value=value,
                )
            )
        column = key if owner == _EVENT else CASE_PREFIX + key
        types = self._columns.setdefault(column, set())
        types.add(tag)
        if len(self._columns) > self._settings.max_columns:
            raise LimitExceeded(
                Problem(
                    f"The log has more than {self._settings.max_columns:,} distinct attribute keys; this "
                    "installation accepts at most that many columns.",
                    fix="Export only the attributes you need, or ask the operator to raise PARCOURS_MAX_COLUMNS.",
                    file=self._file,
                    row=element.sourceline,
                )
            )
        (self._event if owner == _EVENT else self._trace)[key] = _typed(tag, value)

    def _refuse(self, element: etree._Element, message: str) -> None:
        raise UnsupportedFormat(Problem(message, fix=_FIX, file=self._file, row=element.sourceline))


def _typed(tag: str, value: str | None) -> object:
    """Return an attribute's value as its XES type says; a number that does not parse stays text, as written."""
    if value is None or tag in ("list", "container"):
        return None
    if tag == "boolean":
        return value.strip().lower() == "true"
    if tag in ("int", "float"):
        try:
            return int(value) if tag == "int" else float(value)
        except ValueError:
            return value
    return value


def _instants(values: pd.Series) -> pd.Series:
    """Return dates as UTC instants, or as written when one of them does not parse (the timestamp check says which).

    An instant outside the years 1 to 9999 (0001-01-01T00:30:00+01:00 is in the year 0 in UTC) does not count as
    parsed: no date-time type outside pandas holds it.
    """
    parsed = pd.to_datetime(values, format="ISO8601", utc=True, errors="coerce").dt.as_unit("us")
    if parsed.between(*_YEARS_1_TO_9999).sum() != values.notna().sum():
        return values
    return parsed
