"""Seeded demo event logs with planted ground truth: personas, stages, churn points and channel switches.

Parcours needs something real to show on first run, and stage discovery, churn points, personas and the
channel-switch matrix are tested against what is planted here. Each persona walks its own Markov chain over
(touchpoint, channel) states; the chain is simulated one step at a time across all customers at once.

Randomness is drawn per block of `BLOCK_CUSTOMERS` customers from a generator spawned from the seed for that
block, so a log written in chunks of any size is, row for row, the log generated in one go.

    demo = generate_demo(2000, scenario="shop", seed=3)
    demo.events.head()              # a raw CRM-like export: customer_id, touchpoint, channel, timestamp, …
    demo.personas.value_counts()    # the planted truth that a clustering should recover

    python -m data.demo --scenario telecom --customers 3000 --seed 7 --out data/samples/demo_telecom.csv.gz
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gzip
import io
import itertools
import os
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from data.errors import LogError, Problem, UnsupportedFormat

__all__ = [
    "BLOCK_CUSTOMERS",
    "SCENARIOS",
    "STAGES",
    "DemoFile",
    "DemoLog",
    "PlantedAction",
    "designed_journey",
    "generate_demo",
    "main",
    "write_demo",
]

STAGES = ("discovery", "consideration", "purchase", "post-purchase", "loyalty")
GOAL_STAGE = "purchase"
CHANNELS = ("web", "app", "store", "call center", "chatbot", "email", "social", "sms")
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
# Metropolitan French regions, weighted by population.
REGIONS = {
    "Île-de-France": 19,
    "Auvergne-Rhône-Alpes": 12,
    "Hauts-de-France": 9,
    "Nouvelle-Aquitaine": 9,
    "Occitanie": 9,
    "Grand Est": 8,
    "Provence-Alpes-Côte d'Azur": 8,
    "Pays de la Loire": 6,
    "Bretagne": 5,
    "Normandie": 5,
    "Bourgogne-Franche-Comté": 4,
    "Centre-Val de Loire": 4,
    "Corse": 1,
}
BLOCK_CUSTOMERS = 1_000
MINUTES_PER_DAY = 24 * 60
# Customers act between 08:00 and 22:00 local time, which also keeps every event clear of DST gaps and folds.
OPENING_MINUTE = 8 * 60
CLOSING_MINUTE = 22 * 60
OPENING_RUSH_MINUTES = 120
# Customers tend to stay on the channel they are on: it weighs this much more than a fresh choice.
CHANNEL_STICKINESS = 3.0
RATED_SHARE = 0.4
NPS_TOUCHPOINT = "nps_survey"
NPS_ANSWERED_SHARE = 0.6
SUPPORTED_SUFFIXES = (".csv", ".csv.gz", ".parquet")
_END = "(end)"


@dataclass(frozen=True)
class _Touchpoint:
    """A touchpoint, its stage, its channels and the mean wait before it (0: sent in the same minute)."""

    name: str
    stage: str
    channels: tuple[str, ...]
    lead_minutes: float
    satisfaction_mean: float = np.nan
    rated_share: float = RATED_SHARE


@dataclass(frozen=True)
class _Persona:
    """How one planted persona behaves; channels and touchpoints not listed weigh 1."""

    name: str
    share: float
    channel_weights: Mapping[str, float]
    affinity: Mapping[str, float]
    pace: float
    age_weights: tuple[float, ...]
    satisfaction_shift: float
    nps_mean: float
    spend_eur: float


@dataclass(frozen=True)
class _Switch:
    persona: str
    from_touchpoint: str
    from_channel: str
    to_touchpoint: str
    to_channel: str
    probability: float


@dataclass(frozen=True)
class _ChurnPoint:
    touchpoint: str
    churn_activity: str
    churn_rate: float


@dataclass(frozen=True, eq=False)
class _Scenario:
    """Everything planted in one scenario. `flows` weighs the next touchpoint; `_END` stops the journey."""

    name: str
    id_prefix: str
    touchpoints: tuple[_Touchpoint, ...]
    start_weights: Mapping[str, float]
    flows: Mapping[str, Mapping[str, float]]
    personas: tuple[_Persona, ...]
    switches: tuple[_Switch, ...]
    churn_points: tuple[_ChurnPoint, ...]
    churn_activities: tuple[str, ...]
    base_churn_activity: str
    base_churn_rate: float
    value_columns: Callable[[_Scenario, _Journeys, np.random.Generator], dict[str, object]]

    @property
    def touchpoint_names(self) -> tuple[str, ...]:
        return tuple(touchpoint.name for touchpoint in self.touchpoints)

    def codes(self, *names: str) -> np.ndarray:
        return np.array([self.touchpoint_names.index(name) for name in names])


@dataclass(frozen=True)
class PlantedAction:
    """An improvement action with a known effect: customers of `persona` whose journey starts on `go_live`
    (YYYY-MM-DD) or later churn right after `touchpoint` with probability `churn_rate` instead of the scenario's."""

    persona: str
    touchpoint: str
    churn_rate: float
    go_live: str


@dataclass(frozen=True, eq=False)
class DemoLog:
    """A generated raw log and the ground truth planted in it.

    `churn_points` is indexed by touchpoint and gives the churn activity it leads to and the planted probability
    that this activity comes next; after any other touchpoint past the purchase it is `base_churn_rate`.
    `channel_switches` gives, per persona, the probability that one (touchpoint, channel) comes right after
    another. Both are probabilities of what comes next, which the log's end may cut off (censoring).
    `deviation`: the customers whose journey was moved off the designed journey (`plant_deviation`).
    """

    events: pd.DataFrame
    personas: pd.Series
    persona_shares: pd.Series
    stages: tuple[str, ...]
    stage_of: dict[str, str]
    goal_stage: str
    churn_activities: tuple[str, ...]
    churn_points: pd.DataFrame
    base_churn_rate: float
    channel_switches: pd.DataFrame
    action: PlantedAction | None = None
    deviation: frozenset[str] = frozenset()


@dataclass(frozen=True)
class DemoFile:
    """What `write_demo` wrote: where, and the counts a README quotes."""

    path: Path
    customers: int
    events: int
    touchpoints: int
    first_timestamp: str
    last_timestamp: str


@dataclass(frozen=True, eq=False)
class _Model:
    """A scenario compiled to arrays over the offered (touchpoint, channel) states; index `end_state` ends."""

    scenario: _Scenario
    state_touchpoint: np.ndarray
    state_channel: np.ndarray
    end_state: int
    persona_cum: np.ndarray
    start_cum: np.ndarray
    next_cum: np.ndarray
    lead_minutes: np.ndarray
    age_cum: np.ndarray
    region_cum: np.ndarray
    satisfaction_mean: np.ndarray
    rated_share: np.ndarray


@dataclass(frozen=True, eq=False)
class _Journeys:
    """One block's events as codes, sorted by customer then step; `persona` has one code per customer."""

    customer: np.ndarray
    touchpoint: np.ndarray
    channel: np.ndarray
    minute: np.ndarray
    persona: np.ndarray

    @property
    def event_persona(self) -> np.ndarray:
        return self.persona[self.customer]


@dataclass(frozen=True, eq=False)
class _Block:
    """One block's events (codes and typed attributes, global customer numbers) and its customers' personas."""

    events: pd.DataFrame
    persona: np.ndarray


def generate_demo(
    customers: int = 2000,
    *,
    scenario: str = "telecom",
    seed: int = 0,
    start: str = "2025-01-01",
    days: int = 365,
    timezone: str = "Europe/Paris",
    action: PlantedAction | None = None,
    plant_deviation: bool = False,
) -> DemoLog:
    """Return a demo log of `customers` journeys over `days` days from `start`, with its planted ground truth;
    `action` plants an improvement with a known effect (none by default); `plant_deviation` moves one designed
    step of every `DEVIATION_EVERY`-th customer onto a channel the design does not expect (see
    `designed_journey`; off by default)."""
    problems = _problems(customers=customers, scenario=scenario, seed=seed, start=start, days=days, timezone=timezone)
    if action is not None and not problems:
        problems += _action_problems(_SCENARIOS[scenario], action)
    if problems:
        raise LogError(problems)
    model = _model(scenario)
    planted = None if action is None else _planted(scenario, action, start)
    blocks = list(_blocks(model, customers, seed, days, planted))
    id_width = _id_width(customers)
    events = _events_frame(model.scenario, blocks, date.fromisoformat(start), timezone, id_width)
    persona_names = np.array([persona.name for persona in model.scenario.personas])
    personas = pd.Series(
        persona_names[np.concatenate([block.persona for block in blocks])],
        index=pd.Index(_customer_ids(model.scenario, np.arange(customers), id_width), name="customer_id"),
        name="persona",
        dtype="str",
    )
    deviation: frozenset[str] = frozenset()
    if plant_deviation:
        events, deviation = _planted_deviation(model.scenario, events)
    return dataclasses.replace(_ground_truth(model.scenario, events, personas), action=action, deviation=deviation)


def designed_journey(scenario: str = "telecom") -> dict:
    """The journey the scenario's company designed, as the JSON of a Parcours designed journey (a fresh copy)."""
    if scenario not in _DESIGNED:
        raise LogError(
            Problem("There is no such demo scenario.", fix=f"Use one of {', '.join(SCENARIOS)}.", value=scenario)
        )
    stages = [
        {
            "name": stage,
            "target_days": target,
            "touchpoints": [
                {"name": name, "required": required, "order": order, "channel": channel}
                for order, (name, required, channel) in enumerate(touchpoints, start=1)
            ],
        }
        for stage, target, touchpoints in _DESIGNED[scenario]
    ]
    return {
        "format": "parcours.designed-journey",
        "format_version": 1,
        "name": f"{scenario.capitalize()} designed journey",
        "notes": "",
        "stages": stages,
    }


def _planted_deviation(scenario: _Scenario, events: pd.DataFrame) -> tuple[pd.DataFrame, frozenset[str]]:
    """Move the deviating step of every `DEVIATION_EVERY`-th customer who did it onto `DEVIATION_CHANNEL`."""
    number = pd.to_numeric(events["customer_id"].str.slice(len(scenario.id_prefix)))
    moved = (events["touchpoint"] == _DEVIATING_STEP[scenario.name]) & (number % DEVIATION_EVERY == 0)
    events = events.copy()
    events.loc[moved, "channel"] = DEVIATION_CHANNEL
    return events, frozenset(events.loc[moved, "customer_id"])


def write_demo(
    path: str | os.PathLike,
    customers: int,
    *,
    scenario: str = "telecom",
    seed: int = 0,
    start: str = "2025-01-01",
    days: int = 365,
    timezone: str = "Europe/Paris",
    chunk_customers: int = 200_000,
) -> DemoFile:
    """Write the events of `generate_demo` with the same arguments to CSV (.csv, .csv.gz) or Parquet.

    Chunks of about `chunk_customers` customers (whole blocks of `BLOCK_CUSTOMERS`) are generated and appended
    one at a time, so memory depends on the chunk, not on the log. The file appears only once complete.
    """
    path = Path(path)
    problems = _problems(customers=customers, scenario=scenario, seed=seed, start=start, days=days, timezone=timezone)
    if not _is_whole(chunk_customers, minimum=1):
        problems.append(Problem("chunk_customers must be a whole number of at least 1.", value=str(chunk_customers)))
    suffix = next((suffix for suffix in SUPPORTED_SUFFIXES[::-1] if path.name.lower().endswith(suffix)), None)
    if suffix is None:
        unsupported = Problem(
            "Demo logs are written as CSV or Parquet, chosen by the file name.",
            fix=f"End the file name with one of {', '.join(SUPPORTED_SUFFIXES)}.",
            file=str(path),
        )
        raise UnsupportedFormat([unsupported, *problems])
    if problems:
        raise LogError(problems)

    model = _model(scenario)
    id_width = _id_width(customers)
    first_day = date.fromisoformat(start)
    chunks = _batched(_blocks(model, customers, seed, days), max(1, chunk_customers // BLOCK_CUSTOMERS))
    event_count, touchpoints_seen = 0, np.zeros(len(model.scenario.touchpoints), dtype=bool)
    first_minute, last_minute = np.iinfo(np.int64).max, np.iinfo(np.int64).min
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.part")
    try:
        with _table_sink(partial, suffix) as append:
            for chunk in chunks:
                append(_events_frame(model.scenario, chunk, first_day, timezone, id_width))
                for block in chunk:
                    event_count += len(block.events)
                    touchpoints_seen[block.events["touchpoint"].cat.codes.unique()] = True
                    first_minute = min(first_minute, int(block.events["minute"].min()))
                    last_minute = max(last_minute, int(block.events["minute"].max()))
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    first, last = _local_iso(np.array([first_minute, last_minute]), first_day, timezone)
    return DemoFile(path, customers, event_count, int(touchpoints_seen.sum()), str(first), str(last))


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: write a demo log and print its counts."""
    parser = argparse.ArgumentParser(prog="python -m data.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=SCENARIOS, default="telecom")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start", default="2025-01-01", help="first day of the log, YYYY-MM-DD, local time")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--timezone", default="Europe/Paris")
    parser.add_argument("--chunk-customers", type=int, default=200_000)
    parser.add_argument("--out", required=True, help="file to write: .csv, .csv.gz or .parquet")
    args = parser.parse_args(argv)
    try:
        written = write_demo(
            args.out,
            args.customers,
            scenario=args.scenario,
            seed=args.seed,
            start=args.start,
            days=args.days,
            timezone=args.timezone,
            chunk_customers=args.chunk_customers,
        )
    except LogError as error:
        print(error, file=sys.stderr)
        return 2
    print(
        f"wrote {written.path}: {written.customers:,} customers, {written.events:,} events, "
        f"{written.touchpoints} touchpoints, {written.first_timestamp} to {written.last_timestamp}"
    )
    return 0


# --- validation ---------------------------------------------------------------------------------------------------


def _problems(
    *, customers: object, scenario: object, seed: object, start: object, days: object, timezone: object
) -> list[Problem]:
    """Every problem with the generator's arguments, so that one error lists them all."""
    problems = []
    if not _is_whole(customers, minimum=1):
        problems.append(Problem("customers must be a whole number of at least 1.", value=str(customers)))
    if scenario not in SCENARIOS:
        problems.append(
            Problem("Unknown demo scenario.", fix=f"Choose one of {', '.join(SCENARIOS)}.", value=str(scenario))
        )
    if not _is_whole(seed, minimum=0):
        problems.append(Problem("seed must be a whole number of at least 0.", value=str(seed)))
    try:
        date.fromisoformat(start)
    except (TypeError, ValueError):
        problems.append(Problem("start must be a date such as 2025-01-01.", value=str(start)))
    if not _is_whole(days, minimum=1):
        problems.append(Problem("days must be a whole number of at least 1.", value=str(days)))
    try:
        ZoneInfo(timezone)
    except (TypeError, ValueError, ZoneInfoNotFoundError):
        problems.append(
            Problem("Unknown time zone.", fix="Use an IANA name such as Europe/Paris.", value=str(timezone))
        )
    return problems


def _is_whole(value: object, *, minimum: int) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool) and value >= minimum


# --- the model ----------------------------------------------------------------------------------------------------


@cache
def _model(scenario_name: str) -> _Model:
    """Compile a scenario into transition arrays, once per process (the arrays are read-only)."""
    return _compile(_SCENARIOS[scenario_name])


def _compile(scenario: _Scenario) -> _Model:
    names, personas = scenario.touchpoint_names, scenario.personas
    n_personas, n_touchpoints, n_channels = len(personas), len(names), len(CHANNELS)
    targets = (*names, _END)
    flow = np.array([[scenario.flows.get(a, {_END: 1.0}).get(b, 0.0) for b in targets] for a in names])
    affinity = np.array([[persona.affinity.get(b, 1.0) for b in targets] for persona in personas])
    preference = np.array([[persona.channel_weights.get(c, 1.0) for c in CHANNELS] for persona in personas])
    offered = np.array([[c in touchpoint.channels for c in CHANNELS] for touchpoint in scenario.touchpoints])

    # P(next touchpoint | persona, touchpoint), with churn planted as a fixed share of its row.
    next_touchpoint = _normalised(flow[None] * affinity[:, None, :])
    churn_rate, churn_target = _churn_plan(scenario)
    planted = np.flatnonzero(churn_rate)
    next_touchpoint[:, planted] *= 1 - churn_rate[planted, None]
    next_touchpoint[:, planted, churn_target[planted]] += churn_rate[planted]

    # P(channel | persona, current channel, touchpoint): the persona's taste, sticky to the current channel.
    sticky = np.where(np.eye(n_channels, dtype=bool), CHANNEL_STICKINESS, 1.0)
    channel_choice = _normalised(offered[None, None] * preference[:, None, None, :] * sticky[None, :, None, :])
    first_channel = _normalised(offered[None] * preference[:, None, :])

    # A state is an offered (touchpoint, channel) pair; the extra last column of each row ends the journey.
    states = np.flatnonzero(offered.ravel())
    grid = n_touchpoints * n_channels
    to_state = next_touchpoint[:, :, None, :-1, None] * channel_choice[:, None, :, :, :]
    to_state = to_state.reshape(n_personas, grid, grid)[:, states][:, :, states]
    to_end = np.repeat(next_touchpoint[:, :, -1], n_channels, axis=1)[:, states]
    transitions = np.concatenate([to_state, to_end[:, :, None]], axis=2)
    state_index = {int(state): i for i, state in enumerate(states)}
    persona_index = {persona.name: i for i, persona in enumerate(personas)}
    for switch in scenario.switches:
        row = state_index[names.index(switch.from_touchpoint) * n_channels + CHANNELS.index(switch.from_channel)]
        column = state_index[names.index(switch.to_touchpoint) * n_channels + CHANNELS.index(switch.to_channel)]
        persona_row = transitions[persona_index[switch.persona], row]
        persona_row[column] = 0.0
        persona_row *= (1 - switch.probability) / persona_row.sum()
        persona_row[column] = switch.probability

    start = np.array([scenario.start_weights.get(name, 0.0) for name in names])
    start_touchpoint = _normalised(start[None] * affinity[:, :-1])
    start_state = (start_touchpoint[:, :, None] * first_channel).reshape(n_personas, grid)[:, states]
    state_touchpoint = states // n_channels
    lead = np.array([touchpoint.lead_minutes for touchpoint in scenario.touchpoints])
    pace = np.array([persona.pace for persona in personas])
    model = _Model(
        scenario=scenario,
        state_touchpoint=state_touchpoint,
        state_channel=states % n_channels,
        end_state=states.size,
        persona_cum=_cumulative(np.array([persona.share for persona in personas])),
        start_cum=_cumulative(start_state),
        next_cum=_cumulative(transitions),
        lead_minutes=np.pad(pace[:, None] * lead[None, state_touchpoint], ((0, 0), (0, 1))),
        age_cum=_cumulative(np.array([persona.age_weights for persona in personas], dtype=float)),
        region_cum=_cumulative(np.array(list(REGIONS.values()), dtype=float)),
        satisfaction_mean=np.array([touchpoint.satisfaction_mean for touchpoint in scenario.touchpoints]),
        rated_share=np.array([touchpoint.rated_share for touchpoint in scenario.touchpoints]),
    )
    for value in vars(model).values():
        if isinstance(value, np.ndarray):
            value.flags.writeable = False
    return model


def _action_problems(scenario: _Scenario, action: PlantedAction) -> list[Problem]:
    problems = []
    if action.persona not in {persona.name for persona in scenario.personas}:
        problems.append(Problem("The planted action's persona is not one of the scenario's.", value=action.persona))
    if action.touchpoint not in scenario.touchpoint_names or action.touchpoint in scenario.churn_activities:
        problems.append(Problem("The planted action needs a touchpoint that is not churn.", value=action.touchpoint))
    if not 0 <= action.churn_rate < 1:
        problems.append(Problem("The planted churn rate must be in [0, 1).", value=str(action.churn_rate)))
    try:
        date.fromisoformat(action.go_live)
    except (TypeError, ValueError):
        problems.append(Problem("The planted go-live must be a date such as 2025-07-01.", value=str(action.go_live)))
    return problems


def _planted(scenario_name: str, action: PlantedAction, start: str) -> tuple[np.ndarray, int]:
    """The next-state probabilities once the action is live (only the persona's rows change) and its first day."""
    scenario = _SCENARIOS[scenario_name]
    points = [point for point in scenario.churn_points if point.touchpoint != action.touchpoint]
    churn_activity = next(
        (p.churn_activity for p in scenario.churn_points if p.touchpoint == action.touchpoint),
        scenario.base_churn_activity,
    )
    changed = dataclasses.replace(
        scenario, churn_points=(*points, _ChurnPoint(action.touchpoint, churn_activity, action.churn_rate))
    )
    persona = [p.name for p in scenario.personas].index(action.persona)
    next_cum = _model(scenario_name).next_cum.copy()
    next_cum[persona] = _compile(changed).next_cum[persona]
    return next_cum, (date.fromisoformat(action.go_live) - date.fromisoformat(start)).days


def _churn_plan(scenario: _Scenario) -> tuple[np.ndarray, np.ndarray]:
    """Per touchpoint, the planted probability that churn comes next and which churn activity it is.

    The base rate applies after every touchpoint past the purchase except churn itself and messages sent at
    once (nobody cancels in the minute of their welcome email); churn points replace it with their own rate.
    """
    rate = np.array(
        [
            scenario.base_churn_rate
            if touchpoint.stage in ("post-purchase", "loyalty")
            and touchpoint.lead_minutes > 0
            and touchpoint.name not in scenario.churn_activities
            else 0.0
            for touchpoint in scenario.touchpoints
        ]
    )
    target = np.full(rate.size, scenario.codes(scenario.base_churn_activity)[0])
    points = scenario.churn_points
    rate[scenario.codes(*(point.touchpoint for point in points))] = [point.churn_rate for point in points]
    target[scenario.codes(*(point.touchpoint for point in points))] = scenario.codes(
        *(point.churn_activity for point in points)
    )
    return rate, target


def _normalised(weights: np.ndarray) -> np.ndarray:
    return weights / weights.sum(axis=-1, keepdims=True)


def _cumulative(weights: np.ndarray) -> np.ndarray:
    """Cumulative probability rows ending at exactly 1, so that a uniform draw in [0, 1) always lands in a column."""
    cumulative = np.cumsum(weights, axis=-1) / weights.sum(axis=-1, keepdims=True)
    cumulative[..., -1] = 1.0
    return cumulative


# --- simulation ---------------------------------------------------------------------------------------------------


def _blocks(
    model: _Model, customers: int, seed: int, days: int, planted: tuple[np.ndarray, int] | None = None
) -> Iterator[_Block]:
    """Simulate the customers block by block, each block from its own generator spawned from the seed."""
    scenario_key = zlib.crc32(model.scenario.name.encode())
    for block, first_customer in enumerate(range(0, customers, BLOCK_CUSTOMERS)):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(scenario_key, block)))
        journeys = _simulate(model, rng, min(BLOCK_CUSTOMERS, customers - first_customer), days, planted)
        events = pd.DataFrame(
            {
                "customer": journeys.customer + first_customer,
                "touchpoint": pd.Categorical.from_codes(journeys.touchpoint, model.scenario.touchpoint_names),
                "channel": pd.Categorical.from_codes(journeys.channel, CHANNELS),
                "minute": journeys.minute,
                **_attributes(model, journeys, rng),
            }
        )
        yield _Block(events, journeys.persona)


def _simulate(
    model: _Model, rng: np.random.Generator, customers: int, days: int, planted: tuple[np.ndarray, int] | None = None
) -> _Journeys:
    """Walk every customer's chain one step at a time until it ends or passes the log's end (censoring); customers
    arriving once a `planted` action is live walk its chain (the same draws, so no action changes nothing)."""
    persona = np.searchsorted(model.persona_cum, rng.random(customers), side="right")
    arrival_day = rng.integers(0, days, customers)
    minute = arrival_day * MINUTES_PER_DAY + rng.integers(OPENING_MINUTE, CLOSING_MINUTE, customers)
    state = _pick(model.start_cum[persona], rng)
    who = np.arange(customers)
    steps = [(who, state, minute)]
    log_end_minute = days * MINUTES_PER_DAY
    while who.size:
        rows = model.next_cum[persona[who], state]
        if planted is not None:
            live_cum, first_day = planted
            rows = np.where((arrival_day[who] >= first_day)[:, None], live_cum[persona[who], state], rows)
        state = _pick(rows, rng)
        wait = np.floor(rng.exponential(model.lead_minutes[persona[who], state])).astype(np.int64)
        minute = _within_opening_hours(minute + wait, rng)
        going_on = (state != model.end_state) & (minute < log_end_minute)
        who, state, minute = who[going_on], state[going_on], minute[going_on]
        steps.append((who, state, minute))
    customer, state, minute = (np.concatenate(parts) for parts in zip(*steps, strict=True))
    journey_order = np.argsort(customer, kind="stable")
    state = state[journey_order]
    return _Journeys(
        customer=customer[journey_order],
        touchpoint=model.state_touchpoint[state],
        channel=model.state_channel[state],
        minute=minute[journey_order],
        persona=persona,
    )


def _pick(cumulative_rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw one column per row of cumulative probabilities."""
    return (cumulative_rows <= rng.random(cumulative_rows.shape[0])[:, None]).sum(axis=1)


def _within_opening_hours(minute: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Move events outside opening hours to a little after the next opening (never earlier than asked)."""
    time_of_day = minute % MINUTES_PER_DAY
    rush = rng.integers(0, OPENING_RUSH_MINUTES, minute.size)
    after_closing = time_of_day >= CLOSING_MINUTE
    next_opening = minute - time_of_day + OPENING_MINUTE + np.where(after_closing, MINUTES_PER_DAY, 0)
    return np.where(after_closing | (time_of_day < OPENING_MINUTE), next_opening + rush, minute)


def _attributes(model: _Model, journeys: _Journeys, rng: np.random.Generator) -> dict[str, object]:
    """The scenario's value columns, then satisfaction on some contacts, NPS answers, age band and region."""
    scenario, event_count = model.scenario, journeys.customer.size
    persona = journeys.event_persona
    values = scenario.value_columns(scenario, journeys, rng)
    shift = np.array([p.satisfaction_shift for p in scenario.personas])
    satisfaction_mean = model.satisfaction_mean[journeys.touchpoint] + shift[persona]
    rated = ~np.isnan(satisfaction_mean) & (rng.random(event_count) < model.rated_share[journeys.touchpoint])
    satisfaction = np.clip(np.rint(rng.normal(np.nan_to_num(satisfaction_mean), 0.9)), 1, 5)
    nps_mean = np.array([p.nps_mean for p in scenario.personas])[persona]
    answered = (journeys.touchpoint == scenario.codes(NPS_TOUCHPOINT)[0]) & (
        rng.random(event_count) < NPS_ANSWERED_SHARE
    )
    nps = np.clip(np.rint(rng.normal(nps_mean, 1.8)), 0, 10)
    age_band = _pick(model.age_cum[journeys.persona], rng)
    region = np.searchsorted(model.region_cum, rng.random(journeys.persona.size), side="right")
    return {
        **values,
        "satisfaction": pd.arrays.IntegerArray(satisfaction.astype(np.int64), ~rated),
        "nps": pd.arrays.IntegerArray(nps.astype(np.int64), ~answered),
        "age_band": pd.Categorical.from_codes(age_band[journeys.customer], AGE_BANDS),
        "region": pd.Categorical.from_codes(region[journeys.customer], list(REGIONS)),
    }


def _telecom_values(scenario: _Scenario, journeys: _Journeys, rng: np.random.Generator) -> dict[str, object]:
    """The plan (from the subscription on, one tier up per upgrade) and revenue on subscriptions and upgrades."""
    fees = np.array(list(TELECOM_PLANS.values()))
    budget = np.array([p.spend_eur for p in scenario.personas])[journeys.persona]
    first_plan = np.searchsorted(fees, budget * rng.lognormal(0.0, 0.35, budget.size), side="right") - 1
    subscribes = journeys.touchpoint == scenario.codes("subscribe")[0]
    upgrades = journeys.touchpoint == scenario.codes("upgrade_plan")[0]
    subscribed = _running_count(subscribes, journeys.customer) > 0
    plan = np.clip(first_plan[journeys.customer] + _running_count(upgrades, journeys.customer), 0, fees.size - 1)
    revenue = np.where(subscribes, fees[plan] + ACTIVATION_FEE_EUR, np.where(upgrades, fees[plan], np.nan))
    return {
        "plan": pd.Categorical.from_codes(np.where(subscribed, plan, -1), list(TELECOM_PLANS)),
        "revenue_eur": revenue.round(2),
    }


def _shop_values(scenario: _Scenario, journeys: _Journeys, rng: np.random.Generator) -> dict[str, object]:
    """The basket value on carts and purchases, and revenue on purchases."""
    spend = np.array([p.spend_eur for p in scenario.personas])[journeys.event_persona]
    basket = (spend * rng.lognormal(0.0, 0.5, spend.size)).round(2)
    purchases = np.isin(journeys.touchpoint, scenario.codes("checkout", "buy_in_store", "repeat_purchase"))
    carts = purchases | (journeys.touchpoint == scenario.codes("add_to_cart")[0])
    return {"basket_value_eur": np.where(carts, basket, np.nan), "revenue_eur": np.where(purchases, basket, np.nan)}


def _running_count(flags: np.ndarray, customer: np.ndarray) -> np.ndarray:
    """Per event, how many flagged events its customer has had so far, this one included."""
    return pd.Series(flags, dtype=np.int64).groupby(customer).cumsum().to_numpy()


# --- output -------------------------------------------------------------------------------------------------------


def _events_frame(
    scenario: _Scenario, blocks: Sequence[_Block], first_day: date, zone: str, id_width: int
) -> pd.DataFrame:
    """The raw export of some blocks: string columns, ISO local timestamps, customers in journey order."""
    codes = pd.concat([block.events for block in blocks], ignore_index=True)
    events = pd.DataFrame(
        {
            "customer_id": _customer_ids(scenario, codes.pop("customer").to_numpy(), id_width),
            "touchpoint": codes.pop("touchpoint"),
            "channel": codes.pop("channel"),
            "timestamp": _local_iso(codes.pop("minute").to_numpy(), first_day, zone),
        }
    ).join(codes)
    categorical = [name for name, dtype in events.dtypes.items() if isinstance(dtype, pd.CategoricalDtype)]
    return events.astype(dict.fromkeys(categorical, "str"))


def _customer_ids(scenario: _Scenario, customer: np.ndarray, width: int) -> np.ndarray:
    return np.strings.add(scenario.id_prefix, np.strings.zfill((customer + 1).astype(np.str_), width))


def _id_width(customers: int) -> int:
    """Digits in a customer number: at least six, like a CRM's, and enough for every customer."""
    return max(6, len(str(customers)))


def _local_iso(minute: np.ndarray, first_day: date, zone: str) -> np.ndarray:
    """ISO 8601 local times with their UTC offset, e.g. 2025-03-30T10:15:00+02:00, from minutes since day one."""
    local = np.datetime64(first_day.isoformat(), "s") + (minute * 60).astype("timedelta64[s]")
    utc_seconds = pd.DatetimeIndex(local).tz_localize(zone).as_unit("s").asi8
    offsets, which = np.unique((local.astype(np.int64) - utc_seconds) // 60, return_inverse=True)
    labels = np.array([f"{'-' if m < 0 else '+'}{abs(m) // 60:02d}:{abs(m) % 60:02d}" for m in offsets.tolist()])
    return np.strings.add(np.datetime_as_string(local, unit="s"), labels[which])


def _batched(items: Iterable[_Block], size: int) -> Iterator[list[_Block]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


@contextlib.contextmanager
def _table_sink(path: Path, suffix: str) -> Iterator[Callable[[pd.DataFrame], None]]:
    """Yield a function that appends frames to one CSV (optionally gzipped) or Parquet file."""
    with contextlib.ExitStack() as stack:
        if suffix == ".parquet":
            writer: list[pq.ParquetWriter] = []  # opened with the schema of the first frame

            def append(frame: pd.DataFrame) -> None:
                table = pa.Table.from_pandas(frame, preserve_index=False)
                if not writer:
                    writer.append(stack.enter_context(pq.ParquetWriter(str(path), table.schema)))
                writer[0].write_table(table)

        else:
            binary = stack.enter_context(open(path, "wb"))
            if suffix == ".csv.gz":
                # No file name and no time in the gzip header: the same log always gives the same bytes.
                binary = stack.enter_context(
                    gzip.GzipFile(filename="", mode="wb", compresslevel=6, fileobj=binary, mtime=0)
                )
            text = stack.enter_context(io.TextIOWrapper(binary, encoding="utf-8", newline=""))
            frames_written = itertools.count()

            def append(frame: pd.DataFrame) -> None:
                frame.to_csv(text, index=False, header=next(frames_written) == 0, lineterminator="\n")

        yield append


def _ground_truth(scenario: _Scenario, events: pd.DataFrame, personas: pd.Series) -> DemoLog:
    return DemoLog(
        events=events,
        personas=personas,
        persona_shares=pd.Series({p.name: p.share for p in scenario.personas}, name="share"),
        stages=STAGES,
        stage_of={touchpoint.name: touchpoint.stage for touchpoint in scenario.touchpoints},
        goal_stage=GOAL_STAGE,
        churn_activities=scenario.churn_activities,
        churn_points=pd.DataFrame([dataclasses.asdict(p) for p in scenario.churn_points]).set_index("touchpoint"),
        base_churn_rate=scenario.base_churn_rate,
        channel_switches=pd.DataFrame([dataclasses.asdict(s) for s in scenario.switches]),
    )


# --- the scenarios ------------------------------------------------------------------------------------------------

_DAY = MINUTES_PER_DAY
TELECOM_PLANS = {"Mobile 10GB": 9.99, "Mobile 50GB": 19.99, "Mobile 150GB": 29.99, "Fibre + Mobile": 49.99}
ACTIVATION_FEE_EUR = 10.0

_TELECOM = _Scenario(
    name="telecom",
    id_prefix="TEL-",
    touchpoints=(
        _Touchpoint("ad_click", "discovery", ("social", "web"), 2 * _DAY),
        _Touchpoint("visit_website", "discovery", ("web",), 4),
        _Touchpoint("visit_store", "discovery", ("store",), 3 * _DAY),
        _Touchpoint("compare_offers", "consideration", ("web", "app", "store"), 6),
        _Touchpoint("check_coverage", "consideration", ("web", "app"), 4),
        _Touchpoint("ask_about_offers", "consideration", ("chatbot", "call center", "store"), _DAY, 4.0),
        _Touchpoint("subscribe", "purchase", ("web", "app", "store", "call center"), 2 * _DAY),
        _Touchpoint("welcome_email", "post-purchase", ("email",), 0),
        _Touchpoint("activate_sim", "post-purchase", ("app", "web", "store"), _DAY),
        _Touchpoint("onboarding_email", "post-purchase", ("email",), 3 * _DAY),
        _Touchpoint("use_app", "post-purchase", ("app",), 8 * _DAY),
        _Touchpoint("receive_bill", "post-purchase", ("email", "app"), 20 * _DAY),
        _Touchpoint("billing_question", "post-purchase", ("chatbot", "call center", "store"), 2 * _DAY, 3.5),
        _Touchpoint("billing_dispute", "post-purchase", ("call center", "store"), _DAY, 2.2),
        _Touchpoint("report_network_issue", "post-purchase", ("app", "call center"), 10 * _DAY, 3.0),
        _Touchpoint("price_increase_notice", "post-purchase", ("email", "sms"), 30 * _DAY),
        _Touchpoint("nps_survey", "post-purchase", ("email",), 3 * _DAY),
        _Touchpoint("loyalty_offer", "loyalty", ("email", "app", "sms"), 20 * _DAY),
        _Touchpoint("upgrade_plan", "loyalty", ("app", "web", "store", "call center"), 2 * _DAY),
        _Touchpoint("refer_a_friend", "loyalty", ("app", "social"), 10 * _DAY),
        _Touchpoint("cancel_subscription", "post-purchase", ("call center", "store", "web"), 3 * _DAY, 2.8),
        _Touchpoint("port_out_number", "post-purchase", ("sms",), 5 * _DAY),
    ),
    start_weights={"ad_click": 4, "visit_website": 3.5, "visit_store": 2.5},
    flows={
        "ad_click": {"visit_website": 6, "compare_offers": 2, _END: 2},
        "visit_website": {"compare_offers": 4, "check_coverage": 2, "ask_about_offers": 1.5, "subscribe": 1, _END: 1.5},
        "visit_store": {"ask_about_offers": 4, "compare_offers": 2, "subscribe": 3, _END: 1},
        "compare_offers": {
            "compare_offers": 1.5,
            "check_coverage": 1.5,
            "ask_about_offers": 1.5,
            "subscribe": 4,
            _END: 1.5,
        },
        "check_coverage": {"compare_offers": 3, "subscribe": 5, _END: 2},
        "ask_about_offers": {"subscribe": 5.5, "compare_offers": 2.5, _END: 2},
        "subscribe": {"welcome_email": 1},
        "welcome_email": {"activate_sim": 8.5, "onboarding_email": 1.5},
        "activate_sim": {"onboarding_email": 7, "use_app": 3},
        "onboarding_email": {"onboarding_email": 1.5, "use_app": 4.5, "receive_bill": 4},
        "use_app": {
            "use_app": 3.5,
            "receive_bill": 2,
            "report_network_issue": 0.5,
            "loyalty_offer": 0.5,
            "upgrade_plan": 0.4,
            "billing_question": 0.5,
            "nps_survey": 0.4,
            "refer_a_friend": 0.3,
            _END: 0.4,
        },
        "receive_bill": {
            "use_app": 3,
            "billing_question": 2,
            "receive_bill": 2,
            "price_increase_notice": 0.8,
            "nps_survey": 0.7,
            "loyalty_offer": 1,
            _END: 0.3,
        },
        "billing_question": {
            "billing_question": 1,
            "billing_dispute": 1.5,
            "receive_bill": 3.5,
            "use_app": 3,
            "nps_survey": 1,
        },
        "billing_dispute": {"receive_bill": 5, "billing_question": 1.5, "use_app": 3.5},
        "report_network_issue": {"use_app": 5, "report_network_issue": 1.5, "receive_bill": 2, "billing_question": 1.5},
        "price_increase_notice": {"receive_bill": 4, "loyalty_offer": 2, "billing_question": 2, "use_app": 2},
        "nps_survey": {"use_app": 4, "receive_bill": 4, "refer_a_friend": 1, _END: 1},
        "loyalty_offer": {"upgrade_plan": 3.5, "use_app": 3, "receive_bill": 3, _END: 0.5},
        "upgrade_plan": {"use_app": 5, "receive_bill": 4, "nps_survey": 1},
        "refer_a_friend": {"use_app": 6, "receive_bill": 4},
    },
    personas=(
        _Persona(
            "digital self-servers",
            0.30,
            {"app": 20, "web": 0.5, "chatbot": 0.3, "call center": 0.1, "store": 0.1, "social": 0.1},
            {
                "use_app": 4,
                "refer_a_friend": 4,
                "upgrade_plan": 2,
                "check_coverage": 4,
                "visit_store": 0.05,
                "ask_about_offers": 0.2,
                "billing_question": 0.4,
                "billing_dispute": 0.3,
                _END: 0.05,
            },
            pace=0.8,
            age_weights=(20, 35, 25, 12, 6, 2),
            satisfaction_shift=0.3,
            nps_mean=8.5,
            spend_eur=25,
        ),
        _Persona(
            "store loyalists",
            0.20,
            {"store": 20, "call center": 1, "web": 0.3, "app": 0.1, "chatbot": 0.05, "social": 0.2},
            {
                "visit_store": 10,
                "ask_about_offers": 3,
                "upgrade_plan": 2,
                "billing_dispute": 0.3,
                "ad_click": 0.1,
                "visit_website": 0.3,
                "use_app": 0.1,
                "refer_a_friend": 0.2,
                "check_coverage": 0.2,
                _END: 0.05,
            },
            pace=1.3,
            age_weights=(2, 8, 15, 25, 25, 25),
            satisfaction_shift=0.4,
            nps_mean=8.0,
            spend_eur=30,
        ),
        _Persona(
            "chatbot-to-call-center escalators",
            0.20,
            {"chatbot": 20, "call center": 8, "web": 0.3, "app": 0.3, "store": 0.2, "social": 0.1},
            {
                "billing_question": 10,
                "billing_dispute": 3,
                "report_network_issue": 6,
                "ask_about_offers": 8,
                "use_app": 0.5,
                "refer_a_friend": 0.2,
                _END: 0.05,
            },
            pace=1.0,
            age_weights=(8, 22, 28, 22, 14, 6),
            satisfaction_shift=-0.8,
            nps_mean=4.0,
            spend_eur=20,
        ),
        _Persona(
            "price-sensitive switchers",
            0.20,
            {"web": 8, "social": 5, "app": 0.3, "chatbot": 0.3, "call center": 0.3, "store": 0.3},
            {
                "compare_offers": 8,
                "ad_click": 5,
                "check_coverage": 3,
                "loyalty_offer": 4,
                "price_increase_notice": 8,
                "upgrade_plan": 0.2,
                "use_app": 0.4,
                "refer_a_friend": 0.2,
                _END: 0.05,
            },
            pace=1.0,
            age_weights=(25, 35, 22, 10, 5, 3),
            satisfaction_shift=-0.2,
            nps_mean=5.5,
            spend_eur=12,
        ),
        _Persona(
            "window shoppers",
            0.10,
            {"social": 20, "web": 1, "app": 0.1, "store": 0.3},
            {_END: 5, "ad_click": 6, "subscribe": 0.3, "visit_store": 0.3},
            pace=1.2,
            age_weights=(30, 30, 18, 10, 7, 5),
            satisfaction_shift=0.0,
            nps_mean=6.0,
            spend_eur=15,
        ),
    ),
    switches=(
        _Switch(
            "chatbot-to-call-center escalators", "billing_question", "chatbot", "billing_question", "call center", 0.6
        ),
        _Switch("store loyalists", "receive_bill", "email", "billing_question", "store", 0.35),
        _Switch("digital self-servers", "onboarding_email", "email", "use_app", "app", 0.5),
    ),
    churn_points=(
        _ChurnPoint("billing_dispute", "cancel_subscription", 0.35),
        _ChurnPoint("price_increase_notice", "port_out_number", 0.30),
        _ChurnPoint("report_network_issue", "port_out_number", 0.15),
    ),
    churn_activities=("cancel_subscription", "port_out_number"),
    base_churn_activity="cancel_subscription",
    base_churn_rate=0.01,
    value_columns=_telecom_values,
)

_SHOP = _Scenario(
    name="shop",
    id_prefix="SHOP-",
    touchpoints=(
        _Touchpoint("ad_click", "discovery", ("social", "web"), 3 * _DAY),
        _Touchpoint("visit_website", "discovery", ("web", "app"), 4),
        _Touchpoint("visit_store", "discovery", ("store",), 2 * _DAY),
        _Touchpoint("search_products", "discovery", ("web", "app"), 3),
        _Touchpoint("view_product", "consideration", ("web", "app", "social", "store"), 4),
        _Touchpoint("read_reviews", "consideration", ("web", "app"), 5),
        _Touchpoint("check_store_stock", "consideration", ("web", "app"), 3),
        _Touchpoint("ask_product_question", "consideration", ("chatbot", "call center", "store"), 30, 3.8),
        _Touchpoint("add_to_cart", "consideration", ("web", "app"), 4),
        _Touchpoint("apply_promo_code", "consideration", ("web", "app"), 2),
        _Touchpoint("cart_reminder_email", "consideration", ("email",), _DAY),
        _Touchpoint("checkout", "purchase", ("web", "app"), 15),
        _Touchpoint("buy_in_store", "purchase", ("store",), 40, 4.3),
        # Order, parcel and delay messages also come as app notifications: an app regular's journey stays in the app.
        _Touchpoint("order_confirmation", "post-purchase", ("email", "app"), 0),
        _Touchpoint("pickup_ready", "post-purchase", ("sms",), _DAY),
        _Touchpoint("click_and_collect_pickup", "post-purchase", ("store",), _DAY, 4.0),
        _Touchpoint("parcel_shipped", "post-purchase", ("email", "app"), _DAY),
        _Touchpoint("track_order", "post-purchase", ("web", "app", "chatbot", "call center"), _DAY),
        _Touchpoint("parcel_delivered", "post-purchase", ("sms",), 2 * _DAY),
        _Touchpoint("delivery_delayed", "post-purchase", ("email", "sms", "app"), 2 * _DAY),
        _Touchpoint("support_chat", "post-purchase", ("chatbot",), _DAY, 3.2),
        _Touchpoint("support_call", "post-purchase", ("call center",), 60, 3.6),
        _Touchpoint("return_item", "post-purchase", ("store", "web"), 3 * _DAY),
        _Touchpoint("refund_issued", "post-purchase", ("email",), 4 * _DAY),
        _Touchpoint("refund_dispute", "post-purchase", ("call center", "chatbot"), 5 * _DAY, 2.0),
        _Touchpoint("nps_survey", "post-purchase", ("email",), 3 * _DAY),
        _Touchpoint("write_review", "loyalty", ("web", "app"), 4 * _DAY, 4.0, rated_share=1.0),
        _Touchpoint("newsletter_open", "loyalty", ("email",), 14 * _DAY),
        _Touchpoint("join_loyalty_program", "loyalty", ("app", "store"), 7 * _DAY),
        _Touchpoint("repeat_purchase", "loyalty", ("web", "app", "store"), 30 * _DAY),
        _Touchpoint("unsubscribe", "post-purchase", ("email",), _DAY),
        _Touchpoint("close_account", "post-purchase", ("web", "app"), 2 * _DAY),
    ),
    start_weights={"ad_click": 3.5, "visit_website": 4, "visit_store": 2.5},
    # Few leave before buying unless their persona is prone to it: bargain hunters abandon carts, the others mostly buy.
    flows={
        "ad_click": {"visit_website": 5, "view_product": 3, _END: 0.5},
        "visit_website": {"search_products": 3.5, "view_product": 3.5, "ask_product_question": 0.3, _END: 0.75},
        "visit_store": {"buy_in_store": 5.5, "visit_website": 1, _END: 0.875},
        "search_products": {"view_product": 7.5, "search_products": 1, "ask_product_question": 0.3, _END: 0.375},
        "view_product": {
            "view_product": 2.5,
            "read_reviews": 1.5,
            "add_to_cart": 3,
            "check_store_stock": 0.7,
            "ask_product_question": 0.5,
            "ad_click": 0.3,  # a retargeting ad brings the customer back days later
            _END: 0.45,
        },
        "read_reviews": {"view_product": 3, "add_to_cart": 4.5, _END: 0.625},
        "check_store_stock": {"add_to_cart": 4, "visit_store": 3, _END: 0.75},
        "ask_product_question": {"ask_product_question": 1, "view_product": 4, "add_to_cart": 3.5, _END: 0.625},
        "add_to_cart": {
            "checkout": 5.5,
            "apply_promo_code": 0.5,
            "view_product": 2,
            "cart_reminder_email": 1.5,
            _END: 0.25,
        },
        "apply_promo_code": {"checkout": 6, "view_product": 2, "apply_promo_code": 0.5, _END: 0.375},
        "cart_reminder_email": {"checkout": 3.5, "view_product": 2, _END: 1.125},
        "checkout": {"order_confirmation": 1},
        "buy_in_store": {
            "newsletter_open": 3,
            "nps_survey": 2,
            "return_item": 1,
            "join_loyalty_program": 1.5,
            "write_review": 1,
            "support_call": 0.5,
            _END: 1,
        },
        "order_confirmation": {"pickup_ready": 4, "parcel_shipped": 6},
        "pickup_ready": {"click_and_collect_pickup": 9, "support_chat": 0.5, "support_call": 0.5},
        "click_and_collect_pickup": {
            "newsletter_open": 3,
            "nps_survey": 2,
            "return_item": 1,
            "write_review": 1,
            "join_loyalty_program": 1,
            "repeat_purchase": 1,
            _END: 1,
        },
        "parcel_shipped": {"parcel_delivered": 5.5, "track_order": 3, "delivery_delayed": 1.5},
        "track_order": {"parcel_delivered": 5, "delivery_delayed": 1.5, "support_chat": 2, "track_order": 1.5},
        "parcel_delivered": {
            "newsletter_open": 3,
            "nps_survey": 1.5,
            "return_item": 1,
            "write_review": 1.5,
            "repeat_purchase": 1.5,
            "support_chat": 0.5,
            _END: 1,
        },
        "delivery_delayed": {"track_order": 3, "support_chat": 3, "support_call": 2, "parcel_delivered": 2},
        "support_chat": {
            "support_call": 2.5,
            "return_item": 2,
            "refund_issued": 1.5,
            "parcel_delivered": 2,
            "newsletter_open": 2,
        },
        "support_call": {
            "refund_issued": 3,
            "return_item": 2,
            "refund_dispute": 2,
            "parcel_delivered": 1.5,
            "newsletter_open": 2,
        },
        "return_item": {"refund_issued": 7, "refund_dispute": 2, "support_chat": 1.5},
        "refund_issued": {"newsletter_open": 4, "repeat_purchase": 2, "nps_survey": 2, _END: 2},
        "refund_dispute": {"support_call": 4, "refund_issued": 4, "newsletter_open": 2},
        "nps_survey": {"newsletter_open": 5, "repeat_purchase": 3, "write_review": 2},
        "newsletter_open": {"newsletter_open": 1, "repeat_purchase": 3.5, "join_loyalty_program": 1, _END: 2.5},
        "repeat_purchase": {"order_confirmation": 5, "newsletter_open": 2.5, "write_review": 1, _END: 1.5},
        "write_review": {"newsletter_open": 5, "repeat_purchase": 3, _END: 2},
        "join_loyalty_program": {"repeat_purchase": 5, "newsletter_open": 4, _END: 1},
    },
    personas=(
        _Persona(
            "app regulars",
            0.25,
            {"app": 20, "web": 0.3, "chatbot": 0.3, "call center": 0.1, "store": 0.1, "social": 0.1},
            {
                "repeat_purchase": 4,
                "write_review": 3,
                "join_loyalty_program": 3,
                "track_order": 3,
                "parcel_shipped": 2,
                "newsletter_open": 0.5,
                "pickup_ready": 0.3,
                "delivery_delayed": 0.2,
                "ad_click": 0.1,
                "visit_store": 0.05,
                _END: 0.15,
            },
            pace=0.8,
            age_weights=(22, 35, 25, 10, 6, 2),
            satisfaction_shift=0.3,
            nps_mean=8.5,
            spend_eur=45,
        ),
        _Persona(
            "click-and-collect shoppers",
            0.25,
            {"web": 15, "store": 12, "app": 0.3, "chatbot": 0.3, "call center": 0.3, "social": 0.1},
            {
                "pickup_ready": 10,
                "check_store_stock": 10,
                "search_products": 4,
                "checkout": 1.5,
                "newsletter_open": 0.3,
                "visit_store": 0.2,
                "parcel_shipped": 0.1,
                "ad_click": 0.1,
                _END: 0.15,
            },
            pace=1.3,
            age_weights=(8, 25, 30, 20, 12, 5),
            satisfaction_shift=0.1,
            nps_mean=7.5,
            spend_eur=60,
        ),
        _Persona(
            "store-first shoppers",
            0.15,
            {"store": 20, "web": 1, "app": 0.1, "call center": 1.5, "chatbot": 0.1, "social": 0.1},
            {
                "visit_store": 10,
                "buy_in_store": 6,
                "check_store_stock": 3,
                "join_loyalty_program": 3,
                "nps_survey": 2,
                "order_confirmation": 0.2,
                "ad_click": 0.1,
                _END: 0.4,
            },
            pace=1.2,
            age_weights=(3, 10, 17, 25, 25, 20),
            satisfaction_shift=0.4,
            nps_mean=8.0,
            spend_eur=80,
        ),
        _Persona(
            "support-dependent returners",
            0.15,
            {"chatbot": 25, "call center": 10, "web": 0.5, "app": 0.5, "store": 0.3, "social": 0.1},
            {
                "ask_product_question": 20,
                "support_chat": 15,
                "return_item": 8,
                "track_order": 8,
                "support_call": 6,
                "refund_dispute": 3,
                "delivery_delayed": 2,
                "checkout": 1.5,
                "repeat_purchase": 0.5,
                "newsletter_open": 0.3,
                "ad_click": 0.2,
                "visit_store": 0.2,
                _END: 0.15,
            },
            pace=1.3,
            age_weights=(10, 22, 26, 22, 14, 6),
            satisfaction_shift=-0.8,
            nps_mean=4.0,
            spend_eur=70,
        ),
        _Persona(
            "bargain hunters",
            0.20,
            {"social": 20, "web": 3, "app": 0.3, "chatbot": 0.2, "call center": 0.1, "store": 0.1},
            {
                "apply_promo_code": 10,
                "ad_click": 8,
                "cart_reminder_email": 8,
                "add_to_cart": 4,
                "parcel_shipped": 3,
                "newsletter_open": 2.5,
                "view_product": 2,
                "read_reviews": 2,
                "delivery_delayed": 2,
                "repeat_purchase": 0.4,
                "checkout": 0.3,
                "check_store_stock": 0.3,
                "visit_website": 0.2,
                "pickup_ready": 0.2,
                "visit_store": 0.1,
                _END: 2,
            },
            pace=1.0,
            age_weights=(28, 32, 20, 10, 6, 4),
            satisfaction_shift=-0.2,
            nps_mean=6.0,
            spend_eur=25,
        ),
    ),
    switches=(
        _Switch("support-dependent returners", "support_chat", "chatbot", "support_call", "call center", 0.55),
        _Switch("store-first shoppers", "newsletter_open", "email", "repeat_purchase", "store", 0.45),
        _Switch("app regulars", "newsletter_open", "email", "repeat_purchase", "app", 0.4),
    ),
    churn_points=(
        _ChurnPoint("delivery_delayed", "unsubscribe", 0.30),
        _ChurnPoint("refund_dispute", "close_account", 0.40),
    ),
    # Most frequent first, as discovery lists the churn activities it recognises.
    churn_activities=("close_account", "unsubscribe"),
    base_churn_activity="unsubscribe",
    base_churn_rate=0.002,
    value_columns=_shop_values,
)

_SCENARIOS = {scenario.name: scenario for scenario in (_TELECOM, _SHOP)}

# The designed journey of each scenario: (stage, target days to reach it, touchpoints as (name, required, channel)).
_DESIGNED = {
    "telecom": (
        ("discovery", None, (("visit_website", True, "web"),)),
        ("consideration", 7.0, (("compare_offers", True, None), ("check_coverage", False, None))),
        ("purchase", 14.0, (("subscribe", True, "web"),)),
        (
            "post-purchase",
            21.0,
            (("welcome_email", True, "email"), ("activate_sim", True, None), ("onboarding_email", False, "email")),
        ),
    ),
    "shop": (
        ("discovery", None, (("visit_website", True, "web"), ("search_products", False, None))),
        ("consideration", 2.0, (("view_product", True, None), ("add_to_cart", True, None))),
        ("purchase", 3.0, (("checkout", True, "web"),)),
        (
            "post-purchase",
            10.0,
            (("order_confirmation", True, "email"), ("parcel_shipped", False, None), ("parcel_delivered", False, None)),
        ),
    ),
}
# The planted deviation: this designed step, of every DEVIATION_EVERY-th customer, done on DEVIATION_CHANNEL.
_DEVIATING_STEP = {"telecom": "subscribe", "shop": "checkout"}
DEVIATION_EVERY = 10
DEVIATION_CHANNEL = "call center"
SCENARIOS = tuple(_SCENARIOS)


if __name__ == "__main__":
    sys.exit(main())
