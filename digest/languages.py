"""Language codes: BCP-47 in, validated against CLDR (via babel), with what templates need."""

from __future__ import annotations

from babel import Locale, UnknownLocaleError

from digest.errors import UsageError
from digest.models import LanguageInfo

# Scripts written right to left; CLDR knows this per locale, but we keep the list the
# product promises explicit so a babel upgrade cannot silently flip a layout.
RTL_LANGUAGES = {"ar", "fa", "he", "ur", "ps", "sd", "yi", "dv", "ug", "ckb"}


def parse_language(code: str) -> LanguageInfo:
    raw = code.strip()
    if not raw:
        raise UsageError("empty language code in --lang")
    try:
        locale = Locale.parse(raw.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        raise UsageError(
            f"unknown language code {raw!r} (use BCP-47 codes such as en, tr, ar, de, pt-BR)"
        ) from None
    normalised = locale.language + (f"-{locale.territory}" if locale.territory else "")
    if locale.script:
        normalised = f"{locale.language}-{locale.script}" + (
            f"-{locale.territory}" if locale.territory else ""
        )
    return LanguageInfo(
        code=normalised,
        base=locale.language,
        locale=str(locale),
        english_name=locale.get_display_name("en") or raw,
        native_name=locale.get_display_name(locale) or raw,
        rtl=locale.language in RTL_LANGUAGES or locale.character_order == "right-to-left",
    )


def parse_languages(spec: str | list[str]) -> list[LanguageInfo]:
    codes = spec.split(",") if isinstance(spec, str) else [c for s in spec for c in s.split(",")]
    seen: dict[str, LanguageInfo] = {}
    for code in codes:
        info = parse_language(code)
        seen.setdefault(info.code, info)
    if not seen:
        raise UsageError("no language given (use --lang en,tr,ar,de)")
    return list(seen.values())
