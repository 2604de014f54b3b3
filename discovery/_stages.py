"""Stages of the customer journey: an ordered stage model, suggested from the log and editable.

`suggest_stages` puts each activity in a stage by a keyword of its name (English and French) and, when no
keyword decides, by where the activity typically comes in journeys; the model records why, so the dashboard can
show it and a person can correct it with `StageModel.with_overrides`. The KPIs of each stage are the funnel over
the stages (`discovery.stage_kpis`).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from data.engine import Engine
from data.errors import LogError, Problem
from data.filters import Filters

__all__ = ["CHURN_KEYWORDS", "DEFAULT_STAGES", "STAGE_KEYWORDS", "StageModel", "StageReason", "suggest_stages"]

DEFAULT_STAGES = ("discovery", "consideration", "purchase", "post-purchase", "loyalty")

# Words that name the end of a customer relationship; they are also post-purchase words, since only a
# customer can cancel.
CHURN_KEYWORDS = (
    "cancel",
    "unsubscri",
    "churn",
    "résili",
    "portabilit",
    "port out",
    "désabonn",
    "close account",
    "account closure",
    "clôture",
    "terminat",
)

# Keywords of 4 characters or more are stems (they match the start of a word: "deliver" matches "delivered");
# shorter ones must be a whole word ("ad" matches "ad click", not "add to cart"). Accents and case are ignored.
STAGE_KEYWORDS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "discovery": (
            "ad",
            "ads",
            "advert",
            "campaign",
            "social",
            "search",
            "visit",
            "browse",
            "banner",
            "découverte",
            "publicité",
            "pub",
            "recherche",
        ),
        "consideration": (
            "compar",
            "quote",
            "offer",
            "offre",
            "cart",
            "basket",
            "wishlist",
            "promo",
            "coupon",
            "simulat",
            "devis",
            "panier",
            "read review",
            "lire avis",
        ),
        "purchase": (
            "checkout",
            "purchase",
            "order",
            "buy",
            "subscri",
            "payment",
            "pay",
            "achat",
            "achet",
            "commande",
            "souscri",
            "paiement",
        ),
        "post-purchase": (
            "deliver",
            "ship",
            "parcel",
            "track",
            "pickup",
            "click and collect",
            "confirmation",
            "welcome",
            "activat",
            "onboard",
            "support",
            "return",
            "refund",
            "invoice",
            "bill",
            "livraison",
            "colis",
            "suivi",
            "retrait",
            "bienvenue",
            "factur",
            "retour",
            "rembours",
            "sav",
            *CHURN_KEYWORDS,
        ),
        "loyalty": (
            "renew",
            "upgrade",
            "loyal",
            "review",
            "refer",
            "repeat",
            "newsletter",
            "fidél",
            "avis",
            "parrain",
            "renouvel",
        ),
    }
)

_STEM_LENGTH = 4

_POSITIONS_SQL = """
SELECT s.activity::VARCHAR AS activity, median(s.pos / greatest(j.events - 1, 1)) AS median_position
FROM steps s JOIN journeys j USING (case_code)
GROUP BY s.activity
"""

# Each staged activity, in the layout's activity type, with its stage's index; `stage_steps` binds (activities,
# indexes). Views join it to the steps without turning every step's activity into text: materialised, so that the
# optimiser cannot move the text comparison of the marks onto the millions of rows joined to them.
STAGE_OF = """stage_steps AS MATERIALIZED (
    SELECT a.activity, m.step FROM all_activities a
    JOIN (SELECT unnest(?::VARCHAR[]) AS name, unnest(?::INTEGER[]) AS step) m ON m.name = a.activity::VARCHAR
)"""

_CHANNEL_EVENTS_SQL = f"""
WITH {STAGE_OF}, counted AS (SELECT activity, channel, count(*) AS events FROM steps GROUP BY ALL)
SELECT m.step, c.channel::VARCHAR AS channel, sum(c.events)::BIGINT AS events
FROM counted c JOIN stage_steps m USING (activity) GROUP BY ALL
"""


@dataclass(frozen=True)
class StageReason:
    """Why an activity is in its stage: a keyword of its name, its typical position, or a person's choice.

    `median_position` is the activity's median relative position in the journeys that have it, from 0 (first
    step) to 1 (last step).
    """

    kind: str
    keyword: str | None = None
    median_position: float | None = None

    def __str__(self) -> str:
        if self.kind == "keyword":
            return f"its name contains {self.keyword!r}"
        if self.kind == "position":
            return f"it typically comes {self.median_position:.0%} of the way through a journey"
        return "set by hand"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "keyword": self.keyword, "median_position": self.median_position, "text": str(self)}


_BY_HAND = StageReason("hand")


@dataclass(frozen=True)
class StageModel:
    """Ordered stage names and the stage of each activity, with the reason for each choice.

    Activities left out of `stage_of` belong to no stage: stage KPIs and stage funnels ignore them.

    >>> model = StageModel(stage_of={"visit": "discovery", "buy": "purchase"})
    >>> model.with_overrides({"visit": "consideration"}).stage_of["visit"]
    'consideration'
    """

    stages: tuple[str, ...] = DEFAULT_STAGES
    stage_of: Mapping[str, str] = field(default_factory=dict)
    reasons: Mapping[str, StageReason] = field(default_factory=dict)

    def __post_init__(self) -> None:
        stages = _checked_stages(self.stages)
        stage_of = dict(self.stage_of)
        problems = [
            Problem(
                "This stage is not one of the model's stages.",
                fix=f"Use one of {', '.join(map(repr, stages))}.",
                column=str(activity),
                value=str(stage),
            )
            for activity, stage in stage_of.items()
            if stage not in stages
        ]
        if problems:
            raise LogError(problems)
        object.__setattr__(self, "stages", stages)
        object.__setattr__(self, "stage_of", stage_of)
        object.__setattr__(self, "reasons", {activity: self.reasons.get(activity, _BY_HAND) for activity in stage_of})

    def activities_in(self, stage: str) -> tuple[str, ...]:
        """Return the activities of `stage`, in the model's order."""
        return tuple(activity for activity, assigned in self.stage_of.items() if assigned == stage)

    def why(self, activity: str) -> str:
        """Return in words why `activity` is in its stage (or that it is in none)."""
        reason = self.reasons.get(activity)
        return "it is in no stage" if reason is None else str(reason)

    def with_overrides(self, mapping: Mapping[str, str | None]) -> StageModel:
        """Return a model where each activity of `mapping` is in the given stage, or in none for None."""
        if not isinstance(mapping, Mapping):
            raise TypeError(f"overrides must map activities to stages, not {type(mapping).__name__}")
        stage_of = {**self.stage_of, **{activity: stage for activity, stage in mapping.items() if stage is not None}}
        removed = {activity for activity, stage in mapping.items() if stage is None}
        kept = {activity: stage for activity, stage in stage_of.items() if activity not in removed}
        reasons = {activity: reason for activity, reason in self.reasons.items() if activity not in mapping}
        return StageModel(self.stages, kept, reasons)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stages": list(self.stages),
            "stage_of": dict(self.stage_of),
            "reasons": {activity: reason.to_dict() for activity, reason in self.reasons.items()},
        }

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> StageModel:
        """Rebuild a model saved with `to_dict` (the text of each reason is recomputed, not read)."""
        reasons = {
            activity: StageReason(reason["kind"], reason.get("keyword"), reason.get("median_position"))
            for activity, reason in values.get("reasons", {}).items()
        }
        return cls(tuple(values["stages"]), dict(values["stage_of"]), reasons)


def suggest_stages(engine: Engine, stages: Sequence[str] = DEFAULT_STAGES) -> StageModel:
    """Return a stage model for every activity of the log, each placed by keyword or else by typical position.

    A keyword of the activity's name decides first; when several stages' keywords match, the phrase of more
    words wins ("read review" over "review"), then the later stage ("repeat purchase" is loyalty, "cancel
    subscription" post-purchase), because later-stage words qualify earlier ones. Other activities go to the stage
    whose equal share of the journey holds their median relative position (with five stages, 0–20 % is the first).

    >>> suggest_stages(engine).why("add_to_cart")  # doctest: +SKIP
    "its name contains 'cart'"
    """
    stages = _checked_stages(stages)
    positions = engine.query(_POSITIONS_SQL)
    return _suggested(stages, positions)


def keyword_matcher(keywords: Iterable[str]) -> re.Pattern:
    """Return one pattern finding any of `keywords` in text normalised by `plain_words` (stems from 4 letters)."""
    alternatives = sorted(
        (re.escape(words) + ("" if len(words) >= _STEM_LENGTH else r"\b") for words in map(plain_words, keywords)),
        key=len,
        reverse=True,
    )
    return re.compile(r"\b(?:" + "|".join(alternatives) + ")")


def plain_words(name: str) -> str:
    """Return `name` as lower-case unaccented words separated by single spaces ("AddToCart" → "add to cart")."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", str(name))
    unaccented = unicodedata.normalize("NFKD", spaced).encode("ascii", "ignore").decode()
    return " ".join(re.findall(r"[a-z0-9]+", unaccented.lower()))


def stage_steps_params(model: StageModel) -> list:
    """Bind `stage_steps` of the staged-events SQL: each staged activity with its stage's index."""
    index = {stage: step for step, stage in enumerate(model.stages)}
    return [list(model.stage_of), [index[stage] for stage in model.stage_of.values()]]


def stage_channel_mix(engine: Engine, model: StageModel, filters: Filters) -> tuple[pd.DataFrame, pd.Series]:
    """Return (stage, channel, events, share of the stage's events) and the events of each stage, in stage order.

    Events without a channel count in their stage's total but get no row, so shares may add up to less than one.
    """
    counted = engine.query(_CHANNEL_EVENTS_SQL, stage_steps_params(model), filters)
    counted["stage"] = np.asarray(model.stages, dtype=object)[counted["step"].to_numpy(dtype=int)]
    stage_events = counted.groupby("stage")["events"].sum().reindex(list(model.stages), fill_value=0)
    mix = counted.dropna(subset=["channel"])
    # astype: a log without channels leaves `mix` empty, and an empty map() keeps the text dtype.
    mix = mix.assign(share=mix["events"] / mix["stage"].map(stage_events).astype("float64"))
    mix = mix.sort_values(["step", "events", "channel"], ascending=[True, False, True], ignore_index=True)
    return mix[["stage", "channel", "events", "share"]].astype({"stage": "str"}), stage_events


def _suggested(stages: tuple[str, ...], positions: pd.DataFrame) -> StageModel:
    """Place every activity by keyword, else by the stage band of its median relative position."""
    band = np.minimum((positions["median_position"].to_numpy() * len(stages)).astype(int), len(stages) - 1)
    placed = {}
    for activity, median_position, band_index in zip(
        positions["activity"], positions["median_position"], band, strict=True
    ):
        by_keyword = _keyword_choice(plain_words(activity), stages)
        placed[activity] = by_keyword or (
            stages[band_index],
            StageReason("position", median_position=round(float(median_position), 4)),
        )
    ordered = sorted(placed, key=lambda activity: (stages.index(placed[activity][0]), activity))
    return StageModel(stages, {a: placed[a][0] for a in ordered}, {a: placed[a][1] for a in ordered})


def _keyword_choice(words: str, stages: tuple[str, ...]) -> tuple[str, StageReason] | None:
    """Return the stage a keyword of `words` names (more words first, then the later stage), or None."""
    found = [
        (len(phrase_words.split()), stages.index(stage), stage, phrase)
        for stage, phrase, phrase_words, matcher in _PHRASE_MATCHERS
        if stage in stages and matcher.search(words)
    ]
    if not found:
        return None
    *_, stage, phrase = max(found)
    return stage, StageReason("keyword", keyword=phrase)


def _checked_stages(stages: object) -> tuple[str, ...]:
    """Return the stage names as a tuple, or raise LogError listing every problem with them."""
    if isinstance(stages, str) or not isinstance(stages, Iterable):
        raise LogError(Problem("Stages must be a list of stage names.", fix="Give e.g. ('discovery', 'purchase')."))
    names = tuple(stages)
    problems = [
        Problem("A stage name must be non-empty text.", fix="Name every stage.", value=str(name))
        for name in names
        if not isinstance(name, str) or not name.strip()
    ]
    problems += [
        Problem("Two stages have this name.", fix="Give each stage its own name.", value=name)
        for name in sorted({name for name in names if isinstance(name, str) and names.count(name) > 1})
    ]
    if not names:
        problems.append(Problem("A stage model needs at least one stage.", fix="Name the stages in order."))
    if problems:
        raise LogError(problems)
    return names


def closest_names(name: str, known: Sequence[str]) -> str:
    """Return a fix suggesting the names of `known` closest to `name`."""
    close = difflib.get_close_matches(name, list(known), n=3)
    return "Did you mean " + " or ".join(map(repr, close)) + "?" if close else "Pick one from the list."


def check_model(model: object) -> None:
    """Raise TypeError unless `model` is a StageModel (a programming error, not the user's)."""
    if not isinstance(model, StageModel):
        raise TypeError(f"model must be a StageModel, not {type(model).__name__}")


_PHRASE_MATCHERS = tuple(
    (stage, phrase, plain_words(phrase), keyword_matcher([phrase]))
    for stage, phrases in STAGE_KEYWORDS.items()
    for phrase in phrases
)
