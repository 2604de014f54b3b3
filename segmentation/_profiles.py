"""Persona profiles: who is in each persona, how they behave, how their journeys end, what sets them apart, a name.

Every count is of customers (or of events for channel mixes), aggregated in DuckDB over the journeys that both
`filters` keeps and the labels name. Conversion and churn follow the journey definition (`discovery.OUTCOMES`,
rates as `discovery.Outcomes` defines them: churn over the decided journeys, not given while more than half are
still open). Attributes are summed up as their role in the definition says (`discovery.AttributeRole`): categories
by their most common values, amounts as a total and per customer, NPS as promoters minus detractors, CSAT as the
share satisfied, plain numbers as a mean; identifiers and dates never.

Lift compares a persona with everyone else: the share of the persona's customers who did something over the same
share among the other customers, each share counted with half a customer added to those who did it and half to
those who did not ((did + ½) / (customers + 1)). A step nobody else takes then has a large, finite lift instead of
an infinite one, and a step of two customers cannot top the table by chance. Nothing in a profile is infinite or
NaN: a figure that cannot be given is missing (None in JSON, empty in CSV) and said in words where it is shown.
"""

from __future__ import annotations

import dataclasses
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.engine import Engine
from data.errors import EmptyLog, LogError, Problem
from data.filters import Filters
from discovery import OUTCOMES, JourneyDefinition, Outcomes, outcome_relation
from segmentation._features import NUMERIC_ROLES, _is_numeric

__all__ = ["PersonaProfiles", "attribute_segments", "persona_profiles", "readable_label"]

EVERY_CUSTOMER = Filters()
SIGNATURE_LIMIT = 5
# A signature activity or path is done by at least this share of the persona's customers, and this many times as
# often as by the others: on the receipt log a persona was named after a touchpoint 93 % of it and 89 % of the others
# did (lift 1.04), which sets nobody apart.
MIN_SIGNATURE_SHARE = 0.1
MIN_SIGNATURE_LIFT = 1.2
# A channel names a persona when at least this share of its events use it and it is more used than elsewhere.
MIN_CHANNEL_SHARE = 0.1
# A second channel joins the name when its lift is at least this, and at least half the first channel's.
MIN_SECOND_CHANNEL_LIFT = 2.0
DOMINANT_CHANNELS = 3
# A persona's most frequent journey is its typical journey only when at least this share of it, and at least
# MIN_TYPICAL_CUSTOMERS customers, follow it; otherwise its most common paths describe it.
TYPICAL_JOURNEY_SHARE = 0.1
MIN_TYPICAL_CUSTOMERS = 2
COMMON_PATHS = 3
# Each category attribute shows this many of a persona's most common values.
TOP_VALUES = 3
# Labels longer than this are cut at a word in names.
NAME_PART_CHARACTERS = 32
MULTICHANNEL = "Multichannel"
_SMOOTHING = 0.5
_OUTCOMES_SQL = """
WITH {outcomes}
SELECT l.persona, o.outcome, count(*) AS journeys FROM outcomes o JOIN labelled l USING (case_code) GROUP BY ALL
"""
# Each labelled customer's most frequent value of a category (most events, then the smallest value), counted per
# persona. Most customers keep one value (an age band, a region), read off its bounds in one pass; only those with
# several values have their values counted, which is the expensive part.
_MODAL_VALUES_SQL = """
WITH bounds AS MATERIALIZED (
    SELECT case_code, min({column})::VARCHAR AS low, max({column})::VARCHAR AS high
    FROM steps WHERE {column} IS NOT NULL GROUP BY case_code
), counted AS (
    SELECT s.case_code, s.{column}::VARCHAR AS value, count(*) AS events
    FROM steps s WHERE s.case_code IN (SELECT case_code FROM bounds WHERE low <> high) AND s.{column} IS NOT NULL
    GROUP BY ALL
), modal AS (
    SELECT case_code, arg_min(value, {{'events': -events, 'value': value}}) AS value FROM counted GROUP BY case_code
    UNION ALL
    SELECT case_code, low FROM bounds WHERE low = high
)
SELECT l.persona, m.value, count(*) AS customers
FROM modal m JOIN labelled l USING (case_code) GROUP BY ALL
ORDER BY l.persona, customers DESC, m.value
"""
_NO_DEFINITION = JourneyDefinition()


@dataclass(frozen=True, eq=False)
class PersonaProfiles:
    """One row per persona in `table` (indexed by the persona's label) and long tables of what sets each apart.

    `table`: name, customers, share; converted, converted_then_churned, churned and censored (journeys of each
    outcome), conversion_rate (missing without a goal) and churn_rate (missing while more than half the persona's
    journeys are censored) as `discovery.Outcomes` defines them; median_duration_seconds, median_events,
    dominant_channels; typical_journey (activities; empty when no journey is followed by TYPICAL_JOURNEY_SHARE of
    the persona), typical_journey_customers and typical_journey_share (of the persona's customers).
    `channels`: persona, channel, events, share, lift, mean_position.
    `signature_activities`: persona, activity, customers, share, others_share, lift.
    `signature_paths` and `common_paths` (the paths done by most of the persona, whatever the others do): persona,
    source, target, customers, share, others_share, lift.
    `attributes`: persona, attribute, role, figure, value, values — per numeric attribute the figures its role
    gives (total, per customer, NPS …) over `values` answers; per category its TOP_VALUES most common values, as
    the share of the persona's `values` customers with a value whose most frequent value it is.
    """

    table: pd.DataFrame
    channels: pd.DataFrame
    signature_activities: pd.DataFrame
    signature_paths: pd.DataFrame
    common_paths: pd.DataFrame
    attributes: pd.DataFrame

    @property
    def names(self) -> dict:
        """Persona label → readable name."""
        return dict(self.table["name"])

    def outcomes(self, persona: object) -> Outcomes:
        """The persona's journeys by outcome, with the rates the dashboard shows."""
        row = self.table.loc[persona]
        counts = {name: int(row[name]) for name in OUTCOMES}
        return Outcomes(journeys=int(row["customers"]), **counts, has_goal=bool(row["has_goal"]))

    def rename(self, persona: object, name: str) -> PersonaProfiles:
        """Return the same profiles with `persona` called `name` (names stay unique)."""
        name = str(name).strip()
        problems = []
        if persona not in self.table.index:
            known = ", ".join(map(str, self.table.index))
            problems.append(Problem("There is no such persona.", fix=f"Pick one of {known}.", value=str(persona)))
        if not name:
            problems.append(Problem("A persona needs a name.", fix="Type a name."))
        elif (self.table["name"].eq(name) & (self.table.index != persona)).any():
            problems.append(Problem("Another persona already has this name.", fix="Choose another name.", value=name))
        if problems:
            raise LogError(problems)
        table = self.table.copy()
        table.loc[persona, "name"] = name
        return dataclasses.replace(self, table=table)

    def to_dict(self) -> dict:
        """Plain JSON-ready data (a missing figure becomes None)."""
        return {
            "personas": records(self.table.reset_index()),
            "channels": records(self.channels),
            "signature_activities": records(self.signature_activities),
            "signature_paths": records(self.signature_paths),
            "common_paths": records(self.common_paths),
            "attributes": records(self.attributes),
        }


def persona_profiles(
    engine: Engine,
    case_ids: Sequence[str],
    labels: Sequence,
    *,
    definition: JourneyDefinition | None = None,
    filters: Filters = EVERY_CUSTOMER,
) -> PersonaProfiles:
    """Profile the personas given as one label per case id (missing labels leave the customer out).

    `definition`: the journey definition whose goal and churn rule give each persona's conversion and churn, and
    whose attribute roles say how each attribute is summed up (None: no goal, no churn rule, roles by type).

    >>> profiles = persona_profiles(engine, features.case_ids, model.labels_, definition=definition)  # doctest: +SKIP
    >>> profiles.table[["name", "customers", "conversion_rate"]]  # doctest: +SKIP
    """
    if not isinstance(engine, Engine):
        raise TypeError(f"persona_profiles needs an Engine, not {type(engine).__name__}")
    if not isinstance(filters, Filters):
        raise TypeError(f"filters must be a Filters value, not {type(filters).__name__}")
    if definition is not None and not isinstance(definition, JourneyDefinition):
        raise TypeError(f"definition must be a JourneyDefinition, not {type(definition).__name__}")
    case_ids, labels = list(map(str, case_ids)), list(labels)
    if len(case_ids) != len(labels):
        raise ValueError(f"{len(case_ids)} case ids but {len(labels)} labels: give one label per case id")
    frame = pd.DataFrame({"case_id": pd.array(case_ids, dtype="str"), "label": labels})
    repeated = frame["case_id"][frame["case_id"].duplicated()].unique()
    if len(repeated):
        raise LogError(
            [Problem("This customer has two labels.", fix="Give one label per customer.", value=c) for c in repeated]
        )
    frame = frame[frame["label"].notna()]
    codes, personas = pd.factorize(frame["label"], sort=True)
    labelled = _Labelled.of(engine, filters, pd.Index(frame["case_id"]), codes)
    if labelled.frame.empty:
        raise EmptyLog(Problem("None of these customers is in the selected journeys.", fix="Check the filters."))
    return _persona_profiles(engine, labelled, pd.Index(personas, name="persona"), definition or _NO_DEFINITION)


def attribute_segments(engine: Engine, column: str, filters: Filters = EVERY_CUSTOMER) -> pd.Series:
    """Return each customer's most frequent value of attribute `column` (ties: the smallest), as labels.

    Customers who never carry a value are left out. The result feeds `persona_profiles` so that macro-segments
    from known attributes ("young" vs "family") are profiled and compared like personas.

    >>> segments = attribute_segments(engine, "age_band")  # doctest: +SKIP
    >>> persona_profiles(engine, segments.index, segments.to_numpy())  # doctest: +SKIP
    """
    if not isinstance(engine, Engine):
        raise TypeError(f"attribute_segments needs an Engine, not {type(engine).__name__}")
    stored = engine.attribute_column(column)
    # A customer's most frequent value is the journey's own, whatever the filters: found once per engine.
    every = engine.per_journey(
        f"""
        WITH counted AS (
            SELECT case_code, {stored}::VARCHAR AS value, count(*) AS events FROM steps
            WHERE {stored} IS NOT NULL GROUP BY ALL
        )
        SELECT case_code, value FROM counted
        QUALIFY row_number() OVER (PARTITION BY case_code ORDER BY events DESC, value) = 1
        """
    )
    modal = engine.query(
        f"SELECT j.case_id, m.value FROM {every} m JOIN journeys j USING (case_code) ORDER BY m.case_code",
        filters=filters,
    )
    # The column's own array: through NumPy, 500,000 labels became Python objects and then Arrow strings again.
    return pd.Series(modal["value"].array, index=pd.Index(modal["case_id"], name="case_id"), name=column)


def readable_label(label: object) -> str:
    """A log's label as a person would write it in a name: underscores and runs of spaces or repeated punctuation
    become one, invisible characters go, accents and emoji stay, and a long label is cut at a word ("…")."""
    text = re.sub(r"[_\s]+", " ", unicodedata.normalize("NFC", str(label)))
    # Control and format characters go, except the joiner that glues emoji sequences together.
    text = "".join(c for c in text if c == "\u200d" or not unicodedata.category(c).startswith("C"))
    text = re.sub(r"([^\w\s])\1+", r"\1", text)
    text = text.strip(" -–—.,;:/|\\*~")
    if len(text) > NAME_PART_CHARACTERS:
        cut = text[: NAME_PART_CHARACTERS + 1].rsplit(" ", 1)[0].rstrip(" -–—.,;:/|")
        text = (cut or text[:NAME_PART_CHARACTERS]) + "…"
    return text or str(label).strip() or "(blank)"


@dataclass(frozen=True, eq=False)
class _Labelled:
    """The labelled customers among the selected journeys, as a `labelled` (case_code, persona) table that every
    profile query joins (handed to DuckDB as a frame: binding a million labels as a list is far slower)."""

    engine: Engine
    filters: Filters
    frame: pd.DataFrame

    @classmethod
    def of(cls, engine: Engine, filters: Filters, case_ids: pd.Index, codes: np.ndarray) -> _Labelled:
        selected = engine.query("SELECT case_code, case_id FROM journeys ORDER BY case_code", filters=filters)
        position = case_ids.get_indexer(selected["case_id"])
        kept = position >= 0
        frame = pd.DataFrame(
            {"case_code": selected["case_code"].to_numpy()[kept], "persona": codes[position[kept]].astype(np.int64)}
        )
        return cls(engine, filters, frame)

    def query(self, sql: str, params: Sequence = ()) -> pd.DataFrame:
        return self.engine.query(sql, params, self.filters, tables={"labelled": self.frame})


def _persona_profiles(
    engine: Engine, labelled: _Labelled, personas: pd.Index, definition: JourneyDefinition
) -> PersonaProfiles:
    sizes = labelled.query(
        """
        SELECT l.persona, count(*) AS customers, median(j.duration_seconds) AS median_duration_seconds,
               median(j.events)::DOUBLE AS median_events
        FROM labelled l JOIN journeys j USING (case_code) GROUP BY l.persona ORDER BY l.persona
        """
    ).set_index("persona")
    customers = sizes["customers"]
    channels = _channel_mix(labelled)
    activities, _ = _lifted(labelled, customers, "journey_activities", ["activity"])
    paths, common_paths = _lifted(labelled, customers, "journey_pairs", ["source", "target"])
    table = pd.DataFrame(
        {
            "customers": customers,
            "share": customers / customers.sum(),
            **_outcome_columns(labelled, definition, customers.index),
            "median_duration_seconds": sizes["median_duration_seconds"],
            "median_events": sizes["median_events"],
            "dominant_channels": _dominant_channels(channels, customers.index),
            **_typical_journeys(engine, labelled, customers),
        }
    )
    table.insert(0, "name", _names(channels, activities, sizes))
    relabel = dict(enumerate(personas))

    def relabelled(long: pd.DataFrame) -> pd.DataFrame:
        return long.assign(persona=long["persona"].map(relabel))

    return PersonaProfiles(
        table=table.rename(index=relabel).rename_axis("persona"),
        channels=relabelled(channels),
        signature_activities=relabelled(activities),
        signature_paths=relabelled(paths),
        common_paths=relabelled(common_paths),
        attributes=relabelled(_attribute_profile(engine, labelled, definition, customers)),
    )


def _outcome_columns(labelled: _Labelled, definition: JourneyDefinition, personas: pd.Index) -> dict[str, pd.Series]:
    """Each persona's journeys by outcome (discovery's own outcome relation, counted in DuckDB), and its conversion
    and churn rates as `Outcomes` gives them."""
    ctes, params = outcome_relation(labelled.engine, definition)
    counted = (
        labelled.query(_OUTCOMES_SQL.format(outcomes=ctes), params)
        .pivot(index="persona", columns="outcome", values="journeys")
        .reindex(index=personas, columns=list(OUTCOMES))
        .fillna(0)
        .astype(np.int64)
    )
    has_goal = bool(definition.goal)
    rates = [Outcomes(int(row.sum()), *map(int, row), has_goal=has_goal) for row in counted.to_numpy()]
    return {
        **{name: counted[name] for name in OUTCOMES},
        "has_goal": pd.Series(has_goal, index=personas),
        "conversion_rate": _missing_when_nan([rate.conversion_rate for rate in rates], personas),
        "churn_rate": _missing_when_nan([rate.churn_rate for rate in rates], personas),
    }


def _missing_when_nan(values: list[float], index: pd.Index) -> pd.Series:
    """Rates as a nullable column: a rate that cannot be given is missing (pd.NA), never NaN."""
    return pd.Series(pd.array([None if math.isnan(value) else value for value in values], dtype="Float64"), index)


def _channel_mix(labelled: _Labelled) -> pd.DataFrame:
    """Each persona's channels by share of its events, with lift against everyone else and mean position."""
    mix = labelled.query(
        """
        WITH totals AS (
            SELECT l.persona, sum(j.events)::BIGINT AS total FROM labelled l JOIN journeys j USING (case_code)
            GROUP BY l.persona
        ), used AS (
            SELECT l.persona, s.channel::VARCHAR AS channel, count(*)::BIGINT AS events, avg(s.pos) AS mean_position
            FROM steps s JOIN labelled l USING (case_code) WHERE s.channel IS NOT NULL GROUP BY ALL
        )
        SELECT u.*, t.total FROM used u JOIN totals t USING (persona) ORDER BY u.persona, u.channel
        """
    )
    all_events = mix.groupby("persona")["total"].first().sum()
    channel_events = mix.groupby("channel")["events"].transform("sum")
    mix = mix.assign(
        share=mix["events"] / mix["total"],
        lift=_smoothed_lift(mix["events"], mix["total"], channel_events - mix["events"], all_events - mix["total"]),
    )
    return (
        mix.drop(columns="total")
        .sort_values(["persona", "share", "channel"], ascending=[True, False, True], kind="stable")
        .reset_index(drop=True)[["persona", "channel", "events", "share", "lift", "mean_position"]]
    )


def _dominant_channels(channels: pd.DataFrame, personas: pd.Index) -> pd.Series:
    top = channels.groupby("persona")["channel"].agg(lambda column: tuple(column[:DOMINANT_CHANNELS]))
    return pd.Series([top.get(persona, ()) for persona in personas], index=personas, dtype=object)


def _lifted(
    labelled: _Labelled, customers: pd.Series, relation: str, keys: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The activities (or pairs) the persona's customers do far more than the others (signatures, most lifted
    first), and those most of them do (most common first)."""
    selected = ", ".join(f"r.{key}::VARCHAR AS {key}" for key in keys)
    counted = labelled.query(
        f"""
        SELECT l.persona, {selected}, count(*) AS customers
        FROM {relation} r JOIN labelled l USING (case_code) GROUP BY ALL ORDER BY ALL
        """
    )
    everyone = counted.groupby(keys)["customers"].transform("sum")
    size = counted["persona"].map(customers)
    others = customers.sum() - size
    counted["share"] = counted["customers"] / size
    counted["others_share"] = ((everyone - counted["customers"]) / others.where(others > 0)).fillna(0.0)
    counted["lift"] = _smoothed_lift(counted["customers"], size, everyone - counted["customers"], others)
    signature = (
        counted[(counted["share"] >= MIN_SIGNATURE_SHARE) & (counted["lift"] >= MIN_SIGNATURE_LIFT)]
        .sort_values(
            ["persona", "lift", "customers", *keys], ascending=[True, False, False, *[True] * len(keys)], kind="stable"
        )
        .groupby("persona")
        .head(SIGNATURE_LIMIT)
        .reset_index(drop=True)
    )
    common = (
        counted.sort_values(["persona", "customers", *keys], ascending=[True, False, *[True] * len(keys)])
        .groupby("persona")
        .head(COMMON_PATHS)
        .reset_index(drop=True)
    )
    return signature, common


def _typical_journeys(engine: Engine, labelled: _Labelled, customers: pd.Series) -> dict[str, pd.Series]:
    """Each persona's most frequent journey (ties: the smallest variant id) when enough of it follows it."""
    top = labelled.query(
        """
        SELECT l.persona, j.variant_id, count(*) AS customers FROM labelled l JOIN journeys j USING (case_code)
        GROUP BY l.persona, j.variant_id
        QUALIFY row_number() OVER (PARTITION BY l.persona ORDER BY count(*) DESC, j.variant_id) = 1
        ORDER BY l.persona
        """
    ).set_index("persona")
    followed = top["customers"].reindex(customers.index, fill_value=0)
    share = followed / customers
    typical = (share >= TYPICAL_JOURNEY_SHARE) & (followed >= MIN_TYPICAL_CUSTOMERS)
    variant_ids = top["variant_id"][typical[top.index]]
    sequences = engine.variants(Filters(variant_ids=frozenset(variant_ids))).set_index("variant_id")["activities"]
    return {
        "typical_journey": pd.Series(
            [tuple(sequences[variant_ids[p]]) if typical[p] else () for p in customers.index],
            index=customers.index,
            dtype=object,
        ),
        "typical_journey_customers": followed.where(typical, 0).astype(np.int64),
        "typical_journey_share": share.where(typical, 0.0),
    }


def _attribute_profile(
    engine: Engine, labelled: _Labelled, definition: JourneyDefinition, customers: pd.Series
) -> pd.DataFrame:
    """persona, attribute, role, figure, value, values for every attribute its role lets describe a persona."""
    columns = engine.attribute_columns
    roles = {name: definition.role_of(name, stored_as) for name, stored_as in columns.items()}
    numeric = {n: r for n, r in roles.items() if r.role in NUMERIC_ROLES and _is_numeric(columns[n])}
    categories = [n for n, r in roles.items() if r.role == "category"]
    rows = [*_numeric_figures(engine, labelled, numeric, customers), *_top_values(engine, labelled, categories, roles)]
    frame = pd.DataFrame(rows, columns=["persona", "attribute", "role", "figure", "value", "values"])
    return frame.astype({"persona": np.int64, "value": float, "values": np.int64})


def _numeric_figures(engine: Engine, labelled: _Labelled, roles: dict, customers: pd.Series) -> list[tuple]:
    """The figures each numeric attribute's role gives (discovery's own arithmetic), per persona with answers: an
    event's value once per event, a customer's own value (`AttributeRole.per_customer`) once per customer."""
    rows = []
    for per_customer in (False, True):
        chosen = {name: role for name, role in roles.items() if role.per_customer == per_customer}
        if chosen:
            rows += _persona_sums(engine, labelled, chosen, customers, per_customer=per_customer)
    order = {name: position for position, name in enumerate(roles)}
    return sorted(rows, key=lambda row: (row[0], order[row[1]]))


def _persona_sums(
    engine: Engine, labelled: _Labelled, roles: dict, customers: pd.Series, *, per_customer: bool
) -> list[tuple]:
    columns = [engine.attribute_column(name) for name in roles]
    sums = [
        role.sums_sql(f"s.{column}", index)
        for index, (role, column) in enumerate(zip(roles.values(), columns, strict=True))
    ]
    relation = (
        f"(SELECT case_code, {', '.join(f'min({column}) AS {column}' for column in columns)} FROM steps "
        "GROUP BY case_code)"
        if per_customer
        else "steps"
    )
    summed = labelled.query(
        f"SELECT l.persona, {', '.join(sums)} FROM {relation} s JOIN labelled l USING (case_code) "
        "GROUP BY l.persona ORDER BY l.persona"
    )
    rows = []
    for row in summed.itertuples(index=False):
        for index, (name, role) in enumerate(roles.items()):
            values = int(getattr(row, f"values_{index}"))
            if not values:
                continue
            total, high, low = (getattr(row, f"{part}_{index}") for part in ("total", "high", "low"))
            for figure, value in role.figures(float(total), values, int(high), int(low), int(customers[row.persona])):
                rows.append((row.persona, name, str(role), figure, value, values))
    return rows


def _top_values(engine: Engine, labelled: _Labelled, names: list[str], roles: dict) -> list[tuple]:
    """Each persona's most common values of each category: the share of its customers (with a value) whose most
    frequent value (most events, then the smallest) it is."""
    rows = []
    for name in names:
        column = engine.attribute_column(name)
        counted = labelled.query(_MODAL_VALUES_SQL.format(column=column))
        answered = counted.groupby("persona")["customers"].transform("sum")
        counted = counted.assign(share=counted["customers"] / answered, answered=answered)
        for row in counted.groupby("persona").head(TOP_VALUES).itertuples(index=False):
            rows.append((row.persona, name, str(roles[name]), row.value, row.share, row.answered))
    return rows


# --- names ----------------------------------------------------------------------------------------------------------


def _names(channels: pd.DataFrame, activities: pd.DataFrame, sizes: pd.DataFrame) -> pd.Series:
    """A readable, unique name per persona from its signature channel(s) and touchpoint.

    "App-first · refer a friend": the channel that carries at least MIN_CHANNEL_SHARE of its events with the
    highest lift, then its most lifted signature activity. Two lifted channels read "Chatbot to call center", the
    one used earlier in journeys first. Labels are written as `readable_label` says. Clashing names get their
    second signature activity, then a number. A log that logs no channel names its personas by their touchpoints
    alone: "Multichannel" would claim channels it never saw. A persona without a signature touchpoint is named by
    the length of its journeys ("4-step journeys", the median), which is what sets it apart then, rather than
    "Persona (2)". `sizes` holds each persona's median_events.
    """
    lifted = channels[(channels["share"] >= MIN_CHANNEL_SHARE) & (channels["lift"] > 1)].sort_values(
        ["persona", "lift", "channel"], ascending=[True, False, True], kind="stable"
    )
    channel_part = {persona: _channel_phrase(group) for persona, group in lifted.groupby("persona")}
    no_lift = MULTICHANNEL if len(channels) else None
    touchpoints = activities.groupby("persona")["activity"].agg(lambda names: [readable_label(n) for n in names])
    lengths = sizes["median_events"].map(
        lambda events: f"{events:g}-step journeys" if events != 1 else "one-step journeys"
    )
    personas = sizes.index

    def named(persona: object, signatures: int) -> str:
        labels = touchpoints.get(persona, [])[:signatures] or [lengths[persona]]
        return _joined(channel_part.get(persona, no_lift), labels)

    base = pd.Series([named(persona, 1) for persona in personas], index=personas)
    names = base.where(~base.duplicated(keep=False), pd.Series([named(p, 2) for p in personas], index=personas))
    repeat = names.groupby(names).cumcount()
    return names.where(repeat == 0, names + " (" + (repeat + 1).astype(str) + ")")


def _channel_phrase(lifted: pd.DataFrame) -> str:
    first = lifted.iloc[0]
    second = lifted.iloc[1:2]
    if second.empty or second["lift"].iloc[0] < max(MIN_SECOND_CHANNEL_LIFT, first["lift"] / 2):
        label = readable_label(first["channel"])
        return _capitalised(f"{label}-first" if " " not in label else f"{label} first")
    pair = pd.concat([lifted.iloc[:1], second]).sort_values(["mean_position", "channel"], kind="stable")
    return _capitalised(" to ".join(readable_label(channel) for channel in pair["channel"]))


def _joined(channel_part: str | None, labels: list[str]) -> str:
    joined = " & ".join(labels)
    return _capitalised(joined) if channel_part is None else f"{channel_part} · {joined}"


def _capitalised(text: str) -> str:
    """The first letter upper case, the others as written ("iPad" stays "iPad" inside a name)."""
    return text[:1].upper() + text[1:]


def _smoothed_lift(did: pd.Series, customers: pd.Series, others_did: pd.Series, others: pd.Series) -> pd.Series:
    """The persona's share over the others', each counted with half a customer more on both sides (finite)."""
    persona_share = (did.to_numpy(np.float64) + _SMOOTHING) / (customers.to_numpy(np.float64) + 2 * _SMOOTHING)
    others_share = (others_did.to_numpy(np.float64) + _SMOOTHING) / (others.to_numpy(np.float64) + 2 * _SMOOTHING)
    return pd.Series(persona_share / others_share, index=did.index)


def records(frame: pd.DataFrame) -> list[dict]:
    """The rows of a frame as plain JSON values: NumPy scalars as Python ones, tuples as lists, a missing or
    non-finite number as None."""

    def plain(value: object) -> object:
        if isinstance(value, tuple | list | np.ndarray):
            return [plain(item) for item in value]
        if isinstance(value, np.generic):
            value = value.item()
        if value is pd.NA or (isinstance(value, float) and not math.isfinite(value)):
            return None
        return value

    return [{str(key): plain(value) for key, value in row.items()} for row in frame.to_dict(orient="records")]


# The name segmentation._compare imports until its rewrite, which no longer does, is merged.
