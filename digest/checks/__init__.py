"""Quality gates every LLM answer passes before it is published.

Tiny local models invent facts (a "2018 FIFA World Cup" in an article about Idlib), answer
in the wrong language, copy the article or loop. The gate runs cheap, offline checks on the
named fields of one parsed answer; each returns a ``Check`` whose status is ``ok``, ``fail``
or ``unverified`` (could not tell: passes). One module per family:

    form      empty / stub / link fields, repetition, length per field
    language  the language asked for (digest.langid)
    numbers   every number stands in the source
    names     every proper name stands in the source (translations "unverified")
    copy      not the source pasted in the wrong language

    claims        each claim against the article sentences it cites
    translation   a translation against the verified summary it translates

``passed`` decides, ``feedback`` writes the re-ask paragraph from each check's hint.

The gate is loaded on first use, not with the package: the word tools here (text, lexicon)
serve sentence splitting too, which the claim checks in turn need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from digest.checks.gate import CHECKS, Gate, feedback, passed

__all__ = ["CHECKS", "Gate", "feedback", "passed"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from digest.checks import gate

        return getattr(gate, name)
    raise AttributeError(f"module 'digest.checks' has no attribute {name!r}")
