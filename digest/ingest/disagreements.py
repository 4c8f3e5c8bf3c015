"""Where the sources of one event disagree: a death toll of 13 in one, 15 in another.

``find_disagreements(articles)`` is mechanical and conservative (a false alarm in a
briefing is worse than a miss). The rule:

1. **Figures.** A figure (``13``, ``8,500``, ``8.000``, ``8 bin``, ``seven``) is *about* a
   thing only when a keyword of that thing (killed / Tote / hayatını kaybetti / مقتل ...,
   see ``CONCEPTS``) stands within four words of it in the same clause and every word in
   between is a filler (people, Menschen, kişi, were, more than, ...). ``a 68-year-old
   man died`` is therefore not a death toll of 68. Years (1900-2100) are never figures.
2. **Per outlet.** An outlet is the URL host (else the file name). Several articles of one
   outlet count as one voice: its latest article (an update is not a disagreement).
3. **Conflict.** Two outlets conflict on a thing when the first figure each gives for it
   is missing from everything the other says about it (so "rose from 13 to 15" conflicts
   with nobody), and neither reading covers the other: "at least 13" / "more than 850"
   covers anything at or above it, "about 4,000" covers what rounds to it (4,100 does;
   850 is not "about 800").
4. **Names.** After a role word (governor, Vali, Gouverneur, mayor, Bürgermeister ...)
   two capitalised words are a name. Outlets conflict when the given names agree (after
   accent folding and transliteration) and the surnames do not: Hüseyin Kara against
   Huseyin Kaya, but never Ozan Balcı against Ozan Balci, and never two different people.

A disagreement lists every value with the outlets giving it as their first figure.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel

from digest.ingest.event_features import figure_key, fold, parse_figure
from digest.models import Article

WINDOW = 4  # words between a figure and its keyword, at most

# Keyword prefixes after normalisation (lower case, accents stripped, dotless i -> i).
CONCEPTS: dict[str, tuple[str, ...]] = {
    "dead": (
        "killed", "killing", "dead", "died", "death", "toll", "todesopfer", "tote",
        "getotet", "starben", "gestorben", "olu", "oldu", "hayatini", "hayatlarini",
        "قتل", "مقتل", "قتلى", "وفاة", "حتف",
    ),
    "injured": (
        "injur", "wounded", "verletzt", "yarali", "yaralan", "إصابة", "اصابة", "جرحى", "مصاب",
    ),
    "missing": ("missing", "vermisst", "kayboldu", "مفقود"),
    "evacuated": ("evacuat", "evakuier", "tahliye", "إجلاء", "اجلاء"),
    "arrested": ("arrested", "detained", "festgenommen", "gozaltina", "اعتقال"),
    "flights": ("flights", "fluge", "sefer", "رحلة", "رحلات"),
}  # fmt: skip
FILLERS = frozenset(
    """people persons others other more least than at some about around nearly almost
    roughly approximately were was have has had been are is to the a further another who
    rose risen rise rises total of and residents civilians workers thousand million
    
    menschen personen weitere mehr als mindestens rund etwa knapp uber uber wurden waren
    sind ist haben hat zu die der den dem das ums insgesamt von anwohner bewohner tausend
    kisi kisinin vatandas yaklasik en az fazla dan den tan ten daha toplam bin milyon
    شخصا أشخاص شخص آخرين نحو حوالي""".split()
)
LOWER_BOUND = frozenset("least than mindestens als az uber over".split())
APPROXIMATE = frozenset(
    "about around some nearly almost roughly approximately rund etwa knapp yaklasik "
    "نحو حوالي".split()
)
NUMBER_WORDS = {
    "en": "two three four five six seven eight nine ten eleven twelve",
    "de": "zwei drei vier funf sechs sieben acht neun zehn elf zwolf",
    "tr": "iki uc dort bes alti yedi sekiz dokuz on",
}
_NUMBER_WORDS = {
    lang: {w: float(n) for n, w in enumerate(words.split(), start=2)}
    for lang, words in NUMBER_WORDS.items()
}
ROLES: dict[str, tuple[str, ...]] = {
    "governor": ("governor", "gouverneur", "valisi", "vali"),
    "mayor": ("mayor", "burgermeister", "oberburgermeister"),
    "coach": ("coach", "trainer"),
}
_TOKEN = re.compile(r"\d+(?:[.,:]\d+)*|[^\W\d_]+|[.!?;:,()\"“”„«»]")
_BARRIER = set('.!?;:,()"“”„«»')
_ARABIC_PREFIX = re.compile(r"^[وفبل](?=\w{3})")


class Claim(BaseModel):
    value: str
    sources: list[str]
    article_ids: list[str]


class Disagreement(BaseModel):
    what: str
    kind: str  # "figure" or "name"
    values: list[Claim]

    def text(self) -> str:
        parts = ", ".join(f"{c.value} ({', '.join(c.sources)})" for c in self.values)
        return f"Sources differ on {self.what}: {parts}"


class _Reading(BaseModel):
    value: float
    lower_bound: bool = False
    approximate: bool = False

    def covers(self, other: float) -> bool:
        if self.lower_bound and other >= self.value:
            return True
        if self.approximate and self.value > 0:
            digits = len(str(int(self.value)).rstrip("0")) or 1
            step = 10.0 ** (len(str(int(self.value))) - digits)
            return abs(other - self.value) < step / 2
        return False


def norm(word: str) -> str:
    """Lower case without accents (dotless i as i); other scripts are kept as they are."""
    word = word.casefold().replace("ı", "i")
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


_CONCEPT_KEYS = {c: tuple(norm(k) for k in keys) for c, keys in CONCEPTS.items()}
_FILLERS = frozenset(norm(w) for w in FILLERS)
_APPROXIMATE = frozenset(norm(w) for w in APPROXIMATE)


def outlet(article: Article) -> str:
    if article.url:
        host = urlsplit(article.url).hostname or ""
        return host.removeprefix("www.") or article.source
    return Path(article.source).name or article.source


def _concept(word: str) -> str | None:
    stripped = _ARABIC_PREFIX.sub("", word)
    for concept, keys in _CONCEPT_KEYS.items():
        if any(word.startswith(k) or stripped.startswith(k) for k in keys):
            return concept
    return None


def figure_claims(article: Article) -> dict[str, list[_Reading]]:
    """Thing -> readings in text order (title first), by rule 1 of the module docstring."""
    lang = (article.source_lang or "").lower()
    raw = _TOKEN.findall(f"{article.title}.\n{article.text}")
    words = [norm(t) for t in raw]
    claims: dict[str, list[_Reading]] = {}
    numbers = _NUMBER_WORDS.get(lang, {})
    for k, token in enumerate(raw):
        value: float | None
        if token[0].isdigit():
            value = parse_figure(token, lang or None)
            if value is None or ":" in token:
                continue
            if value == int(value) and 1900 <= value <= 2100 and token.isdigit():
                continue  # a year
            nxt = words[k + 1] if k + 1 < len(words) else ""
            if nxt in ("bin", "tausend", "thousand"):
                value *= 1000
            elif nxt in ("million", "millionen", "milyon"):
                value *= 1e6
        elif words[k] in numbers:
            value = numbers[words[k]]
        else:
            continue
        concept = _nearest_concept(words, k)
        if concept is None:
            continue
        before = words[k - 1] if k else ""
        after = words[k + 1 : k + 4]
        claims.setdefault(concept, []).append(
            _Reading(
                value=value,
                lower_bound=before in LOWER_BOUND or "fazla" in after,
                approximate=before in _APPROXIMATE,
            )
        )
    return claims


def _nearest_concept(words: list[str], k: int) -> str | None:
    found: list[tuple[int, int, str]] = []
    for direction in (1, -1):
        for step in range(1, WINDOW + 1):
            i = k + direction * step
            if i < 0 or i >= len(words) or words[i] in _BARRIER:
                break
            concept = _concept(words[i])
            if concept is not None:
                found.append((step, 0 if direction == 1 else 1, concept))
                break
            if words[i] not in _FILLERS and not words[i].isdigit():
                break
    return min(found)[2] if found else None


def name_claims(article: Article) -> dict[str, tuple[str, str]]:
    """Role -> (given name, surname) as written, first occurrence, Latin script only."""
    raw = _TOKEN.findall(article.text)
    out: dict[str, tuple[str, str]] = {}
    for k, token in enumerate(raw[:-2]):
        word = norm(token)
        for role, keys in ROLES.items():
            if word in keys and role not in out:
                given, surname = raw[k + 1], raw[k + 2]
                if _is_name(given) and _is_name(surname):
                    out[role] = (given, surname)
    return out


def _is_name(token: str) -> bool:
    return token[:1].isupper() and token.isalpha() and token[0] < "\u0250"


def _latest_by_outlet(articles: Iterable[Article]) -> dict[str, Article]:
    def when(a: Article) -> datetime:
        if a.published is None:
            return datetime.min.replace(tzinfo=UTC)
        return a.published if a.published.tzinfo else a.published.replace(tzinfo=UTC)

    latest: dict[str, Article] = {}
    for article in articles:
        key = outlet(article)
        if key not in latest or when(article) >= when(latest[key]):
            latest[key] = article
    return latest


def find_disagreements(articles: list[Article]) -> list[Disagreement]:
    """Figures and names the outlets of one cluster give differently (rules above)."""
    voices = _latest_by_outlet(articles)
    found: list[Disagreement] = []
    figures = {name: figure_claims(a) for name, a in voices.items()}
    for concept in CONCEPTS:
        said = {name: c[concept] for name, c in figures.items() if c.get(concept)}
        if _figures_conflict(said):
            found.append(Disagreement(what=concept, kind="figure", values=_group(said, voices)))
    names = {name: name_claims(a) for name, a in voices.items()}
    for role in ROLES:
        said_names = {name: c[role] for name, c in names.items() if role in c}
        if _names_conflict(list(said_names.values())):
            groups: dict[str, list[str]] = {}
            for name, (given, surname) in said_names.items():
                groups.setdefault(f"{given} {surname}", []).append(name)
            found.append(
                Disagreement(
                    what=role,
                    kind="name",
                    values=[
                        Claim(value=v, sources=s, article_ids=[voices[x].id for x in s])
                        for v, s in groups.items()
                    ],
                )
            )
    return found


def _figures_conflict(said: dict[str, list[_Reading]]) -> bool:
    outlets = list(said)
    for p, a in enumerate(outlets):
        for b in outlets[p + 1 :]:
            first_a, first_b = said[a][0], said[b][0]
            values_a = {r.value for r in said[a]}
            values_b = {r.value for r in said[b]}
            if first_a.value in values_b or first_b.value in values_a:
                continue
            if first_a.covers(first_b.value) or first_b.covers(first_a.value):
                continue
            if math.isclose(first_a.value, first_b.value):
                continue
            return True
    return False


def _group(said: dict[str, list[_Reading]], voices: dict[str, Article]) -> list[Claim]:
    groups: dict[str, list[str]] = {}
    for name, readings in said.items():
        groups.setdefault(figure_key(readings[0].value), []).append(name)
    return [
        Claim(value=v, sources=sorted(s), article_ids=[voices[x].id for x in sorted(s)])
        for v, s in sorted(groups.items(), key=lambda item: float(item[0]))
    ]


def _names_conflict(names: list[tuple[str, str]]) -> bool:
    for p, (given_a, surname_a) in enumerate(names):
        for given_b, surname_b in names[p + 1 :]:
            if fold(given_a) == fold(given_b) and fold(surname_a) != fold(surname_b):
                return True
    return False
