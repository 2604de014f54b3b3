"""What a dashboard user waits for: the demo opening, and a journey map redrawn after a filter change.

    python benchmarks/dashboard.py                  # 1M-event map, demo pages
    python benchmarks/dashboard.py --events 10M     # a bigger log for the map

`map_after_filter` is the work the Journey map page does when a filter changes and its cache misses: open the
engine, count the selected customers, compute the churn points, the drawn map (paths 80 %) and its DOT, and the
full map for the detail panel, for three filters each new to the engine (median of the three). `demo_page` is
Streamlit's own run of each page (AppTest, empty caches, modules already imported as in a running server) on a
store that already holds the demo, as a user opening a link to it. The map's log is the telecom demo
generator's (seed 1), the one `benchmarks/discovery.py` uses.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd

from benchmarks.discovery import parse_size, prepare_log

PAGES = ("app.py", "pages/2_Journey_map.py", "pages/3_Variants_and_paths.py", "pages/4_Stages_funnel_and_churn.py")
FILTERS = (
    {"channels": {"store"}},
    {"start": pd.Timestamp("2025-03-01", tz="UTC"), "end": pd.Timestamp("2025-09-01", tz="UTC")},
    {"channels": {"call center"}, "start": pd.Timestamp("2025-02-01", tz="UTC")},
)


def map_after_filter(log: Path) -> dict:
    import discovery
    from data import ColumnMapping, Filters, Settings, Store, read_log, to_event_log

    mapping = ColumnMapping(case_id="customer_id", activity="touchpoint", timestamp="timestamp", channel="channel")
    with tempfile.TemporaryDirectory() as home:
        store = Store(Settings(home=Path(home)))
        dataset = store.import_log(to_event_log(read_log(log, settings=store.settings), mapping))
        with store.engine(dataset.id) as engine:
            model = discovery.suggest_stages(engine)
        seconds = []
        for conditions in FILTERS:
            filters = Filters(**conditions)
            started = time.perf_counter()
            with store.engine(dataset.id) as engine:
                engine.summary(filters)
                churn = discovery.churn_points(engine, model, discovery.ChurnDefinition(), filters).by_activity
                lanes = {"stage_of": model.stage_of, "stages": model.stages, "churn": churn}
                drawn = discovery.journey_map(engine, filters, path_coverage=0.8, **lanes)
                discovery.map_to_dot(drawn)
                discovery.journey_map(engine, filters, **lanes)
            seconds.append(time.perf_counter() - started)
    return {"events": dataset.n_events, "seconds": statistics.median(seconds), "each": seconds}


def demo_pages() -> dict[str, float]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from data import Settings, Store, import_demo

    app = str(Path(__file__).resolve().parents[1] / "app.py")
    with tempfile.TemporaryDirectory() as home:
        os.environ["PARCOURS_HOME"] = home
        import_demo(Store(Settings.from_env()))
        AppTest.from_file(app, default_timeout=600).run()  # a running server has its modules imported already
        timings = {}
        for page in PAGES:
            st.cache_data.clear()
            st.cache_resource.clear()
            test = AppTest.from_file(app, default_timeout=600)
            if page != "app.py":
                test.switch_page(page)
            started = time.perf_counter()
            test.run()
            timings[page] = time.perf_counter() - started
            if test.exception:
                raise SystemExit(f"{page} failed: {test.exception}")
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", default="1M", help="size of the log for the map (e.g. 1M, 10M)")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "parcours-bench")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    measured = map_after_filter(prepare_log(parse_size(args.events), args.workdir))
    each = ", ".join(f"{value:.2f}" for value in measured["each"])
    print(f"map_after_filter  {measured['events']:>11,} events  median {measured['seconds']:.2f} s  ({each})")
    for page, seconds in demo_pages().items():
        print(f"demo_page         {page:<38} {seconds:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
