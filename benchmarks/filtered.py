"""What the analysis pages compute after a filter change, on a stored log of any size, through the library.

```bash
PARCOURS_HOME=/tmp/parcours-bench/home-100M python benchmarks/filtered.py --channels web,store
```

For the first stored log of `PARCOURS_HOME` (a store too large for `benchmarks/dashboard.py` to build, such as the
100M log imported by hand, see benchmarks/README.md): the suggested journey definition once, then for each channel
— a filter new to the engine — the calls behind the home page, the journey map, the Variants page and the Stages
page, each made twice (`first`: the selection found and every figure computed; `again`: the engine's selection
kept, the figures computed anew). Seconds, with the load average before and after: the machine may be shared.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PATH_COVERAGE = 0.8  # the journey map's default "Paths shown"
TOP_VARIANTS = 25  # the Variants page's default "Paths to show"


def seconds(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def page_calls(engine, definition, filters) -> dict:
    """The library calls behind each page's figures for `filters`, by what they show."""
    import discovery

    return {
        "summary (home page)": lambda: engine.summary(filters),
        "journey map": lambda: discovery.simplified_map(
            engine, discovery.journey_map(engine, filters), filters, path_coverage=PATH_COVERAGE
        ),
        "variants page": lambda: discovery.variant_table(engine, filters, limit=TOP_VARIANTS, definition=definition),
        "stage KPIs": lambda: discovery.stage_kpis(engine, definition, filters),
        "churn points": lambda: discovery.churn_points(engine, definition, filters),
    }


def main() -> None:
    import discovery
    from data import Filters, Settings, Store

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--channels", default="web,store", help="comma-separated channels, one filter each")
    arguments = parser.parse_args()

    store = Store(Settings.from_env())
    dataset = store.datasets()[0]
    print(f"{dataset.name}: load average {'/'.join(f'{load:.1f}' for load in os.getloadavg())} before")
    with store.engine(dataset.id) as engine:
        start = time.perf_counter()
        definition = discovery.suggest_definition(engine)
        print(f"{'suggested definition':30} {time.perf_counter() - start:7.2f}")
        for channel in arguments.channels.split(","):
            calls = page_calls(engine, definition, Filters(channels=frozenset({channel})))
            for name, call in calls.items():
                first, again = seconds(call), seconds(call)
                print(f"{channel + ': ' + name:30} {first:7.2f} {again:7.2f}")
    print(f"load average {'/'.join(f'{load:.1f}' for load in os.getloadavg())} after")


if __name__ == "__main__":
    main()
