"""What every check is given and how it is declared.

A check is declared once, with its name, the hint the re-ask gives the model, and its
function (``CheckSpec``); the gate runs the declared list. Checks address an answer's parts
by name (``AnswerField``: headline, summary, key point 2, overview), never by position.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from digest.models import AnswerField, Check, LanguageInfo

if TYPE_CHECKING:  # source.py needs numbers.py, which declares its check with this module
    from digest.checks.source import SourceIndex, WordIndex
    from digest.langid import LanguageIdentifier


@dataclass(frozen=True)
class Subject:
    """One answer under check, and what it is checked against."""

    fields: list[AnswerField]
    source: SourceIndex
    lang: LanguageInfo
    target: str  # the comparable language key of ``lang`` (lang_key)
    same_language: bool | None  # answer in the source's language? None: source unknown
    glossary: WordIndex
    identifier: LanguageIdentifier

    @property
    def texts(self) -> list[str]:
        return [f.text for f in self.fields]


@dataclass(frozen=True)
class CheckSpec:
    name: str
    hint: str  # what the re-ask asks the model to do instead
    run: Callable[[Subject], Check]
