"""Source copy: a "summary" that is the source pasted, in the wrong language."""

from __future__ import annotations

from digest.checks.base import CheckSpec, Subject
from digest.checks.text import grams
from digest.models import Check

COPY_FAIL, COPY_NOTE = 0.5, 0.8


def check_copy(subject: Subject) -> Check:
    found = [g for t in subject.texts for g in grams(t)]
    if not found:
        return Check(name="copy", status="ok")
    share = sum(g in subject.source.grams for g in found) / len(found)
    percent = f"{share:.0%} of 4-word sequences are copied from the source"
    same = subject.same_language
    if share >= COPY_FAIL and same is False:
        return Check(
            name="copy",
            status="fail",
            detail=f"copy of the source in the wrong language ({percent})",
        )
    if (share >= COPY_FAIL and same is None) or share >= COPY_NOTE:
        return Check(name="copy", status="unverified", detail=f"mostly verbatim: {percent}")
    return Check(name="copy", status="ok")


COPY = CheckSpec(
    name="copy",
    hint="summarise in your own words in the requested language instead of copying the article",
    run=check_copy,
)
