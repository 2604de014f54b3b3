"""Persona profiles: who is in each persona, how they behave, what sets them apart, and a readable name.

Every count is of customers (or of events for channel mixes), aggregated in DuckDB over the journeys that both
`filters` keeps and the labels name. Lift compares a persona with everyone else: the share of the persona's
customers who did something divided by the same share among the other customers (infinite when no one else did).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from data.engine import Engine
from data.errors import EmptyLog, LogError, Problem
from data.filters import Filters
from segmentation._features import _checked_outcomes, _is_numeric

__all__ = ["PersonaProfiles", "attribute_segments", "persona_profiles"]

EVERY_CUSTOMER = Filters()
SIGNATURE_LIMIT = 5
# A signature activity or path is done by at least this share of the persona's customers.
MIN_SIGNATURE_SHARE = 0.1
# A channel names a persona when at least this share of its events use it and it is more used than elsewhere.
MIN_CHANNEL_SHARE = 0.1
# A second channel joins the name when its lift is at least this, and at least half the first channel's.
MIN_SECOND_CHANNEL_LIFT = 2.0
DOMINANT_CHANNELS = 3
CONVERTED, CHURNED = "converted", "churned"


@dataclass(frozen=True, eq=False)
class PersonaProfiles:
    """One row per persona in `table` (indexed by the persona's label) and long tables of what sets each apart.

    `table`: name, customers, share, conversion_rate, churn_rate (NaN without outcomes), median_duration_seconds,
    median_events, dominant_channels, typical_variant (activities), typical_variant_customers.
    `channels`: persona, channel, events, share, lift, mean_first_position.
    `signature_activities`: persona, activity, customers, share, others_share, lift.
    `signature_paths`: persona, source, target, customers, share, others_share, lift.
    `attribute_means`: personas × numeric attributes (mean over the persona's events carrying a value).
    """

    table: pd.DataFrame
    channels: pd.DataFrame
    signature_activities: pd.DataFrame
    signature_paths: pd.DataFrame
    attribute_means: pd.DataFrame

    @property
    def names(self) -> dict:
        """Persona label → readable name."""
        return dict(self.table["name"])

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
        """Plain JSON-ready data (NaN and infinite lifts become None)."""
        return {
            "personas": _records(self.table.reset_index()),
            "channels": _records(self.channels),
            "signature_activities": _records(self.signature_activities),
            "signature_paths": _records(self.signature_paths),
            "attribute_means": _records(self.attribute_means.reset_index()),
        }


def persona_profiles(
    engine: Engine,
    case_ids: Sequence[str],
    labels: Sequence,
    *,
    outcomes: pd.Series | Mapping[str, str] | None = None,
    filters: Filters = EVERY_CUSTOMER,
) -> PersonaProfiles:
    """Profile the personas given as one label per case id (missing labels leave the customer out).

    `outcomes` maps case ids to "converted", "churned", "censored" or "active" (discovery's journey outcomes);
    conversion and churn rates are shares of the persona's customers with a known outcome.

    >>> profiles = persona_profiles(engine, features.case_ids, model.labels_)  # doctest: +SKIP
    >>> profiles.table[["name", "customers", "share"]]  # doctest: +SKIP
    """
    if not isinstance(engine, Engine):
        raise TypeError(f"persona_profiles needs an Engine, not {type(engine).__name__}")
    if not isinstance(filters, Filters):
        raise TypeError(f"filters must be a Filters value, not {type(filters).__name__}")
    outcome_series = _checked_outcomes(outcomes)
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
    labelled = _Labelled(engine, filters, list(frame["case_id"]), codes)
    sizes = labelled.query(
        """
        SELECT l.persona, count(*) AS customers, median(j.duration_seconds) AS median_duration_seconds,
               median(j.events)::DOUBLE AS median_events
        FROM labelled l JOIN journeys j USING (case_code) GROUP BY l.persona ORDER BY l.persona
        """
    )
    if sizes.empty:
        raise EmptyLog(Problem("None of these customers is in the selected journeys.", fix="Check the filters."))
    return _persona_profiles(engine, labelled, sizes, pd.Index(personas, name="persona"), outcome_series)


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
    modal = engine.query(
        f"""
        WITH counted AS (
            SELECT case_code, {stored}::VARCHAR AS value, count(*) AS events FROM steps
            WHERE {stored} IS NOT NULL GROUP BY ALL
        )
        SELECT j.case_id, c.value FROM counted c JOIN journeys j USING (case_code)
        QUALIFY row_number() OVER (PARTITION BY c.case_code ORDER BY c.events DESC, c.value) = 1
        ORDER BY c.case_code
        """,
        filters=filters,
    )
    return pd.Series(modal["value"].to_numpy(), index=pd.Index(modal["case_id"], name="case_id"), name=column)


class _Labelled:
    """Runs SQL that sees a `labelled` relation (case_code, persona) beside the engine's own relations.

    The personas travel as one integer list aligned with the selected journeys in case order (-1: no label),
    which DuckDB binds far faster than a list of case id strings.
    """

    LABELLED = """
        labelled AS (
            SELECT j.case_code, p.persona
            FROM (SELECT case_code, row_number() OVER (ORDER BY case_code) - 1 AS row FROM journeys) j
            JOIN (SELECT unnest(?::INTEGER[]) AS persona, unnest(range(?)) AS row) p USING (row)
            WHERE p.persona >= 0
        )
    """

    def __init__(self, engine: Engine, filters: Filters, case_ids: list[str], codes: np.ndarray):
        selected = engine.query("SELECT case_id FROM journeys ORDER BY case_code", filters=filters)["case_id"]
        position = pd.Index(case_ids).get_indexer(selected)
        personas = np.where(position >= 0, codes[np.maximum(position, 0)], -1)
        self.engine, self.filters, self.params = engine, filters, [personas.tolist(), len(personas)]

    def query(self, sql: str) -> pd.DataFrame:
        body = sql.strip()
        statement = f"WITH {self.LABELLED}, {body[5:]}" if body.startswith("WITH ") else f"WITH {self.LABELLED} {body}"
        return self.engine.query(statement, self.params, filters=self.filters)


def _persona_profiles(
    engine: Engine, labelled: _Labelled, sizes: pd.DataFrame, personas: pd.Index, outcomes: pd.Series | None
) -> PersonaProfiles:
    customers = sizes.set_index("persona")["customers"]
    members = (
        None
        if outcomes is None
        else labelled.query("SELECT j.case_id, l.persona FROM labelled l JOIN journeys j USING (case_code)")
    )
    channels = _channel_mix(labelled, customers)
    activities = _signatures(labelled, customers, "journey_activities", ["activity"])
    paths = _signatures(labelled, customers, "journey_pairs", ["source", "target"])
    variant_ids, variant_customers = _typical_variants(labelled)
    variant_activities = engine.variants(Filters(variant_ids=frozenset(variant_ids))).set_index("variant_id")
    table = pd.DataFrame(
        {
            "customers": customers,
            "share": customers / customers.sum(),
            "conversion_rate": _outcome_rate(members, outcomes, CONVERTED, customers.index),
            "churn_rate": _outcome_rate(members, outcomes, CHURNED, customers.index),
            "median_duration_seconds": sizes.set_index("persona")["median_duration_seconds"],
            "median_events": sizes.set_index("persona")["median_events"],
            "dominant_channels": channels.groupby("persona")["channel"].agg(
                lambda column: tuple(column[:DOMINANT_CHANNELS])
            ),
            "typical_variant": variant_ids.map(lambda v: tuple(variant_activities.loc[v, "activities"])),
            "typical_variant_customers": variant_customers,
        }
    )
    table["dominant_channels"] = table["dominant_channels"].map(lambda value: value if isinstance(value, tuple) else ())
    table.insert(0, "name", _names(channels, activities, table.index))
    means = _attribute_means(engine, labelled)
    relabel = dict(enumerate(personas))
    return PersonaProfiles(
        table=table.rename(index=relabel).rename_axis("persona"),
        channels=channels.assign(persona=channels["persona"].map(relabel)),
        signature_activities=activities.assign(persona=activities["persona"].map(relabel)),
        signature_paths=paths.assign(persona=paths["persona"].map(relabel)),
        attribute_means=means.rename(index=relabel).rename_axis("persona"),
    )


def _outcome_rate(
    members: pd.DataFrame | None, outcomes: pd.Series | None, outcome: str, personas: pd.Index
) -> pd.Series:
    """Share of each persona's customers with a known outcome whose outcome is `outcome` (NaN without outcomes)."""
    if members is None or outcomes is None:
        return pd.Series(np.nan, index=personas)
    known = outcomes.reindex(members["case_id"]).to_numpy(dtype=object)
    has_outcome = pd.notna(known)
    matched = pd.Series(known == outcome, index=members.index)[has_outcome]
    return matched.groupby(members["persona"][has_outcome]).mean().reindex(personas)


def _channel_mix(labelled: _Labelled, customers: pd.Series) -> pd.DataFrame:
    """Each persona's channels by share of its events, with lift against everyone else and mean first position."""
    mix = labelled.query(
        """
        WITH used AS (
            SELECT l.persona, s.case_code, s.channel::VARCHAR AS channel, count(*) AS events, min(s.pos) AS first_pos
            FROM steps s JOIN labelled l USING (case_code) WHERE s.channel IS NOT NULL GROUP BY ALL
        ), totals AS (
            SELECT l.persona, sum(j.events) AS persona_events FROM labelled l JOIN journeys j USING (case_code)
            GROUP BY l.persona
        )
        SELECT u.persona, u.channel, sum(u.events)::BIGINT AS events, any_value(t.persona_events)::BIGINT AS total,
               avg(u.first_pos) AS mean_first_position
        FROM used u JOIN totals t USING (persona) GROUP BY ALL ORDER BY u.persona, u.channel
        """
    )
    all_events = mix.groupby("persona")["total"].first().sum()
    channel_events = mix.groupby("channel")["events"].transform("sum")
    others_events = all_events - mix["total"]
    others_share = (channel_events - mix["events"]) / others_events.where(others_events > 0)
    mix = mix.assign(share=mix["events"] / mix["total"])
    mix["lift"] = _ratio(mix["share"], others_share)
    return (
        mix.drop(columns="total")
        .sort_values(["persona", "share", "channel"], ascending=[True, False, True], kind="stable")
        .reset_index(drop=True)[["persona", "channel", "events", "share", "lift", "mean_first_position"]]
    )


def _signatures(labelled: _Labelled, customers: pd.Series, relation: str, keys: list[str]) -> pd.DataFrame:
    """The activities (or pairs) that the persona's customers do far more than the others, most lifted first."""
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
    counted["others_share"] = (everyone - counted["customers"]) / others.where(others > 0)
    counted["lift"] = _ratio(counted["share"], counted["others_share"])
    signature = counted[(counted["share"] >= MIN_SIGNATURE_SHARE) & (counted["lift"] > 1)]
    return (
        signature.sort_values(
            ["persona", "lift", "customers", *keys], ascending=[True, False, False, *[True] * len(keys)], kind="stable"
        )
        .groupby("persona")
        .head(SIGNATURE_LIMIT)
        .reset_index(drop=True)
    )


def _typical_variants(labelled: _Labelled) -> tuple[pd.Series, pd.Series]:
    """Each persona's most frequent variant (ties: the smallest id) and how many of its customers follow it."""
    top = labelled.query(
        """
        SELECT l.persona, j.variant_id, count(*) AS customers FROM labelled l JOIN journeys j USING (case_code)
        GROUP BY l.persona, j.variant_id
        QUALIFY row_number() OVER (PARTITION BY l.persona ORDER BY count(*) DESC, j.variant_id) = 1
        ORDER BY l.persona
        """
    ).set_index("persona")
    return top["variant_id"], top["customers"]


def _attribute_means(engine: Engine, labelled: _Labelled) -> pd.DataFrame:
    numeric = [name for name, kind in engine.attribute_columns.items() if _is_numeric(kind)]
    if not numeric:
        return pd.DataFrame(index=pd.Index([], name="persona"))
    # Decimal sums are exact, so that thread scheduling cannot change the last bits of a mean.
    averaged = ", ".join(
        f"avg(s.{engine.attribute_column(name)}::DECIMAL(38, 10))::DOUBLE AS a{index}"
        for index, name in enumerate(numeric)
    )
    means = labelled.query(
        f"SELECT l.persona, {averaged} FROM steps s JOIN labelled l USING (case_code) GROUP BY l.persona "
        "ORDER BY l.persona"
    )
    return means.set_index("persona").set_axis(numeric, axis=1)


# --- names ----------------------------------------------------------------------------------------------------------


def _names(channels: pd.DataFrame, activities: pd.DataFrame, personas: pd.Index) -> pd.Series:
    """A readable, unique name per persona from its signature channel(s) and touchpoint.

    "App-first · refer a friend": the channel that carries at least MIN_CHANNEL_SHARE of its events with the
    highest lift, then its most lifted signature activity. Two lifted channels read "Chatbot-to-call-center", the
    one used first in the journey first. Clashing names get their second signature activity, then a number.
    """
    lifted = channels[(channels["share"] >= MIN_CHANNEL_SHARE) & (channels["lift"] > 1)].sort_values(
        ["persona", "lift", "channel"], ascending=[True, False, True], kind="stable"
    )
    channel_part = {persona: _channel_phrase(group) for persona, group in lifted.groupby("persona")}
    touchpoints = activities.groupby("persona")["activity"].agg(list)
    base = pd.Series(
        [_joined(channel_part.get(persona, "Multichannel"), touchpoints.get(persona, [])[:1]) for persona in personas],
        index=personas,
    )
    clash = base.duplicated(keep=False)
    names = base.where(
        ~clash,
        pd.Series(
            [_joined(channel_part.get(p, "Multichannel"), touchpoints.get(p, [])[:2]) for p in personas],
            index=personas,
        ),
    )
    repeat = names.groupby(names).cumcount()
    return names.where(repeat == 0, names + " (" + (repeat + 1).astype(str) + ")")


def _channel_phrase(lifted: pd.DataFrame) -> str:
    first = lifted.iloc[0]
    second = lifted.iloc[1:2]
    if second.empty or second["lift"].iloc[0] < max(MIN_SECOND_CHANNEL_LIFT, first["lift"] / 2):
        return f"{_hyphenated(first['channel']).capitalize()}-first"
    pair = pd.concat([lifted.iloc[:1], second]).sort_values(["mean_first_position", "channel"], kind="stable")
    return "-to-".join(_hyphenated(channel) for channel in pair["channel"]).capitalize()


def _joined(channel_part: str, touchpoints: list[str]) -> str:
    if not touchpoints:
        return channel_part
    return f"{channel_part} · " + " & ".join(touchpoint.replace("_", " ") for touchpoint in touchpoints)


def _hyphenated(channel: str) -> str:
    return "-".join(channel.split())


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator, infinite where only the denominator is 0 and NaN where it is undefined."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return pd.Series(numerator.to_numpy(np.float64) / denominator.to_numpy(np.float64), index=numerator.index)


def _records(frame: pd.DataFrame) -> list[dict]:
    def plain(value: object) -> object:
        if isinstance(value, tuple | list | np.ndarray):
            return [plain(item) for item in value]
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value

    return [{str(key): plain(value) for key, value in row.items()} for row in frame.to_dict(orient="records")]
