"""Untrusted text made safe for each output: one clean line, inert Markdown, http(s)-only
link targets, wrapped plain text. Article text and model output pass through here before
any template sees them (HTML templates are autoescaped on top)."""

from __future__ import annotations

import re
import textwrap

from digest.models import safe_url

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


def display_line(value: str | None) -> str:
    """One line of untrusted text: no control or bidi-override characters, spaces collapsed."""
    return " ".join(_UNSAFE_CHARS.sub("", value or "").split())


def md_escape(value: str) -> str:
    """Untrusted text as inert Markdown: no raw HTML, links, emphasis, code or blocks, and
    nothing escaped that Markdown does not need (a plain "&" or "<" reads as itself)."""
    text = _MD_REFERENCE.sub("&amp;", display_line(value))
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
        display_line(value),
        width=width,
        initial_indent=indent,
        subsequent_indent=indent if hang is None else hang,
        break_long_words=False,
        break_on_hyphens=False,
    )
