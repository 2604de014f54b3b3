"""The DuckDB engine and Filters on hand-made logs whose answers can be checked by eye."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from data import engine as engine_module
from data.engine import LAYOUT_VERSION, Engine, LogSummary, build_layout, connect, layout_events
from data.errors import (
    DatasetNotFound,
    EmptyLog,
    LogError,
    MappingError,
    OutdatedLayout,
    TimestampError,
    UnsupportedFormat,
)
from data.filters import Filters
from data.settings import Settings

MONDAY = pd.Timestamp("2025-01-06 09:00", tz="UTC")


def journeys(*rows: tuple, **attributes: list) -> pd.DataFrame:
    """A canonical frame from (case, activity, minutes after Monday 09:00 UTC[, channel]) rows, in file order."""
    cases, activities, minutes, channels = zip(*(row if len(row) == 4 else (*row, None) for row in rows), strict=True)
    return pd.DataFrame(
        {
            "case_id": pd.array(cases, dtype="str"),
            "activity": pd.array(activities, dtype="str"),
            "timestamp": MONDAY + pd.to_timedelta(minutes, unit="min"),
            "channel": pd.array(channels, dtype="str"),
            "source_row": range(len(rows)),
            **attributes,
        }
    )


# anna: visit and call in the same minute (file order decides), bob buys fast, carl comes back.
SHOP = journeys(
    ("anna", "visit", 0, "web"),
    ("anna", "call", 0, "phone"),
    ("anna", "buy", 60, "store"),
    ("bob", "visit", 0, "web"),
    ("bob", "buy", 30, "web"),
    ("carl", "visit", 10, "web"),
    ("carl", "call", 20),
    ("carl", "visit", 40, "web"),
    ("carl", "buy", 100, "store"),
    region=["north", "north", "north", "south", "south", None, None, "east", "east"],
)


@pytest.fixture
def shop(settings: Settings) -> Iterator[Engine]:
    with Engine.from_frame(SHOP, settings) as engine:
        yield engine


def ordered_activities(engine: Engine) -> dict[str, list[str]]:
    events = engine.events()
    return {case: list(group["activity"]) for case, group in events.groupby("case_id", sort=True)}


def selected(engine: Engine, filters: Filters) -> list[str]:
    return list(engine.cases(filters)["case_id"])


# --- ordering inside a journey ---------------------------------------------------------------------------------


def test_equal_timestamps_keep_file_order(settings: Settings) -> None:
    call_first = journeys(("anna", "call", 0), ("anna", "visit", 0))
    visit_first = journeys(("anna", "visit", 0), ("anna", "call", 0))
    with Engine.from_frame(call_first, settings) as engine:
        assert ordered_activities(engine) == {"anna": ["call", "visit"]}
    with Engine.from_frame(visit_first, settings) as engine:
        assert ordered_activities(engine) == {"anna": ["visit", "call"]}


def test_source_row_not_frame_order_breaks_ties(settings: Settings) -> None:
    frame = journeys(("anna", "call", 0), ("anna", "visit", 0)).assign(source_row=[7, 3])
    with Engine.from_frame(frame, settings) as engine:
        assert ordered_activities(engine) == {"anna": ["visit", "call"]}


def test_events_are_ordered_by_time_whatever_the_file_order(settings: Settings) -> None:
    frame = journeys(("anna", "buy", 60), ("anna", "visit", 0), ("anna", "call", 30))
    with Engine.from_frame(frame, settings) as engine:
        events = engine.events()
    assert list(events["activity"]) == ["visit", "call", "buy"]
    assert list(events["pos"]) == [0, 1, 2]
    assert list(events["source_row"]) == [1, 2, 0]


def test_events_keep_canonical_columns_then_attributes(shop: Engine) -> None:
    events = shop.events()
    assert list(events.columns) == ["case_id", "pos", "activity", "timestamp", "channel", "source_row", "region"]
    assert list(events["case_id"]) == ["anna"] * 3 + ["bob"] * 2 + ["carl"] * 4
    assert events["timestamp"].iloc[2] == MONDAY + pd.Timedelta(hours=1)
    assert str(events["timestamp"].dtype) == "datetime64[us, UTC]"
    assert pd.isna(events["channel"].iloc[6])
    assert len(shop.events(limit=4)) == 4


# --- primitives -------------------------------------------------------------------------------------------------


def test_summary_counts_the_whole_log(shop: Engine) -> None:
    assert shop.summary() == LogSummary(
        cases=3,
        events=9,
        activities=3,
        variants=3,
        start_time=MONDAY,
        end_time=MONDAY + pd.Timedelta(minutes=100),
    )


def test_summary_of_an_empty_selection_has_no_times(shop: Engine) -> None:
    assert shop.summary(Filters(case_ids=frozenset())) == LogSummary(0, 0, 0, 0, None, None)


def test_activities_count_events_and_distinct_cases(shop: Engine) -> None:
    activities = shop.activities()
    assert activities.to_dict("list") == {
        "activity": ["visit", "buy", "call"],
        "events": [4, 3, 2],
        "cases": [3, 3, 2],
    }
    assert shop.activity_names == ("visit", "buy", "call")


def test_dfg_counts_transitions_and_cases_with_their_times(shop: Engine) -> None:
    dfg = shop.dfg()
    assert dfg[["source", "target", "events", "cases"]].to_dict("list") == {
        "source": ["visit", "visit", "call", "call"],
        "target": ["buy", "call", "buy", "visit"],
        "events": [2, 2, 1, 1],
        "cases": [2, 2, 1, 1],
    }
    visit_to_buy = dfg.iloc[0]
    # bob took 30 minutes, carl 60.
    assert (visit_to_buy["min_seconds"], visit_to_buy["max_seconds"]) == (1800.0, 3600.0)
    assert visit_to_buy["mean_seconds"] == visit_to_buy["median_seconds"] == 2700.0
    assert dfg["events"].sum() == 9 - 3


def test_a_repeated_transition_counts_every_time_but_one_case(settings: Settings) -> None:
    frame = journeys(("dana", "visit", 0), ("dana", "call", 1), ("dana", "visit", 2), ("dana", "call", 3))
    with Engine.from_frame(frame, settings) as engine:
        dfg = engine.dfg()
    assert dfg[["source", "target", "events", "cases"]].values.tolist() == [
        ["visit", "call", 2, 1],
        ["call", "visit", 1, 1],
    ]


def test_p90_and_median_interpolate_between_observed_times(settings: Settings) -> None:
    # visit → buy takes 10, 20, 30, 40 and 100 minutes in five journeys.
    minutes = [10, 20, 30, 40, 100]
    frame = journeys(
        *(row for index, wait in enumerate(minutes) for row in ((index, "visit", 0), (index, "buy", wait)))
    )
    with Engine.from_frame(frame, settings) as engine:
        edge = engine.dfg().iloc[0]
    assert edge["median_seconds"] == 30 * 60
    # rank 0.9 × (5 − 1) = 3.6: 40 min + 0.6 × (100 − 40) min = 76 min.
    assert edge["p90_seconds"] == pytest.approx(76 * 60)
    assert edge["mean_seconds"] == 40 * 60


def test_start_and_end_activities_count_cases(shop: Engine) -> None:
    assert shop.start_activities().to_dict("list") == {"activity": ["visit"], "cases": [3]}
    assert shop.end_activities().to_dict("list") == {"activity": ["buy"], "cases": [3]}


def test_variants_give_shares_of_the_selected_cases(settings: Settings) -> None:
    frame = journeys(
        ("a", "visit", 0), ("a", "buy", 10),
        ("b", "visit", 0), ("b", "buy", 30),
        ("c", "visit", 0), ("c", "buy", 20),
        ("d", "call", 0),
    )  # fmt: skip
    with Engine.from_frame(frame, settings) as engine:
        variants = engine.variants()
        top = engine.variants(limit=1)
    assert variants[["activities", "cases", "share", "length"]].to_dict("list") == {
        "activities": [["visit", "buy"], ["call"]],
        "cases": [3, 1],
        "share": [0.75, 0.25],
        "length": [2, 1],
    }
    assert list(variants["median_duration_seconds"]) == [20 * 60, 0.0]
    assert top[["cases", "share"]].values.tolist() == [[3, 0.75]]
    assert variants["variant_id"].is_unique


def test_variants_with_equal_counts_are_ordered_by_activities(shop: Engine) -> None:
    assert list(shop.variants()["activities"]) == [
        ["visit", "buy"],
        ["visit", "call", "buy"],
        ["visit", "call", "visit", "buy"],
    ]


def test_cases_table_has_durations_lengths_and_variants(shop: Engine) -> None:
    cases = shop.cases()
    assert cases[["case_id", "first_activity", "last_activity", "events", "duration_seconds"]].values.tolist() == [
        ["anna", "visit", "buy", 3, 3600.0],
        ["bob", "visit", "buy", 2, 1800.0],
        ["carl", "visit", "buy", 4, 5400.0],
    ]
    assert list(cases["start_time"]) == [MONDAY, MONDAY, MONDAY + pd.Timedelta(minutes=10)]
    variants = shop.variants()
    variant_of = dict(zip(variants["variant_id"], variants["activities"], strict=True))
    assert [variant_of[variant] for variant in cases["variant_id"]] == list(ordered_activities(shop).values())


def test_case_activity_counts_are_long_format(shop: Engine) -> None:
    counts = shop.case_activity_counts(Filters(case_ids={"carl"}))
    assert counts.values.tolist() == [["carl", "buy", 1], ["carl", "call", 1], ["carl", "visit", 2]]


def test_channel_shares_count_events_without_channel_in_the_total(shop: Engine) -> None:
    shares = shop.channel_shares()
    assert shares[["case_id", "channel", "events"]].values.tolist() == [
        ["anna", "phone", 1],
        ["anna", "store", 1],
        ["anna", "web", 1],
        ["bob", "web", 2],
        ["carl", "store", 1],
        ["carl", "web", 2],
    ]
    assert list(shares["share"]) == pytest.approx([1 / 3, 1 / 3, 1 / 3, 1.0, 0.25, 0.5])


def test_cases_without_any_channel_are_absent_from_channel_shares(settings: Settings) -> None:
    with Engine.from_frame(journeys(("anna", "visit", 0, "web"), ("bob", "visit", 0)), settings) as engine:
        assert list(engine.channel_shares()["case_id"]) == ["anna"]


def test_attribute_values_count_cases_most_common_first(shop: Engine) -> None:
    assert shop.attribute_values("region").to_dict("list") == {
        "value": ["east", "north", "south"],
        "cases": [1, 1, 1],
    }
    assert len(shop.attribute_values("region", limit=2)) == 2


def test_channel_values_count_cases_most_used_first(shop: Engine) -> None:
    assert shop.channel_values().to_dict("list") == {"value": ["web", "store", "phone"], "cases": [3, 2, 1]}
    assert shop.attribute_columns == {"region": "VARCHAR"}


# --- filters: always whole journeys ------------------------------------------------------------------------------


def test_time_window_keeps_cases_with_an_event_inside_start_inclusive_end_exclusive(shop: Engine) -> None:
    at = MONDAY + pd.Timedelta(minutes=30)
    assert selected(shop, Filters(start=at)) == ["anna", "bob", "carl"]
    assert selected(shop, Filters(start=at, end=at + pd.Timedelta(minutes=10))) == ["bob"]
    assert selected(shop, Filters(end=MONDAY + pd.Timedelta(minutes=10))) == ["anna", "bob"]
    assert selected(shop, Filters(start=MONDAY + pd.Timedelta(minutes=61), end=at + pd.Timedelta(minutes=70))) == []


def test_a_time_window_keeps_all_events_of_the_cases_it_selects(shop: Engine) -> None:
    only_bobs_buy = Filters(start=MONDAY + pd.Timedelta(minutes=30), end=MONDAY + pd.Timedelta(minutes=31))
    assert shop.summary(only_bobs_buy).events == 2
    assert shop.dfg(only_bobs_buy)[["source", "target", "events"]].values.tolist() == [["visit", "buy", 1]]


def test_time_window_respects_the_time_zone_of_its_bounds(shop: Engine) -> None:
    # 10:30 in Paris is 09:30 UTC: bob's purchase.
    paris = Filters(
        start=pd.Timestamp("2025-01-06 10:30", tz="Europe/Paris"),
        end=pd.Timestamp("2025-01-06 10:31", tz="Europe/Paris"),
    )
    assert selected(shop, paris) == ["bob"]


def test_channel_filter_keeps_cases_with_any_event_on_those_channels(shop: Engine) -> None:
    assert selected(shop, Filters(channels={"store"})) == ["anna", "carl"]
    assert selected(shop, Filters(channels={"phone", "web"})) == ["anna", "bob", "carl"]
    assert selected(shop, Filters(channels="phone")) == ["anna"]
    assert selected(shop, Filters(channels={"fax"})) == []


def test_filtered_counts_stay_counts_of_whole_journeys(shop: Engine) -> None:
    phone_users = Filters(channels={"phone"})
    assert shop.activities(phone_users).to_dict("list") == {
        "activity": ["buy", "call", "visit"],
        "events": [1, 1, 1],
        "cases": [1, 1, 1],
    }


def test_attribute_filters_are_anded_across_columns(settings: Settings) -> None:
    frame = SHOP.assign(tier=["gold", None, None, "gold", None, None, None, None, "basic"])
    with Engine.from_frame(frame, settings) as engine:
        assert selected(engine, Filters(attributes={"region": {"north", "east"}})) == ["anna", "carl"]
        both = Filters(attributes={"region": {"north", "east"}, "tier": {"gold"}})
        assert selected(engine, both) == ["anna"]
        assert selected(engine, Filters(attributes={"region": {None}})) == ["carl"]
        assert selected(engine, Filters(attributes={"region": set()})) == []


def test_numeric_attributes_filter_by_value(settings: Settings) -> None:
    frame = journeys(("anna", "visit", 0), ("bob", "visit", 0), ("carl", "visit", 0), revenue=[10.5, 20.0, 10.5])
    with Engine.from_frame(frame, settings) as engine:
        assert selected(engine, Filters(attributes={"revenue": {10.5}})) == ["anna", "carl"]
        assert engine.attribute_columns == {"revenue": "DOUBLE"}


def test_case_and_variant_filters(shop: Engine) -> None:
    assert selected(shop, Filters(case_ids={"bob", "carl", "zoe"})) == ["bob", "carl"]
    bob_variant = shop.cases(Filters(case_ids={"bob"}))["variant_id"].iloc[0]
    assert selected(shop, Filters(variant_ids={bob_variant})) == ["bob"]
    assert selected(shop, Filters(case_ids=frozenset())) == []


def test_start_and_end_activity_filters(settings: Settings) -> None:
    frame = journeys(("anna", "visit", 0), ("anna", "buy", 1), ("bob", "call", 0), ("bob", "visit", 1))
    with Engine.from_frame(frame, settings) as engine:
        assert selected(engine, Filters(start_activities={"call"})) == ["bob"]
        assert selected(engine, Filters(end_activities={"buy", "call"})) == ["anna"]


def test_with_activities_needs_all_and_without_activities_needs_none(shop: Engine) -> None:
    assert selected(shop, Filters(with_activities={"call", "buy"})) == ["anna", "carl"]
    assert selected(shop, Filters(with_activities={"call", "refund"})) == []
    assert selected(shop, Filters(without_activities={"call"})) == ["bob"]
    assert selected(shop, Filters(without_activities={"refund"})) == ["anna", "bob", "carl"]


def test_with_steps_keeps_journeys_that_took_every_step_directly(shop: Engine) -> None:
    dfg = shop.dfg().set_index(["source", "target"])["cases"]
    for step, cases in dfg.items():
        assert len(selected(shop, Filters(with_steps={step}))) == cases  # the arrow equals its customers
    assert selected(shop, Filters(with_steps=set(dfg.index[:2]))) == sorted(
        set(selected(shop, Filters(with_steps={dfg.index[0]})))
        & set(selected(shop, Filters(with_steps={dfg.index[1]})))
    )
    assert selected(shop, Filters(with_steps={("buy", "nothing")})) == []
    assert Filters(with_steps=[]).is_empty
    assert Filters(with_steps={("call", "buy")}).describe() == "customers who took the step call → buy"


def test_duration_and_length_bounds_are_inclusive(shop: Engine) -> None:
    assert selected(shop, Filters(min_duration_seconds=3600)) == ["anna", "carl"]
    assert selected(shop, Filters(max_duration_seconds=3600)) == ["anna", "bob"]
    assert selected(shop, Filters(min_events=3, max_events=3)) == ["anna"]
    assert selected(shop, Filters(max_events=2)) == ["bob"]


def test_filters_combine_with_and(shop: Engine) -> None:
    assert selected(shop, Filters(channels={"web"}, with_activities={"call"}, min_events=4)) == ["carl"]


def test_unknown_attribute_names_every_one_with_close_matches(shop: Engine) -> None:
    with pytest.raises(MappingError) as raised:
        shop.dfg(Filters(attributes={"regoin": {"north"}, "tier": {"gold"}}))
    assert [problem.column for problem in raised.value.problems] == ["regoin", "tier"]
    assert "'region'" in raised.value.problems[0].fix
    with pytest.raises(MappingError):
        shop.attribute_values("Region")


# --- awkward labels and names ------------------------------------------------------------------------------------


def test_formula_like_quoted_and_unicode_labels_are_plain_data(settings: Settings) -> None:
    labels = ["=SUM(A1)", 'O\'Brien "quoted"', "résiliation ☎", "'; DROP TABLE events; --"]
    frame = journeys(
        *((f"client {index}", label, index) for index, label in enumerate(labels)), ("client 0", labels[1], 9)
    )
    with Engine.from_frame(frame, settings) as engine:
        assert set(engine.activity_names) == set(labels)
        assert engine.dfg()[["source", "target"]].values.tolist() == [["=SUM(A1)", 'O\'Brien "quoted"']]
        assert selected(engine, Filters(with_activities={labels[1]})) == ["client 0", "client 1"]
        assert selected(engine, Filters(start_activities={labels[3]}, case_ids={"client 3"})) == ["client 3"]
        assert list(engine.variants(Filters(case_ids={"client 2"}))["activities"]) == [["résiliation ☎"]]


def test_attribute_names_with_quotes_spaces_and_clashing_case_are_kept(settings: Settings) -> None:
    frame = journeys(
        ("anna", "visit", 0),
        ("bob", "visit", 0),
        **{'O\'Brien "score"': [1, 2], "home region": ["Île-de-France", "Bretagne"], "Activity": ["X", "Y"]},
    )
    with Engine.from_frame(frame, settings) as engine:
        events = engine.events()
        assert list(events.columns[-3:]) == ['O\'Brien "score"', "home region", "Activity"]
        assert list(events["Activity"]) == ["X", "Y"]
        assert list(events["activity"]) == ["visit", "visit"]
        assert selected(engine, Filters(attributes={'O\'Brien "score"': {2}})) == ["bob"]
        assert selected(engine, Filters(attributes={"home region": {"Île-de-France"}})) == ["anna"]
        assert list(engine.attribute_columns) == ['O\'Brien "score"', "home region", "Activity"]


# --- persisted layouts ---------------------------------------------------------------------------------------------


def write_parquet(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_parquet(path, index=False)
    return path


def test_persisted_layout_opens_read_only_twice_at_once(tmp_path: Path, settings: Settings) -> None:
    layout = tmp_path / "layout.duckdb"
    build_layout(write_parquet(SHOP, tmp_path / "events.parquet"), layout, settings)
    before = layout.read_bytes()
    single_thread = Settings(home=settings.home, duckdb_threads=1, duckdb_memory_limit="1GB")
    with Engine(layout, settings) as first, Engine(layout, single_thread) as second:
        pd.testing.assert_frame_equal(first.dfg(), second.dfg())
        assert first.summary() == second.summary()
    assert layout.read_bytes() == before


def test_persisted_layout_answers_like_the_in_memory_one(tmp_path: Path, settings: Settings, shop: Engine) -> None:
    layout = tmp_path / "layout.duckdb"
    build_layout(write_parquet(SHOP, tmp_path / "events.parquet"), layout, settings)
    with Engine(layout, settings) as persisted:
        for primitive in ("activities", "dfg", "cases", "channel_shares", "events"):
            pd.testing.assert_frame_equal(getattr(persisted, primitive)(), getattr(shop, primitive)())
        pd.testing.assert_frame_equal(persisted.variants(), shop.variants())


def test_rebuilding_a_layout_replaces_it_and_leaves_no_temporary_file(tmp_path: Path, settings: Settings) -> None:
    layout = tmp_path / "layout.duckdb"
    build_layout(write_parquet(SHOP, tmp_path / "events.parquet"), layout, settings)
    build_layout(write_parquet(SHOP.head(5), tmp_path / "fewer.parquet"), layout, settings)
    with Engine(layout, settings) as engine:
        assert engine.summary().cases == 2
    assert sorted(path.name for path in tmp_path.iterdir()) == ["events.parquet", "fewer.parquet", "layout.duckdb"]


def test_layout_events_lists_each_case_by_time_then_file_order_under_canonical_names(
    tmp_path: Path, settings: Settings
) -> None:
    layout = tmp_path / "layout.duckdb"
    build_layout(write_parquet(SHOP, tmp_path / "events.parquet"), layout, settings)
    with connect(settings) as connection:
        listed = connection.sql(f"SELECT * FROM {layout_events(connection, layout)}").df()

    assert list(listed.columns) == ["case_id", "activity", "timestamp", "channel", "source_row", "attr_0"]
    assert listed["case_id"].tolist() == [0, 0, 0, 1, 1, 2, 2, 2, 2]  # the case codes, anna's first
    assert listed["source_row"].tolist() == list(range(9))
    assert listed["attr_0"].tolist()[:3] == ["north", "north", "north"]


def test_layout_events_of_another_version_asks_for_a_rebuild(tmp_path: Path, settings: Settings) -> None:
    layout = tmp_path / "layout.duckdb"
    build_layout(write_parquet(SHOP, tmp_path / "events.parquet"), layout, settings)
    with duckdb.connect(str(layout)) as connection:
        connection.execute("UPDATE layout_info SET layout_version = layout_version - 1")

    with connect(settings) as connection, pytest.raises(OutdatedLayout, match="has version"):
        layout_events(connection, layout)


def test_layout_holds_the_documented_tables(tmp_path: Path, settings: Settings) -> None:
    layout = tmp_path / "layout.duckdb"
    build_layout(write_parquet(SHOP, tmp_path / "events.parquet"), layout, settings)
    with duckdb.connect(str(layout), read_only=True) as connection:
        columns = {
            table: [row[0] for row in connection.execute(f"DESCRIBE {table}").fetchall()]
            for table in ("events", "cases", "variants", "case_activities", "case_pairs", "attributes", "activities")
        }
        stats = {
            table: [row[0] for row in connection.execute(f"DESCRIBE {table}").fetchall()]
            for table in ("activity_stats", "pair_stats", "variant_stats", "log_stats")
        }
        version, events, cases = connection.execute("SELECT layout_version, events, cases FROM layout_info").fetchone()
        activity_types = {
            data_type
            for (data_type,) in connection.execute(
                "SELECT DISTINCT data_type FROM duckdb_columns() WHERE column_name IN ('activity', 'next_activity')"
                " AND table_name IN ('activities', 'events', 'case_activities', 'activity_stats')"
            ).fetchall()
        }
        codes = connection.execute("SELECT case_code, pos FROM events").fetchall()
    assert columns["events"] == [
        "case_code", "pos", "activity", "timestamp", "channel", "next_activity", "next_timestamp", "next_channel",
        "source_row", "attr_0",
    ]  # fmt: skip
    assert columns["cases"] == [
        "case_code", "case_id", "first_activity", "last_activity", "start_time", "end_time", "events",
        "duration_seconds", "variant_id",
    ]  # fmt: skip
    assert columns["variants"] == ["variant_id", "activities", "cases", "length", "sequence_rank"]
    assert columns["case_activities"] == [
        "case_code", "activity", "events", "first_pos", "last_pos", "first_offset_us", "last_offset_us",
    ]  # fmt: skip
    assert columns["case_pairs"] == ["case_code", "source", "target", "events"]
    assert columns["attributes"] == ["position", "name", "stored_as"]
    assert columns["activities"] == ["activity"]
    assert activity_types == {"ENUM('buy', 'call', 'visit')"}  # marks on all_activities join the big tables uncast
    assert stats["activity_stats"] == ["activity", "events", "cases", "median_seconds_to_reach"]
    assert stats["pair_stats"] == [
        "source", "target", "events", "cases", "mean_seconds", "median_seconds", "p90_seconds", "min_seconds",
        "max_seconds",
    ]  # fmt: skip
    assert stats["variant_stats"] == ["variant_id", "cases", "median_duration_seconds"]
    assert stats["log_stats"] == ["cases", "events", "activities", "variants", "start_time", "end_time"]
    assert (version, events, cases) == (LAYOUT_VERSION, 9, 3)
    assert codes == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (2, 0), (2, 1), (2, 2), (2, 3)]


def test_text_attributes_sorted_as_codes_are_stored_as_the_same_text_in_the_same_order(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A text attribute of few values goes through the events' sort as an ENUM code: the stored table must not
    show it (same text, NULLs and empty strings, same types, same row order); one of many values stays text."""
    log = SHOP.assign(
        plan=["gold", "", None, "basic", "basic", "gold", "gold", "éclair ✓", None],
        order_no=[f"order-{index}" for index in range(9)],
        empty=pd.array([None] * 9, dtype="str"),
        amount=[1.5, None, 2.0, 3.0, None, None, 4.0, 5.0, 6.0],
    )
    parquet = write_parquet(log, tmp_path / "events.parquet")

    def stored(threshold: int) -> tuple[list, list]:
        monkeypatch.setattr(engine_module, "_CODED_TEXT_VALUES", threshold)
        layout = tmp_path / f"layout-{threshold}.duckdb"
        build_layout(parquet, layout, settings)
        with duckdb.connect(str(layout), read_only=True) as connection:
            types = connection.execute("SELECT column_name, column_type FROM (DESCRIBE events)").fetchall()
            return types, connection.execute("SELECT * FROM events ORDER BY rowid").fetchall()

    coded_types, coded_rows = stored(threshold=5)  # plan (4 values) is coded, order_no (9) stays text
    plain_types, plain_rows = stored(threshold=0)  # nothing coded
    assert coded_types == plain_types
    assert dict(coded_types)["attr_1"] == "VARCHAR"
    assert coded_rows == plain_rows
    assert [row[10] for row in coded_rows] == ["gold", "", None, "basic", "basic", "gold", "gold", "éclair ✓", None]


def test_a_layout_built_in_the_smallest_batches_is_the_layout_built_at_once(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The representatives' activity lists and the medians per activity and per step are built a batch at a time
    (so that their memory is bounded): batches of two events (anna's three in one) and of one activity's values
    must give the tables one statement gives."""
    parquet = write_parquet(SHOP, tmp_path / "events.parquet")

    def tables(per_batch: int) -> dict[str, list]:
        monkeypatch.setattr(engine_module, "_EVENTS_PER_BATCH", per_batch)
        monkeypatch.setattr(engine_module, "_STATS_VALUES_PER_BATCH", per_batch)
        layout = tmp_path / f"layout-{per_batch}.duckdb"
        build_layout(parquet, layout, settings)
        with duckdb.connect(str(layout), read_only=True) as connection:
            return {
                table: connection.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
                for table in ("variants", "cases", "variant_stats", "activity_stats", "pair_stats")
            }

    batched, at_once = tables(2), tables(1_000_000)
    assert batched == at_once
    assert [(row[1], row[2]) for row in at_once["variants"]] == [
        (["visit", "buy"], 1), (["visit", "call", "buy"], 1), (["visit", "call", "visit", "buy"], 1),
    ]  # fmt: skip
    # visit → call: anna in the same minute, carl after ten minutes (median five); visit → buy: 30 and 60 minutes.
    assert [row[:6] for row in at_once["pair_stats"]] == [
        ("call", "buy", 1, 1, 3600.0, 3600.0), ("call", "visit", 1, 1, 1200.0, 1200.0),
        ("visit", "buy", 2, 2, 2700.0, 2700.0), ("visit", "call", 2, 2, 300.0, 300.0),
    ]  # fmt: skip


def test_an_import_connection_has_the_import_memory_limit_and_others_the_general_one(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, duckdb_memory_limit="2GB", import_memory_mb=512)

    def limit(connection: duckdb.DuckDBPyConnection) -> int:
        with connection:
            return connection.execute("SELECT value FROM duckdb_settings() WHERE name = 'memory_limit'").fetchone()[0]

    assert limit(connect(settings, importing=True)) == limit(duckdb.connect(config={"memory_limit": "512MB"}))
    assert limit(connect(settings)) == limit(duckdb.connect(config={"memory_limit": "2GB"}))


def test_opening_a_missing_or_foreign_file_says_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFound):
        Engine(tmp_path / "nothing.duckdb")
    foreign = tmp_path / "foreign.duckdb"
    with duckdb.connect(str(foreign)) as connection:
        connection.execute("CREATE TABLE t AS SELECT 1 AS x")
    with pytest.raises(UnsupportedFormat):
        Engine(foreign)
    text = tmp_path / "text.duckdb"
    text.write_text("not a database", encoding="utf-8")
    with pytest.raises(UnsupportedFormat):
        Engine(text)


def test_building_from_a_file_that_is_not_parquet_raises_unsupported_format(tmp_path: Path, settings: Settings) -> None:
    events = tmp_path / "events.parquet"
    events.write_text("case,activity\n", encoding="utf-8")
    with pytest.raises(UnsupportedFormat):
        build_layout(events, tmp_path / "layout.duckdb", settings)
    with pytest.raises(DatasetNotFound):
        build_layout(tmp_path / "gone.parquet", tmp_path / "layout.duckdb", settings)


# --- invalid input --------------------------------------------------------------------------------------------------


def test_missing_canonical_columns_are_all_named(settings: Settings) -> None:
    with pytest.raises(MappingError) as raised:
        Engine.from_frame(SHOP.drop(columns=["case_id", "timestamp"]), settings)
    assert [problem.column for problem in raised.value.problems] == ["case_id", "timestamp"]


def test_naive_timestamps_are_refused(settings: Settings) -> None:
    with pytest.raises(TimestampError):
        Engine.from_frame(SHOP.assign(timestamp=SHOP["timestamp"].dt.tz_localize(None)), settings)


def test_missing_values_and_repeated_row_numbers_are_all_reported(settings: Settings) -> None:
    broken = SHOP.assign(activity=SHOP["activity"].where(SHOP.index != 2), source_row=[0, 1, 2, 3, 4, 5, 6, 7, 7])
    with pytest.raises(MappingError) as raised:
        Engine.from_frame(broken, settings)
    assert [problem.column for problem in raised.value.problems] == ["activity", "source_row"]


@pytest.mark.parametrize(
    ("rows", "repeated"),
    [
        ([0, 10**12, 5, 6, 7, 8, 9, 10, 10**12], True),  # sparse numbers: counted by grouping
        ([0, 10**12, 5, 6, 7, 8, 9, 10, 11], False),
        ([8, 7, 6, 5, 4, 3, 2, 1, 1], True),  # dense numbers: counted with a bitmap
        ([8, 7, 6, 5, 4, 3, 2, 1, 0], False),
    ],
)
def test_repeated_row_numbers_are_found_dense_or_sparse(settings: Settings, rows: list[int], repeated: bool) -> None:
    numbered = SHOP.assign(source_row=rows)
    if repeated:
        with pytest.raises(MappingError, match="Row numbers repeat"):
            Engine.from_frame(numbered, settings)
    else:
        with Engine.from_frame(numbered, settings) as engine:
            assert engine.summary().events == 9


def test_an_empty_log_raises_empty_log(settings: Settings) -> None:
    with pytest.raises(EmptyLog):
        Engine.from_frame(SHOP.head(0), settings)


def test_channel_and_source_row_may_be_left_out_of_a_frame(settings: Settings) -> None:
    with Engine.from_frame(SHOP[["case_id", "activity", "timestamp"]], settings) as engine:
        assert list(engine.events()["source_row"]) == list(range(9))
        assert engine.channel_shares().empty


# --- the Filters value ---------------------------------------------------------------------------------------------


def test_filters_are_hashable_and_normalised() -> None:
    first = Filters(channels=["web", "store"], attributes={"region": ["north"], "age": {"18-25"}})
    second = Filters(channels=frozenset({"store", "web"}), attributes=(("age", {"18-25"}), ("region", {"north"})))
    assert first == second
    assert hash(first) == hash(second)
    assert first.attributes == (("age", frozenset({"18-25"})), ("region", frozenset({"north"})))


def test_empty_filters_and_vacuous_activity_conditions_are_no_filter() -> None:
    assert Filters().is_empty
    assert Filters(with_activities=[], without_activities=set()).is_empty
    assert not Filters(channels=frozenset()).is_empty


def test_bad_filter_values_are_all_reported() -> None:
    with pytest.raises(LogError) as raised:
        Filters(start=pd.Timestamp("2025-03-01"), end=pd.Timestamp("2025-01-01", tz="UTC"), min_events=5, max_events=2)
    messages = [problem.message for problem in raised.value.problems]
    assert len(messages) == 2
    assert "time zone" in messages[0]
    assert "min_events" in messages[1]
    with pytest.raises(LogError, match="ends before it starts"):
        Filters(start=pd.Timestamp("2025-03-01", tz="UTC"), end=pd.Timestamp("2025-01-01", tz="UTC"))


def test_describe_reads_as_a_sentence() -> None:
    first_quarter = Filters(
        start=pd.Timestamp("2025-01-01", tz="Europe/Paris"),
        end=pd.Timestamp("2025-04-01", tz="Europe/Paris"),
        channels={"store"},
    )
    assert first_quarter.describe() == "customers active 2025-01-01 → 2025-03-31 who used store"
    assert Filters().describe() == "all customers"
    detailed = Filters(
        start=pd.Timestamp("2025-01-01 08:30", tz="UTC"),
        attributes={"region": {"north", "south"}},
        without_activities={"cancel"},
        case_ids={"a", "b"},
        min_duration_seconds=7200,
        max_events=5,
    )
    assert detailed.describe() == (
        "customers active from 2025-01-01 08:30 whose region is north or south, who never did cancel, "
        "among 2 chosen customers, lasting at least 2 h, with at most 5 events"
    )
    many = Filters(with_activities={"a", "b", "c", "d", "e"}, min_duration_seconds=90, max_duration_seconds=3 * 86400)
    assert many.describe() == "customers who did a, b, c and 2 more, lasting 1.5 min to 3 d"


def test_describe_writes_values_as_they_are_in_the_data_even_at_a_sentence_start() -> None:
    plan = Filters(attributes={"plan": {"Mobile 10GB"}}, channels={"App iOS"})
    assert plan.describe() == "customers who used App iOS, whose plan is Mobile 10GB"
    assert plan.describe(sentence_start=True) == "Customers who used App iOS, whose plan is Mobile 10GB"
    assert Filters().describe(sentence_start=True) == "All customers"


def test_each_condition_is_named_and_removed_alone() -> None:
    detailed = Filters(
        start=pd.Timestamp("2025-01-01", tz="UTC"),
        end=pd.Timestamp("2025-02-01", tz="UTC"),
        channels={"store"},
        attributes={"region": {"north"}, "plan": {"Mobile 10GB"}},
        variant_ids={"v1"},
        min_events=2,
    )
    assert detailed.conditions() == (
        ("window", "active 2025-01-01 → 2025-01-31"),
        ("channels", "who used store"),
        ("attr.plan", "whose plan is Mobile 10GB"),
        ("attr.region", "whose region is north"),
        ("variant_ids", "following 1 chosen path"),
        ("events", "with at least 2 events"),
    )
    assert detailed.without("attr.plan").attributes == (("region", frozenset({"north"})),)
    assert detailed.without("window").describe() == (
        "customers who used store, whose plan is Mobile 10GB, whose region is north, following 1 chosen path, "
        "with at least 2 events"
    )
    emptied = detailed
    for name, _ in detailed.conditions():
        emptied = emptied.without(name)
    assert emptied.is_empty and emptied.conditions() == ()
    with pytest.raises(ValueError, match="not a condition"):
        detailed.without("colour")


def test_attribute_values_given_as_text_select_numeric_columns(settings: Settings) -> None:
    frame = pd.DataFrame(
        {
            "case_id": ["a", "a", "b"],
            "activity": ["visit", "buy", "visit"],
            "timestamp": pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-03"], utc=True).as_unit("us"),
            "satisfaction": pd.array([3, 5, 4], dtype="Int64"),
        }
    )
    with Engine.from_frame(frame, settings) as engine:
        assert engine.cases(Filters(attributes={"satisfaction": {"5"}}))["case_id"].tolist() == ["a"]
        assert engine.cases(Filters(attributes={"satisfaction": {4}}))["case_id"].tolist() == ["b"]


def test_a_time_attribute_filter_finds_the_values_the_filter_widget_offers(settings: Settings) -> None:
    registered = pd.to_datetime(["2011-10-01 10:00:00", "2011-10-01 10:00:00", "2011-11-02 08:30:00"], utc=True)
    frame = pd.DataFrame(
        {
            "case_id": ["a", "a", "b"],
            "activity": ["visit", "buy", "visit"],
            "timestamp": pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-03"], utc=True).as_unit("us"),
            "REG_DATE": registered.as_unit("us"),
        }
    )
    with Engine.from_frame(frame, settings) as engine:
        offered = engine.attribute_values("REG_DATE")["value"].tolist()
        # The widget's own values, their text in a URL, and DuckDB's text of them all select the same journey.
        for chosen in (offered[0], str(offered[0]), "2011-10-01 10:00:00+00", "2011-10-01T10:00:00Z"):
            assert engine.cases(Filters(attributes={"REG_DATE": {chosen}}))["case_id"].tolist() == ["a"]


def test_each_journey_knows_when_it_first_reached_each_activity(shop: Engine) -> None:
    reached = shop.query(
        """
        SELECT j.case_id, a.activity::VARCHAR AS activity, a.events, a.first_pos, a.last_pos, a.first_offset_us,
               a.last_offset_us
        FROM journey_activities a JOIN journeys j USING (case_code) WHERE j.case_id = 'carl' ORDER BY a.first_pos
        """
    )

    # carl: visit at 10 min, call at 20, visit again at 40, buy at 100.
    assert reached[["activity", "events", "first_pos", "last_pos"]].values.tolist() == [
        ["visit", 2, 0, 2],
        ["call", 1, 1, 1],
        ["buy", 1, 3, 3],
    ]
    assert reached["first_offset_us"].tolist() == [0, 600_000_000, 5_400_000_000]
    assert reached["last_offset_us"].tolist() == [1_800_000_000, 600_000_000, 5_400_000_000]


def test_variant_ranks_order_the_activity_sequences(shop: Engine) -> None:
    ranked = shop.query("SELECT activities, sequence_rank FROM all_variants ORDER BY sequence_rank")

    assert [list(activities) for activities in ranked["activities"]] == [
        ["visit", "buy"],
        ["visit", "call", "buy"],
        ["visit", "call", "visit", "buy"],
    ]


def test_stats_stored_at_ingest_hold_every_journey(shop: Engine) -> None:
    stored = shop.query(
        "SELECT source::VARCHAR AS source, target::VARCHAR AS target, cases, median_seconds FROM pair_stats"
    )

    # visit→buy: bob after 30 min, carl after 60; visit→call: anna at once, carl after 10; call→buy: anna after 60.
    assert sorted(stored.itertuples(index=False, name=None)) == [
        ("call", "buy", 1, 3600.0),
        ("call", "visit", 1, 1200.0),
        ("visit", "buy", 2, 2700.0),
        ("visit", "call", 2, 300.0),
    ]


@pytest.mark.parametrize("table", ["activity_stats", "pair_stats", "variant_stats", "log_stats"])
def test_stored_stats_equal_the_stats_of_a_filter_keeping_every_journey(shop: Engine, table: str) -> None:
    """The unfiltered views read stats stored at ingest; a filter that keeps everyone computes them afresh."""
    everyone = Filters(min_events=1)
    stored = shop.query(f"SELECT * FROM {table} ORDER BY ALL")
    computed = shop.query(f"SELECT * FROM {table} ORDER BY ALL", filters=everyone)

    assert shop.summary(everyone).cases == shop.summary().cases == 3
    pd.testing.assert_frame_equal(stored, computed, check_exact=True)


def test_a_selection_asked_again_or_past_the_kept_ones_gives_the_same_journeys(
    shop: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import data.engine

    monkeypatch.setattr(data.engine, "_SELECTIONS_KEPT", 1)
    web, store = Filters(channels={"web"}), Filters(channels={"store"})

    first, again = shop.summary(web), shop.summary(web)
    past_the_kept = shop.cases(store)  # a second selection is evaluated in the query, not kept

    assert first == again and first.cases == 3
    assert list(past_the_kept["case_id"]) == ["anna", "carl"]


@pytest.mark.parametrize("kept", [64, 1, 0])
def test_chosen_customers_of_a_selection_are_the_same_kept_or_not(
    shop: Engine, monkeypatch: pytest.MonkeyPatch, kept: int
) -> None:
    """A segment (the bar's selection narrowed to chosen customers) keeps the bar's selection and narrows it; with
    no room left to keep either, its conditions are evaluated in the query, to the same journeys."""
    import data.engine

    monkeypatch.setattr(data.engine, "_SELECTIONS_KEPT", kept)
    chosen = frozenset({"anna", "bob", "zoe"})  # zoe is no customer of the log

    assert list(shop.cases(Filters(channels={"store"}, case_ids=chosen))["case_id"]) == ["anna"]
    assert list(shop.cases(Filters(channels={"web"}, case_ids=chosen))["case_id"]) == ["anna", "bob"]
    assert list(shop.cases(Filters(case_ids=chosen))["case_id"]) == ["anna", "bob"]
    assert shop.cases(Filters(channels={"web"}, case_ids=frozenset())).empty
    assert list(shop.cases(Filters(channels={"store"}))["case_id"]) == ["anna", "carl"]


def test_journey_channels_list_each_journey_s_channels_once_and_serve_the_channel_filter(shop: Engine) -> None:
    table = shop.journey_channels()
    listed = shop.query(
        f"SELECT j.case_id, c.channel::VARCHAR AS channel FROM {table} c JOIN journeys j USING (case_code)"
        " ORDER BY 1, 2"
    )
    assert list(listed.itertuples(index=False, name=None)) == [
        ("anna", "phone"), ("anna", "store"), ("anna", "web"), ("bob", "web"), ("carl", "store"), ("carl", "web"),
    ]  # fmt: skip
    assert shop.journey_channels() == table  # made once
    assert list(shop.cases(Filters(channels={"phone", "store"}))["case_id"]) == ["anna", "carl"]


def test_a_per_journey_table_is_computed_once_over_every_journey_and_read_under_any_filter(
    shop: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import data.engine

    monkeypatch.setattr(data.engine, "_PER_JOURNEY_KEPT", 1)
    sql = "SELECT case_code, events * ? AS doubled FROM journeys"
    table = shop.per_journey(sql, [2])

    assert shop.per_journey(sql, [2]) == table  # the same question: the same table
    every = shop.query(f"SELECT j.case_id, t.doubled FROM {table} t JOIN journeys j USING (case_code) ORDER BY 1")
    web = shop.query(
        f"SELECT j.case_id, t.doubled FROM {table} t JOIN journeys j USING (case_code) ORDER BY 1",
        filters=Filters(channels={"web"}),
    )
    assert every["doubled"].tolist() == (shop.cases()["events"] * 2).tolist()
    assert len(web) == shop.summary(Filters(channels={"web"})).cases
    other = shop.per_journey(sql, [3])  # past the kept ones, the oldest table is dropped
    assert other != table and shop.query(f"SELECT sum(doubled) AS s FROM {other}")["s"].iloc[0] == 3 * sum(
        shop.cases()["events"]
    )
    with pytest.raises(duckdb.CatalogException):
        shop.query(f"SELECT * FROM {table}")


def test_query_reads_frames_given_as_tables(shop: Engine) -> None:
    scores = pd.DataFrame({"case_id": ["anna", "bob", "zoe"], "score": [3, 1, 9]})

    joined = shop.query(
        "SELECT j.case_id, s.score FROM journeys j JOIN scores s USING (case_id) ORDER BY j.case_id",
        filters=Filters(channels={"phone"}),
        tables={"scores": scores},
    )

    assert joined.to_dict("records") == [{"case_id": "anna", "score": 3}]


def test_python_lists_turn_sql_lists_into_lists_and_leave_the_cycle_collector_as_it_was(shop: Engine) -> None:
    import gc

    from data.engine import python_lists

    listed = shop.query("SELECT activities FROM all_variants ORDER BY sequence_rank")["activities"]

    assert python_lists(listed).tolist() == [
        ["visit", "buy"],
        ["visit", "call", "buy"],
        ["visit", "call", "visit", "buy"],
    ]
    assert gc.isenabled()
