"""The readers' interface strings (templates/strings.yaml), per language: the full code, then
the primary subtag, then English, key by key."""

from __future__ import annotations

import yaml
from pydantic import TypeAdapter, ValidationError

from digest.errors import DigestError
from digest.models import LanguageInfo
from digest.resources import data_dir
from digest.sections import DEFAULT_SECTIONS

ENGLISH = {
    "code": "en",
    "base": "en",
    "locale": "en",
    "english_name": "English",
    "native_name": "English",
    "rtl": False,
}
STRING_KEYS = (
    "title",
    "in_brief",
    "key_points",
    "source",
    "no_verified_summary",
    "withheld_note",
    "generated_by",
    "machine_generated",
    "tokens",
    "no_stories",
    "rejected_note",
    "edited_note",
    "editor_published_note",
    "corrected_on",
    "corrections",
    "correction_from",
    "archive",
    "feeds",
    "extract_note",
    "source_language_note",
    "evidence",
)
# Daily stories (digest.output.story_view): sources, disagreements (what differs: the
# things digest.ingest.disagreements compares), updates, the default sections.
STORY_STRING_KEYS = (
    "sources_count",
    "sources_differ",
    *(
        f"differ_{what}"
        for what in (
            "dead injured missing evacuated arrested flights governor mayor coach other".split()
        )
    ),
    "update",
    "earlier_story",
    "more_news",
    *(f"section_{name.lower()}" for name in DEFAULT_SECTIONS),
)


def load_strings() -> dict[str, dict[str, str]]:
    path = data_dir("templates") / "strings.yaml"
    try:
        table = TypeAdapter(dict[str, dict[str, str]]).validate_python(
            yaml.safe_load(path.read_text(encoding="utf-8"))
        )
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DigestError(f"cannot read interface strings {path}: {first}") from None
    missing = [key for key in (*STRING_KEYS, *STORY_STRING_KEYS) if key not in table.get("en", {})]
    if missing:
        raise DigestError(f"{path} lacks English strings: {', '.join(missing)}")
    return table


def strings_for(table: dict[str, dict[str, str]], lang: LanguageInfo) -> dict[str, str]:
    """English, overlaid by the base language, overlaid by the full code; names filled in."""
    merged = {**table["en"], **table.get(lang.base, {}), **table.get(lang.code, {})}
    return {key: fill(text, language=lang.native_name) for key, text in merged.items()}


def fill(text: str, **values: str) -> str:
    # Plain replacement, not str.format: a stray brace in a translation must not crash.
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text
