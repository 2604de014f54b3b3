"""Command line for discovery: `python -m discovery summary|map|model|definition|conformance|designed|report|actions|
action-add|action-effect LOG`.

LOG is a stored dataset id (see `python -m data list`) or a file, read with the same import path and the same
mapping options as `python -m data import`. Figures follow the journey definition in force: `--definition FILE`
when given, else the one saved for a stored dataset (the dashboard's), else the one suggested from the log, and
every output says which. `report` writes the branded HTML report (and `--pdf`) of a view, its sections those
discovery computes; `python -m segmentation report` adds personas and the comparison. A bad log or definition
exits with status 2 and says what to fix, never a traceback.
Actions belong to a stored dataset: `actions` lists them, `action-add` saves a new one, `action-effect` measures one.
So does the designed journey: `designed` lists its saved versions (who, when, what changed) and `--restore N` puts one
back in force.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

from data import Engine, LogError, Problem, Settings, Store
from data.cli import acting_as, mapping_options, open_log, user_option
from data.exports import terminal_safe_output
from data.params import filters_from_params
from discovery import (
    ACTION_KIND,
    DEFAULT_WINDOW_DAYS,
    DISCOVERY_SECTIONS,
    KPIS,
    STATUSES,
    Action,
    ActionTarget,
    JourneyDefinition,
    ReportView,
    action_effect,
    actions_of,
    churn_points,
    conformance,
    definition_in_force,
    definition_warnings,
    designed_history,
    designed_of,
    discover_model,
    journey_map,
    log_report_inputs,
    map_to_dot,
    outcome_counts,
    read_designed,
    report_options,
    restore_designed,
    save_action,
    save_definition,
    stage_kpis,
    to_bpmn_xml,
    to_pnml,
    write_definition,
    write_report,
)

TOP_VARIANTS = 10


@terminal_safe_output()
def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        with acting_as(args.as_user), _open_log(args) as log:
            return args.run(args, log)
    except LogError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


@dataclass(frozen=True)
class _Log:
    """The opened log, its stored dataset id (None for a file) and the journey definition in force, with its
    source in words."""

    engine: Engine
    dataset_id: str | None
    definition: JourneyDefinition
    source: str


def summary(engine: Engine, definition: JourneyDefinition, source: str = "given") -> dict:
    """Return the log's headline figures, map, variants, definition, outcomes, stages and churn points as JSON."""
    totals = engine.summary()
    dfg = engine.dfg()
    outcomes = outcome_counts(engine, definition)
    stages = stage_kpis(engine, definition).table
    churn = churn_points(engine, definition).activities
    return {
        "cases": totals.cases,
        "events": totals.events,
        "activities": totals.activities,
        "variants": totals.variants,
        "start_time": None if totals.start_time is None else totals.start_time.isoformat(),
        "end_time": None if totals.end_time is None else totals.end_time.isoformat(),
        "dfg": [
            {
                "source": row.source,
                "target": row.target,
                "count": int(row.events),
                "cases": int(row.cases),
                "median_seconds": float(row.median_seconds),
            }
            for row in dfg.itertuples()
        ],
        "start_activities": _counts(engine.start_activities()),
        "end_activities": _counts(engine.end_activities()),
        "top_variants": [
            {"activities": list(row.activities), "count": int(row.cases)}
            for row in engine.variants(limit=TOP_VARIANTS).itertuples()
        ],
        "definition": {"source": source, **definition.to_dict()},
        "warnings": list(definition_warnings(engine, definition, outcomes)),
        "outcomes": outcomes.to_dict(),
        "stages": [
            {
                "stage": row.stage,
                "touchpoints": int(row.touchpoints),
                "did_stage": int(row.did_stage),
                "got_this_far": int(row.customers),
                "conversion_from_previous": _number(row.conversion_from_previous),
                "median_seconds_to_reach": _number(row.median_seconds_to_reach),
            }
            for row in stages.itertuples()
        ],
        "churn_points": [
            {
                "activity": row.activity,
                "customers": int(row.customers),
                "churned": int(row.churned),
                "churn_rate": _number(row.churn_rate),
                "lift": _number(row.lift),
                "lift_overall": _number(row.lift_overall),
            }
            for row in churn.itertuples()
        ],
    }


def _summary(args: argparse.Namespace, log: _Log) -> int:
    document = summary(log.engine, log.definition, log.source)
    if args.json:
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return 0
    outcomes = document["outcomes"]
    print(f"{document['cases']:,} customers, {document['events']:,} events, {document['activities']} activities")
    print(f"{document['variants']:,} variants; the most frequent:")
    for variant in document["top_variants"][:5]:
        print(f"  {variant['count']:>7,}  {' → '.join(variant['activities'])}")
    print(f"journey definition: {log.source}; goal: {', '.join(log.definition.goal) or 'none chosen'}")
    if outcomes["conversion_rate"] is not None:
        print(f"converted: {outcomes['converted_total']:,} of {outcomes['journeys']:,} journeys")
    if outcomes["churn_rate"] is not None:
        print(f"churned: {outcomes['churned_total']:,} of {outcomes['decided']:,} decided journeys")
    print(f"still open (censored): {outcomes['censored']:,}")
    print("got at least this far:", ", ".join(f"{s['stage']} {s['got_this_far']:,}" for s in document["stages"]))
    for warning in document["warnings"]:
        print(f"warning: {warning}")
    return 0


def _definition(args: argparse.Namespace, log: _Log) -> int:
    """Show the definition in force with its reasons and warnings; export it, or save a file as the new version."""
    if args.save:
        if log.dataset_id is None:
            raise LogError(Problem("Only a stored dataset keeps a definition.", fix="Import the log first."))
        version = save_definition(Store(Settings.from_env()), log.dataset_id, log.definition)
        print(f"saved as version {version} of dataset {log.dataset_id}'s journey definition")
    if args.export:
        write_definition(log.definition, args.export)
    if args.json or not (args.export or args.save):
        document = {"source": log.source, **log.definition.to_dict()}
        document["warnings"] = list(definition_warnings(log.engine, log.definition))
        print(json.dumps(document, indent=2, ensure_ascii=False))
    return 0


def _map(args: argparse.Namespace, log: _Log) -> int:
    engine, model = log.engine, log.definition.stages
    churn = churn_points(engine, log.definition).by_activity
    result = journey_map(
        engine,
        activity_coverage=args.activity_coverage,
        path_coverage=args.path_coverage,
        stage_of=model.stage_of,
        stages=model.stages,
        churn=churn,
    )
    if args.dot:
        print(map_to_dot(result, metric=args.metric))
    else:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False, default=str))
    return 0


def _model(args: argparse.Namespace, log: _Log) -> int:
    model = discover_model(log.engine, algorithm=args.algorithm, noise_threshold=args.noise)
    if args.bpmn:
        args.bpmn.write_text(to_bpmn_xml(model), encoding="utf-8")
    if args.pnml:
        args.pnml.write_text(to_pnml(model), encoding="utf-8")
    if not (args.bpmn or args.pnml):
        print(model.tree if model.tree is not None else to_bpmn_xml(model))
    return 0


def _conformance(args: argparse.Namespace, log: _Log) -> int:
    """Measure the journeys against the designed journey: the --designed file, else the dataset's saved one."""
    if args.designed is not None:
        designed = read_designed(args.designed, log.definition)
    else:
        saved = None
        if log.dataset_id is not None:
            saved, _ = designed_of(Store(Settings.from_env()), log.dataset_id)
        if saved is None:
            raise LogError(Problem("No designed journey is given or saved.", fix="Give one with --designed FILE."))
        designed = saved
    result = conformance(log.engine, log.definition, designed, by=args.by)
    if args.json:
        print(json.dumps({"definition": log.source, **result.to_dict()}, indent=2, ensure_ascii=False, default=str))
        return 0
    print(
        f"{result.follows:,} of {result.checked:,} customers follow the designed journey "
        f"({result.share_follows:.0%}); mean fitness {result.mean_fitness:.2f} ({result.method})"
    )
    print(f"{result.keeps_to_steps:,} kept to the designed steps, whatever else they did")
    for row in result.steps.itertuples():
        print(
            f"  {row.touchpoint}: did {row.did:,}, skipped {row.skipped:,}, out of order {row.out_of_order:,}, "
            f"other channel {row.other_channel:,}, repeated {row.repeated:,}"
        )
    for row in result.unexpected.head(TOP_VARIANTS).itertuples():
        print(f"  unexpected {row.touchpoint}: {row.customers:,} customers")
    return 0


def _designed(args: argparse.Namespace, log: _Log) -> int:
    """List the saved versions of the designed journey, newest first; restore one as a new version first if asked."""
    store = _store(log)
    if args.restore is not None:
        version = restore_designed(store, log.dataset_id, args.restore)
        print(f"version {args.restore} is back in force as version {version}", file=sys.stderr)
    history = designed_history(store, log.dataset_id)
    if args.json:
        print(json.dumps([one.to_dict() for one in history], indent=2, ensure_ascii=False))
        return 0
    for one in history:
        print(f"{one.version:>4}  {one.saved_at:%Y-%m-%d %H:%M} UTC  {one.author}  {one.designed.name}")
        print(f"      {'; '.join(one.changes)}")
    if not history:
        print("no designed journey is saved yet: save one on the Designed vs actual page")
    return 0


def _report(args: argparse.Namespace, log: _Log) -> int:
    store = None if log.dataset_id is None else Store(Settings.from_env())
    inputs = log_report_inputs(
        log.engine,
        ReportView.from_query(args.view),
        log.definition,
        definition_source=log.source,
        log_name=Path(args.log).name,
        store=store,
        dataset_id=log.dataset_id,
    )
    write_report(args, inputs, DISCOVERY_SECTIONS)
    return 0


def _actions(args: argparse.Namespace, log: _Log) -> int:
    actions = actions_of(_store(log), log.dataset_id)
    if args.json:
        print(json.dumps([action.to_dict() for action in actions], indent=2, ensure_ascii=False))
        return 0
    for action in actions:
        go_live = action.go_live.isoformat() if action.go_live else "no go-live"
        print(f"{action.id}  {action.status:<8} {go_live:<10}  {action.title} — {action.target}, KPI {action.kpi}")
    if not actions:
        print("no actions yet: add one with `python -m discovery action-add LOG --title … --target … --kpi …`")
    return 0


def _action_add(args: argparse.Namespace, log: _Log) -> int:
    kind, _, value = args.target.partition(":")
    try:
        go_live = None if args.go_live is None else dt.date.fromisoformat(args.go_live)
    except ValueError:
        raise LogError(Problem("--go-live is not a day.", fix="Write it as YYYY-MM-DD.", value=args.go_live)) from None
    action = Action(
        args.title,
        ActionTarget(kind.strip(), value.strip()),
        args.kpi,
        kpi_on=args.kpi_on,
        go_live=go_live,
        status=args.status,
        owner=args.owner,
        description=args.description,
    )
    version = save_action(_store(log), log.dataset_id, action)
    print(json.dumps({"id": action.id, "version": version}) if args.json else f"saved action {action.id}")
    return 0


def _action_effect(args: argparse.Namespace, log: _Log) -> int:
    store = _store(log)
    saved = store.document(log.dataset_id, ACTION_KIND, args.action)
    if saved is None:
        raise LogError(
            Problem("This dataset has no action with this id.", fix="List them with `actions LOG`.", value=args.action)
        )
    action = Action.from_dict(saved.payload, source=f"action {args.action}")
    segment = None if args.segment is None else filters_from_params(dict(parse_qsl(args.segment)))
    designed = designed_of(store, log.dataset_id)[0] if action.kpi == "conformance" else None
    effect = action_effect(
        log.engine, log.definition, action, window_days=args.window_days, segment=segment, designed=designed
    )
    document = {"definition": log.source, **effect.to_dict()}
    if args.json:
        print(json.dumps(document, indent=2, ensure_ascii=False, default=str))
        return 0
    change, low, high = effect.difference
    print(f"{action.title} ({action.target}) — {effect.kpi}")
    for row in effect.groups.itertuples(index=False):
        print(
            f"  {row.group:<10} {row.period:<6} {row.customers:>7,} customers  {row.value:.4g}  "
            f"[{row.ci_low:.4g}, {row.ci_high:.4g}]"
        )
    print(f"after − before: {change:+.4g} [{low:+.4g}, {high:+.4g}] ({effect.interval_method})")
    if effect.did is not None:
        print("difference in differences against {}: {:+.4g} [{:+.4g}, {:+.4g}]".format(effect.untargeted, *effect.did))
    print(f"left out as still open: {effect.excluded:,}. {effect.caveat}")
    return 0


def _store(log: _Log) -> Store:
    if log.dataset_id is None:
        raise LogError(
            Problem(
                "Only a stored dataset keeps actions and designed journeys.",
                fix="Import the log first (python -m data import).",
            )
        )
    return Store(Settings.from_env())


@contextmanager
def _open_log(args: argparse.Namespace):
    """Yield the log (a stored dataset id, or a file loaded in memory) with the journey definition in force."""
    settings = Settings.from_env()
    with open_log(args.log, args, settings) as opened:
        store = None if opened.dataset_id is None else Store(settings)
        definition, source = definition_in_force(
            opened.engine, store=store, dataset_id=opened.dataset_id, file=args.definition
        )
        yield _Log(opened.engine, opened.dataset_id, definition, source)


def _counts(table) -> dict[str, int]:
    return {row.activity: int(row.cases) for row in table.itertuples()}


def _number(value) -> float | None:
    return None if value is None or value != value else float(value)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m discovery", description=__doc__.splitlines()[0])
    user_option(parser)
    commands = parser.add_subparsers(required=True, metavar="command")
    specs = (
        ("summary", _summary, "headline figures, DFG, variants, stages and churn points"),
        ("map", _map, "the journey map, as JSON or Graphviz DOT"),
        ("model", _model, "a process model (inductive or heuristics miner), exported as BPMN or PNML"),
        ("definition", _definition, "the journey definition in force, with its reasons and warnings"),
        ("conformance", _conformance, "the journeys measured against the designed journey, in customers"),
        ("designed", _designed, "the designed journey's saved versions: who, when, what changed (and --restore)"),
        ("report", _report, "a branded, self-contained HTML report of a view (and its PDF)"),
        ("actions", _actions, "the dataset's improvement actions"),
        ("action-add", _action_add, "save a new improvement action"),
        ("action-effect", _action_effect, "the measured effect of an improvement action"),
    )
    for name, run, help_text in specs:
        extra = [report_options(DISCOVERY_SECTIONS)] if name == "report" else []
        command = commands.add_parser(name, help=help_text, parents=[mapping_options(), *extra])
        command.set_defaults(run=run)
        command.add_argument("log", help="stored dataset id or a log file")
        command.add_argument(
            "--definition", type=Path, help="journey definition file (JSON) to use instead of the saved one"
        )
        if name in ("summary", "definition", "conformance", "designed", "actions", "action-add", "action-effect"):
            command.add_argument("--json", action="store_true", help="print the JSON document")
        if name == "action-add":
            command.add_argument("--title", required=True)
            command.add_argument("--target", required=True, help="KIND:VALUE, e.g. 'churn point:billing_dispute'")
            command.add_argument("--kpi", required=True, choices=KPIS)
            command.add_argument("--kpi-on", help="the touchpoint, stage or score attribute the KPI is measured on")
            command.add_argument("--go-live", help="the day the action took effect, YYYY-MM-DD")
            command.add_argument("--status", default="idea", choices=STATUSES)
            command.add_argument("--owner", default="")
            command.add_argument("--description", default="")
        if name == "action-effect":
            command.add_argument("--action", required=True, help="the action's id (see `actions LOG`)")
            command.add_argument("--window-days", type=int, default=DEFAULT_WINDOW_DAYS, help="days before and after")
            command.add_argument("--segment", help="a persona or segment target's filters, as URL parameters")
        if name == "definition":
            command.add_argument("--export", type=Path, help="write the definition in force to this JSON file")
            command.add_argument(
                "--save", action="store_true", help="save it (e.g. a --definition file) as the dataset's new version"
            )
        if name == "conformance":
            command.add_argument("--designed", type=Path, help="designed journey file (JSON or .bpmn)")
            command.add_argument("--by", help="break down by 'month' (of the journey's start) or an attribute")
        if name == "designed":
            command.add_argument("--restore", type=int, metavar="VERSION", help="put this version back in force")
        if name == "map":
            command.add_argument("--dot", action="store_true", help="print Graphviz DOT instead of JSON")
            command.add_argument("--metric", default="cases", choices=("cases", "events", "median", "mean", "p90"))
            command.add_argument("--activity-coverage", type=float, default=1.0, help="share of activities kept")
            command.add_argument("--path-coverage", type=float, default=1.0, help="share of paths kept")
        if name == "model":
            command.add_argument("--algorithm", default="inductive", choices=("inductive", "heuristics"))
            command.add_argument("--noise", type=float, default=0.0, help="inductive miner noise threshold")
            command.add_argument("--bpmn", type=Path, help="write BPMN 2.0 XML here")
            command.add_argument("--pnml", type=Path, help="write the Petri net as PNML here")
    return parser


if __name__ == "__main__":
    sys.exit(main())
