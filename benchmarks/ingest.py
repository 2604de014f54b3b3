"""Where a typed-Parquet import's time goes: every DuckDB statement of `import_file`, with wall and CPU seconds.

```bash
python benchmarks/ingest.py /tmp/parcours-bench/telecom_10M_546448c.parquet        # one import, phases
python benchmarks/ingest.py FILE --profile events.json     # and DuckDB's JSON profile of the events table
```

The file is imported into a fresh home (other settings from the environment, e.g. `PARCOURS_IMPORT_MEMORY_MB`) with
the demo's mapping (customer_id, touchpoint, timestamp, channel). Each statement the import sends to DuckDB is timed
(wall clock, and the process's CPU seconds, user + system, which other jobs on the machine disturb less) and put in
one phase by what it creates (the per-journey and variant tables one by one, indented); the rest of the import (Python,
the manifest's hashes and fsyncs, the dataset's row) is `other`. `peak_mb` is the process's RSS high-water mark.
The load average is printed before and after: the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

DEMO_COLUMNS = {"case_id": "customer_id", "activity": "touchpoint", "timestamp": "timestamp", "channel": "channel"}
JOURNEY_TABLES = "per-journey and variant tables"
TABLE = r"(?:CREATE (?:TEMP )?TABLE|INSERT INTO) (?:layout\.)?(\w+)"
# A statement's phase, by the first pattern its text matches; the per-journey and variant tables one by one.
PHASES = (
    ("events table", r"CREATE TABLE layout\.events\b"),
    (
        JOURNEY_TABLES,
        r"(CREATE (TEMP )?TABLE|INSERT INTO) (layout\.)?"
        r"(journeys|representatives|sequences|cases|variants|case_activities|case_pairs)\b",
    ),
    ("stored stats", r"CREATE TABLE layout\.\w+_stats\b"),
    ("case codes and types", r"case_codes|CREATE TYPE|CREATE TABLE layout\.activities"),
    ("source checks", r"FROM source|DESCRIBE raw_source|CREATE TEMP VIEW source"),
)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class TimedConnection:
    """A DuckDB connection whose `execute` and `sql` calls are timed into `totals` by phase."""

    def __init__(self, connection, totals: dict, profile: Path | None, phase: str):
        self._connection = connection
        self._totals = totals
        self._profile = profile
        self._phase = phase

    def __getattr__(self, name: str):
        return getattr(self._connection, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self._connection.close()

    def execute(self, sql: str, *args):
        return self._timed(lambda: self._connection.execute(sql, *args), sql)

    def sql(self, sql: str, *args, **kwargs):
        return self._timed(lambda: self._connection.sql(sql, *args, **kwargs), sql)

    def _timed(self, run, sql: str):
        phase = next((name for name, pattern in PHASES if re.search(pattern, sql)), self._phase)
        table = re.search(TABLE, sql)
        if phase == JOURNEY_TABLES and table:
            phase = f"  {table[1]}"
        profiled = self._profile is not None and phase == "events table"
        if profiled:
            self._connection.execute("SET enable_profiling = 'json'")
            self._connection.execute(f"SET profiling_output = '{self._profile}'")
        wall, cpu = time.perf_counter(), cpu_seconds()
        result = run()
        self._totals[phase][0] += time.perf_counter() - wall
        self._totals[phase][1] += cpu_seconds() - cpu
        if profiled:
            self._connection.execute("SET enable_profiling = 'no_output'")
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("parquet", type=Path)
    parser.add_argument("--profile", type=Path, help="write DuckDB's JSON profile of the events table here")
    arguments = parser.parse_args()

    import data.columnar
    import data.engine
    from data import ColumnMapping, Settings, Store, import_file

    totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    plain_connect = data.engine.connect

    def timed_connect(phase):
        def connect(settings, **options):
            return TimedConnection(plain_connect(settings, **options), totals, arguments.profile, phase)

        return connect

    for module, phase in ((data.engine, "layout, other"), (data.columnar, "mapping checks")):
        module.connect = timed_connect(phase)
    plain_quality = data.columnar.layout_quality

    def timed_quality(layout_path, settings):
        """The quality report as one phase: `assess_relation` takes a DuckDB connection, not a timed one."""
        wall, cpu = time.perf_counter(), cpu_seconds()
        report = plain_quality(layout_path, settings)
        totals["quality report"][0] += time.perf_counter() - wall
        totals["quality report"][1] += cpu_seconds() - cpu
        return report

    data.columnar.layout_quality = timed_quality
    print(f"load average before: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as home:
        store = Store(Settings.from_env({**os.environ, "PARCOURS_HOME": home}))
        wall, cpu = time.perf_counter(), cpu_seconds()
        dataset = import_file(arguments.parquet, store=store, mapping=ColumnMapping(**DEMO_COLUMNS))
        wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    statements = sum(seconds for seconds, _ in totals.values())
    statements_cpu = sum(seconds for _, seconds in totals.values())
    print(f"{dataset.n_events:,} events, {dataset.n_cases:,} customers")
    print(f"{'phase':32} {'wall s':>7} {'CPU s':>7}")
    for phase, (seconds, cpu_used) in sorted(totals.items(), key=lambda item: -item[1][0]):
        print(f"{phase:32} {seconds:7.2f} {cpu_used:7.2f}")
    print(f"{'other (Python, manifest, row)':32} {wall - statements:7.2f} {cpu - statements_cpu:7.2f}")
    print(f"{'import':32} {wall:7.2f} {cpu:7.2f}")
    print(f"peak_mb {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f}")
    print(f"load average after: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")


if __name__ == "__main__":
    main()
