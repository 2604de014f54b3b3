"""Channels: where customers switch channel from one step to the next, and the online/offline mix of each stage."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from data.engine import Engine
from data.errors import LogError, Problem
from data.filters import Filters
from discovery._maps import json_records
from discovery._stages import StageModel, check_model, plain_words, stage_channel_mix

__all__ = [
    "OFFLINE_CHANNELS",
    "ONLINE_CHANNELS",
    "ChannelSwitches",
    "StageChannelMix",
    "channel_mix_by_stage",
    "channel_switches",
]

ONLINE_CHANNELS = (
    "web",
    "website",
    "app",
    "mobile app",
    "email",
    "e-mail",
    "chatbot",
    "chat",
    "social",
    "sms",
    "messaging",
    "whatsapp",
)
OFFLINE_CHANNELS = (
    "store",
    "shop",
    "boutique",
    "magasin",
    "agency",
    "agence",
    "call center",
    "call centre",
    "phone",
    "téléphone",
    "agent",
)

_EVERY_JOURNEY = Filters()
_KINDS = ("online", "offline", "other")

# Consecutive events of a journey, both with a channel, on different channels: each step holds the next one's.
_SWITCHES_SQL = """
SELECT channel::VARCHAR AS from_channel, next_channel::VARCHAR AS to_channel,
       count(DISTINCT case_code) AS customers, count(*) AS transitions,
       median((epoch_us(next_timestamp) - epoch_us(timestamp)) / 1e6) AS median_gap_seconds
FROM steps WHERE channel <> next_channel
GROUP BY ALL ORDER BY customers DESC, transitions DESC, from_channel, to_channel
"""

# A journey is omnichannel when its channels are not all one: their least and greatest differ.
_OMNICHANNEL_SQL = """
SELECT (SELECT count(*) FROM journeys) AS customers, count(*) AS omnichannel
FROM (SELECT case_code FROM steps GROUP BY case_code HAVING min(channel) <> max(channel))
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
    """Each stage's events by channel and by kind of channel (online, offline, other).

    `channels`: stage, channel, kind, events, share (of the stage's events). `kinds`: stage, events, online_share,
    offline_share, other_share; events without a channel count in `events` only, so the shares may add up to less
    than one.
    """

    channels: pd.DataFrame
    kinds: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        return {"channels": json_records(self.channels), "kinds": json_records(self.kinds)}


def channel_switches(engine: Engine, filters: Filters = _EVERY_JOURNEY) -> ChannelSwitches:
    """Return the channel switches between consecutive events of the journeys selected by `filters`."""
    matrix = engine.query(_SWITCHES_SQL, filters=filters)
    counts = engine.query(_OMNICHANNEL_SQL, filters=filters).iloc[0]
    return ChannelSwitches(matrix, int(counts["customers"]), int(counts["omnichannel"]))


def channel_mix_by_stage(
    engine: Engine,
    model: StageModel,
    filters: Filters = _EVERY_JOURNEY,
    *,
    online: Iterable[str] = ONLINE_CHANNELS,
    offline: Iterable[str] = OFFLINE_CHANNELS,
) -> StageChannelMix:
    """Return each stage's events by channel and the online and offline share of each stage.

    Channel names are compared without case, accents or punctuation ("Call_Center" is "call center"); channels in
    neither list are "other".
    """
    check_model(model)
    kind_of = _channel_kinds(online, offline)
    channels, stage_events = stage_channel_mix(engine, model, filters)
    kinds = channels["channel"].map(lambda name: kind_of.get(plain_words(name), "other")).astype("str")
    channels = channels.assign(kind=kinds)[["stage", "channel", "kind", "events", "share"]]
    shares = channels.pivot_table(index="stage", columns="kind", values="share", aggfunc="sum")
    shares = shares.reindex(index=list(model.stages), columns=list(_KINDS)).fillna(0.0)
    by_kind = pd.DataFrame(
        {
            "stage": pd.array(model.stages, dtype="str"),
            "events": stage_events.to_numpy(dtype=np.int64),
            **{f"{kind}_share": shares[kind].to_numpy(dtype=float) for kind in _KINDS},
        }
    )
    return StageChannelMix(channels, by_kind)


def _channel_kinds(online: Iterable[str], offline: Iterable[str]) -> dict[str, str]:
    """Map each normalised channel name to its kind, or raise LogError when a channel is on both lists."""
    if isinstance(online, str) or isinstance(offline, str):
        raise LogError(Problem("online and offline must be lists of channel names.", fix="Give e.g. ['web', 'app']."))
    online_names = {plain_words(name): "online" for name in online}
    offline_names = {plain_words(name): "offline" for name in offline}
    both = sorted(online_names.keys() & offline_names.keys())
    if both:
        raise LogError(
            [
                Problem("This channel is both online and offline.", fix="Keep it on one list.", value=name)
                for name in both
            ]
        )
    return online_names | offline_names
