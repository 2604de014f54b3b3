"""What the Import page makes a user wait for with a large upload, and what it holds in the server's memory.

    python benchmarks/upload.py                                   # the 10M-event telecom log as Parquet, both ways
    python benchmarks/upload.py --format csv                      # the same log as a .csv.gz export
    python benchmarks/upload.py --events 1M --ways sample --json  # one way, with one JSON object at the end

The page's steps, by the library calls it makes (`ui/importing.py`), each way in a fresh process of its own so that
`server_peak_mb` is that way's high-water mark (RSS) in the server; the child processes each step runs in under the
operator's limits are apart:
- `whole`, the way a small file goes (and every large one went until 2026-12-07): the upload read whole into pandas
  (`read_log`, in a child, its frame sent back), the mapping detected, every row checked (`to_event_log`, in a
  child) with the quality report, then stored (`Store.import_log`);
- `sample` (called `duckdb` before it took other files too), the way a large one goes: its first rows read for the
  preview in a child (`typed_parquet_sample` for a Parquet file of text, numbers and instants with their zone;
  `read_upload` for any other, which keeps the rows of one past `PARCOURS_WHOLE_UPLOAD_ROWS` beside it as Parquet),
  the mapping detected on them, then every row checked and the log stored in a child (`import_sample_isolated`: by
  DuckDB for the typed Parquet file, by pandas for the rows kept). A file read whole is checked before it is stored,
  as the page does.
Both end with what the Journey map page computes when first opened on the log (`first_map`, from the upload); the
`sample` way also says when the import's first look at the journey map was drawn, as the page draws it while the
import goes on (`first_look`, from the upload). The
log is the telecom generator's of `benchmarks/discovery.py`, made once in the work folder, with its mapping;
`--format csv` exports it once as a `.csv.gz` (times in UTC without their zone, as a spreadsheet writes them).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.discovery import DEMO_COLUMNS, own_peak_mb, parse_size, prepare_log  # noqa: E402
from benchmarks.session import draw_first_look, first_map_page  # noqa: E402

WAYS = ("whole", "sample")
FORMATS = ("parquet", "csv")
SUMS = ("first_look", "first_map", "server_peak_mb")  # the totals, printed first


def upload_steps(path: Path, way: str) -> dict[str, float]:
    """Run the page's steps for the upload at `path` one way, in a fresh store; return each step's seconds."""
    from data import (
        ColumnMapping,
        Settings,
        Store,
        detect_mapping,
        import_sample_isolated,
        read_log,
        read_upload,
        run_isolated,
        to_event_log,
        typed_parquet_sample,
    )

    seconds: dict[str, float] = {}
    started = time.perf_counter()

    def step(name: str, call):
        begun = time.perf_counter()
        value = call()
        seconds[name] = time.perf_counter() - begun
        return value

    with tempfile.TemporaryDirectory() as home:
        settings = Settings.from_env({**os.environ, "PARCOURS_HOME": home})  # the operator's limits
        store = Store(settings)
        isolated = partial(run_isolated, file=path.name, settings=settings)
        staged = step("stage", lambda: store.uploads.stage(path.read_bytes(), path.name))
        mapping = ColumnMapping(**DEMO_COLUMNS)
        whole = partial(read_log, staged.content, name=path.name, settings=settings)
        typed = partial(typed_parquet_sample, str(staged.path), name=path.name, settings=settings)
        rows = partial(read_upload, str(staged.path), name=path.name, settings=settings)
        if way == "whole":
            raw = step("read", lambda: isolated(whole, step="reading"))
        else:
            raw = step("read", lambda: isolated(typed, step="reading") or isolated(rows, step="reading"))
        step("detect", lambda: detect_mapping(raw.frame))
        if raw.sample_of is None:  # read whole: checked before it is stored, as the page does
            log = step("check", lambda: isolated(partial(to_event_log, raw, mapping), step="checking"))
            dataset = step("store", lambda: store.import_log(log, name=path.name))
        else:

            def drawn(look) -> None:
                draw_first_look(look)
                seconds["first_look"] = time.perf_counter() - started

            stored = partial(import_sample_isolated, raw, mapping, settings=settings, user=store.user)
            dataset = step("check and store", lambda: stored(on_first_look=drawn))
        with store.engine(dataset.id) as engine:
            step("map", lambda: first_map_page(engine))
    seconds["first_map"] = time.perf_counter() - started
    seconds["server_peak_mb"] = own_peak_mb()
    return seconds


def csv_export(parquet: Path) -> Path:
    """Return the log at `parquet` as a `.csv.gz` beside it, written once: times in UTC without their zone."""
    import duckdb

    path = parquet.with_suffix(".csv.gz")
    if not path.exists():
        writing = path.with_name(f".{path.name}.writing")
        duckdb.sql(
            f"""
            COPY (SELECT * REPLACE (strftime(timezone('UTC', timestamp), '%Y-%m-%d %H:%M:%S') AS timestamp)
                  FROM read_parquet('{parquet}'))
            TO '{writing}' (HEADER, COMPRESSION gzip, FORMAT csv)
            """
        )
        writing.rename(path)
    return path


def run_child(path: Path, way: str) -> dict[str, float]:
    """Run one way in a fresh process, so that its memory high-water mark is its own."""
    child = subprocess.run(
        [sys.executable, __file__, "--child", way, str(path)], capture_output=True, text=True, cwd=REPO, check=False
    )
    if child.returncode != 0:
        sys.stderr.write(child.stderr)
        raise SystemExit(f"the {way} way failed on {path.name} (status {child.returncode})")
    return json.loads(child.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=parse_size, default=10_000_000, help="size of the log (100k, 1M, 10M …)")
    parser.add_argument("--ways", default=",".join(WAYS), help=f"comma-separated, of {', '.join(WAYS)}")
    parser.add_argument("--format", choices=FORMATS, default="parquet", help="the upload's format")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "parcours-bench")
    parser.add_argument("--json", action="store_true", help="end with one JSON object")
    parser.add_argument("--child", nargs=2, metavar=("WAY", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        way, path = args.child
        print(json.dumps(upload_steps(Path(path), way)))
        return 0
    ways = [way for way in args.ways.split(",") if way]
    if unknown := set(ways) - set(WAYS):
        parser.error(f"unknown ways: {', '.join(sorted(unknown))}")
    path = prepare_log(args.events, args.workdir).demo_parquet
    if args.format == "csv":
        path = csv_export(path)
    report = {way: run_child(path, way) for way in ways}
    for way, steps in report.items():
        listed = ", ".join(f"{name} {value:.2f} s" for name, value in steps.items() if name not in SUMS)
        first_look = f"first look {steps['first_look']:6.2f} s, " if "first_look" in steps else ""
        print(
            f"{way:7s} {first_look}first map {steps['first_map']:6.2f} s, server peak {steps['server_peak_mb']:,.0f} MB"
            f" ({listed})"
        )
    if args.json:
        print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
