"""Text helpers every check family shares: folding, words, tokens, counts, quoting."""

from __future__ import annotations

import re
import unicodedata

WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*(?:-[^\W\d_]+)*")
TOKEN = re.compile(r"\w+")
NO_SPACE_SCRIPT = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\u0e00-\u0e7f]")
_FOLD_EXTRA = str.maketrans({"ı": "i", "ø": "o", "ł": "l", "đ": "d", "æ": "ae", "œ": "oe"})


def fold(text: str) -> str:
    """Accent-folded, case-folded: Türkiye -> turkiye, İdlib -> idlib, ألف -> الف."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD_EXTRA))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def tokens(text: str) -> list[str]:
    """Words, or single characters in scripts written without spaces (Chinese, Thai)."""
    found: list[str] = []
    for token in TOKEN.findall(fold(text)):
        found.extend(token if NO_SPACE_SCRIPT.search(token) else [token])
    return found


def word_count(text: str) -> int:
    """Spaced words, plus one word per two characters of Chinese, Japanese or Thai."""
    no_space = len(NO_SPACE_SCRIPT.findall(text))
    return len(NO_SPACE_SCRIPT.sub(" ", text).split()) + (no_space + 1) // 2


def grams(text: str, n: int = 4) -> list[tuple[str, ...]]:
    words = TOKEN.findall(fold(text))
    return [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]


def is_latin_text(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    latin = sum(unicodedata.name(c, "").startswith("LATIN") for c in letters)
    return not letters or latin * 2 >= len(letters)


def shorten(item: str, limit: int = 40) -> str:
    item = " ".join(item.split())
    return item if len(item) <= limit else item[: limit - 1] + "…"


def quoted(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(f'"{shorten(i)}"' for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
