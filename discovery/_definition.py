"""The journey definition: what a log's journeys mean — their goal, stages, churn rule, channel groups and
attribute roles — in one typed, versioned value that every page, CLI and API call reads.

Nothing a CX lead reads first (conversion, churn, stage reach) is computed from a guess a person has not seen:
`suggest_definition` proposes a definition from the log with the reason for each part, `definition_warnings` says
where a definition looks wrong, and the dashboard asks the user to confirm it before the first figures. A
definition is saved per dataset, every version kept (`save_definition`, `Store.definition_history`), and travels
as a JSON file (`write_definition`, `read_definition`; `python -m discovery definition LOG --export FILE`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from numbers import Real
from pathlib import Path
from typing import Any

import pandas as pd

from data.engine import Engine
from data.errors import LogError, Problem
from data.filters import Filters
from data.store import Store
from discovery._relations import Outcomes, count_outcomes, goal_stage_index, outcome_ctes, touchpoint_marks
from discovery._stages import NEARLY_EVERYONE, StageModel, StageReason, default_stages, suggest_stages
from discovery._vocabulary import (
    CHANNEL_GROUP_KEYWORDS,
    CHURN_KEYWORDS,
    GOAL_FINAL_WORDS,
    GOAL_KEYWORDS,
    GOAL_QUALIFIERS,
    keyword_matcher,
    plain_words,
)

__all__ = [
    "ATTRIBUTE_ROLES",
    "DEFINITION_FORMAT",
    "SCORE_SCALES",
    "AttributeRole",
    "ChurnRule",
    "JourneyDefinition",
    "definition_in_force",
    "definition_of",
    "definition_warnings",
    "outcome_counts",
    "outcome_relation",
    "read_definition",
    "save_definition",
    "suggest_attribute_roles",
    "suggest_channel_groups",
    "suggest_definition",
    "suggest_goal",
    "suggest_inactivity_days",
    "write_definition",
]

DEFINITION_FORMAT = "parcours.journey-definition"
FORMAT_VERSION = 1
ATTRIBUTE_ROLES = ("identifier", "category", "amount", "score", "number", "date")
SCORE_SCALES = ("nps", "csat", "mean")
# Net Promoter Score: answers of 9 or 10 promote, 0 to 6 detract.
NPS_PROMOTER_FROM, NPS_DETRACTOR_UP_TO = 9, 6
OTHER_CHANNELS = "other"
# The inactivity window is the smallest of these (in days) at least as long as 99 % of the gaps between a
# journey's consecutive events: a customer silent longer than nearly any pause seen is unlikely to come back.
GAP_QUANTILE = 0.99
_MINUTE = 1 / 1440
NICE_WINDOWS_DAYS = (
    *(minutes * _MINUTE for minutes in (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720)),
    1, 2, 3, 7, 14, 30, 60, 90, 180, 365, 730,
)  # fmt: skip
_MICROSECONDS_PER_DAY = 86_400_000_000
_EVERY_JOURNEY = Filters()

_GAPS_SQL = f"""
SELECT quantile_cont(epoch_us(next_timestamp) - epoch_us(timestamp), {GAP_QUANTILE}) AS gap_us, count(*) AS gaps
FROM steps WHERE next_timestamp IS NOT NULL
"""
_TOUCHPOINTS_SQL = """
SELECT activity::VARCHAR AS activity, count(*) AS customers, count(*) FILTER (WHERE first_pos = 0) AS starts
FROM journey_activities GROUP BY activity ORDER BY activity
"""

_GOAL_MATCHERS = tuple(keyword_matcher(group, stems=False) for group in GOAL_KEYWORDS)
_GOAL_QUALIFIER = keyword_matcher(GOAL_QUALIFIERS, stems=False)
_GOAL_FINAL = keyword_matcher(GOAL_FINAL_WORDS, stems=False)
_CHURN_MATCHER = keyword_matcher(CHURN_KEYWORDS)
_CHANNEL_MATCHERS = {group: keyword_matcher(words, stems=False) for group, words in CHANNEL_GROUP_KEYWORDS.items()}

# Attribute roles by name, checked in this order; a whole word or phrase of the name decides.
_ROLE_WORDS = (
    ("identifier", ("id", "ids", "identifier", "uuid", "guid", "key", "ref", "reference", "identifiant", "numero")),
    ("score:nps", ("nps", "net promoter", "recommend", "recommandation")),
    (
        "score:csat",
        ("csat", "satisfaction", "satisfied", "rating", "stars", "note", "score", "avis", "ces", "effort"),
    ),
    (
        "amount",
        (
            "revenue", "amount", "amounts", "price", "prices", "cost", "costs", "value", "total", "spend", "spent",
            "sales", "basket", "paid", "payment", "payments", "expense", "expenses", "fee", "fees", "eur", "usd",
            "gbp", "euro", "euros", "dollar", "dollars", "montant", "prix", "revenu", "chiffre", "ca", "panier",
            "frais", "cout", "leges",
        ),
    ),
    # Whole numbers that name someone or something rather than count it: who did the step (XES `org:resource`,
    # BPIC 2015's `Responsible_actor`), an office, a law article, a registration number (matricola, matricule), a
    # postal or product code, a type or status code, a variant's index (Disco's `Variant index`). A mean of them is
    # no figure: they are categories.
    (
        "code",
        (
            "resource", "office", "article", "matricola", "matricule", "matricula", "code", "zip", "zipcode",
            "postcode", "sku", "ean", "isbn", "branch", "department", "dept", "agent", "employee", "operator",
            "actor", "responsible", "owner", "user", "group", "team", "type", "kind", "class", "category", "status",
            "state", "version", "variant", "index", "idx",
        ),
    ),
    ("date", ("date", "time", "datetime", "timestamp", "day", "datum", "jour", "heure", "when", "at")),
)  # fmt: skip
_ROLE_MATCHERS = tuple((role, keyword_matcher(words, stems=False)) for role, words in _ROLE_WORDS)
# An amount word closing a name written as one word ("paymentamount", "totalprice", "unitcost", BPIC 2015's
# "SUMleges"), and so a date ("startdate", "enddate_planned" of the receipt log).
_COMPOUND_AMOUNT = re.compile(r"(?<=[a-z]{2})(?:amount|price|cost|revenue|expense|payment|fee|leges)s?\b")
_COMPOUND_DATE = re.compile(r"(?<=[a-z]{2})dates?\b|\bdeadlines?\b")
# A time zone is named like a date and is a category.
_TIME_ZONE = re.compile(r"\b(?:time ?zones?|tz)\b")
_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")
_NUMERIC_TYPES = frozenset((*_NUMERIC, "FLOAT", "DOUBLE"))
_INTEGER_TYPES = frozenset(_NUMERIC)
# A column with a distinct value on nearly every row it fills is an identifier, whatever its name.
_IDENTIFIER_DISTINCT_SHARE = 0.9
_IDENTIFIER_MIN_VALUES = 50
# So is a column holding one value per customer that nearly every customer has another of (a phone or account
# number repeated on each of the customer's events); approximate counts leave a little slack.
_ONE_PER_CUSTOMER = 1.05
# A number is the customer's own (counted once per customer) when each customer has one value and it is repeated on
# their events: XES case attributes (`case:` in pm4py's columns), or a customer's value a CSV repeats on every row.
_CASE_ATTRIBUTE = "case:"
_REPEATED_ON_EVENTS = 1.5


def _is_number(value: object) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class ChurnRule:
    """What counts as churn: doing one of `touchpoints`, or — for a journey that did not convert — a silence of
    `inactivity_days` before the end of the log. `inactivity_days=None`: no silence rule."""

    touchpoints: tuple[str, ...] = ()
    inactivity_days: float | None = None

    def __post_init__(self) -> None:
        touchpoints = (self.touchpoints,) if isinstance(self.touchpoints, str) else tuple(self.touchpoints)
        problems = [
            Problem("A churn touchpoint must be a touchpoint's name.", value=str(name))
            for name in touchpoints
            if not isinstance(name, str) or not name
        ]
        if self.inactivity_days is not None and not (_is_number(self.inactivity_days) and self.inactivity_days > 0):
            problems.append(
                Problem(
                    "The silence that counts as churn must be a number of days above 0.",
                    fix="Give e.g. 30, or no inactivity window at all.",
                    value=str(self.inactivity_days),
                )
            )
        if problems:
            raise LogError(problems)
        object.__setattr__(self, "touchpoints", tuple(dict.fromkeys(touchpoints)))


@dataclass(frozen=True)
class AttributeRole:
    """What an attribute is, which says how it may be summed up.

    `role`: "identifier" (never averaged), "category", "amount" (summed: total, per customer, per event), "score"
    with its `scale` ("nps": 0–10, promoters minus detractors; "csat": the share of satisfied answers, those of
    at least `satisfied_from`; "mean": a plain mean), "number" (a plain mean) or "date" (the date of a record).
    `per_customer`: the value is the customer's, repeated on each of their events (an XES case attribute such as
    a loan's requested amount), so it is counted once per customer: summed per event it would count a customer as
    many times as they have events.
    """

    role: str
    scale: str | None = None
    satisfied_from: float | None = None
    per_customer: bool = False

    def __post_init__(self) -> None:
        problems = []
        if self.role not in ATTRIBUTE_ROLES:
            problems.append(
                Problem(
                    "Unknown attribute role.", fix=f"Use one of {', '.join(ATTRIBUTE_ROLES)}.", value=str(self.role)
                )
            )
        if self.role == "score" and self.scale not in SCORE_SCALES:
            problems.append(
                Problem("A score needs its scale.", fix=f"Use one of {', '.join(SCORE_SCALES)}.", value=str(self.scale))
            )
        if self.role != "score" and self.scale is not None:
            problems.append(Problem("Only a score has a scale.", value=str(self.scale)))
        if not isinstance(self.per_customer, bool):
            problems.append(Problem("“Once per customer” is yes or no.", value=str(self.per_customer)))
        elif self.per_customer and not self.is_summed:
            problems.append(
                Problem(
                    "Only an amount, a score or a number is counted once per customer.",
                    fix="Leave “once per customer” off for this role.",
                    value=str(self.role),
                )
            )
        if self.scale == "csat" and not _is_number(self.satisfied_from):
            problems.append(
                Problem(
                    "A CSAT score needs the lowest satisfied answer (e.g. 4 on 1–5).", value=str(self.satisfied_from)
                )
            )
        if problems:
            raise LogError(problems)

    def __str__(self) -> str:
        return self._kind() + (", once per customer" if self.per_customer else "")

    def _kind(self) -> str:
        if self.scale == "nps":
            return "score (NPS 0–10: % promoters − % detractors)"
        if self.scale == "csat":
            return f"score (CSAT: share of answers ≥ {self.satisfied_from:g})"
        if self.scale == "mean":
            return "score (mean)"
        return self.role

    @property
    def is_summed(self) -> bool:
        """Whether the role sums a group of events up into figures (amounts, scores and numbers do)."""
        return self.role in ("amount", "score", "number")

    def sums_sql(self, column: str, index: int, *, partial: bool = False, whole: bool = False) -> str:
        """Return the SQL aggregates a group's figures are computed from: the total and count of `column`'s values,
        and how many are at least the high threshold and at most the low one (NPS promoters and detractors, CSAT's
        satisfied answers; 0 for a role without them).

        Sums are exact, so that thread scheduling cannot change a total's last bits: whole numbers (`whole`) as
        integers, others as decimals (a third slower per value). A `partial` total stays decimal, for summing
        groups into larger ones (`sum(total_<index>)::DOUBLE`).
        """
        high, low = {
            "nps": (str(NPS_PROMOTER_FROM), str(NPS_DETRACTOR_UP_TO)),
            "csat": (repr(float(self.satisfied_from or 0)), None),
        }.get(self.scale, (None, None))
        total = f"sum({column})::DECIMAL(38, 10)" if whole else f"sum({column}::DECIMAL(38, 10))"
        return (
            f"{total}{'' if partial else '::DOUBLE'} AS total_{index}, count({column}) AS values_{index}, "
            f"{'0' if high is None else f'count(*) FILTER ({column} >= {high})'} AS high_{index}, "
            f"{'0' if low is None else f'count(*) FILTER ({column} <= {low})'} AS low_{index}"
        )

    def figures(self, total: float, values: int, high: int, low: int, customers: int) -> list[tuple[str, float]]:
        """Return (figure, value) for a group from its `sums_sql` and the customers in it: an amount's total, per
        customer and per event (not for a value counted once per customer); NPS as % promoters − % detractors; CSAT
        as the share satisfied; else the mean."""
        per = lambda part, whole: part / whole if whole else math.nan  # noqa: E731
        if self.role == "amount" and self.per_customer:
            return [("total", total), ("per customer", per(total, customers))]
        if self.role == "amount":
            return [("total", total), ("per customer", per(total, customers)), ("per event", per(total, values))]
        if self.scale == "nps":
            return [("NPS", 100 * per(high - low, values))]
        if self.scale == "csat":
            return [("share satisfied", per(high, values))]
        return [("mean", per(total, values))]

    def to_dict(self) -> dict[str, Any]:
        values: dict[str, Any] = {"role": self.role}
        if self.scale is not None:
            values["scale"] = self.scale
        if self.satisfied_from is not None:
            values["satisfied_from"] = self.satisfied_from
        if self.per_customer:
            values["per_customer"] = True
        return values


@dataclass(frozen=True)
class JourneyDefinition:
    """A log's journeys defined: the goal, the stages, the churn rule, channel groups and attribute roles.

    `goal`: the touchpoints that count as conversion (none: conversion cannot be computed). `stages`: the ordered
    stages and each touchpoint's stage. `channel_groups`: each channel's group ("online", "offline", any name; a
    channel not listed is "other"). `attribute_roles`: each attribute's role (one not listed is a category, or a
    number when numeric). `reasons`: why a suggestion chose each part, by "goal", "churn.touchpoints",
    "churn.inactivity_days", "channel:NAME" and "attribute:NAME" (the stages keep their own reasons).

    >>> definition = JourneyDefinition(goal=("purchase",), churn=ChurnRule(inactivity_days=30))
    >>> definition.goal_stage is None  # the purchase touchpoint is in no stage yet
    True
    """

    goal: tuple[str, ...] = ()
    stages: StageModel = field(default_factory=StageModel)
    churn: ChurnRule = field(default_factory=ChurnRule)
    channel_groups: Mapping[str, str] = field(default_factory=dict)
    attribute_roles: Mapping[str, AttributeRole] = field(default_factory=dict)
    reasons: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        goal = (self.goal,) if isinstance(self.goal, str) else tuple(self.goal)
        problems = [
            Problem("A goal touchpoint must be a touchpoint's name.", value=str(name))
            for name in goal
            if not isinstance(name, str) or not name
        ]
        problems += _goal_and_churn(goal, self.churn.touchpoints)
        if not isinstance(self.stages, StageModel):
            raise TypeError(f"stages must be a StageModel, not {type(self.stages).__name__}")
        if not isinstance(self.churn, ChurnRule):
            raise TypeError(f"churn must be a ChurnRule, not {type(self.churn).__name__}")
        groups = dict(self.channel_groups)
        problems += [
            Problem("A channel group must have a name.", column=str(channel), value=str(group))
            for channel, group in groups.items()
            if not isinstance(group, str) or not group.strip()
        ]
        roles = dict(self.attribute_roles)
        if not all(isinstance(role, AttributeRole) for role in roles.values()):
            raise TypeError("attribute_roles must map attribute names to AttributeRole values")
        if problems:
            raise LogError(problems)
        object.__setattr__(self, "goal", tuple(dict.fromkeys(goal)))
        object.__setattr__(self, "channel_groups", groups)
        object.__setattr__(self, "attribute_roles", roles)
        object.__setattr__(self, "reasons", dict(self.reasons))

    @property
    def goal_stage(self) -> str | None:
        """The earliest stage holding a goal touchpoint (None: no goal, or the goal is in no stage)."""
        index = goal_stage_index(self.stages.stages, dict(self.stages.stage_of), self.goal)
        return None if index is None else self.stages.stages[index]

    def channel_group(self, channel: str) -> str:
        return self.channel_groups.get(channel, OTHER_CHANNELS)

    def role_of(self, attribute: str, stored_as: str) -> AttributeRole:
        """The attribute's role: the one chosen, else "number" for a numeric column and "category" otherwise."""
        chosen = self.attribute_roles.get(attribute)
        if chosen is not None:
            return chosen
        return AttributeRole("number" if _is_numeric_type(stored_as) else "category")

    def rules_in_words(self) -> str:
        """What "converted" and "churned" mean under this definition, in one or two sentences for captions."""
        if not self.goal:
            conversion = "Conversion: no goal is chosen, so nobody converts."
        else:
            conversion = f"Conversion: doing {_either(self.goal)}, out of every journey."
        rules = []
        if self.churn.touchpoints:
            rules.append(f"doing {_either(self.churn.touchpoints)} (after the last goal step, if any)")
        if self.churn.inactivity_days is not None:
            rules.append(
                f"{duration_words(self.churn.inactivity_days)} of silence before the log's end without converting"
            )
        churn = " or ".join(rules) if rules else "no rule, so nobody churns"
        if not self.goal:  # every decided journey would be a churn
            return f"{conversion} Churn: {churn}; no churn rate is given without a goal, as it would read 100 %."
        return (
            f"{conversion} Churn: {churn}, out of the decided journeys; journeys still open (censored) are left out, "
            f"and the rate is not given while more than half are."
        )

    def why(self, part: str) -> str:
        """Return why the suggestion chose `part` ("goal", "churn.inactivity_days", "channel:web" …), or ""."""
        return self.reasons.get(part, "")

    def to_dict(self) -> dict[str, Any]:
        """The definition as the JSON file form: plain, human-editable, with the stages listed in order."""
        groups: dict[str, list[str]] = {}
        for channel, group in self.channel_groups.items():
            groups.setdefault(group, []).append(channel)
        return {
            "format": DEFINITION_FORMAT,
            "format_version": FORMAT_VERSION,
            "goal": list(self.goal),
            "stages": [
                {"name": stage, "touchpoints": list(self.stages.activities_in(stage))} for stage in self.stages.stages
            ],
            "churn": {"touchpoints": list(self.churn.touchpoints), "inactivity_days": self.churn.inactivity_days},
            "channel_groups": groups,
            "attributes": {name: role.to_dict() for name, role in self.attribute_roles.items()},
            "reasons": dict(self.reasons),
            "stage_reasons": {activity: reason.to_dict() for activity, reason in self.stages.reasons.items()},
        }

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], *, source: str = "") -> JourneyDefinition:
        """Read the JSON file form; LogError lists every problem with the file (named `source`)."""
        try:
            return _from_dict(values)
        except LogError as error:
            raise LogError(
                [replace(problem, file=problem.file or source or None) for problem in error.problems]
            ) from None
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise LogError(
                Problem(
                    f"This is not a journey definition Parcours can read ({type(error).__name__}: {error}).",
                    fix="Export one with `python -m discovery definition LOG --export FILE` and edit that.",
                    file=source or None,
                )
            ) from None


def _goal_and_churn(goal: Iterable[str], churn: Iterable[str]) -> list[Problem]:
    """A problem for each touchpoint that is both a goal and a churn touchpoint."""
    return [
        Problem(
            "This touchpoint is both a goal and a churn touchpoint.",
            fix="A journey that does it cannot both convert and churn: keep it in one list.",
            value=name,
        )
        for name in sorted(set(goal) & set(churn))
    ]


def _either(names: Sequence[str]) -> str:
    return " or ".join(f"'{name}'" for name in names)


def _both(names: Sequence[str]) -> str:
    return ", ".join(f"'{name}'" for name in names)


def _from_dict(values: Mapping[str, Any]) -> JourneyDefinition:
    if values.get("format") != DEFINITION_FORMAT or values.get("format_version") != FORMAT_VERSION:
        raise LogError(
            Problem(
                f"The file does not say it is a {DEFINITION_FORMAT} of version {FORMAT_VERSION}.",
                fix=f'Start it with "format": "{DEFINITION_FORMAT}", "format_version": {FORMAT_VERSION}.',
            )
        )
    stage_reasons = {
        activity: StageReason(reason["kind"], reason.get("keyword"), reason.get("median_position"))
        for activity, reason in values.get("stage_reasons", {}).items()
    }
    stages = [stage["name"] for stage in values["stages"]]
    stage_of = {touchpoint: stage["name"] for stage in values["stages"] for touchpoint in stage["touchpoints"]}
    churn = values.get("churn") or {}
    problems: list[Problem] = []
    parts = {
        "stages": lambda: StageModel(tuple(stages), stage_of, stage_reasons),
        "churn": lambda: ChurnRule(tuple(churn.get("touchpoints") or ()), churn.get("inactivity_days")),
        "attribute_roles": lambda: {
            name: AttributeRole(
                role["role"], role.get("scale"), role.get("satisfied_from"), role.get("per_customer", False)
            )
            for name, role in (values.get("attributes") or {}).items()
        },
    }
    built = {}
    for part, build in parts.items():
        try:
            built[part] = build()
        except LogError as error:
            problems += error.problems
    goal = tuple(values.get("goal") or ())
    problems += _goal_and_churn(goal, churn.get("touchpoints") or ())
    if problems:
        raise LogError(problems)
    return JourneyDefinition(
        goal=goal,
        channel_groups={
            channel: group for group, channels in (values.get("channel_groups") or {}).items() for channel in channels
        },
        reasons=values.get("reasons") or {},
        **built,
    )


def read_definition(path: str | Path) -> JourneyDefinition:
    """Read a journey definition file (JSON); LogError says what is wrong with it."""
    path = Path(path)
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise LogError(
            Problem(f"The journey definition cannot be read: {error}.", fix="Give a JSON file.", file=str(path))
        ) from None
    if not isinstance(values, Mapping):
        raise LogError(Problem("A journey definition is a JSON object.", file=str(path)))
    return JourneyDefinition.from_dict(values, source=str(path))


def write_definition(definition: JourneyDefinition, path: str | Path) -> None:
    """Write the definition as an indented JSON file that a person can edit and version."""
    Path(path).write_text(json.dumps(definition.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def save_definition(store: Store, dataset_id: str, definition: JourneyDefinition, *, author: str | None = None) -> int:
    """Save the definition as the dataset's new version, in force on every page and CLI; return its number."""
    if not isinstance(definition, JourneyDefinition):
        raise TypeError(f"definition must be a JourneyDefinition, not {type(definition).__name__}")
    return store.save_definition(dataset_id, definition.to_dict(), author=author)


def definition_of(store: Store, dataset_id: str, engine: Engine | None = None) -> tuple[JourneyDefinition, int | None]:
    """Return the dataset's definition in force and its saved version, or the suggestion and None when no one has
    saved one yet (`engine`, the dataset's open engine, spares opening another)."""
    saved = store.definition(dataset_id)
    if saved is not None:
        return JourneyDefinition.from_dict(
            saved.payload, source=f"dataset {dataset_id}, version {saved.version}"
        ), saved.version
    if engine is not None:
        return suggest_definition(engine), None
    with store.engine(dataset_id) as opened:
        return suggest_definition(opened), None


def definition_in_force(
    engine: Engine, *, store: Store | None = None, dataset_id: str | None = None, file: str | Path | None = None
) -> tuple[JourneyDefinition, str]:
    """Return the definition a command follows and where it comes from, in words: the `file` when given, else the
    newest version saved for the stored dataset, else the one suggested from the log."""
    if file is not None:
        return read_definition(file), f"the file {file}"
    if store is not None and dataset_id is not None:
        definition, version = definition_of(store, dataset_id, engine)
        if version is not None:
            return definition, f"saved, version {version}"
        return definition, "suggested from the log"
    return suggest_definition(engine), "suggested from the log"


def outcome_counts(engine: Engine, definition: JourneyDefinition, filters: Filters = _EVERY_JOURNEY) -> Outcomes:
    """Return how many selected journeys converted, churned or are still open, under `definition`."""
    return count_outcomes(engine, outcome_relation(engine, definition), filters, has_goal=bool(definition.goal))


def outcome_relation(engine: Engine, definition: JourneyDefinition) -> tuple[str, list]:
    """Return the `touchpoint_marks` and `outcomes` CTEs of `definition` over this log, and their parameters: what
    a view composes into its own `Engine.query` to count outcomes as every other view does."""
    return outcome_ctes(engine, definition_marks(engine, definition), definition.churn.inactivity_days)


def definition_marks(engine: Engine, definition: JourneyDefinition) -> tuple[str, list]:
    """Return the `touchpoint_marks` CTE of `definition` over this log (see `discovery._relations`)."""
    if not isinstance(definition, JourneyDefinition):
        raise TypeError(f"definition must be a JourneyDefinition, not {type(definition).__name__}")
    model = definition.stages
    return touchpoint_marks(engine, definition.goal, definition.churn.touchpoints, model.stages, dict(model.stage_of))


# --- suggestions ---


def suggest_definition(engine: Engine) -> JourneyDefinition:
    """Return a definition suggested from the log, with the reason for each part (`JourneyDefinition.why`).

    The goal comes from the touchpoints' names only (common event vocabularies, `discovery._vocabulary`), never
    from where they come in journeys; no goal is suggested when no name says one. Stages follow `suggest_stages`;
    churn touchpoints come from their names, and the inactivity window from the gaps between a journey's events.
    """
    names = engine.activity_names
    touchpoints = engine.query(_TOUCHPOINTS_SQL)
    journeys = engine.summary().cases
    reach = dict(zip(touchpoints["activity"], touchpoints["customers"] / max(journeys, 1), strict=True))
    goal, goal_reason = suggest_goal(names, reach)
    stages = suggest_stages(engine, default_stages(names), goal=goal)
    churn_touchpoints = tuple(name for name in names if name not in goal and _CHURN_MATCHER.search(plain_words(name)))
    window, window_reason = suggest_inactivity_days(engine)
    groups, group_reasons = suggest_channel_groups(engine.channel_values()["value"].tolist())
    roles, role_reasons = suggest_attribute_roles(engine)
    churn_reason = (
        "their names say the customer leaves: " + ", ".join(churn_touchpoints)
        if churn_touchpoints
        else "no touchpoint's name says the customer leaves (cancel, unsubscribe, résiliation …)"
    )
    return JourneyDefinition(
        goal=goal,
        stages=stages,
        churn=ChurnRule(churn_touchpoints, window),
        channel_groups=groups,
        attribute_roles=roles,
        reasons={
            "goal": goal_reason,
            "churn.touchpoints": churn_reason,
            "churn.inactivity_days": window_reason,
            **group_reasons,
            **role_reasons,
        },
    )


def suggest_goal(activities: Iterable[str], reach: Mapping[str, float] | None = None) -> tuple[tuple[str, ...], str]:
    """Return the touchpoints whose names say they are a conversion, and why; none when no name says so.

    The first group of `GOAL_KEYWORDS` that names any touchpoint decides, and every touchpoint it names is a goal
    ("checkout" and "buy_in_store"); a name that also says the step is only begun, asked for or failed
    ("begin_checkout", "booking_request", "payment_failed"), changed or undone ("delete_order") or not done ("no
    callback registered") is never a goal; of a chain of them, those named final are ("Permit FINAL_APPROVED by
    SUPERVISOR", not its earlier approvals). Neither is a touchpoint `reach`
    (its share of journeys) says nearly every journey does: a conversion nearly everyone reaches is a routine step.
    """
    reach = reach or {}
    words = {name: plain_words(name) for name in activities}
    routine = []
    for matcher in _GOAL_MATCHERS:
        named = [name for name, plain in words.items() if matcher.search(plain) and not _GOAL_QUALIFIER.search(plain)]
        routine += [name for name in named if reach.get(name, 0.0) > NEARLY_EVERYONE]
        goal = tuple(name for name in named if reach.get(name, 0.0) <= NEARLY_EVERYONE)
        goal = tuple(name for name in goal if _GOAL_FINAL.search(words[name])) or goal
        if goal:
            found = " / ".join(sorted({repr(matcher.search(words[name]).group(0)) for name in goal}))
            one = len(goal) == 1
            reason = (
                f"{_both(goal)} look{'s' if one else ''} like the goal: {'its' if one else 'their'} name says {found}"
            )
            return goal, reason
    reason = "no touchpoint's name says it is a conversion (purchase, order, booking, subscription …): choose the goal"
    if routine:
        reason += (
            f"; {_both(routine)} {'is' if len(routine) == 1 else 'are'} named like one but done by more than "
            f"{NEARLY_EVERYONE:.0%} of journeys, so not suggested"
        )
    return (), reason


def suggest_inactivity_days(engine: Engine) -> tuple[float | None, str]:
    """Return the silence (in days) after which a customer who has not converted counts as churned, and why.

    The smallest round duration at least as long as 99 % of the gaps between a journey's consecutive events:
    on a log of sessions it is minutes, on a year of subscriber contacts weeks.
    """
    row = engine.query(_GAPS_SQL).iloc[0]
    summary = engine.summary()
    span_days = (summary.end_time - summary.start_time).total_seconds() / 86_400 if summary.cases else 0.0
    if not row["gaps"] or pd.isna(row["gap_us"]):
        return None, "no journey has two events, so no pause between them to learn from: churn touchpoints only"
    gap_days = float(row["gap_us"]) / _MICROSECONDS_PER_DAY
    window = next((days for days in NICE_WINDOWS_DAYS if days >= gap_days), math.ceil(gap_days))
    return window, (
        f"{GAP_QUANTILE:.0%} of the pauses between a customer's consecutive events last at most "
        f"{duration_words(gap_days)}; a customer silent for {duration_words(window)} is unlikely to come back "
        f"(the log spans {duration_words(span_days)})"
    )


def suggest_channel_groups(channels: Sequence[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Return each channel's group by the words of its name ("web", "app" → online; "store", "phone" → offline),
    with the reason, under the key "channel:NAME"; a channel no word names stays "other"."""
    groups, reasons = {}, {}
    for channel in channels:
        plain = plain_words(channel)
        for group, matcher in _CHANNEL_MATCHERS.items():
            found = matcher.search(plain)
            if found:
                groups[channel] = group
                reasons[f"channel:{channel}"] = f"its name contains {found.group(0)!r}"
                break
        else:
            reasons[f"channel:{channel}"] = "no word of its name says online or offline"
    return groups, reasons


def suggest_attribute_roles(engine: Engine) -> tuple[dict[str, AttributeRole], dict[str, str]]:
    """Return each attribute's role from its name, type and values, with the reason ("attribute:NAME")."""
    columns = engine.attribute_columns
    if not columns:
        return {}, {}
    stats = _attribute_stats(engine, columns)
    roles, reasons = {}, {}
    for name, stored_as in columns.items():
        role, reason = _role(name, stored_as, stats.loc[name])
        roles[name] = role
        reasons[f"attribute:{name}"] = reason
    return roles, reasons


def _attribute_stats(engine: Engine, columns: Mapping[str, str]) -> pd.DataFrame:
    """Per attribute: values (non-null), distinct values (approximate), min and max when numeric, the customers with
    a value and their distinct (customer, value) pairs (approximate)."""
    parts, present = [], []
    for index, (name, stored_as) in enumerate(columns.items()):
        column = engine.attribute_column(name)
        numeric = _is_numeric_type(stored_as)
        low = f"min({column})::DOUBLE" if numeric else "NULL::DOUBLE"
        high = f"max({column})::DOUBLE" if numeric else "NULL::DOUBLE"
        whole = f"bool_and({column} = round({column}))" if numeric else "NULL::BOOLEAN"
        parts.append(
            f"count({column}) AS values_{index}, approx_count_distinct({column}) AS distinct_{index}, "
            f"{low} AS low_{index}, {high} AS high_{index}, {whole} AS whole_{index}, "
            f"approx_count_distinct(hash(case_code, {column})) FILTER ({column} IS NOT NULL) AS pairs_{index}"
        )
        present.append(f"bool_or({column} IS NOT NULL) AS has_{index}")
    # The customers with a value, counted from one row per customer: a distinct count per attribute held every
    # customer's code once per attribute (1.45 s of the suggestion at 10M events, 30 s at 100M).
    customers = ", ".join(f"count_if(has_{index})::BIGINT AS customers_{index}" for index in range(len(columns)))
    row = engine.query(
        f"""
        SELECT * FROM (SELECT {", ".join(parts)} FROM steps)
        CROSS JOIN (SELECT {customers} FROM (SELECT {", ".join(present)} FROM steps GROUP BY case_code))
        """
    ).iloc[0]
    return pd.DataFrame(
        {
            figure: [row[f"{figure}_{index}"] for index in range(len(columns))]
            for figure in ("values", "distinct", "low", "high", "whole", "customers", "pairs")
        },
        index=list(columns),
    )


def _role(name: str, stored_as: str, stats: pd.Series) -> tuple[AttributeRole, str]:
    plain = plain_words(name)
    numeric = _is_numeric_type(stored_as)
    values, distinct = int(stats["values"]), int(stats["distinct"])
    low, high = stats["low"], stats["high"]
    whole = bool(stats["whole"]) if numeric and not pd.isna(stats["whole"]) else False
    named = {role: matcher.search(plain) for role, matcher in _ROLE_MATCHERS}
    named["amount"] = named["amount"] or _COMPOUND_AMOUNT.search(plain)
    named["date"] = None if _TIME_ZONE.search(plain) else named["date"] or _COMPOUND_DATE.search(plain)
    if stored_as.startswith("TIMESTAMP") or stored_as == "DATE":
        return AttributeRole("date"), "its values are dates"
    if named["date"] and not numeric:
        # Dates kept as text (no single format, or a log that writes them as it likes) are unique enough to pass for
        # identifiers: the name says better.
        return AttributeRole("date"), f"its name says {named['date'].group(0)!r}"
    if named["identifier"]:
        return AttributeRole(
            "identifier"
        ), f"its name says {named['identifier'].group(0)!r}: an identifier is never averaged"
    is_unique = values >= _IDENTIFIER_MIN_VALUES and distinct >= _IDENTIFIER_DISTINCT_SHARE * values
    is_code = (not numeric or stored_as in _INTEGER_TYPES) and not named["amount"]
    if is_unique and is_code:
        return AttributeRole(
            "identifier"
        ), f"nearly every value is different ({distinct:,} of {values:,}): an identifier"
    customers, pairs = int(stats["customers"]), int(stats["pairs"])
    per_customer = pairs <= _ONE_PER_CUSTOMER * customers and distinct >= _IDENTIFIER_DISTINCT_SHARE * customers
    if is_code and per_customer and distinct >= _IDENTIFIER_MIN_VALUES:
        return AttributeRole("identifier"), (
            f"each customer has one value and nearly every customer another ({distinct:,} values for {customers:,} "
            "customers): an identifier, such as a phone or account number"
        )
    if numeric and whole and named["code"] and not named["amount"]:
        return AttributeRole("category"), (
            f"its name says {named['code'].group(0)!r}: whole numbers that name, not count, grouped and never averaged"
        )
    if numeric:
        role, reason = _summed_role(named, whole, low, high)
        if name.startswith(_CASE_ATTRIBUTE) or (
            pairs <= _ONE_PER_CUSTOMER * customers and values >= _REPEATED_ON_EVENTS * customers
        ):
            return replace(role, per_customer=True), (
                f"{reason}; each customer has one value, repeated on their events ({values:,} values for "
                f"{customers:,} customers): counted once per customer"
            )
        return role, reason
    return AttributeRole("category"), "text: a category to group by"


def _summed_role(named: dict, whole: bool, low: float, high: float) -> tuple[AttributeRole, str]:
    """The role of a number that is summed up: a score, an amount or a plain number, by its name and values."""
    if named["score:nps"] and whole and low >= 0 and high <= 10:
        return AttributeRole(
            "score", "nps"
        ), f"its name says {named['score:nps'].group(0)!r} and its values run {low:g}–{high:g}"
    if named["score:csat"] and whole and high <= 10:
        satisfied = high - 1 if high - low >= 3 else high
        return (
            AttributeRole("score", "csat", float(satisfied)),
            f"its name says {named['score:csat'].group(0)!r} and its values run {low:g}–{high:g}: "
            f"satisfied means {satisfied:g} or more",
        )
    if named["amount"]:
        return AttributeRole("amount"), f"its name says {named['amount'].group(0)!r}: an amount, summed"
    return AttributeRole("number"), "a number with no name that says more: averaged"


def _is_numeric_type(stored_as: str) -> bool:
    return stored_as in _NUMERIC_TYPES or stored_as.startswith("DECIMAL")


# --- warnings ---


def definition_warnings(
    engine: Engine, definition: JourneyDefinition, outcomes: Outcomes | None = None
) -> tuple[str, ...]:
    """Return, in words, where the definition looks wrong on this log (an empty tuple when nothing does).

    A goal nearly everyone reaches; no goal; a goal stage holding other touchpoints (reaching it is then not
    converting); a touchpoint nearly every journey starts with placed after the first stage; suggested stages
    that are guesses; a churn window longer than the log; most journeys still open under the churn rule.
    """
    touchpoints = engine.query(_TOUCHPOINTS_SQL).set_index("activity")
    journeys = engine.summary().cases
    warnings = []
    if not definition.goal:
        warnings.append("No goal is chosen: conversion, churn and where non-converters went cannot be computed.")
    for name in definition.goal:
        share = touchpoints["customers"].get(name, 0) / journeys if journeys else 0
        if share > NEARLY_EVERYONE:
            warnings.append(
                f"The goal '{name}' is done by {share:.0%} of customers: a step nearly everyone does is rarely the "
                "conversion. Check the goal."
            )
    model, goal_stage = definition.stages, definition.goal_stage
    if goal_stage is not None:
        others = [name for name in model.activities_in(goal_stage) if name not in definition.goal]
        if others:
            warnings.append(
                f"The goal stage '{goal_stage}' also holds {_both(others)}: a customer who does "
                "only these reaches the goal stage without converting."
            )
    first_stage = model.stages[0]
    for name, starts in touchpoints["starts"].items():
        stage = model.stage_of.get(name)
        if journeys and starts / journeys > NEARLY_EVERYONE and stage is not None and stage != first_stage:
            warnings.append(
                f"{starts / journeys:.0%} of journeys start with '{name}', yet it is in stage '{stage}', not the "
                f"first ('{first_stage}')."
            )
    guessed = [name for name, reason in model.reasons.items() if reason.is_guess]
    if guessed:
        warnings.append(
            f"{len(guessed)} touchpoint(s) were placed by guess or left without a stage: "
            + _both(guessed[:8])
            + (" …" if len(guessed) > 8 else "")
            + ". Check their stages."
        )
    summary = engine.summary()
    span_days = (summary.end_time - summary.start_time).total_seconds() / 86_400 if journeys else 0.0
    window = definition.churn.inactivity_days
    if window is not None and window >= span_days:
        warnings.append(
            f"The churn window ({duration_words(window)}) is longer than the log ({duration_words(span_days)}): "
            "no journey can fall silent for that long, so nobody churns silently."
        )
    if definition.goal:
        outcomes = outcome_counts(engine, definition) if outcomes is None else outcomes
        if outcomes.conversion_rate > NEARLY_EVERYONE:
            warnings.append(
                f"{outcomes.conversion_rate:.0%} of journeys convert under this goal: when nearly everyone converts, "
                "the goal is probably a routine step. Check the goal."
            )
        if not outcomes.churn_estimable:
            warnings.append(
                f"{outcomes.censored:,} of {outcomes.journeys:,} journeys are still open under this churn rule: "
                "churn cannot be estimated yet. A shorter inactivity window, or churn touchpoints, decide more."
            )
    return tuple(warnings)


def duration_words(days: float) -> str:
    """A duration in the largest unit that keeps it readable: '45 seconds', '12 minutes', '3.5 hours', '60 days'."""
    seconds = days * 86_400
    for unit, size in (("day", 86_400), ("hour", 3_600), ("minute", 60)):
        if seconds >= size:
            count = seconds / size
            text = f"{count:.0f}" if count >= 10 or float(count).is_integer() else f"{count:.1f}"
            return f"{text} {unit}{'' if text == '1' else 's'}"
    return f"{seconds:.0f} seconds"
