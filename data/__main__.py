"""Command line for the data layer: `python -m data import|quality|list|demo`.

A bad file exits with status 2 and says what to fix; it never prints a traceback. A file is read, checked
and imported in a child process under the operator's memory and CPU limits (`data.isolation`).
"""

from __future__ import annotations

import argparse
import json
import sys

from data.errors import LogError
from data.importing import DEMO_SAMPLES, import_demo, import_file_isolated, load_log_isolated
from data.settings import Settings
from data.store import Dataset, Store


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        return args.run(args, settings)
    except LogError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _import(args: argparse.Namespace, settings: Settings) -> int:
    dataset = import_file_isolated(args.file, settings=settings, name=args.name, **_log_options(args))
    _print_dataset(dataset, as_json=args.json)
    return 0


def _quality(args: argparse.Namespace, settings: Settings) -> int:
    log = load_log_isolated(args.file, settings=settings, **_log_options(args))
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


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    _print_dataset(import_demo(Store(settings), args.scenario), as_json=args.json)
    return 0


def _log_options(args: argparse.Namespace) -> dict:
    return {
        "case_id": args.case,
        "activity": tuple(args.activity) if args.activity else None,
        "timestamp": args.timestamp,
        "channel": args.channel,
        "timestamp_format": args.timestamp_format,
        "dayfirst": args.dayfirst,
        "timezone": args.timezone,
        "drop_invalid_rows": args.drop_invalid_rows,
        "split_after_days": args.split_after_days,
    }


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
    commands = parser.add_subparsers(required=True, metavar="command")

    for name, run, help_text in (
        ("import", _import, "store a log and print its id and quality report"),
        ("quality", _quality, "only report on a log's quality; stores nothing"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.set_defaults(run=run)
        command.add_argument("file", help="CSV/TSV, Excel, Parquet, JSON lines or XES file (optionally .gz)")
        command.add_argument("--case", help="column holding the customer / case id")
        command.add_argument("--activity", nargs="+", help="column(s) holding the touchpoint, joined with '-'")
        command.add_argument("--timestamp", help="column holding the time of the event")
        command.add_argument("--channel", help="column holding the channel")
        command.add_argument("--timestamp-format", help="strptime format, ISO8601, epoch_s or epoch_ms")
        order = command.add_mutually_exclusive_group()
        order.add_argument("--dayfirst", dest="dayfirst", action="store_const", const=True, help="dates are dd/mm")
        order.add_argument("--monthfirst", dest="dayfirst", action="store_const", const=False, help="dates are mm/dd")
        command.add_argument("--timezone", help="time zone of timestamps that carry none (default PARCOURS_TIMEZONE)")
        command.add_argument(
            "--drop-invalid-rows", action="store_true", help="skip rows with no case, activity or time"
        )
        command.add_argument("--split-after-days", type=float, help="new journey after this many days of inactivity")
        command.add_argument("--name", help="name shown in the dashboard (import only)")
        command.add_argument("--json", action="store_true", help="print JSON")

    listing = commands.add_parser("list", help="list stored datasets")
    listing.set_defaults(run=_list)
    listing.add_argument("--json", action="store_true")

    demo = commands.add_parser("demo", help="store a bundled demo log")
    demo.set_defaults(run=_demo)
    demo.add_argument("--scenario", choices=sorted(DEMO_SAMPLES), default="telecom")
    demo.add_argument("--json", action="store_true")
    return parser


if __name__ == "__main__":
    sys.exit(main())
