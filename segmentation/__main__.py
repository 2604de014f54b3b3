"""Command line for segmentation: `python -m segmentation personas|compare|report LOG …`.

LOG is a log file (read like `python -m data quality` reads it, with the same mapping options) or the id of a
stored dataset. A segment is
`persona:N` (the personas found with the same --k and --seed), `segment:NAME` (a segment saved on the Compare
page of a stored dataset), `channel=NAME`, `activity=NAME` (customers who did it) or `COLUMN=VALUE` for an
attribute. Both commands follow the journey definition in force (`--definition FILE`, else a stored dataset's saved
one, else the one suggested from the log). `personas` shares its saved runs with the dashboard: `--save NAME` keeps
a run, `--run NAME` finds a saved run's personas again, `--runs` lists them. `report` writes the branded report
with every section, personas (`--personas RUN`) and the comparison (`--compare A B`, saved segments) included.
Bad input exits with status 2 and a message, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd

from data.cli import OpenedLog, acting_as, mapping_options, open_log, user_option
from data.engine import Engine
from data.errors import LogError, Problem
from data.exports import terminal_safe_output, write_csv
from data.filters import Filters
from data.settings import Settings
from data.store import Store
from discovery import (
    JourneyDefinition,
    ReportView,
    definition_in_force,
    log_report_inputs,
    report_options,
    write_report,
)
from segmentation._compare import SegmentComparison, compare_segments, percent_text, readable_kpis
from segmentation._features import CustomerFeatures, customer_features
from segmentation._personas import ALGORITHMS, Personas
from segmentation._profiles import PersonaProfiles, persona_profiles
from segmentation._report import REPORT_SECTIONS, stored_report_inputs
from segmentation._runs import FoundPersonas, PersonaRun, find_personas, run_filters, save_run, saved_run, saved_runs
from segmentation._segments import saved_segment

SEGMENT_SYNTAX = "persona:N, segment:NAME, channel=NAME, activity=NAME or COLUMN=VALUE"
SHOWN_EDGES = 10


@terminal_safe_output()
def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        with acting_as(args.as_user), open_log(args.log, args, Settings.from_env()) as opened:
            return args.run(args, opened)
    except LogError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _personas(args: argparse.Namespace, opened: OpenedLog) -> int:
    engine = opened.engine
    stored = None if opened.dataset_id is None else (Store(Settings.from_env()), opened.dataset_id)
    if (args.save or args.run_name or args.runs) and stored is None:
        raise LogError(
            Problem("Only a stored dataset keeps persona runs.", fix="Import the log first (python -m data import).")
        )
    if args.runs:
        _print_runs(saved_runs(*stored))
        return 0
    definition = _definition(args, engine, None if stored is None else stored[1])
    filters = Filters()
    if args.run_name:
        run = saved_run(*stored, args.run_name)
        filters = run_filters(*stored, run.selection)
    else:
        run = PersonaRun(args.k, args.seed, args.algorithm, definition=definition)
    found = find_personas(engine, filters, definition=run.definition, k=run.k, seed=run.seed, algorithm=run.algorithm)
    profiles = persona_profiles(engine, found.case_ids, found.labels, definition=definition, filters=filters)
    for label, name in run.names.items():
        profiles = profiles.rename(label, name)
    if args.save:
        save_run(*stored, args.save, replace(run, names=profiles.names))
    if args.out:
        assignments = pd.DataFrame(
            {
                "case_id": found.case_ids,
                "persona": found.labels,
                "persona_name": pd.Series(found.labels).map(profiles.names).to_numpy(),
            }
        )
        write_csv(assignments, args.out)  # case ids and persona names are the log's labels: no live formulas
    if args.json:
        evidence = {
            f"{figure}_by_k": {
                str(k): None if math.isnan(value) else round(value, 4)
                for k, value in getattr(found, f"{figure}_by_k").items()
            }
            for figure in ("silhouette", "stability")
        }
        print(json.dumps({"k": found.n_clusters, **evidence, **profiles.to_dict()}, indent=2, default=str))
    else:
        _print_personas(found, profiles)
    if args.save:
        print(f"saved as persona run {args.save.strip()!r}: `--run {args.save.strip()!r}` finds it again")
    return 0


def _compare(args: argparse.Namespace, opened: OpenedLog) -> int:
    engine = opened.engine
    fitted: list[tuple[CustomerFeatures, Personas]] = []

    def personas() -> tuple[CustomerFeatures, Personas]:
        if not fitted:
            fitted.append(_fit_personas(engine, args))
        return fitted[0]

    dataset_id = opened.dataset_id
    problems: list[Problem] = []
    a, b = (_segment(text, personas, dataset_id, problems) for text in (args.a, args.b))
    if problems:
        raise LogError(problems)
    both_personas = all(_is_persona(text) for text in (args.a, args.b))
    comparison = compare_segments(
        engine, a, b, definition=_definition(args, engine, dataset_id), defined_by_behaviour=both_personas
    )
    if args.json:
        print(json.dumps(comparison.to_dict(), indent=2, default=str))
    else:
        _print_comparison(comparison)
    return 0


def _report(args: argparse.Namespace, opened: OpenedLog) -> int:
    view = ReportView.from_query(args.view)
    view = replace(
        view,
        persona_run=args.personas or view.persona_run,
        segments=view.segments if args.compare is None else tuple(args.compare),
    )
    given = None if args.definition is None else definition_in_force(opened.engine, file=args.definition)
    if opened.dataset_id is None:
        definition, source = given or definition_in_force(opened.engine)
        inputs = log_report_inputs(
            opened.engine, view, definition, definition_source=source, log_name=Path(args.log).name
        )
    else:
        inputs = stored_report_inputs(Store(Settings.from_env()), opened.dataset_id, opened.engine, view, given)
    write_report(args, inputs, REPORT_SECTIONS)
    return 0


def _definition(args: argparse.Namespace, engine: Engine, dataset_id: str | None) -> JourneyDefinition:
    """The journey definition in force: the --definition file, else the dataset's saved one, else a suggestion."""
    store = None if dataset_id is None else Store(Settings.from_env())
    return definition_in_force(engine, store=store, dataset_id=dataset_id, file=args.definition)[0]


def _fit_personas(engine: Engine, args: argparse.Namespace) -> tuple[CustomerFeatures, Personas]:
    if args.k is not None and args.k < 2:
        raise LogError(Problem("At least 2 personas are needed.", fix="Give --k 2 or more.", value=str(args.k)))
    features = customer_features(engine)
    model = Personas(k="auto" if args.k is None else args.k, random_state=args.seed)
    try:
        return features, model.fit(features.matrix)
    except ValueError as error:
        raise LogError(Problem(str(error), fix="Ask for fewer personas.")) from None


def _is_persona(text: str) -> bool:
    return text.partition(":")[0].strip() == "persona"


def _segment(text: str, personas, dataset_id: str | None, problems: list[Problem]) -> Filters | None:
    """Filters for one SEGMENT argument; a problem is recorded (and None returned) when it cannot be read."""
    name, colon, number = text.partition(":")
    if colon and name.strip() == "segment":
        return _saved(number.strip(), dataset_id, problems)
    if colon and name.strip() == "persona":
        if not number.strip().isdigit():
            problems.append(Problem("A persona is given by its number.", fix="Write e.g. persona:0.", value=text))
            return None
        features, model = personas()
        persona = int(number)
        if persona >= model.n_clusters_:
            problems.append(
                Problem(
                    f"There are {model.n_clusters_} personas, numbered from 0.",
                    fix=f"Use persona:0 to persona:{model.n_clusters_ - 1}.",
                    value=text,
                )
            )
            return None
        return Filters(case_ids=frozenset(features.case_ids[model.labels_ == persona]))
    column, equals, value = text.partition("=")
    if not equals or not column.strip():
        problems.append(Problem("This is not a segment.", fix=f"Write {SEGMENT_SYNTAX}.", value=text))
        return None
    column, value = column.strip(), value.strip()
    if column == "channel":
        return Filters(channels={value})
    if column == "activity":
        return Filters(with_activities={value})
    return Filters(attributes={column: {value}})


def _saved(name: str, dataset_id: str | None, problems: list[Problem]) -> Filters | None:
    """The filters of a segment saved for the stored dataset; a problem when there is none or it cannot be read."""
    if dataset_id is None:
        problems.append(
            Problem("Saved segments belong to a stored dataset.", fix="Give the dataset's id instead of a file.")
        )
        return None
    try:
        return saved_segment(Store(Settings.from_env()), dataset_id, name).filters()
    except LogError as error:
        problems.extend(error.problems)
        return None


def _print_personas(found: FoundPersonas, profiles: PersonaProfiles) -> None:
    evidence = ", ".join(
        f"{row.k}: {row.silhouette:.2f} / {row.stability:.2f}" for row in found.evidence.itertuples(index=False)
    )
    print(f"{found.n_clusters} personas (silhouette / stability by k: {evidence})")
    for persona, row in profiles.table.iterrows():
        print(
            f"{persona:>3}  {row['customers']:>8,} customers ({row['share']:.0%})  {row['name']}"
            f"  [{', '.join(row['dominant_channels'])}]"
        )


def _print_runs(runs: dict[str, PersonaRun]) -> None:
    if not runs:
        print("no persona run is saved yet: find personas with --save NAME")
    for name, run in runs.items():
        k = "k chosen automatically" if run.k is None else f"k = {run.k}"
        print(f"{name}: {k}, seed {run.seed}, {run.algorithm}; " + ", ".join(run.names.values()))


def _print_comparison(comparison: SegmentComparison) -> None:
    print(f"A: {comparison.a} ({comparison.customers_a:,})")
    print(f"B: {comparison.b} ({comparison.customers_b:,})")
    print(comparison.rules)
    for caveat in comparison.caveats:
        print(f"note: {caveat}")
    columns = ["KPI", "A", "B", "Effect (A − B)", "95 % interval", "Test", "q-value", "Significant"]
    print(readable_kpis(comparison)[columns].to_string(index=False))
    families = comparison.families
    print(
        "\neach table corrected on its own (Benjamini–Hochberg): "
        + ", ".join(f"{row.family} {row.tests:,} tests" for row in families.itertuples())
    )
    print(f"\nmost different map edges (of {len(comparison.edges):,}):")
    edges = comparison.edges.head(SHOWN_EDGES)
    shown = edges[["source", "target", "q_value", "presence", "change"]].assign(
        share_a=edges["share_a"].map(percent_text), share_b=edges["share_b"].map(percent_text)
    )
    print(shown[["source", "target", "share_a", "share_b", "q_value", "presence", "change"]].to_string(index=False))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m segmentation", description=__doc__.splitlines()[0])
    user_option(parser)
    commands = parser.add_subparsers(required=True, metavar="command")
    personas = commands.add_parser(
        "personas", help="find personas and print their profiles", parents=[mapping_options()]
    )
    personas.set_defaults(run=_personas)
    compare = commands.add_parser(
        "compare", help="compare two segments: KPIs, stages, channels, map edges, variants", parents=[mapping_options()]
    )
    compare.set_defaults(run=_compare)
    compare.add_argument("--a", required=True, help=f"first segment: {SEGMENT_SYNTAX}")
    compare.add_argument("--b", required=True, help=f"second segment: {SEGMENT_SYNTAX}")
    compare.add_argument(
        "--definition", type=Path, help="journey definition file (JSON) to use instead of the saved or suggested one"
    )
    personas.add_argument("--out", help="write case_id, persona, persona_name to this CSV file")
    personas.add_argument("--algorithm", choices=ALGORITHMS, default="kmeans", help="clustering (default kmeans)")
    personas.add_argument("--definition", type=Path, help="journey definition file (JSON) instead of the saved one")
    personas.add_argument("--save", metavar="NAME", help="save the run under this name (stored datasets only)")
    personas.add_argument(
        "--run", dest="run_name", metavar="NAME", help="find a saved run's personas again (its k, seed, filters)"
    )
    personas.add_argument("--runs", action="store_true", help="list the dataset's saved persona runs")
    report = commands.add_parser(
        "report",
        help="a branded, self-contained HTML report of a view (and its PDF), personas and comparison included",
        parents=[mapping_options(), report_options(REPORT_SECTIONS)],
    )
    report.set_defaults(run=_report)
    report.add_argument("log", help="a log file, or the id of a stored dataset")
    report.add_argument("--definition", type=Path, help="journey definition file (JSON) instead of the saved one")
    report.add_argument("--personas", metavar="RUN", help="the saved persona run the personas section describes")
    report.add_argument(
        "--compare", nargs=2, metavar=("A", "B"), help="the two saved segments the comparison section compares"
    )
    for command in (personas, compare):
        command.add_argument("log", help="a log file, or the id of a stored dataset")
        command.add_argument("--k", type=int, help="number of personas (default: chosen automatically)")
        command.add_argument("--seed", type=int, default=0, help="random seed of the clustering (default 0)")
        command.add_argument("--json", action="store_true", help="print JSON")
    return parser


if __name__ == "__main__":
    sys.exit(main())
