"""Render a Digest into files: per language a Markdown briefing, an email-ready HTML page
(Jinja -> MJML -> mrml -> css_inline) and its plain-text twin; then a local index.html and
manifest.json.

Templates see only the view models built here (``build_edition``, ``build_index``), so they
stay free of logic. Article text and model output are untrusted: every string is cleaned of
control characters here, HTML templates are autoescaped, Markdown goes through
``md_escape`` and only http(s) links survive (``models.safe_url``).
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import css_inline
import jinja2
import mrml
import yaml
from babel.dates import format_date
from babel.numbers import format_decimal
from pydantic import BaseModel, TypeAdapter, ValidationError

from digest.errors import DigestError
from digest.fsutil import write_atomic, write_json_atomic
from digest.manifest import FORMATS, Manifest
from digest.models import Check, Digest, LanguageInfo, StoryResult, safe_url
from digest.resources import data_dir

ENGLISH = {
    "code": "en",
    "base": "en",
    "locale": "en",
    "english_name": "English",
    "native_name": "English",
    "rtl": False,
}
# Gmail clips an HTML body above ~102 KB; stay conservative (decimal kilobytes).
GMAIL_CLIP_BYTES = 102_000
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
)
_PREHEADER_HEADLINES = 3
_PREHEADER_CHARS = 140

# C0/C1 controls, and bidi embeddings/overrides/isolates: an unbalanced one in model output
# could flip the direction of everything after it in the email.
_UNSAFE_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_MD_INLINE = re.compile(r"([\\`*_\[\]#|~]|!(?=\[)|(?<=\])\()")
_MD_LINE_START = re.compile(r"^([-+=>])|^(\d+)([.)])")
# Only a "<" that could open a tag, comment, declaration or autolink is escaped ("x < 3"
# stays), and only a "&" that would start a character reference ("AT&T" stays). Both as
# entities, which every Markdown renderer decodes; Python-Markdown has no "\<" or "\&".
_MD_TAG_OPEN = re.compile(r"<(?![\s\d<=>-]|$)")
_MD_REFERENCE = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
_LANG_DIR_ATTR = re.compile(r"\s(?:lang|dir)=(?:\"[^\"]*\"|'[^']*'|[^\s>]*)", re.IGNORECASE)


class RenderReport(BaseModel):
    files: list[Path]
    warnings: list[str]
    title: str  # the edition's title as configured, else the English default
    titles: dict[str, str]  # per language, as rendered


@dataclass(frozen=True)
class StoryView:
    id: str  # the article's id (feeds and archive anchors are built from it)
    published: bool
    headline: str
    summary: str
    key_points: list[str]
    source_title: str
    url: str | None
    note: str = ""  # withheld: why; published: an editor's edit or correction, if any


@dataclass(frozen=True)
class CorrectionView:
    """A correction to an earlier edition, in this edition's "Corrections" section."""

    headline: str
    line: str  # "In the edition of {date} · Corrected on {date}: {note}"
    source_title: str
    url: str | None


@dataclass(frozen=True)
class SectionView:
    name: str | None
    stories: list[StoryView]


@dataclass(frozen=True)
class EditionView:
    """Everything the Markdown, MJML and text templates need for one language."""

    code: str
    native_name: str
    english_name: str
    dir: str
    start: str
    end: str
    title: str
    head_title: str
    date: str
    preheader: str
    brief: str | None
    sections: list[SectionView]
    strings: dict[str, str]
    generated_by: str
    tokens: str
    colophon: str | None  # for readers only when configured: model, prompt and tokens are ours
    published: int
    withheld: int
    files: dict[str, str]
    corrections: list[CorrectionView] = field(default_factory=list)


@dataclass(frozen=True)
class ResultRow:
    item: str
    url: str | None
    section: str | None
    lang: str
    status: str
    checks: list[Check]
    reason: str
    attempts: int
    cached: bool


@dataclass(frozen=True)
class IndexView:
    title: str
    date: str
    generated_at: str
    model: str
    prompt: str
    endpoint: str
    structured_mode: str
    usage: dict[str, str]
    timings: dict[str, str]
    warnings: list[str]
    editions: list[EditionView]
    rows: list[ResultRow]


def clean_text(value: str | None) -> str:
    """One line of untrusted text: no control or bidi-override characters, spaces collapsed."""
    return " ".join(_UNSAFE_CHARS.sub("", value or "").split())


def md_escape(value: str) -> str:
    """Untrusted text as inert Markdown: no raw HTML, links, emphasis, code or blocks, and
    nothing escaped that Markdown does not need (a plain "&" or "<" reads as itself)."""
    text = _MD_REFERENCE.sub("&amp;", clean_text(value))
    text = _MD_TAG_OPEN.sub("&lt;", text)
    text = _MD_INLINE.sub(r"\\\1", text)
    # Only the start of a line can open a list, quote, heading underline or ordered list.
    return _MD_LINE_START.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", text)


def md_url(value: str | None) -> str:
    """A link target for ``[text](url)``: http(s) only, with characters that end it encoded."""
    url = safe_url(value)
    if url is None:
        return ""
    for char, code in (("\\", "%5C"), (" ", "%20"), ("(", "%28"), (")", "%29")):
        url = url.replace(char, code)
    return url


def wrap(value: str, width: int = 78, indent: str = "", hang: str | None = None) -> str:
    """Plain-text paragraph; URLs and hyphenated words are never split."""
    return textwrap.fill(
        clean_text(value),
        width=width,
        initial_indent=indent,
        subsequent_indent=indent if hang is None else hang,
        break_long_words=False,
        break_on_hyphens=False,
    )


def make_environment() -> jinja2.Environment:
    """The one Environment: templates/ loader, strict undefined, autoescape for HTML/MJML."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(data_dir("templates")),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "htm", "xml", "mjml", "html.j2", "mjml.j2"),
            default_for_string=True,
            default=False,
        ),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md_escape"] = md_escape
    env.filters["md_url"] = md_url
    env.filters["wrap"] = wrap
    return env


def load_strings() -> dict[str, dict[str, str]]:
    path = data_dir("templates") / "strings.yaml"
    try:
        table = TypeAdapter(dict[str, dict[str, str]]).validate_python(
            yaml.safe_load(path.read_text(encoding="utf-8"))
        )
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DigestError(f"cannot read interface strings {path}: {first}") from None
    missing = [key for key in STRING_KEYS if key not in table.get("en", {})]
    if missing:
        raise DigestError(f"{path} lacks English strings: {', '.join(missing)}")
    return table


def strings_for(table: dict[str, dict[str, str]], lang: LanguageInfo) -> dict[str, str]:
    """English, overlaid by the base language, overlaid by the full code; names filled in."""
    merged = {**table["en"], **table.get(lang.base, {}), **table.get(lang.code, {})}
    return {key: _fill(text, language=lang.native_name) for key, text in merged.items()}


def _fill(text: str, **values: str) -> str:
    # Plain replacement, not str.format: a stray brace in a translation must not crash.
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def build_edition(digest: Digest, lang: LanguageInfo, strings: dict[str, str]) -> EditionView:
    """The per-language view model: stories in article order, grouped by first-seen section."""
    sections: dict[str | None, list[StoryView]] = {}
    results = digest.results_by_item()
    for article in digest.articles:
        result = results.get((article.id, lang.code))
        summary = result.summary if result and result.status == "published" else None
        title = clean_text(article.title)
        story = StoryView(
            id=article.id,
            published=summary is not None,
            headline=clean_text(summary.headline) if summary else title,
            summary=clean_text(summary.summary) if summary else "",
            key_points=[clean_text(p) for p in summary.key_points] if summary else [],
            source_title=title,
            url=safe_url(article.url),
            note=story_note(result, strings, lang.locale),
        )
        sections.setdefault(clean_text(article.section) or None, []).append(story)
    stories = [s for group in sections.values() for s in group]
    brief = next(
        (
            clean_text(b.brief.overview)
            for b in digest.briefs
            if b.lang == lang.code and b.status == "published" and b.brief
        ),
        None,
    )
    title = clean_text(title_for(digest, lang, strings))
    headlines = [s.headline for s in stories if s.published][:_PREHEADER_HEADLINES]
    preheader = " · ".join(headlines) or brief or title
    if len(preheader) > _PREHEADER_CHARS:
        preheader = preheader[: _PREHEADER_CHARS - 1].rstrip() + "…"
    date = format_date(digest.edition_date, format="long", locale=lang.locale)
    usage = digest.usage
    tokens = format_decimal(usage.prompt_tokens + usage.completion_tokens, locale=lang.locale)
    generated_by = _fill(
        strings["generated_by"],
        model=clean_text(digest.model),
        prompt=clean_text(digest.prompt),
        endpoint=clean_text(digest.endpoint),
    )
    tokens_line = _fill(strings["tokens"], count=tokens)
    return EditionView(
        code=lang.code,
        native_name=lang.native_name,
        english_name=lang.english_name,
        dir="rtl" if lang.rtl else "ltr",
        start="right" if lang.rtl else "left",
        end="left" if lang.rtl else "right",
        title=title,
        # mrml copies <mj-title> into an aria-label, where css_inline leaves < and > raw.
        head_title=f"{title} – {date}".replace("<", "‹").replace(">", "›"),
        date=date,
        preheader=preheader,
        brief=brief,
        sections=[SectionView(name, group) for name, group in sections.items()],
        strings=strings,
        generated_by=generated_by,
        tokens=tokens_line,
        colophon=f"{generated_by} · {tokens_line}" if digest.colophon else None,
        published=sum(s.published for s in stories),
        withheld=sum(not s.published for s in stories),
        files={kind: Manifest.file_name(lang.code, kind) for kind in FORMATS},
        corrections=[
            CorrectionView(
                headline=clean_text(c.headline),
                line=_fill(
                    strings["correction_from"],
                    date=format_date(c.edition_date, format="long", locale=lang.locale),
                )
                + " · "
                + _fill(
                    strings["corrected_on"],
                    date=format_date(c.corrected_at.date(), format="long", locale=lang.locale),
                    note=clean_text(c.note),
                ),
                source_title=clean_text(c.source_title),
                url=safe_url(c.url),
            )
            for c in digest.corrections
            if c.lang == lang.code
        ],
    )


def story_note(result: StoryResult | None, strings: dict[str, str], locale: str) -> str:
    """What readers are told about a story beyond its text: why it is withheld, or that an
    editor edited, published or corrected it (digest.review)."""
    mark = result.editor if result else None
    if result is None or result.status != "published" or result.summary is None:
        return (
            strings["rejected_note"]
            if mark and mark.action == "rejected"
            else strings["withheld_note"]
        )
    if mark is None or mark.action == "approved":
        return ""
    if mark.action == "corrected":
        when = format_date(mark.at.date(), format="long", locale=locale)
        return _fill(strings["corrected_on"], date=when, note=clean_text(mark.note))
    if mark.action == "published" or any(c.status == "fail" for c in result.checks):
        return strings["editor_published_note"]
    return strings["edited_note"]


def build_index(digest: Digest, editions: list[EditionView], warnings: list[str]) -> IndexView:
    """The operator's preview page: provenance, usage and every check result."""
    rows: list[ResultRow] = []
    results = digest.results_by_item()
    for article in digest.articles:
        for lang in digest.languages:
            result = results.get((article.id, lang.code))
            rows.append(
                ResultRow(
                    item=clean_text(article.title),
                    url=safe_url(article.url),
                    section=clean_text(article.section) or None,
                    lang=lang.code,
                    status=result.status if result else "missing",
                    checks=[_clean_check(c) for c in result.checks] if result else [],
                    reason=clean_text(result.reason) if result else "no result for this language",
                    attempts=result.attempts if result else 0,
                    cached=result.cached if result else False,
                )
            )
    for brief in digest.briefs:
        rows.append(
            ResultRow(
                item="In brief",
                url=None,
                section=None,
                lang=brief.lang,
                status=brief.status,
                checks=[_clean_check(c) for c in brief.checks],
                reason=clean_text(brief.reason),
                attempts=0,
                cached=brief.cached,
            )
        )
    usage = digest.usage
    numbers = {
        "calls": usage.calls,
        "prompt tokens": usage.prompt_tokens,
        "completion tokens": usage.completion_tokens,
        "total tokens": usage.prompt_tokens + usage.completion_tokens,
        "cache hits": digest.cache_hits,
    }
    usage_view = {key: format_decimal(value, locale="en") for key, value in numbers.items()}
    if usage.cost is not None:
        usage_view["cost"] = format_decimal(usage.cost, format="#,##0.0000", locale="en")
    return IndexView(
        title=clean_text(digest.title or (editions[0].title if editions else "")),
        date=format_date(digest.edition_date, format="long", locale="en"),
        generated_at=digest.generated_at.isoformat(timespec="seconds"),
        model=clean_text(digest.model),
        prompt=clean_text(digest.prompt),
        endpoint=clean_text(digest.endpoint),
        structured_mode=clean_text(digest.structured_mode),
        usage=usage_view,
        timings={k: f"{v:.2f} s" for k, v in digest.timings.items()},
        warnings=[clean_text(w) for w in [*digest.warnings, *warnings]],
        editions=editions,
        rows=rows,
    )


def _clean_check(check: Check) -> Check:
    return Check(name=clean_text(check.name), status=check.status, detail=clean_text(check.detail))


def title_for(digest: Digest, lang: LanguageInfo, strings: dict[str, str]) -> str:
    """A per-language title from config, else the configured title, else the translated
    default ("News digest", "Haber özeti" ...)."""
    configured = digest.titles.get(lang.code) or digest.titles.get(lang.base) or digest.title
    return configured or strings["title"]


def render_digest(digest: Digest, out_dir: Path) -> RenderReport:
    """Write digest.<lang>.{md,html,txt} for every language and index.html. The manifest
    is the edition's to write (digest.edition), after everything else."""
    env = make_environment()
    table = load_strings()
    files: list[Path] = []
    warnings: list[str] = []
    editions: list[EditionView] = []
    for lang in digest.languages:
        edition = build_edition(digest, lang, strings_for(table, lang))
        editions.append(edition)
        html, html_warnings = email_html(env, edition)
        warnings.extend(html_warnings)
        outputs = {
            "md": _render(env, "digest.md.j2", e=edition),
            "html": html,
            "txt": _render(env, "digest.txt.j2", e=edition),
        }
        files += [_write(out_dir / edition.files[kind], text) for kind, text in outputs.items()]
    index = build_index(digest, editions, warnings)
    files.append(_write(out_dir / "index.html", _render(env, "index.html.j2", v=index)))
    english = strings_for(table, LanguageInfo.model_validate(ENGLISH))
    return RenderReport(
        files=files,
        warnings=warnings,
        title=clean_text(digest.title or english["title"]),
        titles={e.code: e.title for e in editions},
    )


def _write(path: Path, data: str | dict[str, object]) -> Path:
    try:
        return write_atomic(path, data) if isinstance(data, str) else write_json_atomic(path, data)
    except OSError as exc:
        raise DigestError(f"cannot write {path}: {exc.strerror or exc}") from None


def email_html(env: jinja2.Environment, edition: EditionView) -> tuple[str, list[str]]:
    """MJML -> table-based HTML -> CSS inlined; only the media queries stay in a <style>."""
    source = _render(env, "email.mjml.j2", e=edition)
    try:
        # fonts={}: no web-font <link>/@import, so the email loads nothing from third parties
        output = mrml.to_html(source, render_options=mrml.RenderOptions(fonts={}))
    except (OSError, ValueError) as exc:
        raise DigestError(f"template email.mjml.j2 is not valid MJML: {exc}") from None
    inliner = css_inline.CSSInliner(
        keep_style_tags=False,
        keep_link_tags=False,
        keep_at_rules=True,
        load_remote_stylesheets=False,
    )
    html = _set_direction(inliner.inline(output.content), edition.code, edition.dir)
    warnings = [f"{edition.files['html']}: MJML warning: {w.kind}" for w in output.warnings]
    size = len(html.encode("utf-8"))
    if size > GMAIL_CLIP_BYTES:
        warnings.append(
            f"{edition.files['html']} is {size / 1000:.0f} KB; Gmail clips emails over "
            f"{GMAIL_CLIP_BYTES // 1000} KB"
        )
    return html, warnings


def _set_direction(html: str, code: str, direction: str) -> str:
    """Make sure <html> carries lang/dir (whatever mrml did) and <body> carries dir too."""
    html = _with_attrs(html, "html", f' lang="{code}" dir="{direction}"')
    return _with_attrs(html, "body", f' dir="{direction}"')


def _with_attrs(html: str, tag: str, attrs: str) -> str:
    def replace(match: re.Match[str]) -> str:
        return f"<{tag}{attrs}" + _LANG_DIR_ATTR.sub("", match[0][len(tag) + 1 :])

    return re.sub(rf"<{tag}\b[^>]*>", replace, html, count=1, flags=re.IGNORECASE)


def _render(env: jinja2.Environment, name: str, **context: Any) -> str:
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateError as exc:
        raise DigestError(f"template {name} failed: {exc.message or type(exc).__name__}") from None
