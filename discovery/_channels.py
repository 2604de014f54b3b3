"""Channels: where customers switch channel from one step to the next, and the online/offline mix of each stage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from data.engine import Engine
from data.filters import Filters
from discovery._definition import OTHER_CHANNELS, JourneyDefinition
from discovery._maps import json_records
from discovery._stages import stage_channel_mix

__all__ = [
    "ChannelSwitches",
    "StageChannelMix",
    "channel_mix_by_stage",
    "channel_switches",
]

_EVERY_JOURNEY = Filters()

# Consecutive events of a journey, both with a channel, on different channels: each step holds the next one's. Which
# switches a journey made is its own, whatever the filters: counted once per engine for every journey (`_PAIRS_SQL`),
# then summed over the selected ones; the median gap needs the selected steps themselves.
_PAIRS_SQL = """
SELECT case_code, channel, next_channel, count(*) AS transitions FROM steps WHERE channel <> next_channel GROUP BY ALL
"""
_SWITCHES_SQL = """
WITH counted AS (
    SELECT channel, next_channel, count(*) AS customers, sum(transitions)::BIGINT AS transitions
    FROM ({pairs}) GROUP BY ALL
), gaps AS (
    SELECT channel, next_channel, median((epoch_us(next_timestamp) - epoch_us(timestamp)) / 1e6) AS median_gap_seconds
    FROM steps WHERE channel <> next_channel GROUP BY ALL
)
SELECT channel::VARCHAR AS from_channel, next_channel::VARCHAR AS to_channel, c.customers, c.transitions,
       g.median_gap_seconds
FROM counted c JOIN gaps g USING (channel, next_channel)
ORDER BY customers DESC, transitions DESC, from_channel, to_channel
"""

# A journey is omnichannel when its channels are not all one: their least and greatest differ (found once per engine).
_OMNICHANNEL_JOURNEYS_SQL = "SELECT case_code FROM steps GROUP BY case_code HAVING min(channel) <> max(channel)"
_OMNICHANNEL_SQL = """
SELECT (SELECT count(*) FROM journeys) AS customers, count(*) AS omnichannel
FROM ({omnichannel})
"""


@dataclass(frozen=True)
class ChannelSwitches:
    """The channel-switch matrix of the selected journeys and how many of them are omnichannel.

    `matrix`: from_channel, to_channel, customers (journeys switching this way at least once), transitions,
    median_gap_seconds — most customers first. A switch is two consecutive events on different channels; an event
    without a channel breaks the pair. `omnichannel_customers` used at least two channels; the share is of every
    selected customer.
    """

    matrix: pd.DataFrame
    customers: int
    omnichannel_customers: int

    @property
    def omnichannel_share(self) -> float:
        """Share of the selected customers who used two channels or more (0.0 when none is selected)."""
        return self.omnichannel_customers / self.customers if self.customers else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "customers": self.customers,
            "omnichannel_customers": self.omnichannel_customers,
            "omnichannel_share": self.omnichannel_share,
            "matrix": json_records(self.matrix),
        }


@dataclass(frozen=True)
class StageChannelMix:
    """Each stage's events by channel and by channel group (the journey definition's: online, offline, …, other).

    `channels`: stage, channel, group, events, share (of the stage's events). `groups`: stage, group, events, share,
    one row per stage and group of the definition (and "other"), in stage order; events without a channel count in
    the stage's total only, so the shares may add up to less than one. `stage_events`: stage, events.
    """

    channels: pd.DataFrame
    groups: pd.DataFrame
    stage_events: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        return {
            "channels": json_records(self.channels),
            "groups": json_records(self.groups),
            "stage_events": json_records(self.stage_events),
        }


def channel_switches(engine: Engine, filters: Filters = _EVERY_JOURNEY) -> ChannelSwitches:
    """Return the channel switches between consecutive events of the journeys selected by `filters`."""
    pairs = engine.selected(engine.per_journey(_PAIRS_SQL), filters)
    matrix = engine.query(_SWITCHES_SQL.format(pairs=pairs), filters=filters)
    omnichannel = engine.selected(engine.per_journey(_OMNICHANNEL_JOURNEYS_SQL), filters)
    counts = engine.query(_OMNICHANNEL_SQL.format(omnichannel=omnichannel), filters=filters).iloc[0]
    return ChannelSwitches(matrix, int(counts["customers"]), int(counts["omnichannel"]))


def channel_mix_by_stage(
    engine: Engine, definition: JourneyDefinition, filters: Filters = _EVERY_JOURNEY
) -> StageChannelMix:
    """Return each stage's events by channel and the share of each channel group in each stage."""
    if not isinstance(definition, JourneyDefinition):
        raise TypeError(f"definition must be a JourneyDefinition, not {type(definition).__name__}")
    model = definition.stages
    channels, stage_events = stage_channel_mix(engine, model, filters)
    grouped = channels["channel"].map(definition.channel_group).astype("str")
    channels = channels.assign(group=grouped)[["stage", "channel", "group", "events", "share"]]
    names = [*dict.fromkeys(group for group in definition.channel_groups.values() if group != OTHER_CHANNELS)]
    names.append(OTHER_CHANNELS)
    summed = channels.groupby(["stage", "group"])[["events", "share"]].sum()
    grid = pd.MultiIndex.from_product([list(model.stages), names], names=["stage", "group"])
    groups = (
        summed.reindex(grid, fill_value=0).reset_index().astype({"stage": "str", "group": "str", "events": np.int64})
    )
    totals = pd.DataFrame({"stage": pd.array(model.stages, dtype="str"), "events": stage_events.to_numpy(np.int64)})
    return StageChannelMix(channels, groups, totals)
