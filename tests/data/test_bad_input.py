"""The bad-input corpus, end to end: each file gives a typed error or a correct report, and the store survives.

Every case goes through `import_file` into a store that already holds a good dataset; afterwards the
metadata database passes SQLite's integrity check, the good dataset still loads whole, and nothing
half-imported is left on disk.
"""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from data import (
    AmbiguousDateError,
    EmptyLog,
    Settings,
    Store,
    TimestampError,
    UnsafeInput,
    UnsupportedFormat,
    import_file,
)
from data.quality import SINGLE_EVENT_CASES
from tests.data import corpus
from tests.hostile.cases import assert_store_intact

GOOD_CSV = b"customer,touchpoint,time\nc1,visit,2025-01-01 10:00\nc1,buy,2025-01-02 11:00\nc2,visit,2025-01-03 09:00\n"


@pytest.fixture
def store(settings: Settings) -> Store:
    small_caps = replace(settings, max_uncompressed_mb=1)
    store = Store(small_caps)
    _import(store, GOOD_CSV, "good.csv")
    return store


def _import(store: Store, data: bytes, name: str, **options):
    """Import bytes as the dashboard does: a file object that knows its name, like Streamlit's upload."""
    upload = io.BytesIO(data)
    upload.name = name
    return import_file(upload, store=store, **options)


REFUSED = [
    ("xxe.xes", corpus.XXE_XES, UnsafeInput, "DOCTYPE"),
    ("billion-laughs.xes", corpus.BILLION_LAUGHS_XES, UnsafeInput, "DOCTYPE"),
    ("bomb.csv.gz", corpus.gzip_bomb(expanded_mb=3), UnsafeInput, "MB"),
    ("bomb.xlsx", corpus.xlsx_bomb(expanded_mb=3), UnsafeInput, "MB"),
    ("empty.csv", b"", EmptyLog, ""),
    ("header-only.csv", b"customer,touchpoint,time\n", EmptyLog, ""),
    ("nul.csv", b"customer,touchpoint,time\nc1,vis\x00it,2025-01-01\n", UnsupportedFormat, "row 2"),
    (
        "garbage-times.csv",
        b"customer,touchpoint,time\nc1,visit,2025-01-01\nc1,buy,yesterday\nc2,visit,2025-01-03\nc2,buy,soon\n",
        TimestampError,
        "row 3",
    ),
    (
        "ambiguous-dates.csv",
        b"customer,touchpoint,time\nc1,visit,03/04/2025\nc1,buy,05/06/2025\nc2,visit,07/08/2025\n",
        AmbiguousDateError,
        "day",
    ),
]


@pytest.mark.parametrize(("name", "data", "error", "says"), REFUSED, ids=[case[0] for case in REFUSED])
def test_bad_file_gets_a_typed_error_and_the_store_is_intact(store: Store, name, data, error, says) -> None:
    before = store.datasets()
    with pytest.raises(error) as raised:
        _import(store, data, name)
    assert says in str(raised.value)
    assert_store_intact(store, before)


def test_garbage_timestamps_list_every_bad_row(store: Store) -> None:
    data = b"customer,touchpoint,time\nc1,visit,2025-01-01\nc1,buy,yesterday\nc2,visit,2025-01-03\nc2,buy,soon\n"
    with pytest.raises(TimestampError) as raised:
        _import(store, data, "garbage.csv")
    assert sorted(problem.row for problem in raised.value.problems) == [3, 5]


def test_ambiguous_dates_import_once_the_order_is_chosen(store: Store) -> None:
    data = b"customer,touchpoint,time\nc1,visit,03/04/2025\nc1,buy,05/06/2025\nc2,visit,07/08/2025\n"
    dataset = _import(store, data, "dates.csv", dayfirst=True)
    events = store.load_events(dataset.id)
    assert list(events["timestamp"].dt.month) == [4, 6, 8]


def test_duplicate_and_hostile_column_names_are_kept_as_attributes(store: Store) -> None:
    data = (
        b'customer,touchpoint,time,"=cmd|\' /C calc\'!A0",note,note,"""; DROP TABLE datasets; --"\n'
        b"c1,visit,2025-01-01,1,a,b,x\nc1,buy,2025-01-02,2,c,d,y\n"
    )
    dataset = _import(store, data, "hostile.csv")
    events = store.load_events(dataset.id)
    assert {"=cmd|' /C calc'!A0", "note", "note (2)", '"; DROP TABLE datasets; --'} <= set(events.columns)
    with store.engine(dataset.id) as engine:
        assert engine.summary().events == 2
    assert_store_intact(store, store.datasets())


def test_one_event_per_case_is_reported_not_refused(store: Store) -> None:
    data = b"customer,touchpoint,time\nc1,visit,2025-01-01\nc2,visit,2025-01-02\nc3,buy,2025-01-03\n"
    dataset = _import(store, data, "singles.csv")
    assert dataset.quality.finding(SINGLE_EVENT_CASES).count == 3
    with store.engine(dataset.id) as engine:
        assert engine.dfg().empty
        assert engine.variants()["cases"].tolist() == [2, 1]


@pytest.mark.slow
def test_one_case_with_a_million_events_is_one_journey(settings: Settings) -> None:
    store = Store(settings)
    events = 1_000_000
    frame = pd.DataFrame(
        {
            "customer": "only-one",
            "touchpoint": np.where(np.arange(events) % 2 == 0, "visit", "browse"),
            "time": pd.Timestamp("2025-01-01", tz="UTC") + pd.to_timedelta(np.arange(events), unit="s"),
        }
    )
    dataset = _import(store, frame.to_parquet(), "long.parquet")
    assert (dataset.n_cases, dataset.n_events) == (1, events)
    with store.engine(dataset.id) as engine:
        assert engine.variants()["length"].tolist() == [events]
        assert engine.dfg().set_index(["source", "target"])["events"].to_dict() == {
            ("visit", "browse"): events // 2,
            ("browse", "visit"): events // 2 - 1,
        }
