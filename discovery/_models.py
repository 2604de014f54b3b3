"""Process models mined by pm4py from the engine's aggregates, never from raw events.

The inductive miner gets the variant counts (pm4py's UVCL: a Counter of activity tuples) of the most frequent
`max_variants` variants; the heuristics miner gets the directly-follows counts, the two-step counts and the
step triples of the journeys of those variants, each one GROUP BY in DuckDB. Both give pm4py exactly what it
would compute from the raw log, so the models equal pm4py's on the same journeys. BPMN is laid out here in
layers (pm4py's own layouter needs the Graphviz binary) so that modelling tools can open the export.

pm4py is imported when a model is mined or exported, not with the package: importing it takes about a second,
which every command-line run and dashboard start would otherwise pay.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from numbers import Real
from typing import TYPE_CHECKING, Any

import pandas as pd

from data.engine import Engine
from data.errors import EmptyLog, Problem
from data.filters import Filters

if TYPE_CHECKING:
    from pm4py.objects.bpmn.obj import BPMN
    from pm4py.objects.heuristics_net.obj import HeuristicsNet
    from pm4py.objects.petri_net.obj import Marking, PetriNet
    from pm4py.objects.process_tree.obj import ProcessTree

__all__ = ["ALGORITHMS", "ProcessModel", "discover_model", "import_miners", "to_bpmn_xml", "to_pnml"]

# pm4py's own defaults: no noise filter for the inductive miner, 5 % DFG pre-cleaning for the heuristics miner.
DEFAULT_NOISE = {"inductive": 0.0, "heuristics": 0.05}
ALGORITHMS = ("inductive", "heuristics")
_EVERY_JOURNEY = Filters()
# BPMN layout: columns of flow elements left to right, in points.
_COLUMN_WIDTH, _ROW_HEIGHT = 160, 100
_TASK_SIZE, _SMALL_SIZE = (120, 60), (36, 36)

# Each step with the next two steps of its journey: every count the heuristics miner needs.
_TRIPLES_SQL = """
SELECT first::VARCHAR AS first, second::VARCHAR AS second, third::VARCHAR AS third, count(*) AS occurrences
FROM (
    SELECT activity AS first, next_activity AS second,
           lead(activity, 2) OVER (PARTITION BY case_code ORDER BY pos) AS third
    FROM steps
)
GROUP BY ALL
"""


@dataclass(frozen=True)
class ProcessModel:
    """A mined model: Petri net with markings and BPMN, plus the process tree (inductive) or heuristics net.

    `variants` and `cases` say what the miner saw: the `max_variants` most frequent variants and their
    customers, out of `total_cases` selected.
    """

    algorithm: str
    noise_threshold: float
    net: PetriNet
    initial_marking: Marking
    final_marking: Marking
    bpmn: BPMN
    tree: ProcessTree | None
    heuristics_net: HeuristicsNet | None
    variants: int
    cases: int
    total_cases: int

    @property
    def covered_share(self) -> float:
        """Share of the selected customers whose journeys the miner saw."""
        return self.cases / self.total_cases

    def to_dict(self) -> dict[str, Any]:
        return {
            "algorithm": self.algorithm,
            "noise_threshold": self.noise_threshold,
            "variants": self.variants,
            "cases": self.cases,
            "total_cases": self.total_cases,
            "covered_share": self.covered_share,
            "tree": None if self.tree is None else str(self.tree),
            "activities": sorted({t.label for t in self.net.transitions if t.label is not None}),
            "places": len(self.net.places),
            "transitions": len(self.net.transitions),
            "arcs": len(self.net.arcs),
        }


def discover_model(
    engine: Engine,
    filters: Filters = _EVERY_JOURNEY,
    *,
    algorithm: str = "inductive",
    noise_threshold: float | None = None,
    max_variants: int = 1000,
) -> ProcessModel:
    """Return the process model mined from the `max_variants` most frequent variants of the selected journeys.

    `noise_threshold` (0 to 1) is the inductive miner's noise filter (IMf when above 0) or the heuristics miner's
    DFG pre-cleaning threshold; None takes pm4py's default of each (0 for the inductive miner, 0.05 for the
    heuristics miner), so that a model mined with defaults is the one `pm4py.discover_*` gives on the raw log.

    >>> model = discover_model(engine, noise_threshold=0.2)  # doctest: +SKIP
    >>> to_bpmn_xml(model)  # doctest: +SKIP
    """
    problems = []
    if noise_threshold is None:
        noise_threshold = DEFAULT_NOISE.get(algorithm, 0.0)
    if algorithm not in ALGORITHMS:
        problems.append(f"algorithm must be one of {', '.join(ALGORITHMS)}, not {algorithm!r}")
    if isinstance(noise_threshold, bool) or not isinstance(noise_threshold, Real) or not 0 <= noise_threshold <= 1:
        problems.append(f"noise_threshold must be a number from 0 to 1, not {noise_threshold!r}")
    if isinstance(max_variants, bool) or not isinstance(max_variants, int) or max_variants < 1:
        problems.append(f"max_variants must be a whole number of at least 1, not {max_variants!r}")
    if problems:
        raise ValueError("; ".join(problems))
    return _discover_model(engine, filters, algorithm, float(noise_threshold), max_variants)


def import_miners() -> None:
    """Import pm4py, whose miners this module imports on first use: about a second that a server can spend in a
    background thread before anyone asks for a model, rather than in the first user's click."""
    import pm4py  # noqa: F401  (pm4py's package imports every miner and converter used here)


def _discover_model(
    engine: Engine, filters: Filters, algorithm: str, noise_threshold: float, max_variants: int
) -> ProcessModel:
    total_cases = engine.summary(filters).cases
    if total_cases == 0:
        raise EmptyLog(Problem("No journey is selected, so there is nothing to mine.", fix="Loosen the filters."))
    variants = engine.variants(filters, limit=max_variants)
    from pm4py.objects.conversion.heuristics_net import converter as heuristics_converter
    from pm4py.objects.conversion.process_tree import converter as tree_converter
    from pm4py.objects.conversion.process_tree.variants import to_bpmn as tree_to_bpmn
    from pm4py.objects.conversion.wf_net.variants import to_bpmn as net_to_bpmn

    seen = variants["cases"].sum()
    tree = heuristics_net = None
    if algorithm == "inductive":
        tree = _inductive_tree(variants, noise_threshold)
        net, initial_marking, final_marking = tree_converter.apply(tree)
        bpmn = tree_to_bpmn.apply(tree)
    else:
        if seen < total_cases:
            filters = replace(filters, variant_ids=frozenset(variants["variant_id"]))
        heuristics_net = _heuristics_net(engine, filters, noise_threshold)
        net, initial_marking, final_marking = heuristics_converter.apply(heuristics_net)
        bpmn = net_to_bpmn.apply(net, initial_marking, final_marking)
    lay_out_bpmn(bpmn)
    return ProcessModel(
        algorithm=algorithm,
        noise_threshold=noise_threshold,
        net=net,
        initial_marking=initial_marking,
        final_marking=final_marking,
        bpmn=bpmn,
        tree=tree,
        heuristics_net=heuristics_net,
        variants=len(variants),
        cases=int(seen),
        total_cases=total_cases,
    )


def _inductive_tree(variants: pd.DataFrame, noise_threshold: float) -> ProcessTree:
    """Mine the process tree as `pm4py.discover_process_tree_inductive` does, from variant counts."""
    from pm4py.algo.discovery.inductive.dtypes.im_ds import IMDataStructureUVCL
    from pm4py.algo.discovery.inductive.variants.im import IMUVCL
    from pm4py.algo.discovery.inductive.variants.imf import IMFUVCL
    from pm4py.objects.process_tree.utils.generic import fold, tree_sort

    counts = Counter(dict(zip(map(tuple, variants["activities"]), map(int, variants["cases"]), strict=True)))
    parameters = {"noise_threshold": noise_threshold, "multiprocessing": False, "disable_fallthroughs": False}
    miner = IMFUVCL if noise_threshold > 0 else IMUVCL
    tree = fold(miner(parameters).apply(IMDataStructureUVCL(counts), parameters))
    tree_sort(tree)
    return tree


def _heuristics_net(engine: Engine, filters: Filters, noise_threshold: float) -> HeuristicsNet:
    """Mine the heuristics net as `pm4py.discover_heuristics_net` does, from step pairs and triples."""
    from pm4py.algo.discovery.heuristics.variants import classic as heuristics_miner

    triples = engine.query(_TRIPLES_SQL, filters=filters)
    pairs, full_triples = triples.dropna(subset=["second"]), triples.dropna(subset=["third"])
    occurrences = _counts(triples.groupby("first")["occurrences"].sum())
    return heuristics_miner.apply_heu_dfg(
        _counts(pairs.groupby(["first", "second"])["occurrences"].sum()),
        activities=list(occurrences),
        activities_occurrences=occurrences,
        start_activities=_counts(engine.start_activities(filters).set_index("activity")["cases"]),
        end_activities=_counts(engine.end_activities(filters).set_index("activity")["cases"]),
        dfg_window_2=_counts(full_triples.groupby(["first", "third"])["occurrences"].sum()),
        freq_triples=_counts(full_triples.groupby(["first", "second", "third"])["occurrences"].sum()),
        parameters={heuristics_miner.Parameters.DFG_PRE_CLEANING_NOISE_THRESH: noise_threshold},
    )


def _counts(counts: pd.Series) -> dict:
    """Return counts as the plain dict pm4py takes (keys are tuples for several levels)."""
    return {key: int(count) for key, count in counts.items()}


def lay_out_bpmn(bpmn: BPMN) -> None:
    """Place flow elements in columns by their distance from the start, and route each flow between centres."""
    from pm4py.objects.bpmn.obj import BPMN

    nodes = sorted(bpmn.get_nodes(), key=lambda node: node.get_id())
    column = {node: 0 for node in nodes if not node.get_in_arcs()}
    frontier = list(column)
    while frontier:
        following = []
        for node in frontier:
            for flow in sorted(node.get_out_arcs(), key=lambda flow: flow.get_target().get_id()):
                if flow.get_target() not in column:
                    column[flow.get_target()] = column[node] + 1
                    following.append(flow.get_target())
        frontier = following
    rows: Counter = Counter()
    layout = bpmn.get_layout()
    for node in nodes:
        place = column.setdefault(node, max(column.values(), default=-1) + 1)
        width, height = _TASK_SIZE if isinstance(node, BPMN.Task) else _SMALL_SIZE
        shape = layout.get(node)
        shape.set_width(width)
        shape.set_height(height)
        shape.set_x(place * _COLUMN_WIDTH + (_TASK_SIZE[0] - width) / 2)
        shape.set_y(rows[place] * _ROW_HEIGHT + (_TASK_SIZE[1] - height) / 2)
        rows[place] += 1
    for flow in bpmn.get_flows():
        route = layout.get(flow)
        route.del_waypoints()
        for end in (flow.get_source(), flow.get_target()):
            shape = layout.get(end)
            route.add_waypoint((shape.get_x() + shape.get_width() / 2, shape.get_y() + shape.get_height() / 2))


def to_bpmn_xml(model: ProcessModel) -> str:
    """Return the model as BPMN 2.0 XML (with diagram layout), for Camunda, bpmn.io, Signavio …"""
    if not isinstance(model, ProcessModel):
        raise TypeError(f"to_bpmn_xml needs a ProcessModel, not {type(model).__name__}")
    from pm4py.objects.bpmn.exporter.variants import etree as bpmn_exporter

    return bpmn_exporter.get_xml_string(model.bpmn, parameters={"encoding": "utf-8"}).decode("utf-8")


def to_pnml(model: ProcessModel) -> str:
    """Return the model's Petri net with its initial and final markings as PNML."""
    if not isinstance(model, ProcessModel):
        raise TypeError(f"to_pnml needs a ProcessModel, not {type(model).__name__}")
    from pm4py.objects.petri_net.exporter.variants import pnml as pnml_exporter

    return pnml_exporter.export_petri_as_string(model.net, model.initial_marking, model.final_marking).decode("utf-8")
