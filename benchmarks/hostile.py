"""Peak memory and time of each bomb and oversized input of the hostile corpus, read as the CLI reads them.

    python benchmarks/hostile.py [--json] [NAME ...]
    python benchmarks/hostile.py --overhead [--repeats 5]

Each input (written by tests/hostile/generate.py into $TMPDIR/parcours-hostile/) goes through
`load_log` in a child process under the default limits, exactly as `python -m data quality` runs it
(`data.isolation.measure_isolated`). Printed per input: the typed error it ended with, the wall-clock
seconds from starting the child to its answer, the child's resident memory when the step began and at its
peak, and the growth between the two; and the resident memory of this (the server's) process before and
after, which must not grow.

`--overhead` measures instead what the child process costs a normal file: the median seconds of `read_log`
and of `load_log` (read, map, check) on small shared logs, in this process and in a child, once the fork
server runs (as in the dashboard).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data import Settings, load_log, measure_isolated, read_log, run_isolated
from tests.conftest import DATASETS
from tests.hostile import generate

FOLDER = Path(tempfile.gettempdir()) / "parcours-hostile"
SMALL_LOGS = [
    DATASETS / "bpic16-complaints" / "BPI2016_Complaints.csv",
    DATASETS / "helpdesk" / "helpdesk_tax2017.csv",
    DATASETS / "sepsis" / "sepsis.csv",
]


def measure(path: Path, settings: Settings) -> dict:
    """Return what reading and checking one file ended with and cost."""
    before_mb = _resident_mb()
    call = partial(load_log, path, settings=settings)
    run = measure_isolated(call, step="checking", file=path.name, settings=settings)
    return {
        "input": path.name,
        "size_mb": round(path.stat().st_size / 2**20, 1),
        "outcome": type(run.error).__name__ if run.error else f"{len(run.value.frame):,} events",
        "seconds": round(run.seconds, 2),
        "child_start_mb": round(run.start_mb),
        "child_peak_mb": round(run.peak_mb),
        "growth_mb": round(run.peak_mb - run.start_mb),
        "server_growth_mb": round(_resident_mb() - before_mb),
    }


def overhead(repeats: int) -> None:
    """Print the median seconds of reading and of loading small logs, in this process and in a child."""
    settings = Settings.from_env()
    run_isolated(partial(read_log, SMALL_LOGS[0], settings=settings), step="reading", file=None, settings=settings)
    print(f"{'log':<26} {'KB':>6} {'step':<8} {'in process s':>13} {'in a child s':>13} {'overhead s':>11}")
    for path in SMALL_LOGS:
        for step, function in (("reading", read_log), ("checking", load_log)):
            call = partial(function, path, settings=settings)
            inside = _median_seconds(call, repeats)
            child = _median_seconds(partial(run_isolated, call, step=step, file=None, settings=settings), repeats)
            print(
                f"{path.name:<26} {path.stat().st_size // 1024:>6} {step:<8} {inside:>13.3f} {child:>13.3f} "
                f"{child - inside:>11.3f}"
            )


def _median_seconds(call, repeats: int) -> float:
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def _resident_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="inputs to measure (default: all generated ones)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--overhead", action="store_true", help="measure the child's cost on small logs instead")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    if args.overhead:
        with tempfile.TemporaryDirectory() as home:
            os.environ["PARCOURS_HOME"] = home
            overhead(args.repeats)
        return
    names = args.names or list(generate.GENERATED)
    missing = [name for name in names if not (FOLDER / name).exists()]
    generate.write(FOLDER, missing)
    with tempfile.TemporaryDirectory() as home:
        os.environ["PARCOURS_HOME"] = home
        settings = Settings.from_env()
        rows = [measure(FOLDER / name, settings) for name in names]
    print(f"{'input':<26} {'MB':>6}  {'outcome':<20} {'s':>6} {'child MB start/peak':>20} {'growth':>7} {'server':>7}")
    for row in rows:
        print(
            f"{row['input']:<26} {row['size_mb']:>6}  {row['outcome']:<20} {row['seconds']:>6} "
            f"{row['child_start_mb']:>9}/{row['child_peak_mb']:<10} {row['growth_mb']:>7} {row['server_growth_mb']:>7}"
        )
    if args.json:
        print(json.dumps(rows))


if __name__ == "__main__":
    main()
