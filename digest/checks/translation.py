"""Translation checks: a verified pivot summary against its translation.

The pivot (the summary in the article's language, already claim-checked) is a list of
named fields ("headline", "summary sentence 1", "key point 2"), each with its evidence ids.
The translate answer gives the same fields translated plus a declared name map
``{"Turkey": "Türkei"}``. ``check_translation`` returns one ``Check`` per
``TRANSLATION_CHECKS`` entry:

    translation fields    the same fields, as many key points, each with the pivot's ids
    translation language  every sentence identified as the target language (py3langid), and
                          no word in another script unless the pivot, the article or the
                          name map has it (a kept Arabic name, "NATO"); in a Latin target
                          written from a Latin pivot, no pivot-language stop word ("the",
                          "which") copied in
    translation numbers   per field, the pivot's numbers, no more, no fewer (locale formats
                          as in numbers.py: "3,6 milyon" = "3.6 million")
    translation names     every declared form appears; every pivot name is declared, kept
                          verbatim, or its CLDR name in the target (Almanya); a pair in
                          different scripts must transliterate (scripts.py); a declared form
                          that CLDR says names something else fails (Syrian -> Sırp); a
                          capitalised name in the translation that nothing explains fails
    translation words     a word that looks like a word of the pivot or article (shared stem
                          prefix: Soldaten ~ soldiers) which this field's pivot lacks
    translation length    translated/pivot characters within bounds (``length_bounds``)

What is checked per script: names are found by capitals, so in the target only cased
scripts (Latin, Cyrillic, Greek, Armenian) have name candidates; German capitalises
every noun, so there only acronyms are candidates. Arabic, Hebrew, CJK and Indic targets get
the declared-form, transliteration, script and number checks, not "unexplained name".
``check_name_consistency`` checks the maps of one edition: one target form per pivot name.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

from pydantic import BaseModel, Field
from rapidfuzz import fuzz

from digest.checks.claims import NamedCheck
from digest.checks.language import LANG_MIN_LETTERS, LANG_WRONG, language_name
from digest.checks.lexicon import common_nouns, lexicon, stems_match, stopwords
from digest.checks.names import mid_sentence_capitals, name_candidates, name_part
from digest.checks.numbers import missing_numbers, number_values
from digest.checks.scripts import CASED_SCRIPTS, expected_scripts, transliterates, word_script
from digest.checks.source import WordIndex, glossary_for
from digest.checks.text import WORD, fold, quoted
from digest.ingest.sentences import split_sentences
from digest.langid import CLOSE_LANGUAGES, LanguageIdentifier, lang_key
from digest.models import Check

FIELDS = NamedCheck("translation fields", "translate every field; keep each key point's [n] ids")
LANGUAGE = NamedCheck(
    "translation language", "write every sentence in the target language; only names may stay"
)
NUMBERS = NamedCheck("translation numbers", "keep exactly the original's numbers, in digits")
NAMES = NamedCheck(
    "translation names", "render each name as declared in the name map and declare every name"
)
WORDS = NamedCheck("translation words", "translate each field from its own original text only")
LENGTH = NamedCheck("translation length", "translate all of each field and add nothing")
CONSISTENCY = NamedCheck("name consistency", "write each name the same way in every story")
TRANSLATION_CHECKS = (FIELDS, LANGUAGE, NUMBERS, NAMES, WORDS, LENGTH, CONSISTENCY)
TRANSLATION_HINTS = {check.name: check.hint for check in TRANSLATION_CHECKS}

# Characters of text relative to English for the same content (news prose, measured on
# parallel texts; rough). A pair's expected ratio is target/pivot; the whole translation must
# fall within [LOW, HIGH] times it, a field of >= 60 characters within [FIELD_LOW, FIELD_HIGH].
_CHARS_VS_ENGLISH = {
    "de": 1.2, "fr": 1.2, "es": 1.2, "it": 1.15, "pt": 1.15, "nl": 1.15, "ru": 1.1,
    "uk": 1.1, "pl": 1.1, "tr": 1.05, "ar": 0.95, "fa": 1.0, "he": 0.85, "el": 1.2,
    "zh": 0.3, "ja": 0.45, "ko": 0.5, "hi": 1.05, "th": 0.95,
}  # fmt: skip
LOW, HIGH, FIELD_LOW, FIELD_HIGH = 0.6, 1.7, 0.4, 2.5
COGNATE_RATIO = 80  # rapidfuzz ratio at which a word is its original's word, translated
_AR_SUFFIXES = ("ين", "ون", "ات", "ية", "ة", "ي", "ه")  # plural, feminine, nisba: سوريين -> سوري
_AR_CLITICS = re.compile(r"^(?:[وفبلك]?ال|[وف][بلك]?|[بلك])(?=\w{3,})")


class PivotField(BaseModel):
    """One named field of a summary: its text and the 1-based ids of its evidence."""

    name: str  # "headline", "summary sentence 1", "key point 2"
    text: str
    evidence: list[int] = Field(default_factory=list)


def length_bounds(pivot_lang: str, target_lang: str) -> tuple[float, float]:
    """(low, high) for translated chars / pivot chars over the whole translation."""
    ratio = _CHARS_VS_ENGLISH.get(target_lang, 1.0) / _CHARS_VS_ENGLISH.get(pivot_lang, 1.0)
    return LOW * ratio, HIGH * ratio


def _result(spec: NamedCheck, problems: list[str]) -> Check:
    if problems:
        return Check(name=spec.name, status="fail", detail="; ".join(dict.fromkeys(problems)))
    return Check(name=spec.name, status="ok")


def _core(word: str) -> str:
    """Folded, a Turkish case suffix or Arabic clitics cut: Türkiye'nin, والسوريين -> سوريين."""
    folded = fold(name_part(word))
    return _AR_CLITICS.sub("", folded) if word_script(word) == "ARABIC" else folded


def _words(text: str) -> list[str]:
    return [_core(w) for w in WORD.findall(text)]


def _present(form: str, words: list[str]) -> bool:
    """Every word of ``form`` stands in ``words``, inflected endings tolerated."""
    wanted = [w for w in _words(form) if len(w) >= 2]
    return bool(wanted) and all(
        any(w.startswith(v[: max(3, len(v) - 1)]) or (len(w) >= 3 and v.startswith(w))
            for w in words)
        for v in wanted
    )  # fmt: skip


@lru_cache(maxsize=32)
def _glossary(lang: str) -> WordIndex:
    return glossary_for(lang)


def _meanings(form: str, lang: str) -> set[str]:
    """English CLDR names (countries, languages) a form may stand for: Suriyeli -> Syria."""
    glossary = _glossary(lang)
    found: set[str] = set()
    for word in _words(form):
        for bare in _bare(word):
            keys = glossary.matches(bare)
            if keys:
                found |= {m for key in keys for m in glossary.meanings.get(key, set())}
                break
    return found


def _bare(word: str) -> list[str]:
    """The word, then (Arabic) without one plural/feminine/nisba ending: سورية -> سوري."""
    if word_script(word) != "ARABIC":
        return [word]
    return [word] + [
        word[: -len(s)] for s in _AR_SUFFIXES if word.endswith(s) and len(word) > len(s) + 2
    ]


def _alike(a: str, b: str) -> bool:
    """Two English CLDR names (or a pivot name) for the same thing: Türkiye ~ Turkey."""
    return fold(a)[:4] == fold(b)[:4]


def _terms(texts: list[str]) -> set[str]:
    """Names and terms that may stay as written: capitalised mid-sentence somewhere, acronyms,
    words with digits (cased scripts only; in others nothing can be told from the text)."""
    capitals = mid_sentence_capitals(texts)
    found = {_core(name) for text in texts for name, _ in name_candidates(text, capitals)}
    found |= {_core(w) for text in texts for w in re.findall(r"\w*\d\w*", text)}
    return found


def _fields(pivot: list[PivotField], translated: list[PivotField]) -> list[str]:
    problems: list[str] = []
    mine = {f.name: f for f in translated}
    points = [f for f in pivot if f.name.startswith("key point")]
    their_points = [f for f in translated if f.name.startswith("key point")]
    if len(points) != len(their_points):
        problems.append(f"{len(their_points)} key points for the original's {len(points)}")
    for field in pivot:
        other = mine.get(field.name)
        if other is None:
            problems.append(f"{field.name} is missing")
        elif sorted(set(other.evidence)) != sorted(set(field.evidence)):
            problems.append(f"{field.name} cites {other.evidence}, the original {field.evidence}")
    extra = [f.name for f in translated if f.name not in {p.name for p in pivot}]
    if extra:
        problems.append(f"{quoted(extra)} not in the original")
    return problems


def _language(
    field: PivotField, pivot_text: str, allowed: set[str], pivot_lang: str, target: str,
    identifier: LanguageIdentifier,
) -> list[str]:  # fmt: skip
    problems: list[str] = []
    scripts = expected_scripts(target)
    pivot_stop = stopwords(pivot_lang) - stopwords(target)
    copied = set(_words(pivot_text))
    same_script = expected_scripts(pivot_lang) == scripts
    for word in WORD.findall(field.text):
        script, core = word_script(word), _core(word)
        if script and script not in scripts and core not in allowed:
            problems.append(f'{field.name}: "{word}" is in {script.title()} script')
        elif (
            same_script
            and len(core) >= 3
            and core in pivot_stop
            and core in copied
            and core not in allowed  # part of a name or term: "Marsh End", "The Hague"
        ):
            problems.append(f'{field.name}: "{word}" is left in {language_name(pivot_lang)}')
    for sentence in split_sentences(field.text, target):
        if sum(c.isalpha() for c in sentence) < LANG_MIN_LETTERS:
            continue
        scores = identifier.scores(sentence)
        top, prob = next(iter(scores.items()))
        close = any({top, target} <= group for group in CLOSE_LANGUAGES)
        if top != target and prob >= LANG_WRONG and scores.get(target, 0.0) < 0.1 and not close:
            problems.append(f'{field.name}: "{sentence[:40]}" reads as {language_name(top)}')
    return problems


def _numbers(field: PivotField, original: PivotField) -> list[str]:
    added = missing_numbers([field.text], number_values(original.text))
    lost = missing_numbers([original.text], number_values(field.text))
    problems = [f"{field.name}: {quoted(added)} not in the original" for _ in added[:1]]
    problems += [f"{field.name}: the original's {quoted(lost)} missing" for _ in lost[:1]]
    return problems


def _pair(key: str, value: str, pivot_lang: str, target: str) -> str | None:
    """Why a declared pair is wrong, or None. A name kept as written is never wrong: "Tessel
    Island" kept in German is not Iceland, whatever German calls Iceland."""
    if fold(" ".join(key.split())) == fold(" ".join(value.split())):
        return None
    theirs = _meanings(value, target)
    ours = {key} | _meanings(key, pivot_lang)
    if theirs and not any(_alike(a, b) for a in theirs for b in ours):
        return f'"{value}" names {quoted(sorted(theirs))}, not "{key}"'
    bare = " ".join(_bare(w)[-1] for w in value.split())
    if (
        word_script(key) != word_script(value)
        and not theirs
        and not (transliterates(key, value) or transliterates(key, bare))
    ):
        return f'"{value}" is not a transliteration of "{key}"'
    return None


def _names(
    pivot: list[PivotField], translated: list[PivotField], names: dict[str, str],
    pivot_lang: str, target: str, allowed: set[str], nouns: frozenset[str] = frozenset(),
) -> list[str]:  # fmt: skip
    """``nouns``: a German pivot's capitalised common nouns ("der Nahverkehr"), which are
    translated like any word, not rendered like names."""
    problems: list[str] = []
    all_words = [w for f in translated for w in _words(f.text)]
    for key, value in names.items():
        if not _present(value, all_words):
            problems.append(f'"{value}" (declared for "{key}") is not in the translation')
        elif why := _pair(key, value, pivot_lang, target):
            problems.append(why)
    capitals = mid_sentence_capitals([f.text for f in pivot])
    originals = {f.name: f for f in pivot}
    declared = [v for v in names.values()]
    for field in translated:
        original = originals.get(field.name)
        if original is None:
            continue
        words = _words(field.text)
        runs = {
            " ".join(run)
            for name, run in name_candidates(original.text, capitals)
            if name.isupper() or fold(name) not in nouns
        }
        for pivot_name in sorted(runs):
            parts = pivot_name.split()
            forms = [v for k, v in names.items() if set(k.split()) & set(parts)]
            if any(_present(f, words) for f in forms) or any(
                _present(part, words) for part in parts if len(part) >= 3
            ):
                continue
            ours = {pivot_name} | _meanings(pivot_name, pivot_lang)
            glossed = [
                w for w in words if any(_alike(a, b) for a in _meanings(w, target) for b in ours)
            ]
            if not glossed:
                problems.append(f'{field.name}: "{pivot_name}" is not rendered (declare its form)')
        if not expected_scripts(target) & CASED_SCRIPTS:
            continue  # no capitals to find names by
        for name, run in name_candidates(field.text, mid_sentence_capitals([field.text])):
            if target in {"de", "lb"} and not name.isupper():
                continue  # German capitalises every noun: only acronyms are names for sure
            explained = any(  # run: its capitalised neighbours (a translated title)
                _core(w) in allowed or any(_present(w, _words(d)) for d in declared)
                for w in [name, *run]
            )
            if not explained and not _meanings(name, target):
                problems.append(f'{field.name}: "{name}" is not a name of the original')
    return problems


def _drift(
    field: PivotField, original: PivotField, pivot: list[PivotField], sources: list[str],
    target: str, pivot_lang: str,
) -> list[str]:  # fmt: skip
    """Cognates (a shared stem prefix: Soldaten ~ soldiers) of words that stand in two or
    more other fields or article sentences, but neither in this field's original nor in the
    sentences it cites: a word that drifted in from elsewhere. One-off cognates ("déclaré" ~
    an article's lone "declare") are not judged."""
    lex = lexicon(pivot_lang)
    cited = [sources[i - 1] for i in original.evidence if 1 <= i <= len(sources)]
    own = set(lex.content_stems(" ".join([original.text, *cited])))
    # The original's own words as written: "Hospital" translates "hôpital", it did not
    # drift in from "hospitalier" elsewhere (cognates one letter apart are the same word).
    own_words = {fold(w) for w in WORD.findall(" ".join([original.text, *cited])) if len(w) >= 5}
    units = [f.text for f in pivot if f.name != field.name]
    units += [s for s in sources if s not in cited]
    counts = Counter(stem for unit in units for stem in set(lex.content_stems(unit)))
    frequent = sorted(s for s, n in counts.items() if n >= 2 and len(s) >= 5)
    problems: list[str] = []
    for surface, stem in lexicon(target).content_words(field.text):
        if len(surface) < 6 or len(stem) < 4 or any(stems_match(stem, s) for s in own):
            continue
        if any(fuzz.ratio(fold(surface), w) >= COGNATE_RATIO for w in own_words):
            continue
        match = next((s for s in frequent if stems_match(stem, s)), None)
        if match:
            problems.append(
                f'{field.name}: "{surface}" looks like "{match}…", which its original lacks'
            )
    return problems


def check_translation(
    pivot: list[PivotField],
    translated: list[PivotField],
    names: dict[str, str],
    *,
    pivot_lang: str,
    target_lang: str,
    identifier: LanguageIdentifier,
    source_text: str = "",
) -> list[Check]:
    """One ``Check`` per ``TRANSLATION_CHECKS`` entry but ``name consistency`` (an edition's
    maps: ``check_name_consistency``). ``source_text``: the article (in ``pivot_lang``, the
    pivot's evidence ids number its sentences), whose names and terms may stay untranslated
    and whose words count for "translation words"."""
    pivot_lang = lang_key(pivot_lang) or pivot_lang
    target = lang_key(target_lang) or target_lang
    originals = {f.name: f for f in pivot}
    pairs = [(f, originals[f.name]) for f in translated if f.name in originals]
    allowed = _terms([f.text for f in pivot] + source_text.splitlines())
    allowed |= {w for k, v in names.items() for w in _words(f"{k} {v}")}
    sources = split_sentences(source_text, pivot_lang)
    nouns = common_nouns([f.text for f in pivot] + sources, pivot_lang)
    language: list[str] = []
    numbers: list[str] = []
    drift: list[str] = []
    for field, original in pairs:
        language += _language(field, original.text, allowed, pivot_lang, target, identifier)
        numbers += _numbers(field, original)
        drift += _drift(field, original, pivot, sources, target, pivot_lang)
    length: list[str] = []
    low, high = length_bounds(pivot_lang, target)
    ratio = sum(len(f.text) for f, _ in pairs) / max(1, sum(len(o.text) for _, o in pairs))
    if pairs and not low <= ratio <= high:
        length.append(
            f"the translation is {ratio:.2f}x the original's length ({low:.2f}-{high:.2f})"
        )
    for field, original in pairs:
        one = len(field.text) / max(1, len(original.text))
        if (
            len(original.text) >= 60
            and not FIELD_LOW * low / LOW <= one <= FIELD_HIGH * high / HIGH
        ):
            length.append(f"{field.name} is {one:.2f}x its original's length")
    return [
        _result(FIELDS, _fields(pivot, translated)),
        _result(LANGUAGE, language),
        _result(NUMBERS, numbers),
        _result(NAMES, _names(pivot, translated, names, pivot_lang, target, allowed, nouns)),
        _result(WORDS, drift),
        _result(LENGTH, length),
    ]


def check_name_consistency(maps: Iterable[dict[str, str]]) -> list[Check]:
    """The edition's name maps (one per story): each pivot name gets one target form."""
    forms: dict[str, dict[str, list[int]]] = {}
    shown: dict[str, str] = {}
    for story, names in enumerate(maps, 1):
        for key, value in names.items():
            shown.setdefault(fold(key), key)
            forms.setdefault(fold(key), {}).setdefault(" ".join(value.split()), []).append(story)
    problems = [
        f'"{shown[key]}" is ' + " and ".join(f'"{v}" in stories {s}' for v, s in seen.items())
        for key, seen in forms.items()
        if len({fold(v) for v in seen}) > 1
    ]
    return [_result(CONSISTENCY, problems)]
