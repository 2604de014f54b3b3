"""The words Parcours knows in event logs, in English and French: goals, stages, churn, channels, attribute roles.

Suggestions for a journey definition read names only through these lists, so that what a suggestion knows is in
one place and each suggestion can say which word decided it. Names are compared as `plain_words`: lower case,
unaccented, camelCase and punctuation split into words ("AddToCart", "add-to-cart" and "Add to cart" are alike).
The vocabularies cover GA4 / Segment / Snowplow e-commerce events, view / cart / purchase exports, marketplace
and booking logs, subscription and telecom logs, support and complaint logs.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from types import MappingProxyType

__all__ = [
    "CHANNEL_GROUP_KEYWORDS",
    "CHURN_KEYWORDS",
    "FRENCH_STAGES",
    "GOAL_KEYWORDS",
    "STAGE_KEYWORDS",
    "keyword_matcher",
    "plain_words",
]

_STEM_LENGTH = 4

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
    "delete account",
    "account deleted",
    "clôture",
    "terminat",
)

# Keywords of 4 characters or more are stems (they match the start of a word: "deliver" matches "delivered");
# shorter ones must be a whole word ("ad" matches "ad click", not "add to cart"). Accents and case are ignored.
# The phrase of more words wins ("view item" over "view", "repeat purchase" over "purchase").
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
            "landing",
            "impression",
            "page view",
            "view",
            "session start",
            "first visit",
            "first open",
            "view item list",
            "view promotion",
            "select promotion",
            "découverte",
            "publicité",
            "pub",
            "recherche",
            "consulter",
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
            "view item",
            "view product",
            "product view",
            "product viewed",
            "product detail",
            "view listing",
            "listing view",
            "select item",
            "checkout",
            "begin checkout",
            "checkout started",
            "add payment",
            "payment info",
            "add shipping",
            "shipping info",
            "message",
            "contact host",
            "inquiry",
            "enquiry",
            "question",
            "request",
            "booking request",
            "request to book",
            "demande",
            "trial",
            "essai",
            "coverage",
            "stock",
            "availability",
            "eligib",
            "disponibilit",
        ),
        "purchase": (
            "purchase",
            "order",
            "buy",
            "subscri",
            "payment",
            "pay",
            "booking",
            "booked",
            "reservation",
            "checkout completed",
            "transaction",
            "achat",
            "achet",
            "commande",
            "souscri",
            "paiement",
            "réserv",
            "abonnement",
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
            "usage",
            "use app",
            "check in",
            "complaint",
            "survey",
            "issue",
            "incident",
            "notice",
            "enquête",
            "livraison",
            "colis",
            "suivi",
            "retrait",
            "bienvenue",
            "factur",
            "retour",
            "rembours",
            "réclamation",
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
            "reorder",
            "rebook",
            "newsletter",
            "fidél",
            "avis",
            "parrain",
            "renouvel",
        ),
    }
)

# The default stage names in French, in the order of the English ones, for logs whose touchpoints are French.
FRENCH_STAGES = ("découverte", "considération", "achat", "après-achat", "fidélité")

# Touchpoints that are a conversion, best evidence first: a log's goal is every touchpoint of the first group
# that names any. Whole words only ("book" is not "bookmark", "subscribe" is not "unsubscribe"), and never when the
# name also says the step only starts, asks for or fails at it (`GOAL_QUALIFIERS`).
GOAL_KEYWORDS: tuple[tuple[str, ...], ...] = (
    (
        "purchase",
        "purchased",
        "order completed",
        "order placed",
        "place order",
        "order confirmed",
        "complete order",
        "checkout",
        "checkout completed",
        "completed checkout",
        "buy",
        "bought",
        "buy in store",
        "transaction",
        "achat",
        "acheter",
        "commande validee",
        "valider commande",
        "commander",
    ),
    ("booking", "booked", "book", "booking confirmed", "reservation", "reserve", "reserver", "reservation confirmee"),
    (
        "subscribe",
        "subscribed",
        "subscription",
        "subscription started",
        "contract signed",
        "sign contract",
        "souscription",
        "souscrire",
        "abonnement",
        "adhesion",
    ),
    ("sign up", "signup", "signed up", "register", "registered", "account created", "create account", "inscrit"),
    ("approved", "granted", "accorde", "application approved", "loan approved"),
    ("accepted", "offer accepted", "accepte"),
    ("resolved", "resolve", "solved", "resolution", "resolu", "ticket resolved"),
)
GOAL_QUALIFIERS = (
    "request",
    "requested",
    "begin",
    "start",
    "started",
    "initiate",
    "initiated",
    "attempt",
    "abandon",
    "abandoned",
    "fail",
    "failed",
    "error",
    "cancel",
    "cancelled",
    "canceled",
    "remove",
    "view",
    "page",
    "intent",
    "add",
    "info",
    "reminder",
    "repeat",
    "demande",
    "echec",
    "annulation",
    "annule",
)

# Channels by group: a channel named by a word of a group belongs to it; any other channel is "other".
CHANNEL_GROUP_KEYWORDS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "online": (
            "web",
            "website",
            "site",
            "online",
            "desktop",
            "mobile",
            "app",
            "application",
            "appli",
            "ios",
            "android",
            "email",
            "e mail",
            "mail",
            "newsletter",
            "chatbot",
            "chat",
            "social",
            "facebook",
            "instagram",
            "sms",
            "push",
            "messaging",
            "messagerie",
            "whatsapp",
            "internet",
            "en ligne",
            "réseaux sociaux",
        ),
        "offline": (
            "store",
            "shop",
            "boutique",
            "magasin",
            "branch",
            "agency",
            "agence",
            "call center",
            "call centre",
            "centre appel",
            "phone",
            "telephone",
            "téléphone",
            "agent",
            "conseiller",
            "counter",
            "guichet",
            "post",
            "courrier",
            "letter",
            "in person",
            "field",
            "door",
        ),
    }
)


def plain_words(name: object) -> str:
    """Return `name` as lower-case unaccented words separated by single spaces ("AddToCart" → "add to cart")."""
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", str(name))
    unaccented = unicodedata.normalize("NFKD", spaced).encode("ascii", "ignore").decode()
    return " ".join(re.findall(r"[a-z0-9]+", unaccented.lower()))


def keyword_matcher(keywords: Iterable[str], *, stems: bool = True) -> re.Pattern:
    """Return one pattern finding any of `keywords` in text normalised by `plain_words`.

    With `stems`, keywords of 4 letters or more match the start of a word; otherwise every keyword is a whole
    word or phrase.
    """
    alternatives = sorted(
        (
            re.escape(words) + ("" if stems and len(words) >= _STEM_LENGTH else r"\b")
            for words in map(plain_words, keywords)
        ),
        key=len,
        reverse=True,
    )
    return re.compile(r"\b(?:" + "|".join(alternatives) + ")")
