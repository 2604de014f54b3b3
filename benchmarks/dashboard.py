"""What a dashboard user waits for: each page opened, and a journey map redrawn after a filter change.

    python benchmarks/dashboard.py                  # 1M-event map, pages on the demo
    python benchmarks/dashboard.py --events 10M     # a bigger log for the map
    python benchmarks/dashboard.py --pages-events 10M --skip-map   # pages on a 10M-event log
    python benchmarks/dashboard.py --pages-events 10M --skip-map --pages Compare   # one page only

`map_after_filter` is the work the Journey map page does when a filter changes and its cache misses: open the
engine, count the selected customers, compute the churn points, the full map (for the detail panel) and the drawn
map simplified from it (paths 80 %) with its DOT, for three filters each new to the engine (median of the three).
`page` is Streamlit's own run of each page (AppTest, modules already imported as in a running server) on a store
that already holds the log, as a user opening a link to it: `cold` with every cache emptied (the first visit),
`warm` the same page run again (Streamlit's caches answer), `new filter` the page after a filter change: the
sidebar's channel filter set to each of three channels in turn, each new to the page's caches and to the engine
(what depends on the log alone stays cached), median of the three, with its CPU seconds (this process's, DuckDB's
threads included), which tell more than wall time on a shared machine. The Personas page computes nothing until its
button is pressed (`benchmarks/personas.py` measures that work). The bigger logs are the telecom demo generator's
(seed 1), the ones `benchmarks/discovery.py` uses, imported by `import_file`. `--json` ends with one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd

from benchmarks.discovery import DEMO_COLUMNS, parse_size, prepare_log

FILTERED_CHANNELS = ("store", "web", "call center")
PAGES = (
    "app.py",
    "pages/2_Journey_map.py",
    "pages/3_Variants_and_paths.py",
    "pages/4_Stages_funnel_and_churn.py",
    "pages/5_Personas.py",
    "pages/6_Compare.py",
)
FILTERS = (
    {"channels": {"store"}},
    {"start": pd.Timestamp("2025-03-01", tz="UTC"), "end": pd.Timestamp("2025-09-01", tz="UTC")},
    {"channels": {"call center"}, "start": pd.Timestamp("2025-02-01", tz="UTC")},
)


def stored_log(log: Path, home: Path) -> str:
    """Import `log` into the store at `home` once (kept for later runs) and return its dataset id."""
    from data import ColumnMapping, Settings, Store, import_file

    store = Store(Settings(home=home))
    stored = store.datasets()
    if stored:
        return stored[0].id
    return import_file(log, mapping=ColumnMapping(**DEMO_COLUMNS), store=store).id


def map_after_filter(home: Path, dataset_id: str) -> dict:
    import discovery
    from data import Filters, Settings, Store

    store = Store(Settings(home=home))
    with store.engine(dataset_id) as engine:
        definition = discovery.suggest_definition(engine)
        events = engine.summary().events
    model = definition.stages
    seconds = []
    for conditions in FILTERS:
        filters = Filters(**conditions)
        started = time.perf_counter()
        with store.engine(dataset_id) as engine:
            engine.summary(filters)
            churn = discovery.churn_points(engine, definition, filters).by_activity
            lanes = {"stage_of": model.stage_of, "stages": model.stages, "churn": churn}
            full = discovery.journey_map(engine, filters, **lanes)
            discovery.map_to_dot(discovery.simplified_map(engine, full, filters, path_coverage=0.8))
        seconds.append(time.perf_counter() - started)
    return {"events": events, "seconds": statistics.median(seconds), "each": seconds}


def page_loads(home: Path, pages: tuple[str, ...] = PAGES) -> dict[str, dict]:
    """Return the cold, warm and new-filter seconds of each page over the store at `home` (its first dataset)."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from data import Settings, Store

    os.environ["PARCOURS_HOME"] = str(home)
    dataset_id = Store(Settings.from_env()).datasets()[0].id
    app = str(Path(__file__).resolve().parents[1] / "app.py")
    AppTest.from_file(app, default_timeout=900).run()  # a running server has its modules imported already
    timings = {}
    for page in pages:
        st.cache_data.clear()
        st.cache_resource.clear()
        test = AppTest.from_file(app, default_timeout=900)
        test.query_params["dataset"] = dataset_id
        if page != "app.py":
            test.switch_page(page)
        runs, cpus = [], []
        for run in ("cold", "warm", *FILTERED_CHANNELS):
            if run in FILTERED_CHANNELS:
                (channels,) = [widget for widget in test.sidebar.multiselect if widget.label == "Channels"]
                channels.set_value([run])
            started, cpu = time.perf_counter(), _cpu_seconds()
            test.run()
            runs.append(time.perf_counter() - started)
            cpus.append(_cpu_seconds() - cpu)
            if test.exception:
                raise SystemExit(f"{page} failed ({run}): {test.exception}")
        timings[page] = {
            "cold_s": round(runs[0], 3),
            "warm_s": round(runs[1], 3),
            "new_filter_s": round(statistics.median(runs[2:]), 3),
            "new_filter_each_s": [round(value, 3) for value in runs[2:]],
            "warm_cpu_s": round(cpus[1], 3),
            "new_filter_cpu_s": round(statistics.median(cpus[2:]), 3),
        }
    return timings


def _cpu_seconds() -> float:
    """User and system CPU seconds of this process, DuckDB's threads included: what a loaded machine barely moves."""
    times = os.times()
    return times.user + times.system


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", default="1M", help="size of the log for the map (e.g. 1M, 10M)")
    parser.add_argument("--pages-events", help="open the pages on a log of this size, not on the demo")
    parser.add_argument("--skip-map", action="store_true", help="measure the pages only")
    parser.add_argument(
        "--pages", nargs="+", metavar="PAGE", help="measure only the pages whose file names contain these (Compare …)"
    )
    parser.add_argument("--json", action="store_true", help="end with one JSON object")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "parcours-bench")
    args = parser.parse_args(argv)
    pages = PAGES if args.pages is None else tuple(page for page in PAGES if any(part in page for part in args.pages))
    if not pages:
        parser.error(f"no page's file name contains {' or '.join(args.pages)}: pick among {', '.join(PAGES)}")
    args.workdir.mkdir(parents=True, exist_ok=True)
    report: dict = {"load_average": [round(value, 1) for value in os.getloadavg()]}
    print(f"load average {'/'.join(map(str, report['load_average']))} before the run")
    if not args.skip_map:
        home = args.workdir / f"dashboard-home-{args.events}"
        dataset_id = stored_log(prepare_log(parse_size(args.events), args.workdir).demo_parquet, home)
        measured = map_after_filter(home, dataset_id)
        each = ", ".join(f"{value:.2f}" for value in measured["each"])
        print(f"map_after_filter  {measured['events']:>11,} events  median {measured['seconds']:.2f} s  ({each})")
        report["map_after_filter"] = measured
    with tempfile.TemporaryDirectory() as demo_home:
        if args.pages_events is None:
            from data import Settings, Store, import_demo

            home = Path(demo_home)
            import_demo(Store(Settings(home=home)))
        else:
            home = args.workdir / f"dashboard-home-{args.pages_events}"
            stored_log(prepare_log(parse_size(args.pages_events), args.workdir).demo_parquet, home)
        report["pages"] = page_loads(home, pages)
    channels = ", ".join(FILTERED_CHANNELS)
    print(f"{'page':<38} {'cold s':>7} {'warm s':>7} {'new filter s':>13} {'CPU s':>6}  (each of {channels})")
    for page, run in report["pages"].items():
        each = ", ".join(f"{value:.2f}" for value in run["new_filter_each_s"])
        print(
            f"{page:<38} {run['cold_s']:7.2f} {run['warm_s']:7.2f} {run['new_filter_s']:13.2f}"
            f" {run['new_filter_cpu_s']:6.2f}  ({each})"
        )
    if args.json:
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
