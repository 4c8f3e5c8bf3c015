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

``passed`` decides, ``feedback`` writes the re-ask paragraph from each check's hint.
"""

from digest.checks.gate import CHECKS, Gate, feedback, passed

__all__ = ["CHECKS", "Gate", "feedback", "passed"]
