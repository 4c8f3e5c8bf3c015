"""What the loopback OpenAI server answers when no fault is queued: a valid answer for the
requested schema, in the requested language, that passes the product's checks.

- ``summary`` / ``brief``: canned texts per language (``CANNED``) with no digits and no
  capitalised words except at sentence starts, so they pass the gate on any article.
- ``summary_evidence``: in the article's own language, an extract of its numbered sentences,
  each citing itself (so every claim check passes); in another language the canned text,
  each claim citing sentence 1 (claims across languages get only the checks that work there).
- ``translation``: per field, canned sentences of the target language carrying the field's
  numbers and names, and every name declared as kept (so the translation checks pass).
- ``verdicts``: every claim supported.
- ``same_event``: yes (clustering keeps its merges).
- ``section``: the first listed section whose name stands in the story, else the first.
"""

# ruff: noqa: E501

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from digest.checks.names import mid_sentence_capitals, name_candidates
from digest.checks.numbers import numbers_in
from digest.checks.translation import length_bounds
from digest.langid import identifier, lang_key
from support.canned import CANNED

_NUMBERED = re.compile(r"^\[(\d+)\] (.+)$", re.MULTILINE)
_FIELD = re.compile(r"^(headline|summary sentence \d+|key point \d+): (.+)$", re.MULTILINE)
_CLAIM = re.compile(r"^Claim (\d+): ", re.MULTILINE)


def message_text(message: Any) -> str:
    """Text of a chat message whose content is a string or a list of parts."""
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def user_text(body: dict[str, Any]) -> str:
    return "\n".join(
        message_text(m)
        for m in body.get("messages") or []
        if isinstance(m, dict) and m.get("role") == "user"
    )


def requested_language(body: dict[str, Any]) -> str:
    """Code in the last parentheses of the latest `Target language:` line in a user message
    (a re-ask's feedback message has none, so earlier user messages count too)."""
    lines = re.findall(r"^\s*Target language:(.*)$", user_text(body), flags=re.MULTILINE)
    codes = re.findall(r"\(([^()]*)\)", lines[-1]) if lines else []
    return codes[-1].strip() if codes else "en"


def _schema(body: dict[str, Any]) -> dict[str, Any]:
    fmt = body.get("response_format")
    if not isinstance(fmt, dict):
        return {}
    spec = fmt.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else fmt.get("schema")
    return schema if isinstance(schema, dict) else {}


def requested_kind(body: dict[str, Any]) -> str:
    """summary, summary_evidence, translation, verdicts or brief: from the response_format's
    name or schema, else from the prompt's words."""
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and isinstance(fmt.get("json_schema"), dict):
        name = fmt["json_schema"].get("name")
        if name in (
            "summary",
            "summary_evidence",
            "translation",
            "verdicts",
            "brief",
            "same_event",
            "section",
        ):
            return str(name)
    props = _schema(body).get("properties") or {}
    for key, kind in (("overview", "brief"), ("verdicts", "verdicts"), ("names", "translation")):
        if key in props:
            return kind
    if "summary" in props:
        return "summary_evidence" if "$defs" in _schema(body) else "summary"
    # Quoted, as a JSON schema or example would write it, so prose like "an overview of"
    # in a summary prompt does not count.
    texts = "\n".join(message_text(m) for m in body.get("messages") or [])
    for key, kind in (("overview", "brief"), ("verdicts", "verdicts"), ("names", "translation")):
        if re.search(rf"[\"']{key}[\"']", texts):
            return kind
    return "summary_evidence" if '"evidence"' in texts else "summary"


def canned_answer(kind: str, lang: str) -> dict[str, Any]:
    """The canned answer for a schema kind in a language code (no article needed)."""
    headline, s = CANNED.get(lang.split("-")[0].lower(), CANNED["en"])
    if kind == "brief":
        return {"overview": f"{s[2]} {s[3]}"}
    if kind == "summary_evidence":
        return {
            "headline": headline,
            "summary": [{"text": s[0], "evidence": [1]}, {"text": s[1], "evidence": [1]}],
            "key_points": [{"text": t, "evidence": [1]} for t in s[1:]],
        }
    if kind == "translation":
        return {"headline": headline, "summary": [s[0]], "key_points": list(s[1:]), "names": {}}
    return {"headline": headline, "summary": f"{s[0]} {s[1]}", "key_points": [s[1], s[2], s[3]]}


def answer_for(body: dict[str, Any], lang: str | None = None) -> dict[str, Any]:
    """The default answer to this request (``lang`` overrides the requested language)."""
    kind = requested_kind(body)
    target = lang or requested_language(body)
    text = user_text(body)
    if kind == "summary_evidence":
        return _evidenced(text, target)
    if kind == "translation":
        return _translated(text, target)
    if kind == "verdicts":
        count = len(_CLAIM.findall(text)) or 1
        return {"verdicts": [{"claim": n, "verdict": "supported"} for n in range(1, count + 1)]}
    if kind == "same_event":
        return {"same_event": True}
    if kind == "section":
        return {"section": _section(text)}
    return canned_answer(kind, target)


def _section(text: str) -> str:
    listed = re.findall(r"^Sections: (.+)$", text, flags=re.MULTILINE)
    names = [n.strip() for n in listed[-1].split(",")] if listed else ["none"]
    story = text.casefold()
    return next(
        (
            n
            for n in names
            if re.search(
                rf"\b{re.escape(n.casefold())}\b", story.replace(listed[-1].casefold(), "")
            )
        ),
        names[0],
    )


CLAIM_WORDS = 14  # claims are the first words of their sentence: short, like a summary's


def _clip(sentence: str, words: int = CLAIM_WORDS) -> str:
    kept = sentence.rstrip(".!?").split()[:words]
    return " ".join(kept).rstrip(",;:") + "."


def _evidenced(text: str, lang: str) -> dict[str, Any]:
    """In the article's own language: its own sentences, shortened, each citing itself
    (the first for the summary, the next three as key points); else the canned text."""
    sentences = [(int(n), s.strip()) for n, s in _NUMBERED.findall(text)]
    article = " ".join(s for _, s in sentences)
    own = identifier().detect(article) if article else None
    usable = [(n, s) for n, s in sentences if 4 <= len(s.split()) <= 60]
    if (own is not None and own != lang_key(lang)) or not usable:
        return canned_answer("summary_evidence", lang)
    if len(usable) >= 4:
        lead, points = usable[0], usable[1:4]
    else:
        points = list(usable)
        while len(points) < 3:  # a short article: halves of its sentences
            n, longest = max(points, key=lambda item: len(item[1].split()))
            words = longest.split()
            half = len(words) // 2
            points.remove((n, longest))
            points += [(n, " ".join(words[:half])), (n, " ".join(words[half:]))]
        lead = points[0]
    words = len(lead[1].split())
    # Headline shorter than the summary, the summary shorter than a key point: a shorter
    # cut of the same sentence, so no field repeats another.
    return {
        "headline": _clip(lead[1], max(3, min(8, words - 3))).rstrip("."),
        "summary": [{"text": _clip(lead[1], max(3, min(12, words - 1))), "evidence": [lead[0]]}],
        "key_points": [{"text": _clip(s), "evidence": [n]} for n, s in points[:3]],
    }


def _fit(sentence: str, chars: int) -> str:
    """The canned sentence cut near ``chars`` characters (at least five words), so the
    translation keeps about the original's length."""
    if len(sentence) <= chars * 1.2:
        return sentence
    if " " not in sentence:  # Chinese, Japanese: characters, not words
        return sentence[: max(8, chars)].rstrip("，、。") + "。"
    words = sentence.split()
    kept: list[str] = []
    for word in words:
        if len(kept) >= 5 and len(" ".join([*kept, word])) > chars:
            break
        kept.append(word)
    return " ".join(kept).rstrip(",;:.") + "."


def _digits(value: Decimal) -> str:
    return str(int(value)) if value == value.to_integral_value() else str(value)


def _translated(text: str, lang: str) -> dict[str, Any]:
    """Each field: a canned sentence of the target language, then one more "sentence" that
    keeps the original field's names and numbers as they are (names declared as kept)."""
    fields = _FIELD.findall(text)
    headline, canned = CANNED.get(lang.split("-")[0].lower(), CANNED["en"])
    capitals = mid_sentence_capitals([original for _, original in fields])
    names: dict[str, str] = {}
    out: dict[str, Any] = {"headline": headline, "summary": [], "key_points": []}
    for index, (label, original) in enumerate(fields):
        runs = [" ".join(run) for _, run in name_candidates(original, capitals)]
        found = list(dict.fromkeys(run for run in runs if run))
        names.update({name: name for name in found})
        # Digits only: a scale word ("million", "milyon") would be a word left untranslated.
        numbers = list(dict.fromkeys(_digits(max(n.values)) for n in numbers_in(original)))
        kept = ", ".join([*found, *numbers])
        if label == "headline":
            out["headline"] = f"{headline}: {kept}" if kept else headline
            continue
        low, high = length_bounds("en", lang_key(lang) or "en")
        room = max(10, int(len(original) * (low + high) / 2) - len(kept))
        sentence = _fit(canned[index % len(canned)], room)
        rendered = f"{sentence} {kept}." if kept else sentence
        out["summary" if label.startswith("summary") else "key_points"].append(rendered)
    out["names"] = names
    return out
