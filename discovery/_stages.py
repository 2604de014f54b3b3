"""Stages of the customer journey: an ordered stage model, suggested from the log and editable.

`suggest_stages` puts the goal touchpoints in the goal stage, every other touchpoint in a stage by a keyword of its
name (English and French, `discovery._vocabulary`) and, when no keyword decides, guesses from where it typically
comes in journeys — but a guess never places a touchpoint in or after the goal stage. The model records why, so
the dashboard can show it and a person can correct it with `StageModel.with_overrides`, rename, add, remove and
reorder stages with `StageModel.with_stages`. The KPIs of each stage are the funnel over the stages
(`discovery.stage_kpis`).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from data.engine import Engine
from data.errors import LogError, Problem
from data.filters import Filters
from discovery._vocabulary import FRENCH_STAGES, STAGE_KEYWORDS, keyword_matcher, plain_words

__all__ = [
    "DEFAULT_STAGES",
    "EMPTY_STAGE",
    "GOAL_STAGE_INDEX",
    "StageModel",
    "StageReason",
    "default_stages",
    "suggest_stages",
]

DEFAULT_STAGES = ("discovery", "consideration", "purchase", "post-purchase", "loyalty")
# What a stage holding no touchpoint is called beside its name, wherever its funnel row is shown: nobody reaches it.
EMPTY_STAGE = "no touchpoint in this stage"
# Where the goal sits in the default stages (and in their French names).
GOAL_STAGE_INDEX = 2

# Per activity: its median relative position in the journeys that have it (first occurrence, 0 = first step, 1 =
# last), and the share of the converted journeys having it where it first comes after the goal's first event.
_POSITIONS_SQL = """
WITH goal_at AS (
    SELECT a.case_code, min(a.first_pos) AS goal_pos FROM journey_activities a
    JOIN (SELECT activity FROM all_activities WHERE list_contains(?::VARCHAR[], activity::VARCHAR)) g USING (activity)
    GROUP BY a.case_code
)
SELECT a.activity::VARCHAR AS activity, median(a.first_pos / greatest(j.events - 1, 1)) AS median_position,
       avg(CASE WHEN a.first_pos > g.goal_pos THEN 1.0 WHEN g.goal_pos IS NOT NULL THEN 0.0 END) AS after_goal_share,
       count(*) FILTER (a.first_pos = 0) / (SELECT count(*) FROM journeys) AS start_share
FROM journey_activities a JOIN journeys j USING (case_code) LEFT JOIN goal_at g USING (case_code)
GROUP BY a.activity
"""
# A share of journeys that is nearly all of them: a touchpoint nearly every journey starts with belongs to the first
# stage, whatever its name says, and a goal nearly everyone reaches is no conversion (`discovery._definition`).
NEARLY_EVERYONE = 0.9
# A touchpoint without a keyword that mostly comes after the goal in converted journeys is left for a person to
# place: guessing by position is never allowed past the goal.
_AFTER_GOAL_MAJORITY = 0.5

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
    """Why an activity is in its stage (or in none): the goal, a keyword of its name, a guess from its typical
    position, or a person's choice.

    `kind` is "goal", "keyword", "before_goal" (a goal-stage keyword on a step that is not the goal: it leads to
    it), "past_goal" (the same, on a step that mostly comes after the goal: the stage after it), "starts" (a later
    stage's keyword on a step nearly every journey starts with: the first stage), "position" (a guess),
    "after_goal" (no keyword, mostly after the goal: left without a stage) or "hand".
    `median_position` is the activity's median relative position in the journeys that have it, from 0 (first
    step) to 1 (last step).
    """

    kind: str
    keyword: str | None = None
    median_position: float | None = None

    def __str__(self) -> str:
        if self.kind == "goal":
            return "it is the journey's goal"
        if self.kind == "keyword":
            return f"its name contains {self.keyword!r}"
        if self.kind == "before_goal":
            return f"its name contains {self.keyword!r}: a step towards the goal, not the goal itself"
        if self.kind == "past_goal":
            return f"its name contains {self.keyword!r}, but it mostly comes after the goal: a step after it"
        if self.kind == "starts":
            return f"its name contains {self.keyword!r}, but nearly every journey starts with it: the first stage"
        if self.kind == "position":
            return (
                f"a guess: no keyword, and it typically comes {self.median_position:.0%} of the way through a journey"
            )
        if self.kind == "after_goal":
            return "no keyword, and it mostly comes after the goal: choose its stage"
        return "set by hand"

    @property
    def is_guess(self) -> bool:
        """Whether neither its name nor a person decided: a position guess, or a touchpoint left without a stage."""
        return self.kind in ("position", "after_goal")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "keyword": self.keyword, "median_position": self.median_position, "text": str(self)}


_BY_HAND = StageReason("hand")


@dataclass(frozen=True)
class StageModel:
    """Ordered stage names and the stage of each activity, with the reason for each choice.

    Activities left out of `stage_of` belong to no stage: stage KPIs and stage funnels ignore them. `reasons` also
    keeps why a suggestion left a touchpoint without a stage (`unstaged`).

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
        unstaged = {
            activity: reason
            for activity, reason in self.reasons.items()
            if activity not in stage_of and reason.kind == "after_goal"
        }
        object.__setattr__(self, "stages", stages)
        object.__setattr__(self, "stage_of", stage_of)
        object.__setattr__(self, "reasons", {**{a: self.reasons.get(a, _BY_HAND) for a in stage_of}, **unstaged})

    @property
    def unstaged(self) -> tuple[str, ...]:
        """Touchpoints the suggestion left without a stage, for a person to place."""
        return tuple(activity for activity in self.reasons if activity not in self.stage_of)

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

    def with_stages(self, stages: Sequence[str], renamed: Mapping[str, str] | None = None) -> StageModel:
        """Return the model with new ordered stages: `renamed` maps old names to new ones, and the touchpoints of a
        stage that is neither kept nor renamed lose their stage.

        >>> StageModel(("a", "b"), {"visit": "a"}).with_stages(["b", "first"], {"a": "first"}).stage_of
        {'visit': 'first'}
        """
        renamed = dict(renamed or {})
        stage_of = {activity: renamed.get(stage, stage) for activity, stage in self.stage_of.items()}
        kept = set(_checked_stages(stages))
        stage_of = {activity: stage for activity, stage in stage_of.items() if stage in kept}
        reasons = {activity: reason for activity, reason in self.reasons.items() if activity in stage_of}
        return StageModel(tuple(stages), stage_of, reasons)

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


def suggest_stages(
    engine: Engine, stages: Sequence[str] | None = None, goal: Sequence[str] = (), goal_stage: str | None = None
) -> StageModel:
    """Return a stage model for every touchpoint of the log, with the reason for each place.

    The goal touchpoints go to `goal_stage` (by default the third stage, "purchase" or "achat"). A keyword of a
    touchpoint's name decides next: when several stages' keywords match, the phrase of more words wins ("read
    review" over "review"), then the later stage ("repeat purchase" is loyalty, "cancel subscription"
    post-purchase), because later-stage words qualify earlier ones; once a goal is chosen, a goal-stage keyword on
    a touchpoint that is not the goal ("payment_info") places it in the stage before the goal, or in the stage
    after it when it mostly comes after the goal in converted journeys ("payment_received" after a contract).
    A later stage's keyword on a touchpoint nearly every journey starts with (a permit log's "Confirmation of receipt")
    gives way to the first stage.
    Without a keyword, a touchpoint is guessed into the stage before the goal whose equal share of the journey holds
    its median relative position — a guess never reaches the goal stage — or, when it mostly comes after the goal,
    left without a stage for a person to place. `stages` defaults to the five default stages, in French when the
    touchpoints are French; keywords name the default stages and stand for the stage at the same place in `stages`.

    >>> suggest_stages(engine, goal=["purchase"]).why("add_to_cart")  # doctest: +SKIP
    "its name contains 'cart'"
    """
    stages = _checked_stages(default_stages(engine.activity_names) if stages is None else stages)
    if goal_stage is None:
        goal_stage = stages[min(GOAL_STAGE_INDEX, len(stages) - 1)]
    elif goal_stage not in stages:
        raise LogError(
            Problem(
                "The goal stage is not a stage of the model.", fix=closest_names(goal_stage, stages), value=goal_stage
            )
        )
    goal = tuple(goal)
    positions = engine.query(_POSITIONS_SQL, [list(goal)])
    return _suggested(stages, stages.index(goal_stage), goal, positions)


def default_stages(activities: Iterable[str]) -> tuple[str, ...]:
    """Return the five default stage names, in French when more touchpoints name a French keyword than English."""
    words = [plain_words(name) for name in activities]
    french = sum(bool(_FRENCH_MATCHER.search(name)) for name in words)
    english = sum(bool(_ENGLISH_MATCHER.search(name)) for name in words)
    return FRENCH_STAGES if french > english else DEFAULT_STAGES


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


def _suggested(stages: tuple[str, ...], goal_index: int, goal: tuple[str, ...], positions: pd.DataFrame) -> StageModel:
    """Place the goal, then every touchpoint by keyword, else by a guess before the goal (see `suggest_stages`)."""
    before_goal = max(goal_index, 1)
    band = np.minimum((positions["median_position"].to_numpy() * before_goal).astype(int), before_goal - 1)
    placed: dict[str, tuple[str | None, StageReason]] = {}
    for activity, median_position, after_goal, starts, band_index in zip(
        positions["activity"],
        positions["median_position"],
        positions["after_goal_share"],
        positions["start_share"],
        band,
        strict=True,
    ):
        if activity in goal:
            placed[activity] = (stages[goal_index], StageReason("goal"))
            continue
        by_keyword = _keyword_choice(plain_words(activity), stages)
        if by_keyword is not None:
            stage_index, keyword = by_keyword
            comes_after = not pd.isna(after_goal) and after_goal > _AFTER_GOAL_MAJORITY
            if stage_index > 0 and starts > NEARLY_EVERYONE:
                placed[activity] = (stages[0], StageReason("starts", keyword=keyword))
            elif stage_index == goal_index and goal and comes_after and goal_index + 1 < len(stages):
                placed[activity] = (stages[goal_index + 1], StageReason("past_goal", keyword=keyword))
            elif stage_index == goal_index and goal and goal_index > 0:
                placed[activity] = (stages[goal_index - 1], StageReason("before_goal", keyword=keyword))
            else:
                placed[activity] = (stages[stage_index], StageReason("keyword", keyword=keyword))
        elif goal and not pd.isna(after_goal) and after_goal > _AFTER_GOAL_MAJORITY:
            placed[activity] = (None, StageReason("after_goal", median_position=round(float(median_position), 4)))
        else:
            guess = StageReason("position", median_position=round(float(median_position), 4))
            placed[activity] = (stages[band_index], guess)
    rank = {stage: index for index, stage in enumerate(stages)}
    ordered = sorted(placed, key=lambda activity: (rank.get(placed[activity][0], len(stages)), activity))
    stage_of = {activity: placed[activity][0] for activity in ordered if placed[activity][0] is not None}
    return StageModel(stages, stage_of, {activity: placed[activity][1] for activity in ordered})


def _keyword_choice(words: str, stages: tuple[str, ...]) -> tuple[int, str] | None:
    """Return the index of the stage a keyword of `words` names and the keyword, or None.

    The phrase of more words wins, then the later stage.
    """
    found = [
        (len(phrase_words.split()), index, phrase)
        for index, phrase, phrase_words, matcher in _PHRASE_MATCHERS
        if index < len(stages) and matcher.search(words)
    ]
    if not found:
        return None
    _, index, phrase = max(found)
    return index, phrase


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
    (DEFAULT_STAGES.index(stage), phrase, plain_words(phrase), keyword_matcher([phrase]))
    for stage, phrases in STAGE_KEYWORDS.items()
    for phrase in phrases
)
_FRENCH_WORDS = (
    "découverte", "publicité", "recherche", "consulter", "offre", "devis", "panier", "lire avis", "demande", "essai",
    "achat", "achet", "commande", "souscri", "paiement", "réserv", "abonnement", "livraison", "colis", "suivi",
    "retrait", "bienvenue", "factur", "retour", "rembours", "réclamation", "fidél", "avis", "parrain", "renouvel",
    "résili", "désabonn", "clôture", "client", "appel", "visite", "conseiller", "agence", "magasin",
)  # fmt: skip
_FRENCH_MATCHER = keyword_matcher(_FRENCH_WORDS)
_ENGLISH_MATCHER = keyword_matcher(
    phrase for phrases in STAGE_KEYWORDS.values() for phrase in phrases if phrase not in _FRENCH_WORDS
)
