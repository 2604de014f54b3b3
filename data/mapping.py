"""Column mapping: which source columns hold the case, the activity, the timestamp and the channel.

`detect_mapping` suggests a mapping from column names (English, French, XES keys) and value shapes
(dates parse, case ids repeat, activities are a small set of labels, channels a tiny set of
web/app/store…), and keeps every ranked candidate with its reason so the user can confirm or
correct it. `validate_mapping` checks the mapping the user confirmed, listing every problem.
"""

from __future__ import annotations

import difflib
import itertools
import re
import unicodedata
from dataclasses import dataclass

import pandas as pd

from data.errors import MappingError, Problem
from data.schema import ColumnMapping
from data.timestamps import EPOCH_UNITS, as_text, sniff_timestamps

__all__ = ["ROLES", "Candidate", "MappingSuggestion", "detect_mapping", "validate_mapping"]

ROLES = ("case_id", "activity", "timestamp", "channel")
ROLE_LABELS = {"case_id": "case id", "activity": "activity", "timestamp": "timestamp", "channel": "channel"}

SAMPLE_ROWS = 20_000
"""Value shapes are measured on the first rows: enough for repeats of case ids to show."""

EXAMPLES_PER_COLUMN = 3
FIRST_ROWS_LOOKED_AT = 1_000  # a role column is told not empty from these when one of them is filled in
MIN_SCORE_LISTED = 0.2
MIN_SCORE_MAPPED = 0.35
MIN_CHANNEL_SCORE = 0.5
TOP_CANDIDATES_TRIED = 5

_XES_KEYS = {
    "case:concept:name": "case_id",
    "concept:name": "activity",
    "time:timestamp": "timestamp",
    "case:channel": "channel",
}
# Phrases (accent-free, lower case) whose presence in a column name points to a role. A name that is
# exactly the phrase scores higher than one that merely contains it.
_NAME_PHRASES = {
    "case_id": (
        "case id", "case", "caseid", "customer id", "customer", "customerid", "client id", "id client", "client",
        "clientid", "numero client", "num client", "user id", "user", "userid", "visitor id", "visitor", "visitorid",
        "parcours", "id parcours", "parcours id", "journey id", "journey", "session id", "session", "sessionid",
        "account id", "account", "compte", "contact id", "subscriber", "abonne", "patient", "ticket",
    ),
    "activity": (
        "activity", "activite", "action", "event", "evenement", "event name", "event type", "touchpoint",
        "touch point", "point de contact", "etape", "step", "interaction", "task", "tache", "activity name",
    ),
    "timestamp": (
        "timestamp", "time", "date", "datetime", "date time", "horodatage", "date heure", "heure", "created at",
        "occurred at", "event time", "event date", "ts", "when", "quand",
    ),
    "channel": ("channel", "canal", "medium", "source", "contact channel", "via", "media"),
}  # fmt: skip
# Words that often name the role's column but also other things: a hint, weaker than a phrase.
_NAME_HINTS = {
    "case_id": ("id", "identifier", "identifiant", "dossier", "key"),
    "activity": ("name", "nom", "type", "topic", "theme", "subject", "sujet", "motif", "reason", "status", "statut"),
    "timestamp": ("at", "start", "end", "debut", "fin", "moment"),
    "channel": ("origin", "origine", "device", "appareil", "platform", "plateforme"),
}
_LANGUAGE_SUFFIXES = ("en", "fr", "english", "french", "anglais", "francais")
_CHANNEL_WORDS = frozenset((
    "web", "website", "site", "internet", "online", "ligne", "app", "mobile", "application", "store", "shop",
    "magasin", "boutique", "agence", "branch", "call", "center", "centre", "phone", "telephone", "tel", "email",
    "mail", "courriel", "chat", "chatbot", "bot", "messaging", "messagerie", "whatsapp", "social", "facebook",
    "twitter", "instagram", "linkedin", "sms", "post", "courrier", "letter", "desk", "guichet", "counter", "visit",
))  # fmt: skip
_DATE_SHAPE = r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}"
_DATES_TRIED = 200
# Digit text that may be Unix times: nine digits and more (1e9 seconds is 2001).
_EPOCH_SHAPE = r"[+-]?\d{9,}(?:\.\d+)?"
# Unix times of events fall between 1e9 and 2e10 seconds (2001 to 2603), in whatever unit they are written.
_EPOCH_YEARS = (pd.Timestamp(1e9, unit="s", tz="UTC"), pd.Timestamp(2e10, unit="s", tz="UTC"))
_EPOCH_SHARE = 0.9
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


@dataclass(frozen=True)
class Candidate:
    """A column that may play a role, with a score from 0 to 1 and the reason in words."""

    column: str
    score: float
    reason: str


@dataclass(frozen=True)
class MappingSuggestion:
    """The best mapping found (None when no case, activity or timestamp column stands out).

    `candidates` ranks, per role in `ROLES`, the columns that may play it, best first;
    `examples` holds up to three distinct values of every column, to show beside the choices.
    """

    mapping: ColumnMapping | None
    candidates: dict[str, tuple[Candidate, ...]]
    examples: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class _Shape:
    """What a column's sampled values look like."""

    filled_share: float
    distinct: int
    rows_per_value: float
    repeated_share: float
    date_share: float
    date_reason: str
    epoch_format: str | None
    letter_share: float
    fraction_share: float
    channel_word_share: float


def detect_mapping(frame: pd.DataFrame) -> MappingSuggestion:
    """Return the suggested mapping of a raw frame, with ranked candidates and example values.

    suggestion = detect_mapping(read_log("journeys.csv").frame)
    suggestion.mapping                 # ColumnMapping(case_id='id_client', ...) or None
    suggestion.candidates["timestamp"][0].reason   # "name 'horodatage' means timestamp; …"
    """
    _check_frame(frame)
    sample = frame.head(SAMPLE_ROWS)
    filled = {column: _filled(sample[column]) for column in frame.columns}
    shapes = {column: _shape(values, len(sample)) for column, values in filled.items()}
    candidates = {
        role: tuple(
            sorted(
                (c for c in (_candidate(role, column, shapes[column]) for column in frame.columns) if c),
                key=lambda candidate: -candidate.score,
            )
        )
        for role in ROLES
    }
    return MappingSuggestion(
        mapping=_best_mapping(candidates, shapes),
        candidates=candidates,
        examples={
            column: tuple(as_text(values.drop_duplicates().head(EXAMPLES_PER_COLUMN)))
            for column, values in filled.items()
        },
    )


def validate_mapping(frame: pd.DataFrame, mapping: ColumnMapping) -> None:
    """Raise MappingError listing every problem of the mapping on this frame: unknown, reused or empty columns."""
    _check_frame(frame)
    if not isinstance(mapping, ColumnMapping):
        raise TypeError(f"mapping must be a ColumnMapping, not {type(mapping).__name__}")
    uses = [
        ("case_id", mapping.case_id),
        *(("activity", column) for column in mapping.activity),
        ("timestamp", mapping.timestamp),
        *([("channel", mapping.channel)] if mapping.channel is not None else []),
    ]
    problems = [
        _unknown_column(frame, f"The {ROLE_LABELS[role]} column", column)
        for role, column in uses
        if column not in frame.columns
    ]
    problems += [
        _unknown_column(frame, "The attribute column", column)
        for column in mapping.attributes or ()
        if column not in frame.columns
    ]
    if not mapping.activity:
        problems.append(Problem("No activity column is chosen.", fix="Choose the column that names each touchpoint."))
    roles_of = {column: [role for role, used in uses if used == column] for _, column in uses}
    problems += [
        Problem(
            f"The column is used {len(roles)} times: as " + " and ".join(ROLE_LABELS[r] for r in roles) + ".",
            fix="Give each role its own column.",
            column=column,
        )
        for column, roles in roles_of.items()
        if len(roles) > 1
    ]
    problems += [
        Problem(
            f"The {ROLE_LABELS[role]} column is entirely empty.",
            fix="Choose a column that holds values.",
            column=column,
        )
        for role, column in dict.fromkeys(uses)
        if column in frame.columns and _entirely_empty(frame[column])
    ]
    if problems:
        raise MappingError(problems)


def _check_frame(frame: pd.DataFrame) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, not {type(frame).__name__}")
    if not all(isinstance(column, str) for column in frame.columns) or frame.columns.has_duplicates:
        raise ValueError("column names must be unique strings, as read_log returns them")


def _unknown_column(frame: pd.DataFrame, what: str, column: str) -> Problem:
    names = [str(name) for name in frame.columns]
    same_but_case = [name for name in names if name.casefold() == str(column).casefold()]
    close = same_but_case or difflib.get_close_matches(str(column), names, n=3, cutoff=0.6)
    if close:
        fix = "Did you mean " + " or ".join(repr(name) for name in close) + "?"
    else:
        shown = ", ".join(repr(name) for name in names[:10])
        fix = f"Choose one of the file's columns: {shown}" + (" …" if len(names) > 10 else "") + "."
    return Problem(f"{what} does not exist in the file.", fix=fix, column=str(column))


def _entirely_empty(values: pd.Series) -> bool:
    """Whether no value of the column is filled in, looking at its first rows first (at 10M events, reading every
    value of the four role columns took 1.5 s where their first rows settle it)."""
    return _filled(values.iloc[:FIRST_ROWS_LOOKED_AT]).empty and _filled(values).empty


def _filled(values: pd.Series) -> pd.Series:
    """Return the non-blank values, as text when the column holds Python objects (mixed types, JSON dicts)."""
    if pd.api.types.is_object_dtype(values) or isinstance(values.dtype, pd.StringDtype):
        text = _as_text(values)
        return text[values.notna() & text.str.strip().ne("")]
    return values[values.notna()]


def _as_text(values: pd.Series) -> pd.Series:
    """Return the values as text; bytes that are not UTF-8 (a binary column) are shown with escapes, not decoded."""
    try:
        return values.astype(str)
    except UnicodeDecodeError:
        escaped = values.map(
            lambda value: value.decode("utf-8", "backslashreplace") if isinstance(value, bytes) else value
        )
        return escaped.astype(str)


def _tokens(name: str) -> tuple[str, ...]:
    """Return the words of a column name: camelCase split, accents dropped, lower case."""
    spaced = _CAMEL_BOUNDARY.sub(" ", name)
    plain = unicodedata.normalize("NFKD", spaced).encode("ascii", "ignore").decode().lower()
    return tuple(re.findall(r"[a-z0-9]+", plain))


def _name_score(role: str, column: str) -> tuple[float, str]:
    if _XES_KEYS.get(column.strip().lower()) == role:
        return 1.0, f"XES key {column!r} holds the {ROLE_LABELS[role]}"
    tokens = _tokens(column)
    phrases = [tuple(phrase.split()) for phrase in _NAME_PHRASES[role]]
    if tokens in phrases:
        return 0.9, f"name {column!r} means {ROLE_LABELS[role]}"
    contained = [p for p in phrases if any(tokens[i : i + len(p)] == p for i in range(len(tokens)))]
    if contained:
        return 0.7, f"name {column!r} contains '{' '.join(max(contained, key=len))}'"
    hints = [word for word in _NAME_HINTS[role] if word in tokens]
    if hints:
        return 0.4, f"name {column!r} contains '{hints[0]}', often the {ROLE_LABELS[role]}"
    return 0.0, ""


def _shape(filled: pd.Series, sampled_rows: int) -> _Shape:
    """Return the shape of a column's filled values, measured on its distinct values weighted by their counts."""
    if filled.empty:
        return _Shape(0.0, 0, 0.0, 0.0, 0.0, "", None, 0.0, 0.0, 0.0)
    counts = filled.value_counts()
    distinct_text = as_text(counts.index)
    weights = counts.to_numpy() / len(filled)
    numbers = pd.to_numeric(distinct_text, errors="coerce")
    date_share, date_reason, epoch_format = _date_share(filled, distinct_text)
    return _Shape(
        filled_share=len(filled) / sampled_rows,
        distinct=len(counts),
        rows_per_value=len(filled) / len(counts),
        repeated_share=float(weights[counts.to_numpy() > 1].sum()),
        date_share=date_share,
        date_reason=date_reason,
        epoch_format=epoch_format,
        letter_share=float(weights @ distinct_text.str.contains(r"[^\W\d_]", regex=True).to_numpy()),
        fraction_share=float(weights @ (numbers.notna() & (numbers % 1 != 0)).to_numpy()),
        channel_word_share=_channel_word_share(distinct_text) if len(counts) <= 30 else 0.0,
    )


def _channel_word_share(distinct_text: pd.Series) -> float:
    """Return the share of distinct values holding a channel word (web, app, magasin, e-mail…)."""
    words = (
        distinct_text.str.normalize("NFKD")
        .str.encode("ascii", "ignore")
        .str.decode("ascii")
        .str.lower()
        .str.findall(r"[a-z]+")
        .explode()
    )
    return float(words.isin(_CHANNEL_WORDS).groupby(level=0).any().mean())


def _date_share(filled: pd.Series, distinct_text: pd.Series) -> tuple[float, str, str | None]:
    """Return the share of sampled values the import reads as dates, why, and the unit when they are Unix times.

    The share and the instants behind it are `sniff_timestamps`'s, the reading the import makes of the
    same values. Numbers count as dates only when nearly all fall in the years Unix times of events do
    (2001 to 2603): identifiers and amounts are numbers too.
    """
    tried = distinct_text.head(_DATES_TRIED)
    text = not (pd.api.types.is_datetime64_any_dtype(filled) or _is_number(filled))
    if text and not (tried.str.contains(_DATE_SHAPE).any() or tried.str.fullmatch(_EPOCH_SHAPE).all()):
        return 0.0, "", None
    sniff = sniff_timestamps(filled)
    epoch_unit = sniff.format if sniff.format in EPOCH_UNITS else None
    if epoch_unit and sniff.values.between(*_EPOCH_YEARS).mean() < _EPOCH_SHARE:
        return 0.0, "", None
    share = sniff.read_share
    if share == 0:
        return 0.0, "", None
    order = "; day/month order to choose" if sniff.ambiguous_day_month else ""
    return share, f"{share:.0%} of values parse as dates ({sniff.description}){order}", epoch_unit


def _is_number(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _shape_score(role: str, shape: _Shape) -> tuple[float, str]:
    if shape.distinct == 0:
        return 0.0, ""
    not_dates = 1 - shape.date_share
    if role == "timestamp":
        return shape.filled_share * shape.date_share, shape.date_reason
    if role == "case_id":
        # Case ids: many distinct values, each shared by several rows; not dates, not measurements.
        many = min(1.0, shape.distinct / 100)
        score = shape.filled_share * shape.repeated_share * many * not_dates * (1 - shape.fraction_share)
        reason = f"{shape.distinct:,} distinct values, about {shape.rows_per_value:.1f} rows each"
        return score, reason
    if role == "activity":
        # Activities: a few to a hundred labels, each used by many rows; text more often than codes.
        score = shape.filled_share * _activity_fit(shape) * not_dates * (0.5 + 0.5 * shape.letter_share)
        kind = "text labels" if shape.letter_share >= 0.5 else "codes"
        return score, f"{shape.distinct:,} distinct {kind}, about {shape.rows_per_value:.0f} rows each"
    # Channels: a handful of values, ideally words such as web, app, store, email.
    few = 0.2 if shape.distinct == 1 else min(1.0, 12 / shape.distinct)
    score = shape.filled_share * not_dates * (0.5 * few + 0.5 * shape.channel_word_share)
    reason = f"only {shape.distinct} distinct values" + (
        ", named like channels" if shape.channel_word_share >= 0.5 else ""
    )
    return score, reason


def _activity_fit(shape: _Shape) -> float:
    """Return how well a number of distinct labels suits activities: 5 to 100 reused labels fit best."""
    if shape.distinct < 2 or shape.rows_per_value < 2:
        return 0.0
    if shape.distinct == 2:
        return 0.4
    if shape.distinct < 5:
        return 0.8
    return min(1.0, 100 / shape.distinct)


def _candidate(role: str, column: str, shape: _Shape) -> Candidate | None:
    if _XES_KEYS.get(column.strip().lower(), role) != role:
        return None  # an XES key names its role without ambiguity
    name_score, name_reason = _name_score(role, column)
    shape_score, shape_reason = _shape_score(role, shape)
    score = (name_score + shape_score) / 2
    reasons = [name_reason, shape_reason if shape_score > 0 else ""]
    last_word = next(reversed(_tokens(column)), "")
    if role in ("activity", "channel") and last_word in _LANGUAGE_SUFFIXES:
        # Exports often repeat a label column per language; prefer the copy in a language Parcours speaks.
        score += 0.02
        reasons.append("labels in English or French")
    if score < MIN_SCORE_LISTED:
        return None
    return Candidate(column=column, score=round(min(score, 1.0), 3), reason="; ".join(r for r in reasons if r))


def _best_mapping(candidates: dict[str, tuple[Candidate, ...]], shapes: dict[str, _Shape]) -> ColumnMapping | None:
    """Return the mapping whose roles, each on its own column, score highest together."""
    core = [
        [c for c in candidates[role][:TOP_CANDIDATES_TRIED] if c.score >= MIN_SCORE_MAPPED]
        for role in ("case_id", "activity", "timestamp")
    ]
    channels = [c for c in candidates["channel"][:TOP_CANDIDATES_TRIED] if c.score >= MIN_CHANNEL_SCORE]
    best, best_score = None, -1.0
    for case, activity, timestamp, channel in itertools.product(*core, [*channels, None]):
        chosen = [c for c in (case, activity, timestamp, channel) if c is not None]
        if len({c.column for c in chosen}) < len(chosen):
            continue
        score = sum(c.score for c in chosen)
        if score > best_score:
            best, best_score = (case, activity, timestamp, channel), score
    if best is None:
        return None
    case, activity, timestamp, channel = best
    return ColumnMapping(
        case_id=case.column,
        activity=activity.column,
        timestamp=timestamp.column,
        channel=channel.column if channel else None,
        timestamp_format=shapes[timestamp.column].epoch_format,
    )
