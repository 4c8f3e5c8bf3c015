"""Language: the answer is written in the language asked for (py3langid, via digest.langid)."""

from __future__ import annotations

from babel import Locale

from digest.checks.base import CheckSpec, Subject
from digest.langid import CLOSE_LANGUAGES
from digest.models import Check, CheckStatus

LANG_OK, LANG_WRONG, LANG_TARGET_FLOOR, LANG_MIN_LETTERS = 0.5, 0.8, 0.1, 25


def language_name(code: str) -> str:
    try:
        return Locale.parse(code).get_display_name("en") or code
    except (ValueError, TypeError, LookupError):
        return code


def check_language(subject: Subject) -> Check:
    joined = "\n".join(subject.texts)
    target, lang = subject.target, subject.lang
    wanted = f"{lang.english_name} ({target})"
    if sum(c.isalpha() for c in joined) < LANG_MIN_LETTERS:
        return Check(name="language", status="unverified", detail="too short to identify")
    scores = subject.identifier.scores(joined)
    top, prob = next(iter(scores.items()))
    found = f"{language_name(top)} ({top}, p={prob:.2f})"
    if top == target:
        status: CheckStatus = "ok" if prob >= LANG_OK else "unverified"
        return Check(name="language", status=status, detail=f"identified as {found}")
    if target not in scores:
        return Check(name="language", status="unverified", detail=f"cannot identify {wanted}")
    close = any({top, target} <= group for group in CLOSE_LANGUAGES)
    if prob >= LANG_WRONG and scores[target] < LANG_TARGET_FLOOR and not close:
        return Check(name="language", status="fail", detail=f"written in {found}, not {wanted}")
    return Check(
        name="language", status="unverified", detail=f"looks like {found}, expected {wanted}"
    )


LANGUAGE = CheckSpec(
    name="language", hint="write every field in the requested language", run=check_language
)
