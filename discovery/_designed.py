"""The designed journey: the journey a team intends, stage by stage, to measure the actual journeys against.

A `DesignedJourney` lists stages in order; each stage lists the touchpoints expected in it (required or optional,
in an expected order, on an expected channel or on any) and may set a target time to reach it from the journey's
start. Its designed path is the stages in order and, within a stage, the touchpoints by their `order`; a
touchpoint appears once in a design. It travels as a JSON file (`to_dict` / `from_dict`, with a format version),
as BPMN 2.0 (a sequence of tasks, each optional one beside an exclusive-gateway bypass) and as the editable table
of the dashboard, and is saved per dataset, every version kept, as the Store document "designed_journey".

BPMN carries the flow only: importing one keeps the touchpoints, their order and which are optional, and takes
each touchpoint's stage from the journey definition; channels and target times are left for the team to fill in.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from numbers import Real
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from data.engine import Engine
from data.errors import LogError, Problem
from data.filters import Filters
from data.store import SavedPayload, Store
from discovery._definition import JourneyDefinition
from discovery._variants import variant_table

if TYPE_CHECKING:
    from pm4py.objects.petri_net.obj import Marking, PetriNet
    from pm4py.objects.process_tree.obj import ProcessTree

__all__ = [
    "DESIGNED_FORMAT",
    "DESIGNED_KIND",
    "DESIGNED_TABLE_COLUMNS",
    "DesignedJourney",
    "DesignedStage",
    "DesignedTouchpoint",
    "DesignedVersion",
    "designed_changes",
    "designed_from_bpmn",
    "designed_from_main_path",
    "designed_from_table",
    "designed_history",
    "designed_of",
    "designed_to_bpmn_xml",
    "read_designed",
    "restore_designed",
    "save_designed",
    "write_designed",
]

DESIGNED_FORMAT = "parcours.designed-journey"
FORMAT_VERSION = 1
DESIGNED_KIND = "designed_journey"
# The editable table of the dashboard: one row per touchpoint; a stage's target is read from any of its rows.
DESIGNED_TABLE_COLUMNS = ("stage", "touchpoint", "required", "order", "channel", "target_days")
# The most common paths among which the main path is looked for.
MAIN_PATH_CANDIDATES = 200
_ONE_STAGE = "journey"
_EVERY_JOURNEY = Filters()


def _problem(message: str, field_name: str, value: object = None, fix: str = "") -> Problem:
    return Problem(message, fix=fix, column=field_name, value=None if value is None else str(value))


@dataclass(frozen=True)
class DesignedTouchpoint:
    """One expected touchpoint: `required` (False: optional), its `order` within the stage (1 first) and the
    `channel` (a channel or a channel group of the definition) it is expected on, None for any."""

    name: str
    required: bool = True
    order: int = 1
    channel: str | None = None

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.name, str) or not self.name.strip():
            problems.append(_problem("A touchpoint must have a name.", "touchpoint", self.name))
        if not isinstance(self.required, bool):
            problems.append(_problem("required must be true or false.", "required", self.required))
        if isinstance(self.order, bool) or not isinstance(self.order, int) or self.order < 1:
            problems.append(_problem("order must be a whole number from 1.", "order", self.order))
        if self.channel is not None and (not isinstance(self.channel, str) or not self.channel.strip()):
            problems.append(_problem("channel must be a channel's name, or empty for any.", "channel", self.channel))
        if problems:
            raise LogError(problems)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "required": self.required, "order": self.order, "channel": self.channel}


@dataclass(frozen=True)
class DesignedStage:
    """One stage of the design: its touchpoints and the target time, in days from the journey's start, to reach
    it (its first designed touchpoint); None: no target."""

    name: str
    touchpoints: tuple[DesignedTouchpoint, ...] = ()
    target_days: float | None = None

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.name, str) or not self.name.strip():
            problems.append(_problem("A stage must have a name.", "stage", self.name))
        target = self.target_days
        if target is not None and (
            isinstance(target, bool) or not isinstance(target, Real) or not math.isfinite(target) or target < 0
        ):
            problems.append(_problem("target_days must be a number of days, 0 or more.", "target_days", target))
        touchpoints = tuple(self.touchpoints)
        if not all(isinstance(touchpoint, DesignedTouchpoint) for touchpoint in touchpoints):
            raise TypeError("touchpoints must be DesignedTouchpoint values")
        orders = [touchpoint.order for touchpoint in touchpoints]
        problems += [
            _problem(
                f"Two touchpoints of stage '{self.name}' share this order.",
                "order",
                order,
                fix="Number the touchpoints of a stage 1, 2, 3 … in the order expected.",
            )
            for order in sorted({order for order in orders if orders.count(order) > 1})
        ]
        if problems:
            raise LogError(problems)
        object.__setattr__(self, "touchpoints", tuple(sorted(touchpoints, key=lambda touchpoint: touchpoint.order)))
        object.__setattr__(self, "target_days", None if target is None else float(target))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "target_days": self.target_days,
            "touchpoints": [touchpoint.to_dict() for touchpoint in self.touchpoints],
        }


@dataclass(frozen=True)
class DesignedJourney:
    """The journey a team intends: `stages` in order, each with its expected touchpoints.

    >>> design = DesignedJourney((DesignedStage("buy", (DesignedTouchpoint("checkout", channel="web"),), 2),))
    >>> [touchpoint.name for touchpoint in design.path]
    ['checkout']
    """

    stages: tuple[DesignedStage, ...] = ()
    name: str = "Designed journey"
    notes: str = ""

    def __post_init__(self) -> None:
        stages = tuple(self.stages)
        if not all(isinstance(stage, DesignedStage) for stage in stages):
            raise TypeError("stages must be DesignedStage values")
        names = [stage.name for stage in stages]
        touchpoints = [touchpoint.name for stage in stages for touchpoint in stage.touchpoints]
        problems = [
            _problem("This stage appears twice in the design.", "stage", name, fix="Give each stage once.")
            for name in sorted({name for name in names if names.count(name) > 1})
        ]
        problems += [
            _problem(
                "This touchpoint appears twice in the design.",
                "touchpoint",
                name,
                fix="Expect each touchpoint once, in the stage where it belongs.",
            )
            for name in sorted({name for name in touchpoints if touchpoints.count(name) > 1})
        ]
        if not touchpoints:
            problems.append(_problem("The design expects no touchpoint.", "stages", fix="Add at least one."))
        if problems:
            raise LogError(problems)
        object.__setattr__(self, "stages", stages)

    @property
    def path(self) -> tuple[DesignedTouchpoint, ...]:
        """The designed path: every expected touchpoint in the expected order."""
        return tuple(touchpoint for stage in self.stages for touchpoint in stage.touchpoints)

    @property
    def stage_of(self) -> dict[str, str]:
        return {touchpoint.name: stage.name for stage in self.stages for touchpoint in stage.touchpoints}

    def to_dict(self) -> dict[str, Any]:
        """The JSON file form, human-editable, with the format and its version."""
        return {
            "format": DESIGNED_FORMAT,
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "notes": self.notes,
            "stages": [stage.to_dict() for stage in self.stages],
        }

    @classmethod
    def from_dict(cls, values: object, *, source: str = "") -> DesignedJourney:
        """Read the JSON file form; LogError names each field that is wrong (in the file `source`)."""
        try:
            return _from_dict(values)
        except LogError as error:
            raise LogError([_in_file(problem, source) for problem in error.problems]) from None

    def to_table(self) -> pd.DataFrame:
        """The design as the editable table: one row per touchpoint (`DESIGNED_TABLE_COLUMNS`)."""
        rows = [
            (stage.name, touchpoint.name, touchpoint.required, touchpoint.order, touchpoint.channel, stage.target_days)
            for stage in self.stages
            for touchpoint in stage.touchpoints
        ]
        return pd.DataFrame(rows, columns=list(DESIGNED_TABLE_COLUMNS)).astype(
            {"stage": "str", "touchpoint": "str", "required": "bool", "order": "int64", "target_days": "float64"}
        )


def _in_file(problem: Problem, source: str) -> Problem:
    return replace(problem, file=problem.file or source or None)


def _from_dict(values: object) -> DesignedJourney:
    if not isinstance(values, Mapping):
        raise LogError(_problem("A designed journey is a JSON object.", "format"))
    if values.get("format") != DESIGNED_FORMAT or values.get("format_version") != FORMAT_VERSION:
        raise LogError(
            _problem(
                f"The file does not say it is a {DESIGNED_FORMAT} of version {FORMAT_VERSION}.",
                "format",
                values.get("format"),
                fix=f'Start it with "format": "{DESIGNED_FORMAT}", "format_version": {FORMAT_VERSION}.',
            )
        )
    stages_given = values.get("stages")
    if not isinstance(stages_given, list):
        raise LogError(_problem("stages must be a list of stages.", "stages", type(stages_given).__name__))
    problems: list[Problem] = []
    stages = []
    for index, stage in enumerate(stages_given):
        where = f"stages[{index}]"
        if not isinstance(stage, Mapping) or not isinstance(stage.get("touchpoints", []), list):
            problems.append(_problem("A stage is an object with a name and a list of touchpoints.", where))
            continue
        touchpoints = []
        for position, touchpoint in enumerate(stage.get("touchpoints", [])):
            try:
                if not isinstance(touchpoint, Mapping):
                    raise LogError(_problem("A touchpoint is an object with a name.", "touchpoint"))
                touchpoints.append(
                    DesignedTouchpoint(
                        touchpoint.get("name"),
                        touchpoint.get("required", True),
                        touchpoint.get("order", position + 1),
                        touchpoint.get("channel"),
                    )
                )
            except LogError as error:
                problems += [_at(problem, f"{where}.touchpoints[{position}]") for problem in error.problems]
        try:
            stages.append(DesignedStage(stage.get("name"), tuple(touchpoints), stage.get("target_days")))
        except LogError as error:
            problems += [_at(problem, where) for problem in error.problems]
    if problems:
        raise LogError(problems)
    name, notes = values.get("name", "Designed journey"), values.get("notes", "")
    if not isinstance(name, str) or not isinstance(notes, str):
        raise LogError(_problem("name and notes must be text.", "name"))
    return DesignedJourney(tuple(stages), name, notes)


def _at(problem: Problem, where: str) -> Problem:
    return replace(problem, column=f"{where}.{problem.column}")


def read_designed(path: str | Path, definition: JourneyDefinition | None = None) -> DesignedJourney:
    """Read a designed journey file: JSON, or BPMN 2.0 when it ends in .bpmn (stages then from `definition`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise LogError(Problem(f"The designed journey cannot be read: {error}.", file=str(path))) from None
    if path.suffix.lower() == ".bpmn":
        return designed_from_bpmn(text.encode("utf-8"), definition, source=str(path))
    try:
        values = json.loads(text)
    except json.JSONDecodeError as error:
        raise LogError(
            Problem(f"The designed journey is not JSON: {error}.", fix="Give a JSON or .bpmn file.", file=str(path))
        ) from None
    return DesignedJourney.from_dict(values, source=str(path))


def write_designed(designed: DesignedJourney, path: str | Path) -> None:
    """Write the design as an indented JSON file that a person can edit and version."""
    Path(path).write_text(json.dumps(designed.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def designed_from_table(table: pd.DataFrame, *, name: str = "Designed journey", notes: str = "") -> DesignedJourney:
    """Read the editable table back (`DesignedJourney.to_table`); stages come in the order they first appear, and
    LogError names the row and column of each problem (rows counted from 1)."""
    missing = [column for column in DESIGNED_TABLE_COLUMNS if column not in table.columns]
    if missing:
        raise LogError([_problem("The table lacks this column.", column) for column in missing])
    problems: list[Problem] = []
    touchpoints: dict[str, list[DesignedTouchpoint]] = {}
    targets: dict[str, set[float]] = {}
    for row, values in enumerate(table[list(DESIGNED_TABLE_COLUMNS)].itertuples(index=False), start=1):
        stage, touchpoint, required, order, channel, target = (None if _blank(value) else value for value in values)
        if stage is None and touchpoint is None:
            continue
        try:
            whole_order = int(order) if isinstance(order, Real) and float(order).is_integer() else order
            made = DesignedTouchpoint(
                _text(touchpoint), bool(required) if required is not None else True, whole_order, _text(channel)
            )
            if stage is None:
                raise LogError(_problem("Each touchpoint needs its stage.", "stage"))
            touchpoints.setdefault(str(stage).strip(), []).append(made)
            if target is not None:
                targets.setdefault(str(stage).strip(), set()).add(float(target))
        except (LogError, TypeError, ValueError) as error:
            found = error.problems if isinstance(error, LogError) else (_problem(str(error), "order", order),)
            problems += [replace(problem, row=row) for problem in found]
    problems += [
        _problem(f"Stage '{stage}' has several targets.", "target_days", sorted(values), fix="Give one per stage.")
        for stage, values in targets.items()
        if len(values) > 1
    ]
    if problems:
        raise LogError(problems)
    stages = tuple(
        DesignedStage(stage, tuple(listed), next(iter(targets.get(stage, {None}))))
        for stage, listed in touchpoints.items()
    )
    return DesignedJourney(stages, name, notes)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value == ""


def _text(value: object) -> str | None:
    return None if value is None else str(value).strip() or None


def designed_from_main_path(
    engine: Engine, definition: JourneyDefinition, filters: Filters = _EVERY_JOURNEY
) -> DesignedJourney:
    """Return a draft design from the main path of the selected journeys (repeats merged): the most common one that
    reaches the goal — a design describes the way to it —, else the most common of two touchpoints or more, else
    the most common. Its touchpoints go in the definition's stages; one in no stage joins the stage before it.

    Every touchpoint is required, on any channel, without target: the team then edits what it intends.
    """
    table = variant_table(engine, filters, limit=MAIN_PATH_CANDIDATES, collapse_repeats=True).frame
    if table.empty:
        raise LogError(Problem("No journey is selected, so there is no main path.", fix="Loosen the filters."))
    goal = set(definition.goal)
    paths = list(table["activities"])
    path = next(
        (path for path in paths if goal & set(path)), next((path for path in paths if len(set(path)) > 1), paths[0])
    )
    stage_names = definition.stages.stages
    stage_of = definition.stages.stage_of
    placed: dict[str, list[str]] = {}
    current = stage_of.get(path[0], stage_names[0] if stage_names else _ONE_STAGE)
    for activity in dict.fromkeys(path):
        current = stage_of.get(activity, current)
        placed.setdefault(current, []).append(activity)
    order = {stage: index for index, stage in enumerate(stage_names)}
    stages = tuple(
        DesignedStage(stage, tuple(DesignedTouchpoint(name, order=i) for i, name in enumerate(names, start=1)))
        for stage, names in sorted(placed.items(), key=lambda item: order.get(item[0], len(order)))
    )
    return DesignedJourney(stages, name="Main path (draft)")


def save_designed(store: Store, dataset_id: str, designed: DesignedJourney, *, author: str | None = None) -> int:
    """Save the design as the dataset's new version and return its number; older versions stay as history."""
    if not isinstance(designed, DesignedJourney):
        raise TypeError(f"designed must be a DesignedJourney, not {type(designed).__name__}")
    return store.save_document(dataset_id, DESIGNED_KIND, "", designed.to_dict(), author=author)


def designed_of(
    store: Store, dataset_id: str, version: int | None = None
) -> tuple[DesignedJourney | None, SavedPayload | None]:
    """Return the dataset's saved design (the newest, or `version`) with its saved record, or (None, None)."""
    saved = store.document(dataset_id, DESIGNED_KIND, "", version)
    if saved is None:
        return None, None
    source = f"dataset {dataset_id}, designed journey version {saved.version}"
    return DesignedJourney.from_dict(saved.payload, source=source), saved


def restore_designed(store: Store, dataset_id: str, version: int) -> int:
    """Put an earlier saved version of the design back in force as a new version and return its number.

    The Store checks the role (a viewer's attempt is `PermissionDenied`) and records who restored it.
    """
    return store.restore_document(dataset_id, DESIGNED_KIND, "", version)


@dataclass(frozen=True)
class DesignedVersion:
    """One saved version of a dataset's design: who saved it when, and what it changed from the version before."""

    version: int
    author: str
    saved_at: datetime
    designed: DesignedJourney
    changes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "author": self.author,
            "saved_at": self.saved_at.isoformat(),
            "designed": self.designed.to_dict(),
            "changes": list(self.changes),
        }


def designed_history(store: Store, dataset_id: str) -> list[DesignedVersion]:
    """Return every saved version of the dataset's design, newest first, each with what it changed."""
    saved = store.document_history(dataset_id, DESIGNED_KIND, "")[::-1]
    source = f"dataset {dataset_id}, designed journey version"
    designs = [DesignedJourney.from_dict(one.payload, source=f"{source} {one.version}") for one in saved]
    versions = [
        DesignedVersion(one.version, one.author, one.saved_at, designed, designed_changes(before, designed))
        for one, before, designed in zip(saved, [None, *designs], designs, strict=False)
    ]
    return versions[::-1]


def designed_changes(before: DesignedJourney | None, after: DesignedJourney) -> tuple[str, ...]:
    """Say in words what `after` changes from `before` (None: it is the first version), for the history."""
    if before is None:
        return ("first version",)
    changes = []
    if before.name != after.name:
        changes.append(f"renamed “{before.name}” → “{after.name}”")
    if before.notes != after.notes:
        changes.append("notes changed")
    old_stages = {stage.name: stage for stage in before.stages}
    new_stages = {stage.name: stage for stage in after.stages}
    changes += [f"stage {name} added" for name in new_stages if name not in old_stages]
    changes += [f"stage {name} removed" for name in old_stages if name not in new_stages]
    kept = [name for name in new_stages if name in old_stages]
    if kept != [name for name in old_stages if name in new_stages]:
        changes.append("stages reordered")
    for name in kept:
        old_target, new_target = old_stages[name].target_days, new_stages[name].target_days
        if old_target != new_target:
            changes.append(f"stage {name}: target {_days(old_target)} → {_days(new_target)}")
    old_touchpoints = {touchpoint.name: touchpoint for touchpoint in before.path}
    old_stage_of = before.stage_of
    for stage in after.stages:
        for touchpoint in stage.touchpoints:
            was = old_touchpoints.get(touchpoint.name)
            if was is None:
                changes.append(f"{touchpoint.name} added to stage {stage.name}")
                continue
            if old_stage_of[touchpoint.name] != stage.name:
                changes.append(f"{touchpoint.name} moved from stage {old_stage_of[touchpoint.name]} to {stage.name}")
            if was.required != touchpoint.required:
                changes.append(f"{touchpoint.name} now {'required' if touchpoint.required else 'optional'}")
            if was.order != touchpoint.order:
                changes.append(f"{touchpoint.name}: order {was.order} → {touchpoint.order}")
            if was.channel != touchpoint.channel:
                changes.append(f"{touchpoint.name}: channel {was.channel or 'any'} → {touchpoint.channel or 'any'}")
    gone = [name for name in old_touchpoints if name not in after.stage_of]
    changes += [f"{name} removed from stage {old_stage_of[name]}" for name in gone]
    return tuple(changes) or ("no change",)


def _days(target: float | None) -> str:
    return "none" if target is None else f"{target:g} day{'' if target == 1 else 's'}"


# --- pm4py models ---------------------------------------------------------------------------------------------------


def designed_tree(designed: DesignedJourney) -> ProcessTree:
    """The designed path as a process tree: a sequence, each optional touchpoint a choice with a silent skip."""
    from pm4py.objects.process_tree.obj import Operator, ProcessTree

    root = ProcessTree(operator=Operator.SEQUENCE)
    for touchpoint in designed.path:
        if touchpoint.required:
            child = ProcessTree(parent=root, label=touchpoint.name)
        else:
            child = ProcessTree(operator=Operator.XOR, parent=root)
            child.children.extend([ProcessTree(parent=child, label=touchpoint.name), ProcessTree(parent=child)])
        root.children.append(child)
    return root


def designed_net(designed: DesignedJourney) -> tuple[PetriNet, Marking, Marking]:
    """The designed path as a sound workflow net with its initial and final markings, for pm4py's conformance."""
    from pm4py.objects.conversion.process_tree import converter

    return converter.apply(designed_tree(designed))


def designed_to_bpmn_xml(designed: DesignedJourney) -> str:
    """Return the designed path as BPMN 2.0 XML with a diagram layout (for bpmn.io, Camunda, Signavio …)."""
    from pm4py.objects.bpmn.exporter.variants import etree as bpmn_exporter
    from pm4py.objects.conversion.process_tree.variants import to_bpmn

    from discovery._models import lay_out_bpmn

    bpmn = to_bpmn.apply(designed_tree(designed))
    bpmn.set_name(designed.name)
    lay_out_bpmn(bpmn)
    return bpmn_exporter.get_xml_string(bpmn, parameters={"encoding": "utf-8"}).decode("utf-8")


def designed_from_bpmn(
    xml: bytes, definition: JourneyDefinition | None = None, *, source: str = "BPMN file"
) -> DesignedJourney:
    """Read a designed path from BPMN 2.0: its tasks in flow order, a task optional when the flow can go around it.

    Stages come from `definition` (a task in no stage joins the stage of the one before); without one every task
    is in one stage. A flow with a loop, or with tasks on parallel branches, is not one designed path: LogError.
    """
    from pm4py.objects.bpmn.importer.variants import lxml as bpmn_importer
    from pm4py.objects.bpmn.obj import BPMN

    try:
        bpmn = bpmn_importer.import_from_string(xml)
    except Exception as error:
        raise LogError(
            Problem(f"This is not BPMN 2.0 XML Parcours can read ({type(error).__name__}).", file=source)
        ) from None
    nodes = list(bpmn.get_nodes())
    successors = {node: [flow.get_target() for flow in node.get_out_arcs()] for node in nodes}
    starts = [node for node in nodes if isinstance(node, BPMN.StartEvent)] or [n for n in nodes if not n.get_in_arcs()]
    ends = {node for node in nodes if isinstance(node, BPMN.EndEvent) or not node.get_out_arcs()}
    tasks = [node for node in nodes if isinstance(node, BPMN.Task)]
    if not tasks or len(starts) != 1:
        raise LogError(Problem("The BPMN needs one start and at least one task.", file=source))
    if any(isinstance(node, BPMN.ParallelGateway | BPMN.InclusiveGateway) for node in nodes):
        raise LogError(
            Problem("Parallel branches are not one designed path.", fix="Draw the tasks in sequence.", file=source)
        )
    order = _flow_order(starts[0], successors, source)
    names = [task.get_name() for task in sorted(tasks, key=order.__getitem__)]
    if len(set(names)) != len(names) or not all(names):
        raise LogError(Problem("Each task needs a name of its own (its touchpoint).", file=source))
    optional = {task.get_name() for task in tasks if _reaches(starts[0], ends, successors, avoiding=task)}
    stage_of = definition.stages.stage_of if definition is not None else {}
    stage_names = definition.stages.stages if definition is not None else ()
    placed: dict[str, list[str]] = {}
    current = stage_of.get(names[0], stage_names[0] if stage_names else _ONE_STAGE)
    for name in names:
        current = stage_of.get(name, current)
        placed.setdefault(current, []).append(name)
    stages = tuple(
        DesignedStage(
            stage,
            tuple(DesignedTouchpoint(name, required=name not in optional, order=i) for i, name in enumerate(listed, 1)),
        )
        for stage, listed in placed.items()
    )
    return DesignedJourney(stages, name=bpmn.get_name() or "Designed journey (BPMN)")


def _flow_order(start: Any, successors: Mapping[Any, Sequence[Any]], source: str) -> dict[Any, int]:
    """Each node's longest distance from the start; a cycle raises LogError."""
    depth: dict[Any, int] = {}
    visiting: set[Any] = set()

    def visit(node: Any, level: int) -> None:
        if node in visiting:
            raise LogError(Problem("The BPMN flow loops back.", fix="A designed path has no loops.", file=source))
        if depth.get(node, -1) >= level:
            return
        depth[node] = level
        visiting.add(node)
        for following in successors.get(node, ()):
            visit(following, level + 1)
        visiting.discard(node)

    visit(start, 0)
    return depth


def _reaches(start: Any, ends: set[Any], successors: Mapping[Any, Sequence[Any]], *, avoiding: Any) -> bool:
    seen, frontier = {start}, [start]
    while frontier:
        node = frontier.pop()
        if node in ends:
            return True
        for following in successors.get(node, ()):
            if following is not avoiding and following not in seen:
                seen.add(following)
                frontier.append(following)
    return False
