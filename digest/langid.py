"""Language identification, one identifier for the whole program (articles and checks).

py3langid carries its model in the wheel (no download). Loading it takes most of a second,
so the model is read once per process and shared; each ``LanguageIdentifier`` restricts a
copy of it to a broad set of common languages plus the ones a run asks for. Dropping
dialect and minority classes (crh next to tr, ary/arz next to ar, lb next to de) stops them
splitting the probability of the real language.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

COMMON_LANGUAGES = (
    "af am ar az be bg bn bs ca cs cy da de el en es et eu fa fi fr ga gl gu he hi hr hu hy "
    "id is it ja ka kk km ko ku lt lv mk ml mn mr ms mt ne nl no pa pl ps pt ro ru si sk sl "
    "so sq sr sv sw ta te th tl tr uk ur uz vi zh"
).split()
ALIASES = {"iw": "he", "nb": "no", "nn": "no", "fil": "tl", "in": "id", "ji": "yi"}
ALIASES |= {"ary": "ar", "arz": "ar", "wuu": "zh", "yue": "zh", "uzs": "uz", "ckb": "ku"}
# Pairs the identifier cannot reliably tell apart: a mismatch is "unverified", not "fail".
CLOSE_LANGUAGES = [{"id", "ms"}, {"hr", "bs", "sr"}, {"no", "da"}, {"af", "nl"}]

MIN_LETTERS = 20
MIN_CONFIDENCE = 0.8


def lang_key(code: str | None) -> str | None:
    """The comparable form of a language code: primary subtag, aliases folded (iw -> he)."""
    if not code:
        return None
    base = re.split(r"[-_]", code.strip().lower())[0]
    return ALIASES.get(base, base) or None


@lru_cache(maxsize=1)
def _full_model() -> Any:
    from py3langid.langid import MODEL_FILE
    from py3langid.langid import LanguageIdentifier as Py3LangId

    return Py3LangId.from_model_file(MODEL_FILE, norm_probs=True)


class LanguageIdentifier:
    """Probabilities per language for a text, over common languages plus ``extra``."""

    def __init__(self, extra: Iterable[str] = ()) -> None:
        model = copy.deepcopy(_full_model())
        wanted = {*COMMON_LANGUAGES, *extra}
        wanted |= {ALIASES.get(code, code) for code in wanted}
        model.set_languages(sorted(wanted & set(model.labels)))
        self._model = model

    def scores(self, text: str) -> dict[str, float]:
        """Probability per language, best first, aliases folded (ar + ary + arz -> ar)."""
        scores: dict[str, float] = {}
        for code, prob in self._model.rank(text):
            key = lang_key(code) or code
            scores[key] = scores.get(key, 0.0) + float(prob)
        return dict(sorted(scores.items(), key=lambda item: -item[1]))

    def detect(self, text: str) -> str | None:
        """The language of ``text`` (``en``, ``tr``), or None when it has too few letters or
        the identifier is not confident."""
        if sum(ch.isalpha() for ch in text) < MIN_LETTERS:
            return None
        code, prob = next(iter(self.scores(text).items()))
        return code if prob >= MIN_CONFIDENCE and code not in {"und", "zxx"} else None


@lru_cache(maxsize=8)
def identifier(extra: frozenset[str] = frozenset()) -> LanguageIdentifier:
    """The shared identifier for these extra languages (built once per process)."""
    return LanguageIdentifier(extra)
