"""Articles in: files (.txt, .md, .html), folders of them, or stdin, as ``Article`` models.

Reading is strict where the user named a file (a bad file raises ``InputError``) and
forgiving inside a folder (bad files are skipped with a warning). Every article is cleaned
(``digest.ingest.cleaning``), trimmed to a token budget and identified by the hash of its text.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import re
import sys
import unicodedata
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import BinaryIO

import charset_normalizer
import yaml
from pydantic import BaseModel

from digest.errors import InputError
from digest.fsutil import MAX_ARTICLE_TOKENS, MAX_INPUT_BYTES, read_capped
from digest.ingest.cleaning import (
    clean_text,
    detect_language,
    one_line,
    strip_inline_markdown,
    strip_markdown,
    trim_to_budget,
)
from digest.models import Article

TEXT_SUFFIXES = (".txt",)
MARKDOWN_SUFFIXES = (".md", ".markdown")
HTML_SUFFIXES = (".html", ".htm")
SUPPORTED_SUFFIXES = TEXT_SUFFIXES + MARKDOWN_SUFFIXES + HTML_SUFFIXES
STDIN = "-"

TITLE_MAX_WORDS = 20  # a first line this long (or longer) is a sentence, not a headline
SHORT_TITLE_WORDS = 12  # a sentence used as a title is shortened to this many words
MIN_HTML_WORDS = 10  # fewer words than this from a page means extraction found no article

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)?(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_MD_H1 = re.compile(r"^[ ]{0,3}#[ \t]+(.+?)[ \t]*#*[ \t]*$|^(\S.*)\n[ ]{0,3}=+[ \t]*$", re.M)
_HTML_START = re.compile(
    r"\A\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*"
    r"<(!doctype\s+html|html|head|body|meta|title|article|main|div|p|section|h1)\b",
    re.I | re.S,
)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([A-Za-z0-9_-]+)", re.I)
# What browsers do with these labels (WHATWG encoding standard).
_HTML_CHARSET_ALIASES = {"iso-8859-1": "cp1252", "latin1": "cp1252", "ascii": "cp1252"}
_NOT_A_TITLE_END = (".", ",", ";", ":", "\u2026")
_CLOSERS = "\"'\u201d\u2019\u00bb)]"


class LoadResult(BaseModel):
    articles: list[Article]
    warnings: list[str] = []


# --- public API ---------------------------------------------------------------------------


def load_inputs(
    inputs: list[str],
    *,
    stdin: BinaryIO | None = None,
    max_tokens: int = MAX_ARTICLE_TOKENS,
    max_bytes: int = MAX_INPUT_BYTES,
) -> LoadResult:
    """Read every input (file, folder, or ``-`` for stdin) into articles, in order.

    Duplicates (same id) are kept once; trimming and skipped folder files are reported in
    ``warnings``. Raises ``InputError`` for a bad explicit input or an unusable folder.
    """
    if not inputs:
        raise InputError("no input articles given (pass files, folders, or - for stdin)")
    if inputs.count(STDIN) > 1:
        raise InputError("stdin ('-') can be read only once")
    articles: dict[str, Article] = {}
    warnings: list[str] = []

    def add(article: Article) -> None:
        first = articles.get(article.id)
        if first is not None:
            warnings.append(f"duplicate of {first.source}: {article.source}")
            return
        articles[article.id] = article
        if article.trimmed is not None:
            warnings.append(
                f"{article.source}: trimmed from {article.trimmed.original_chars:,} to "
                f"{article.trimmed.kept_chars:,} characters ({article.trimmed.strategy})"
            )

    for item in inputs:
        if item == STDIN:
            stream = stdin if stdin is not None else sys.stdin.buffer
            add(_read_stdin(stream, max_tokens=max_tokens, max_bytes=max_bytes))
        elif Path(item).is_dir():
            for article in _read_folder(Path(item), warnings, max_tokens, max_bytes):
                add(article)
        else:
            add(read_file(Path(item), max_tokens=max_tokens, max_bytes=max_bytes))
    return LoadResult(articles=list(articles.values()), warnings=warnings)


def read_file(
    path: Path, *, max_tokens: int = MAX_ARTICLE_TOKENS, max_bytes: int = MAX_INPUT_BYTES
) -> Article:
    """One article from a supported file; raises ``InputError`` naming the path."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if suffix not in SUPPORTED_SUFFIXES:
        kind = f"'{path.suffix}'" if path.suffix else "without an extension"
        raise InputError(
            f"{path}: unsupported file type {kind} (supported: {', '.join(SUPPORTED_SUFFIXES)})"
        )
    data = _read_bytes(path, max_bytes)
    if suffix in HTML_SUFFIXES:
        return article_from_html(data, source=str(path), max_tokens=max_tokens)
    text = decode_bytes(data, source=str(path))
    return _article_from_text(
        text, source=str(path), markdown=suffix in MARKDOWN_SUFFIXES, max_tokens=max_tokens
    )


def make_article(
    text: str,
    *,
    title: str | None = None,
    url: str | None = None,
    published: datetime | None = None,
    source: str,
    section: str | None = None,
    max_tokens: int = MAX_ARTICLE_TOKENS,
) -> Article:
    """Clean ``text`` and build the ``Article``.

    Without a title, the first line gives one (see ``split_title``). With a title, a first
    body line repeating it is dropped. The id hashes the final (cleaned, trimmed) text, so it
    is exactly ``sha256(article.text)[:16]``.
    """
    body = clean_text(text)
    if not body:
        raise InputError(f"{source}: no article text")
    clean_title = one_line(title) if title else ""
    if clean_title:
        first, _, rest = body.partition("\n")
        if rest.strip() and first.casefold() == clean_title.casefold():
            body = rest.strip()
    else:
        clean_title, body = split_title(body)
    body, trimmed = trim_to_budget(body, max_tokens)
    return Article(
        id=hashlib.sha256(body.encode("utf-8")).hexdigest()[:16],
        title=_shorten(clean_title, 40),
        text=body,
        url=url,
        published=published,
        source=source,
        source_lang=detect_language(body),
        section=section,
        trimmed=trimmed,
    )


def article_from_html(
    html: str | bytes,
    *,
    url: str | None = None,
    source: str,
    section: str | None = None,
    max_tokens: int = MAX_ARTICLE_TOKENS,
) -> Article:
    """Main text and metadata of a web page (trafilatura). Navigation, cookie banners,
    share bars, comments and footers are left out. The ``url`` given (where the page was
    fetched) wins over the page's own canonical / og:url, which is used otherwise."""
    import trafilatura  # a third of a second to import: only when a page is read
    from trafilatura.settings import Document

    page = decode_bytes(html, source=source, html=True) if isinstance(html, bytes) else html
    doc = trafilatura.bare_extraction(
        page,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_images=False,
        include_links=False,
    )
    if not isinstance(doc, Document):
        doc = Document()
    text = clean_text(doc.text or "")
    if len(text.split()) < MIN_HTML_WORDS:
        raise InputError(f"{source}: no article text found in the page")
    return make_article(
        text,
        title=doc.title or None,
        url=url or doc.url,
        published=parse_published(doc.date),
        source=source,
        section=section,
        max_tokens=max_tokens,
    )


def decode_bytes(data: bytes, *, source: str, html: bool = False) -> str:
    """Bytes to text: BOM, else UTF-8, else (HTML) the declared charset, else the encoding
    charset-normalizer detects. Raises ``InputError`` if the bytes are not text."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = _try_decode(data, "utf-16")
    elif b"\x00" in data:
        text = None
    else:
        text = _try_decode(data, "utf-8-sig")
        if text is None and html:
            declared = _META_CHARSET.search(data[:4096])
            if declared:
                name = declared.group(1).decode("ascii").lower()
                text = _try_decode(data, _HTML_CHARSET_ALIASES.get(name, name))
        if text is None:
            text = _detect_and_decode(data)
    if text is None or _mostly_control(text):
        raise InputError(f"{source}: looks like a binary file, not an article")
    return text


def split_title(body: str) -> tuple[str, str]:
    """(title, body) from cleaned text: a short headline-like first line becomes the title
    and leaves the body; otherwise the first sentence, shortened, is the title and the body
    keeps it."""
    first, _, rest = body.partition("\n")
    words = first.split()
    bare = first.rstrip(_CLOSERS)
    if rest.strip() and len(words) < TITLE_MAX_WORDS and not bare.endswith(_NOT_A_TITLE_END):
        return first, rest.strip()
    sentence = re.split(r"(?<=[.!?\u2026])\s", first, maxsplit=1)[0]
    return _shorten(sentence.rstrip("."), SHORT_TITLE_WORDS), body


def parse_published(value: object) -> datetime | None:
    """A publication date from front matter, page metadata or a feed: datetime, date,
    ISO 8601 or RFC 2822 text. None if absent or unreadable."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None


# --- helpers ------------------------------------------------------------------------------


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    data = read_capped(path, max_bytes)
    if not data.strip():
        raise InputError(f"{path}: empty file")
    return data


def _read_stdin(stream: BinaryIO, *, max_tokens: int, max_bytes: int) -> Article:
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InputError(f"stdin: more than {max_bytes:,} bytes, over the limit")
    if not data.strip():
        raise InputError("stdin: empty input")
    text = decode_bytes(data, source="stdin", html=True)
    if _HTML_START.match(text):
        return article_from_html(text, source="stdin", max_tokens=max_tokens)
    body = _FRONT_MATTER.sub("", text, count=1)
    markdown = bool(_MD_H1.search(body.lstrip()[:1000]))
    return _article_from_text(text, source="stdin", markdown=markdown, max_tokens=max_tokens)


def _read_folder(
    folder: Path, warnings: list[str], max_tokens: int, max_bytes: int
) -> list[Article]:
    found: list[Path] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found.extend(
            Path(root) / name
            for name in files
            if not name.startswith(".") and Path(name).suffix.lower() in SUPPORTED_SUFFIXES
        )
    found.sort(key=lambda p: p.relative_to(folder).parts)
    articles: list[Article] = []
    skipped: list[str] = []
    for path in found:
        try:
            articles.append(read_file(path, max_tokens=max_tokens, max_bytes=max_bytes))
        except InputError as exc:
            skipped.append(f"{exc.message} (skipped)")
    warnings.extend(skipped)
    if not articles:
        if skipped:
            raise InputError(
                f"{folder}: no usable article ({len(skipped)} skipped, first: {skipped[0]})"
            )
        raise InputError(f"{folder}: no article files (looked for {', '.join(SUPPORTED_SUFFIXES)})")
    return articles


def _article_from_text(text: str, *, source: str, markdown: bool, max_tokens: int) -> Article:
    meta, body = _split_front_matter(text, source)
    title = meta.get("title")
    title = str(title) if title is not None else None
    if markdown:
        if heading := _MD_H1.search(body):  # the page heading is a title, never body text
            title = title or strip_inline_markdown(heading.group(1) or heading.group(2))
            body = body[: heading.start()] + body[heading.end() :]
        body = strip_markdown(body)
    if not clean_text(body):
        raise InputError(f"{source}: empty file")
    url = meta.get("url") or meta.get("link")
    section = meta.get("section")
    return make_article(
        body,
        title=title,
        url=str(url) if url else None,
        published=parse_published(meta.get("date") or meta.get("published")),
        source=source,
        section=str(section) if section else None,
        max_tokens=max_tokens,
    )


def _split_front_matter(text: str, source: str) -> tuple[dict[str, object], str]:
    """YAML front matter (``---`` ... ``---``) at the very start, if it is a mapping."""
    text = text.lstrip("\ufeff")
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        meta = yaml.safe_load(match.group(1) or "")
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f" (line {line + 2})" if isinstance(line, int) else ""
        raise InputError(f"{source}: front matter is not valid YAML{where}") from None
    if not isinstance(meta, dict):
        return {}, text  # a Markdown rule pair around prose, not metadata
    return {str(k).lower(): v for k, v in meta.items()}, text[match.end() :]


def _detect_and_decode(data: bytes) -> str | None:
    """charset-normalizer's candidates, re-ranked: on short texts several single-byte code
    pages decode with the same (low) chaos, and its own order then falls back on criteria
    that e.g. put cp1250 before cp1254 for Turkish. We take the most language-coherent of
    the least chaotic candidates, and between equally coherent ones prefer cp1252, the
    most common legacy encoding (so Spanish 'año' does not come out as 'ańo')."""
    matches = list(charset_normalizer.from_bytes(data))
    if not matches:
        return None
    least_chaos = min(m.chaos for m in matches)
    calm = [m for m in matches if m.chaos <= least_chaos + 0.01]
    top = max(m.coherence for m in calm)
    coherent = [m for m in calm if m.coherence >= top - 0.005]
    best = next((m for m in coherent if m.encoding == "cp1252"), coherent[0])
    return str(best)


def _try_decode(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _mostly_control(text: str) -> bool:
    """Text decoded from a binary file is full of control and replacement characters."""
    bad = sum(
        1
        for ch in text
        if ch == "\ufffd" or (unicodedata.category(ch) == "Cc" and ch not in "\t\n\r\f\v")
    )
    return bad > len(text) * 0.02


def _shorten(text: str, max_words: int) -> str:
    words = text.split()
    if len(words) <= max_words:
        return text
    return " ".join(words[:max_words]).rstrip(",;:\u2013\u2014-") + "\u2026"
