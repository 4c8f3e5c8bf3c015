"""Form: every field has real text (not empty, not a stub, not a link), nothing loops, and
each field keeps to its length. Limits are per kind of field, addressed by name."""

from __future__ import annotations

import re
from collections import Counter

from digest.checks.base import CheckSpec, Subject
from digest.checks.text import NO_SPACE_SCRIPT, TOKEN, shorten, tokens, word_count
from digest.models import Check

# A one- or two-word "key point" (tiny models echo field names: "summary", "key_points")
# says nothing; a headline needs a few words too.
MIN_WORDS = {"headline": 3, "key_point": 3}
MAX_WORDS = {"headline": 20, "summary": 120, "key_point": 60, "overview": 250}
_LINK = re.compile(r"https?://|www\.|\b[\w-]+\.(?:com|org|net)/", re.IGNORECASE)


def check_empty(subject: Subject) -> Check:
    fields = subject.fields
    empty = [f.name for f in fields if not TOKEN.search(f.text)]
    if not fields or empty:
        detail = f"{', '.join(empty)} {'is' if len(empty) == 1 else 'are'} empty"
        return Check(name="empty", status="fail", detail=detail if fields else "no text at all")
    # Prose, not links: a tiny model's "summary" is sometimes just a search URL, which
    # every other check would let through (no numbers, no names, language unsure).
    linked = [f.name for f in fields if _LINK.search(f.text)]
    if linked:
        return Check(name="empty", status="fail", detail=f"{', '.join(linked)}: a link, not text")
    stubs = [f for f in fields if word_count(f.text) < MIN_WORDS.get(f.kind, 1)]
    if stubs:
        least = min(MIN_WORDS[f.kind] for f in stubs)
        detail = f"{', '.join(f.name for f in stubs)}: fewer than {least} words"
        return Check(name="empty", status="fail", detail=detail)
    return Check(name="empty", status="ok")


def check_repetition(subject: Subject) -> Check:
    fields = subject.fields
    texts = [f.text for f in fields]
    problems: list[str] = []
    run = re.search(r"(\S)\1{7,}", "\n".join(texts))
    if run:
        problems.append(f'character run "{shorten(run.group(0), 12)}"')
    normalised = [" ".join(tokens(t)) for t in texts]
    for i, text in enumerate(normalised):
        if text and text in normalised[:i]:
            first = normalised.index(text)
            problems.append(f"{fields[i].name} repeats {fields[first].name}")
    # A key point may restate a summary sentence (editors do); the same sentence twice in
    # one field, or in three places, is a loop.
    per_field = [
        Counter(" ".join(tokens(s)) for s in re.split(r"[.!?。！？\n]+", t) if len(tokens(s)) >= 4)
        for t in texts
    ]
    overall = sum(per_field, Counter[str]())
    repeated = [s for s, n in overall.items() if n >= 3 or any(f[s] > 1 for f in per_field)]
    problems.extend(f'sentence "{shorten(s)}" repeated' for s in repeated[:2])
    # Within one field three times is a loop; across fields a name phrase may recur.
    for tokens_list, limit in [*((tokens(t), 3) for t in texts), (tokens(" ".join(texts)), 4)]:
        n = 8 if any(NO_SPACE_SCRIPT.match(t) for t in tokens_list) else 3
        grams = Counter(tuple(tokens_list[i : i + n]) for i in range(len(tokens_list) - n + 1))
        looped = [g for g, count in grams.items() if count >= limit]
        if looped:
            problems.append(f'"{shorten(" ".join(looped[0]))}" repeated {grams[looped[0]]} times')
    for words in map(tokens, texts):
        if len(words) >= 40 and len(set(words)) < 0.3 * len(words):
            problems.append(f"only {len(set(words))} different words in {len(words)}")
    if problems:
        return Check(name="repetition", status="fail", detail="; ".join(dict.fromkeys(problems)))
    return Check(name="repetition", status="ok")


def check_length(subject: Subject) -> Check:
    too_long: list[str] = []
    for field in subject.fields:
        limit = MAX_WORDS.get(field.kind)
        words = word_count(field.text)
        if limit is not None and words > limit:
            too_long.append(f"{field.name} has {words} words (max {limit})")
    if too_long:
        return Check(name="length", status="fail", detail="; ".join(too_long))
    return Check(name="length", status="ok")


EMPTY = CheckSpec(name="empty", hint="fill every field with real sentences", run=check_empty)
REPETITION = CheckSpec(
    name="repetition", hint="do not repeat words, phrases or sentences", run=check_repetition
)
LENGTH = CheckSpec(
    name="length",
    hint="keep the headline under 20 words and the summary under 120 words",
    run=check_length,
)
