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
from pathlib import Path
from typing import Any

import css_inline
import jinja2
import mrml
from pydantic import BaseModel

from digest.errors import DigestError
from digest.fsutil import write_atomic, write_json_atomic
from digest.models import Digest, LanguageInfo
from digest.output.index_view import build_index
from digest.output.story_view import load_story_infos
from digest.output.strings import ENGLISH, STRING_KEYS, load_strings, strings_for
from digest.output.text import display_line, md_escape, md_url, wrap
from digest.output.views import EditionView, build_edition
from digest.resources import data_dir

# Gmail clips an HTML body above ~102 KB; stay conservative (decimal kilobytes).
GMAIL_CLIP_BYTES = 102_000
_LANG_DIR_ATTR = re.compile(r"\s(?:lang|dir)=(?:\"[^\"]*\"|'[^']*'|[^\s>]*)", re.IGNORECASE)

__all__ = [
    "GMAIL_CLIP_BYTES",
    "STRING_KEYS",
    "RenderReport",
    "display_line",
    "email_html",
    "make_environment",
    "md_escape",
    "md_url",
    "render_digest",
    "wrap",
]


class RenderReport(BaseModel):
    files: list[Path]
    warnings: list[str]
    title: str  # the edition's title as configured, else the English default
    titles: dict[str, str]  # per language, as rendered


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


def render_digest(digest: Digest, out_dir: Path) -> RenderReport:
    """Write digest.<lang>.{md,html,txt} for every language and index.html. The manifest
    is the edition's to write (digest.edition), after everything else."""
    env = make_environment()
    table = load_strings()
    if not digest.stories:  # re-rendered from the folder (the desk): its stories.json
        digest = digest.model_copy(update={"stories": load_story_infos(out_dir)})
    files: list[Path] = []
    warnings: list[str] = []
    editions: list[EditionView] = []
    for lang in digest.languages:
        edition = build_edition(digest, lang, strings_for(table, lang), evidence=digest.evidence)
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
        title=display_line(digest.title or english["title"]),
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
