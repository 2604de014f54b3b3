"""XES read by Parcours: pm4py's table on real logs, typed errors with lines on broken ones, limits as it streams."""

from __future__ import annotations

import gzip
import warnings

import pandas as pd
import pytest

from data.errors import LimitExceeded, UnsafeInput, UnsupportedFormat
from data.settings import Settings
from data.xes import read_xes
from tests.conftest import DATASETS
from tests.data import corpus


def _log(*traces: str, head: str = '<?xml version="1.0" encoding="UTF-8"?>') -> bytes:
    return (head + "<log>" + "".join(traces) + "</log>").encode()


def _trace(case: str, *events: str, after: str = "") -> str:
    return f'<trace><string key="concept:name" value="{case}"/>{"".join(events)}{after}</trace>'


def _event(activity: str, *attributes: str) -> str:
    return f'<event><string key="concept:name" value="{activity}"/>{"".join(attributes)}</event>'


@pytest.mark.parametrize(
    "log",
    [
        "running-example/running-example.xes",
        pytest.param("sepsis/Sepsis.xes.gz", marks=pytest.mark.slow),
        "receipt-wabo/receipt.xes.gz",
    ],
)
def test_the_table_is_the_one_pm4py_builds(settings: Settings, log: str) -> None:
    import pm4py  # slow to import: only this test needs it

    path = DATASETS / log
    content = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = pm4py.read_xes(str(path), variant="iterparse", show_progress_bar=False).reset_index(drop=True)
    pd.testing.assert_frame_equal(read_xes(content, path.name, settings), expected)


def test_values_are_typed_as_xes_says_and_trace_attributes_prefixed(settings: Settings) -> None:
    event = _event(
        "visit",
        '<date key="time:timestamp" value="2024-01-01T10:00:00+01:00"/>',
        '<int key="cost" value="12"/>',
        '<float key="score" value="0.5"/>',
        '<boolean key="online" value="true"/>',
        '<id key="ref" value="a-1"/>',
    )
    frame = read_xes(_log(_trace("c1", event, after='<string key="segment" value="young"/>')), "log.xes", settings)
    assert frame.iloc[0].to_dict() == {
        "concept:name": "visit",
        "time:timestamp": pd.Timestamp("2024-01-01 09:00", tz="UTC"),
        "cost": 12,
        "score": 0.5,
        "online": True,
        "ref": "a-1",
        "case:concept:name": "c1",
        "case:segment": "young",  # a trace attribute after the events still belongs to them
    }


def test_a_date_that_does_not_parse_keeps_every_date_of_its_key_as_written(settings: Settings) -> None:
    events = [
        _event("visit", '<date key="time:timestamp" value="2024-01-01T10:00:00Z"/>'),
        _event("buy", '<date key="time:timestamp" value="31/02/2024"/>'),
        _event("call", '<date key="time:timestamp"/>'),
    ]
    frame = read_xes(_log(_trace("c1", *events)), "log.xes", settings)
    assert frame["time:timestamp"].tolist()[:2] == ["2024-01-01T10:00:00Z", "31/02/2024"]
    assert pd.isna(frame["time:timestamp"].iloc[2])


@pytest.mark.parametrize("outside", ["0001-01-01T00:30:00+01:00", "9999-12-31T23:30:00-01:00"])
def test_a_date_outside_the_years_1_to_9999_in_utc_stays_as_written(settings: Settings, outside: str) -> None:
    events = [_event("visit", f'<date key="time:timestamp" value="{outside}"/>'), _event("buy")]
    frame = read_xes(_log(_trace("c1", *events)), "log.xes", settings)
    assert frame["time:timestamp"].iloc[0] == outside


def test_a_number_that_does_not_parse_stays_text(settings: Settings) -> None:
    frame = read_xes(_log(_trace("c1", _event("visit", '<int key="cost" value="twelve"/>'))), "log.xes", settings)
    assert frame["cost"].tolist() == ["twelve"]


def test_meta_attributes_lists_and_globals_are_not_columns(settings: Settings) -> None:
    nested = '<string key="channel" value="web"><string key="source" value="crm"/></string>'
    listed = '<list key="items"><values><string key="item" value="x"/></values></list>'
    globals_ = '<global scope="event"><string key="concept:name" value="default"/></global>'
    log = _log(globals_ + _trace("c1", _event("visit", nested, listed)))
    frame = read_xes(log, "log.xes", settings)
    assert list(frame.columns) == ["concept:name", "channel", "items", "case:concept:name"]
    assert frame.iloc[0].tolist() == ["visit", "web", None, "c1"]


def test_a_utf16_log_is_read_in_the_encoding_it_declares(settings: Settings) -> None:
    text = _log(_trace("c1", _event("visite"), _event("achat")), head='<?xml version="1.0" encoding="UTF-16"?>')
    frame = read_xes(text.decode().encode("utf-16"), "log.xes", settings)
    assert frame["concept:name"].tolist() == ["visite", "achat"]


@pytest.mark.parametrize(
    ("document", "says", "line"),
    [
        (b"<log><trace><trace/></trace></log>", "a <trace> inside a <trace>", 1),
        (b"<log>\n<log/></log>", "a <log> inside the <log>", 2),
        (b'<x><global scope="event"/></x>', "not an XES log: it starts with <x>", 1),
        (b"<x><event/></x>", "not an XES log", 1),
        (b"<log>\n<event/></log>", "an <event> outside any <trace>", 2),
        (b"<log><trace>\n<event><event/></event></trace></log>", "an <event> inside an <event>", 2),
        (b'<log><trace><event>\n<string value="x"/></event></trace></log>', "<string> attribute has no key", 2),
        (b"<log><trace>\n</log>", "not well-formed XML", 2),
        (b'<?xml version="1.0" encoding="iTF-8"?><log/>', "encoding Parcours does not know", 1),
    ],
)
def test_a_broken_log_is_unsupported_naming_its_line(settings: Settings, document: bytes, says: str, line: int) -> None:
    with pytest.raises(UnsupportedFormat, match=says) as raised:
        read_xes(document, "log.xes", settings)
    assert raised.value.problems[0].row == line


def test_a_doctype_is_refused_before_parsing(settings: Settings) -> None:
    with pytest.raises(UnsafeInput, match="DOCTYPE"):
        read_xes(corpus.XXE_XES, "log.xes", settings)


def test_limits_stop_the_read_as_it_streams(tmp_path) -> None:
    small = Settings(home=tmp_path, max_events=2, max_columns=3, max_field_bytes=10)
    with pytest.raises(LimitExceeded, match="more than 2 events"):
        read_xes(_log(_trace("c1", *[_event("visit")] * 3)), "log.xes", small)
    keys = "".join(f'<string key="k{i}" value="v"/>' for i in range(3))
    with pytest.raises(LimitExceeded, match="more than 3 distinct attribute keys"):
        read_xes(_log(_trace("c1", _event("visit", keys))), "log.xes", small)
    with pytest.raises(LimitExceeded, match="longer than the 10 bytes") as raised:
        read_xes(_log(_trace("c1", _event("a very long activity name"))), "log.xes", small)
    assert raised.value.problems[0].column == "concept:name"
