"""Command line for the data layer: `python -m data import|import-layout|prepare-layout|export-events|list|…`.

A bad file exits with status 2 and says what to fix; it never prints a traceback. A file is read, checked
and imported in a child process under the operator's memory and CPU limits (`data.isolation`). Everything printed
goes through `terminal_safe`, so a label or file name cannot drive the terminal.
"""

from __future__ import annotations

import argparse
import json
import sys
from functools import partial
from urllib.parse import urlencode

from data.cli import acting_as, log_options, mapping_options, user_option
from data.errors import LogError, Problem
from data.exports import terminal_safe_output
from data.importing import DEMO_SAMPLES, import_demo, import_file_isolated, load_log_isolated
from data.parquet_layout import import_layout
from data.settings import Settings
from data.store import Dataset, Store
from data.views import page_address, saved_reports, saved_views


@terminal_safe_output()
def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        with acting_as(args.as_user):
            return args.run(args, Settings.from_env())
    except LogError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _import(args: argparse.Namespace, settings: Settings) -> int:
    # A person at a terminal sees what a long import is doing; a script reads only the result.
    said = partial(print, file=sys.stderr, flush=True) if sys.stderr.isatty() else None
    dataset = import_file_isolated(args.file, settings=settings, name=args.name, on_progress=said, **log_options(args))
    _print_dataset(dataset, as_json=args.json)
    return 0


def _import_layout(args: argparse.Namespace, settings: Settings) -> int:
    dataset = import_layout(args.root, store=Store(settings), name=args.name)
    _print_dataset(dataset, as_json=args.json)
    return 0


def _prepare_layout(args: argparse.Namespace, settings: Settings) -> int:
    """Run Spark where the log is (`--master` or PARCOURS_SPARK_MASTER); pyspark is imported only here."""
    try:
        from data.spark import prepare_layout, spark_session
    except ModuleNotFoundError as missing:
        raise LogError(Problem(f"Spark is not installed ({missing}).", fix='pip install "pyspark>=4.0"')) from None

    spark = spark_session(settings, master=args.master)
    try:
        prepare_layout(args.events, args.out, spark)
    finally:
        spark.stop()
    print(f"prepared the journey layout of {args.events} in {args.out}")
    print(f"serve it with: python -m data import-layout {args.out}")
    return 0


def _quality(args: argparse.Namespace, settings: Settings) -> int:
    log = load_log_isolated(args.file, settings=settings, **log_options(args))
    if args.json:
        print(json.dumps({"mapping": log.mapping.to_dict(), "quality": log.quality.to_dict()}, indent=2, default=str))
    else:
        print(log.quality)
    return 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    datasets = Store(settings).datasets()
    if args.json:
        print(json.dumps([_dataset_dict(d) for d in datasets], indent=2, default=str))
    for dataset in [] if args.json else datasets:
        print(f"{dataset.id}  {dataset.n_cases:>9,} cases  {dataset.n_events:>11,} events  {dataset.name}")
    return 0


def _rename(args: argparse.Namespace, settings: Settings) -> int:
    dataset = Store(settings).rename(args.id, args.name)
    print(f"renamed dataset {dataset.id}: {dataset.name}")
    return 0


def _delete(args: argparse.Namespace, settings: Settings) -> int:
    """Delete after a yes typed at a terminal, or with --yes; anywhere else refuse, since nothing can undo it."""
    store = Store(settings)
    dataset = store.dataset(args.id)
    if not args.yes:
        if not sys.stdin.isatty():
            raise LogError(
                Problem(
                    "Deleting a dataset cannot be undone, so it needs a confirmation.",
                    fix="Add --yes to delete it without being asked.",
                    value=dataset.id,
                )
            )
        answer = input(f"Delete dataset {dataset.id} {dataset.name!r} ({dataset.n_events:,} events)? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("Nothing was deleted.")
            return 1
    store.delete(dataset.id)
    print(f"deleted dataset {dataset.id}: {dataset.name}")
    return 0


def _export_events(args: argparse.Namespace, settings: Settings) -> int:
    store = Store(settings)
    store.export_events(args.id, args.out)
    print(f"wrote the canonical events of dataset {args.id} to {args.out}")
    return 0


def _views(args: argparse.Namespace, settings: Settings) -> int:
    """List the saved views (or only the saved reports), each with the address to open it under the dashboard's base
    URL."""
    views = (saved_reports if args.reports else saved_views)(Store(settings))
    if args.json:
        print(json.dumps([view.to_dict() for view in views], indent=2, ensure_ascii=False))
    for view in [] if args.json else views:
        address = f"{page_address(view.page)}?{urlencode(view.query, doseq=True)}"
        print(f"{view.saved_at:%Y-%m-%d %H:%M}  {view.owner}  {view.name}  {address}")
    return 0


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    _print_dataset(import_demo(Store(settings), args.scenario), as_json=args.json)
    return 0


def _dataset_dict(dataset: Dataset) -> dict:
    return {
        "id": dataset.id,
        "name": dataset.name,
        "events": dataset.n_events,
        "cases": dataset.n_cases,
        "activities": dataset.n_activities,
        "start_time": dataset.start_time,
        "end_time": dataset.end_time,
        "mapping": dataset.mapping.to_dict(),
        "quality": dataset.quality.to_dict(),
    }


def _print_dataset(dataset: Dataset, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(_dataset_dict(dataset), indent=2, default=str))
        return
    print(f"stored dataset {dataset.id}: {dataset.name}")
    print(f"{dataset.n_cases:,} cases, {dataset.n_events:,} events, {dataset.n_activities:,} activities")
    print(dataset.quality)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m data", description=__doc__.splitlines()[0])
    user_option(parser)
    commands = parser.add_subparsers(required=True, metavar="command")

    for name, run, help_text in (
        ("import", _import, "store a log and print its id and quality report"),
        ("quality", _quality, "only report on a log's quality; stores nothing"),
    ):
        command = commands.add_parser(name, help=help_text, parents=[mapping_options()])
        command.set_defaults(run=run)
        command.add_argument("file", help="CSV/TSV, Excel, Parquet, JSON lines or XES file (optionally .gz)")
        if name == "import":
            command.add_argument("--name", help="name shown in the dashboard")
        command.add_argument("--json", action="store_true", help="print JSON")

    prepare = commands.add_parser(
        "prepare-layout", help="build a log's journey layout with Spark, as Parquet tables (pip install pyspark)"
    )
    prepare.set_defaults(run=_prepare_layout)
    prepare.add_argument("events", help="canonical events Parquet file: a path, or a URL Spark reads (s3a://…)")
    prepare.add_argument("out", help="folder to write the tables to: a path, or a URL Spark writes (s3a://…)")
    prepare.add_argument(
        "--master", help="local[N], spark://host:7077 or sc://host:15002; default: PARCOURS_SPARK_MASTER"
    )

    served = commands.add_parser("import-layout", help="store a journey layout prepare-layout wrote, to serve it")
    served.set_defaults(run=_import_layout)
    served.add_argument("root", help="the folder prepare-layout wrote, or its s3:// URL (DuckDB with httpfs)")
    served.add_argument("--name", help="name shown in the dashboard")
    served.add_argument("--json", action="store_true", help="print JSON")

    listing = commands.add_parser("list", help="list stored datasets")
    listing.set_defaults(run=_list)
    listing.add_argument("--json", action="store_true")

    rename = commands.add_parser("rename", help="change the name a stored dataset is shown under")
    rename.set_defaults(run=_rename)
    rename.add_argument("id", help="the dataset's id (see `python -m data list`)")
    rename.add_argument("name", help="the new name")

    delete = commands.add_parser("delete", help="delete a stored dataset, its files and what was saved about it")
    delete.set_defaults(run=_delete)
    delete.add_argument("id", help="the dataset's id (see `python -m data list`)")
    delete.add_argument("--yes", action="store_true", help="do not ask for a confirmation")

    export = commands.add_parser(
        "export-events", help="write a stored dataset's canonical events as Parquet (for prepare-layout, or to keep)"
    )
    export.set_defaults(run=_export_events)
    export.add_argument("id", help="the dataset's id (see `python -m data list`)")
    export.add_argument("out", help="the Parquet file to write")

    views = commands.add_parser("views", help="list the saved views and the address that opens each")
    views.set_defaults(run=_views)
    views.add_argument("--json", action="store_true")
    views.add_argument("--reports", action="store_true", help="only the saved reports (views of the Reports page)")

    demo = commands.add_parser("demo", help="store a bundled demo log")
    demo.set_defaults(run=_demo)
    demo.add_argument("--scenario", choices=sorted(DEMO_SAMPLES), default="telecom")
    demo.add_argument("--json", action="store_true")
    return parser


if __name__ == "__main__":
    sys.exit(main())
