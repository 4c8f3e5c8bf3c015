"""Per-language words for the claim checks: content stems, stop words, negation cues.

- Stems: Snowball through PyStemmer (MIT/BSD; C, offline) for the languages it has (en de fr
  es it pt nl sv da no fi ru tr ar el hu ro ca eu id hi ne fa ...). Other languages fall back
  to the folded word cut to 6 letters, a crude stem that still meets inflected forms; CJK
  and Thai text (no spaces) counts character bigrams instead of words.
- Stop words: stopwords-iso (MIT; a JSON file in the wheel) for the language, none when the
  language is unknown. Its lists are generous ("said", "million", "new" are stop words), which
  suits coverage: what is left are the words that carry the claim.
- Negation cues, for en de fr es it pt nl ru tr ar (``NEGATION_LANGUAGES``). Each cue has a
  scope: the content stems it negates, read forward (en fr es it pt ru ar: "not + verb"),
  both ways (de, nl: "kommt nicht", "nicht kommen") or backward (tr, verb-final). Turkish
  negation is mostly morphological: the verb's -mA- suffix (gelmedi, yapmayacak, gelmiyor,
  olmaz, yapamaz, gelmemiş, olmayan, etmeden) is recognised by its endings
  (``_TR_NEGATED``); the word then counts as both a cue and, without the suffix, its own
  scope (gelmedi ~ geldi). Not covered: negative verbs of meaning ("refused", "denied",
  "reddetti"), Turkish -mAsIn imperatives, Arabic "ما" (also "what"), double negatives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from digest.checks.text import NO_SPACE_SCRIPT, fold

Direction = Literal["forward", "both", "backward"]
SCOPE_WORDS = 3  # content words a cue reaches

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
_SNOWBALL = {
    "ar": "arabic", "hy": "armenian", "eu": "basque", "ca": "catalan", "cs": "czech",
    "da": "danish", "nl": "dutch", "en": "english", "et": "estonian", "fi": "finnish",
    "fr": "french", "de": "german", "el": "greek", "hi": "hindi", "hu": "hungarian",
    "id": "indonesian", "ga": "irish", "it": "italian", "lt": "lithuanian", "ne": "nepali",
    "no": "norwegian", "nb": "norwegian", "fa": "persian", "pl": "polish", "pt": "portuguese",
    "ro": "romanian", "ru": "russian", "sr": "serbian", "es": "spanish", "sv": "swedish",
    "ta": "tamil", "tr": "turkish", "yi": "yiddish",
}  # fmt: skip
_CUES: dict[str, tuple[Direction, frozenset[str]]] = {
    "en": ("forward", frozenset(
        "not no never neither nor none nobody nothing nowhere cannot without n't".split())),
    "de": ("both", frozenset(
        "nicht kein keine keinen keinem keiner keines nie niemals nichts niemand weder ohne "
        "nirgends".split())),
    "fr": ("forward", frozenset(
        "ne n' pas jamais aucun aucune rien ni sans nullement guere".split())),
    "es": ("forward", frozenset(
        "no nunca jamas ningun ninguno ninguna nadie nada ni sin tampoco".split())),
    "it": ("forward", frozenset("non mai nessuno nessuna niente nulla ne senza".split())),
    "pt": ("forward", frozenset("nao nunca nenhum nenhuma ninguem nada nem sem".split())),
    "nl": ("both", frozenset("niet geen nooit niets niemand zonder nergens".split())),
    "ru": ("forward", frozenset("не нет ни никогда никто ничего нельзя без".split())),
    "tr": ("backward", frozenset("degil yok hic hicbir asla hayir".split())),
    "ar": ("forward", frozenset(
        "لا لم لن ليس ليست ليسوا لسنا لست غير دون بدون عدم ولا ولم ولن فلا فلم فلن وليس "
        "ولیس".split())),
}  # fmt: skip
NEGATION_LANGUAGES = frozenset(_CUES)
# A cue followed by these words negates nothing: "sin embargo" (however), "no obstante"
# (nevertheless), "not only", "sans doute" (probably). Folded, as the tokens are.
_NOT_NEGATING: dict[str, frozenset[tuple[str, str]]] = {
    "en": frozenset({("not", "only")}),
    "es": frozenset({("sin", "embargo"), ("no", "obstante"), ("no", "solo"), ("no", "solamente")}),
    "fr": frozenset({("sans", "doute"), ("ne", "que")}),
    "de": frozenset({("nicht", "nur")}),
    "it": frozenset({("non", "solo"), ("non", "soltanto")}),
    "pt": frozenset({("nao", "so"), ("nao", "apenas"), ("sem", "duvida")}),
    "nl": frozenset({("niet", "alleen")}),
}
# Turkish verb negation (folded: ı -> i, ş -> s ...): stem + m/mA + tense ending. The
# ability form -(y)AmA- is the same suffix after a vowel. ``_TR_UNNEGATE`` drops the -mA-.
_TR_NEGATED = re.compile(
    r"^(?P<stem>\w{2,}?)(?P<neg>m[ae])(?P<rest>(?:d[iu]|y[ae]c[ae][kg]|m[iu]s|y[ae]n|d[ae]n"
    r"|m[ae]k|m[ae]l[iu]|y[ae]bil|sa|se)\w*|z(?:(?:l[ae]r|d[iu]|s[ae]|m[iu]s)\w*)?)$"
    r"|^(?P<stem2>\w{2,}?)m(?P<rest2>[iu]yor\w*)$"
)
_TR_NOT_NEGATED = frozenset("namaz komedi ahmedi mehmedi kimse hemen gemide yemek".split())


_DE_DETERMINERS = frozenset(
    "der die das den dem des ein eine einen einem einer eines kein keine keinen keinem keiner "
    "keines im am zum zur vom beim ins ans jede jeder jedes jeden jedem diese dieser dieses "
    "diesen diesem sein seine seinen seinem seiner ihr ihre ihren ihrem ihrer unser unsere "
    "alle viele mehrere einige wenige beide".split()
)
_DE_BEFORE_NOUN = re.compile(r"([^\W\d_]+)[ \u00a0]+([A-ZÄÖÜ][^\W\d_]+)")


def common_nouns(texts: list[str], lang: str | None) -> frozenset[str]:
    """German (and Luxembourgish) capitalise every noun: the capitalised words the texts use
    as common nouns, after a determiner or an inflected adjective ("dem Park", "seltene
    Vogelarten"), folded. Empty for other languages, whose capitals mark names."""
    if base_language(lang) not in {"de", "lb"}:
        return frozenset()
    found: set[str] = set()
    for text in texts:
        for match in _DE_BEFORE_NOUN.finditer(text):
            before, noun = match.group(1), match.group(2)
            inflected = (
                before.islower()
                and len(before) >= 4
                and before.endswith(("e", "en", "er", "es", "em"))
            )
            if before.lower() in _DE_DETERMINERS or inflected:
                found.add(fold(noun))
    return frozenset(found)


@dataclass(frozen=True)
class Negation:
    cue: str  # as written
    scope: tuple[str, ...]  # content stems it negates, nearest first


@dataclass(frozen=True)
class _Token:
    surface: str
    stem: str  # "" for stop words
    cue: bool


def base_language(lang: str | None) -> str | None:
    if not lang or not lang.strip():
        return None
    return re.split(r"[-_]", lang.strip().lower())[0] or None


@lru_cache(maxsize=64)
def stopwords(lang: str | None) -> frozenset[str]:
    """stopwords-iso's list for ``lang``, lowercased and folded (empty when unknown)."""
    import stopwordsiso

    base = base_language(lang)
    if not base or not stopwordsiso.has_lang(base):
        return frozenset()
    words: set[str] = set(stopwordsiso.stopwords(base))
    return frozenset(words | {w.lower() for w in words} | {fold(w) for w in words})


@lru_cache(maxsize=64)
def _stemmer(base: str | None) -> Any:
    import Stemmer  # PyStemmer

    algorithm = _SNOWBALL.get(base or "")
    return Stemmer.Stemmer(algorithm) if algorithm else None


def _lower(word: str, base: str | None) -> str:
    if base in {"tr", "az"}:
        word = word.replace("I", "ı").replace("İ", "i")
    return word.lower()


def unnegated_tr(folded: str) -> tuple[str, bool]:
    """(the verb root before its -mA- negation, whether it had one): gelmedi -> (gel, True),
    yapamadı -> (yapa, True). Other words come back as they are."""
    if folded in _TR_NOT_NEGATED:
        return folded, False
    match = _TR_NEGATED.match(folded)
    if not match:
        return folded, False
    return match.group("stem") or match.group("stem2"), True


class Lexicon:
    """The word tools of one language (``lexicon(lang)`` caches one per language)."""

    def __init__(self, lang: str | None) -> None:
        self.lang = base_language(lang)
        self.stop = stopwords(self.lang)
        self._stemmer = _stemmer(self.lang)
        direction, cues = _CUES.get(self.lang or "", ("forward", frozenset()))
        self.direction: Direction = direction
        self.cues = cues
        self.has_negation = self.lang in NEGATION_LANGUAGES

    def stem(self, word: str) -> str:
        """The comparable stem of one word (folded, so accents never decide)."""
        lowered = _lower(word, self.lang)
        if self.lang == "ar" and len(lowered) >= 5 and lowered[0] == "س" and lowered[1] in "يتنا":
            lowered = lowered[1:]  # the future prefix: ستتمكن ~ تتمكن (Snowball keeps it)
        if self._stemmer is not None:
            return fold(self._stemmer.stemWord(lowered))
        folded = fold(lowered)
        return folded[:6]

    def _tokens(self, text: str) -> list[_Token]:
        found: list[_Token] = []
        for match in _WORD.finditer(text):
            word = match.group(0)
            if NO_SPACE_SCRIPT.search(word):
                chars = [c for c in word if not c.isspace()]
                bigrams = ["".join(chars[i : i + 2]) for i in range(max(1, len(chars) - 1))]
                found.extend(_Token(b, b, False) for b in bigrams)
                continue
            found.extend(self._word_tokens(word))
        return found

    def _word_tokens(self, word: str) -> list[_Token]:
        parts = re.split(r"['’]", word)
        folded_parts = [fold(_lower(p, self.lang)) for p in parts]
        if self.lang == "en" and len(parts) == 2 and folded_parts[1] == "t":
            # don't, isn't, can't, won't: the cue "n't" and the verb
            verb = folded_parts[0][:-1] if folded_parts[0].endswith("n") else folded_parts[0]
            return [self._token(verb), _Token("n't", "", True)]
        if self.lang == "fr" and len(parts) == 2 and folded_parts[0] == "n":
            return [_Token("n'", "", True), self._token(parts[1])]
        if len(parts) > 1:
            # Türkiye'nin -> Türkiye; l'armée -> armée: keep the part that carries meaning
            word = parts[1] if len(parts[0]) <= 2 and parts[0].islower() else parts[0]
        return [self._token(word)]

    def _token(self, word: str) -> _Token:
        folded = fold(_lower(word, self.lang))
        if folded in self.cues or (self.lang == "en" and folded == "cannot"):
            return _Token(word, "", True)
        if self.lang == "tr" and word[:1].islower():  # Yılmaz is a surname
            root, negated = unnegated_tr(folded)
            if negated:
                return _Token(word, root, True)
        if folded in self.stop or len(folded) < 2:
            return _Token(word, "", False)
        return _Token(word, self.stem(word), False)

    def content_words(self, text: str) -> list[tuple[str, str]]:
        """(surface, stem) of the words that carry meaning, in order (stop words and cues
        dropped; a Turkish negated verb keeps its root)."""
        return [(t.surface, t.stem) for t in self._tokens(text) if t.stem]

    def content_stems(self, text: str) -> list[str]:
        return [t.stem for t in self._tokens(text) if t.stem]

    def negations(self, text: str) -> list[Negation]:
        """Each negation cue with the content stems in its scope (empty list when the
        language has no cue list)."""
        if not self.has_negation:
            return []
        tokens = self._tokens(text)
        found: list[Negation] = []
        idioms = _NOT_NEGATING.get(self.lang or "", frozenset())
        for i, token in enumerate(tokens):
            if not token.cue:
                continue
            following = fold(tokens[i + 1].surface) if i + 1 < len(tokens) else ""
            if (fold(token.surface), following) in idioms:
                continue
            forward = _until_cue(tokens[i + 1 :])
            backward = _until_cue(list(reversed(tokens[:i])))
            own = [token.stem] if token.stem else []
            if self.direction == "forward":
                scope = own + forward
            elif self.direction == "backward":
                scope = own + backward
            else:
                scope = own + [s for pair in zip(forward, backward, strict=False) for s in pair]
                scope += forward[len(backward) :] + backward[len(forward) :]
            found.append(Negation(token.surface, tuple(scope)))
        return found


def _until_cue(tokens: list[_Token]) -> list[str]:
    """Up to SCOPE_WORDS content stems, stopping at the next cue (its scope is its own)."""
    found: list[str] = []
    for token in tokens:
        if token.cue or len(found) == SCOPE_WORDS:
            break
        if token.stem:
            found.append(token.stem)
    return found


@lru_cache(maxsize=64)
def lexicon(lang: str | None) -> Lexicon:
    """The (immutable in use) lexicon of ``lang``, built once per process."""
    return Lexicon(lang)


def stems_match(a: str, b: str) -> bool:
    """Same stem; or the shorter (>= 3 letters) begins the longer (a Turkish verb root: gel ~
    geldi); or a shared prefix of >= 4 letters covering 2/3 of the shorter (turkey ~ turkish,
    syria ~ syrian: the stemmers leave demonyms apart)."""
    if a == b:
        return True
    shorter = min(len(a), len(b))
    if shorter >= 3 and (a.startswith(b) or b.startswith(a)):
        return True
    if shorter < 4:
        return False
    common = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        common += 1
    return common >= 4 and common * 3 >= shorter * 2
