"""Article text cleaning: unicode and whitespace normalisation, scraper residue, Markdown
markup, token budgets and language identification.

Everything here is a pure function of its input (the language model is loaded once and
cached, it never changes), so the same file gives the same cleaned text, and therefore the
same article id, on every run and machine.
"""

from __future__ import annotations

import math
import re
import unicodedata

from digest.models import TrimNote

# --- unicode and whitespace ---------------------------------------------------------------

_LINE_BREAKS = re.compile(r"\r\n|[\r\u2028\u2029\x0b\x0c\x85]")
# Every Unicode space separator (nbsp, thin, narrow nbsp, ideographic ...) and tabs.
_SPACES = re.compile(r"[\t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
# Invisible characters that only get in the way: zero-width space, word joiner, BOM, soft
# hyphen. ZWJ/ZWNJ (U+200C/D) and the bidi marks stay: Persian, Indic scripts and emoji
# need them.
_INVISIBLE = re.compile(r"[\u200b\u2060\ufeff\u00ad]")
# Curly quotes are kept (they are correct typography in most languages, and „…“ or «…»
# must survive); only the rare look-alikes scrapers and old encoders produce are mapped.
_ODD_QUOTES = str.maketrans({"\u201b": "\u2019", "\u201f": "\u201d"})
_APOSTROPHE_LOOKALIKE = re.compile(r"(?<=\w)[\u00b4\u0060\u2032](?=\w)")
_TEX_QUOTES = (("``", "\u201c"), ("''", "\u201d"))
_MULTISPACE = re.compile(r" {2,}")
_BLANK_RUNS = re.compile(r"\n{3,}")

# --- scraper residue ----------------------------------------------------------------------

# Whole lines only (anchored below), compared case-insensitively after stripping. Checked
# at the start and the end of a text, where share bars, comment counters and cookie
# banners end up; a line inside the body is never touched unless it is pure advertising
# (see _ANYWHERE_PATTERNS). A line must also be short (_RESIDUE_MAX_CHARS).
RESIDUE_PATTERNS: tuple[str, ...] = (
    # English
    r"discussion about this (post|article|story)",
    r"share( this( article| story| post| page)?)?",
    r"share (on|via|to) \w+",
    r"(\d+ )?comments?( \(\d+\))?",
    r"(leave|post|add|write) a (comment|reply)",
    r"(view|show|load|read|see) (all )?(\d+ )?comments",
    r"subscribe( now| today| here)?",
    r"(sign up|subscribe) (for|to) (our|the) newsletters?( .*)?",
    r"like( this)?( loading)?",
    r"loading",
    r"read (more|next|also|the full (story|article))(\s*[:|\u2013\u2014-].*)?",
    r"advertisement|advertising|sponsored( content)?",
    r"(related|recommended|more) (articles|stories|posts|news|reading|on this story)",
    r"related|recommended( for you)?|you (may|might) also like",
    r"follow us( on .*)?",
    r"(print|email) this (article|page|story)",
    r"(skip|jump) to (main )?content",
    r"back to top",
    r"tags?:.*",
    # Cookie banners
    r"(we|this (web)?site|our (web)?site) uses? cookies\b.*",
    r"(accept|allow|reject|decline|manage)( all)? cookies\b.*",
    r"cookie (policy|settings|preferences|consent)\b.*",
    # German
    r"(artikel |beitrag )?teilen",
    r"(\d+ )?kommentare?",
    r"(jetzt )?abonnieren",
    r"anzeige|werbung",
    r"mehr zum thema(\s*:.*)?",
    r"weiterlesen|mehr lesen",
    r"das könnte sie auch interessieren|auch interessant",
    r"wir (verwenden|nutzen) cookies\b.*",
    # French
    r"partager( cet article)?",
    r"(\d+ )?commentaires?",
    r"lire (aussi|la suite|plus)(\s*:.*)?",
    r"publicité",
    r"s'abonner|s\u2019abonner|abonnez-vous( .*)?",
    r"(sur le même sujet|articles similaires)",
    r"nous utilisons des cookies\b.*",
    # Spanish
    r"compartir( en \w+)?",
    r"(\d+ )?comentarios?",
    r"leer (más|también)(\s*:.*)?",
    r"publicidad",
    r"suscríbete( .*)?",
    r"(noticias|artículos) relacionad[oa]s",
    r"utilizamos cookies\b.*",
    # Turkish
    r"paylaş",
    r"(\d+ )?yorum(lar)?",
    r"yorum (yap|yaz)(ın)?",
    r"devamını oku",
    r"reklam",
    r"abone ol",
    r"ilgili haberler",
    r"çerez(ler)?\b.*kullan.*",
    # Italian, Portuguese
    r"condividi",
    r"(\d+ )?commenti",
    r"leggi anche(\s*:.*)?",
    r"pubblicità",
    r"compartilh(e|ar)",
    r"(\d+ )?comentários",
    r"leia (mais|também)(\s*:.*)?",
    r"publicidade",
)
# Lines dropped wherever they are: an ad slot marker is never article text.
_ANYWHERE_PATTERNS: tuple[str, ...] = (
    r"advertisement|anzeige|werbung|publicité|publicidad|reklam|pubblicità|publicidade",
    r"scroll to continue( with content)?",
)
_RESIDUE_MAX_CHARS = 200


def _whole_line(patterns: tuple[str, ...]) -> re.Pattern[str]:
    # Leading/trailing non-word characters cover "Share this:", "» Read more", "(12) ...".
    return re.compile(r"^\W*(?:" + "|".join(f"(?:{p})" for p in patterns) + r")\W*$", re.I)


_RESIDUE = _whole_line(RESIDUE_PATTERNS)
_ANYWHERE = _whole_line(_ANYWHERE_PATTERNS)


def is_residue_line(line: str) -> bool:
    """True if the whole (stripped) line is share-bar, comment, cookie or ad boilerplate."""
    stripped = line.strip()
    return 0 < len(stripped) <= _RESIDUE_MAX_CHARS and bool(_RESIDUE.match(stripped))


def _drop_residue(lines: list[str]) -> list[str]:
    lines = [ln for ln in lines if not (len(ln) <= _RESIDUE_MAX_CHARS and _ANYWHERE.match(ln))]
    start, end = 0, len(lines)
    while start < end and (not lines[start] or is_residue_line(lines[start])):
        start += 1
    while end > start and (not lines[end - 1] or is_residue_line(lines[end - 1])):
        end -= 1
    return lines[start:end]


def clean_text(text: str) -> str:
    """Normalise an article's text and drop scraper residue at its start and end.

    NFC unicode; one kind of line break; every space-like character becomes a plain space,
    runs collapse, lines are stripped; at most one blank line between paragraphs;
    zero-width characters, soft hyphens and control characters go. Curly quotes are kept.
    """
    text = unicodedata.normalize("NFC", text)
    text = _LINE_BREAKS.sub("\n", text)
    text = _SPACES.sub(" ", text)
    text = _INVISIBLE.sub("", text)
    text = "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch) != "Cc")
    text = text.translate(_ODD_QUOTES)
    text = _APOSTROPHE_LOOKALIKE.sub("\u2019", text)
    for old, new in _TEX_QUOTES:
        text = text.replace(old, new)
    lines = [_MULTISPACE.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(_drop_residue(lines))).strip()


def one_line(text: str) -> str:
    """A title or label: cleaned, all whitespace collapsed to single spaces."""
    return " ".join(clean_text(text).split())


# --- Markdown -----------------------------------------------------------------------------

_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_REF_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*\S+.*$")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_ATX = re.compile(r"^\s{0,3}#{1,6}(?:\s+(.*?))?\s*#*\s*$")
_QUOTE = re.compile(r"^\s{0,3}(>\s?)+")
_ITEM = re.compile(r"^\s*(?:([-*+])|(\d{1,9}[.)]))\s+(.*)$")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_INLINE: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"<!--.*?-->", re.S), ""),
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), ""),  # images: alt text is not article text
    (re.compile(r"\[\^[^\]]+\]"), ""),  # footnote references
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\[([^\]]+)\]\[[^\]]*\]"), r"\1"),
    (re.compile(r"<(https?://[^>\s]+)>"), r"\1"),
    (re.compile(r"</?[A-Za-z][^>]*>"), ""),
    (re.compile(r"(`+)(.+?)\1"), r"\2"),
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])"), r"\1"),
    (re.compile(r"(?<!\w)_(?=\S)(.+?)(?<=\S)_(?!\w)"), r"\1"),
    (re.compile(r"~~(.+?)~~"), r"\1"),
    (re.compile(r"\\([\\`*_{}\[\]()#+\-.!>|~])"), r"\1"),
)


def strip_inline_markdown(text: str) -> str:
    for pattern, replacement in _INLINE:
        text = pattern.sub(replacement, text)
    return text


def strip_markdown(markdown: str) -> str:
    """Markdown to plain text: markup goes, paragraphs stay (one per line, blank line
    between), list items keep a plain ``- `` or ``1.`` marker, links keep their text."""
    # (kind, text): consecutive list items, table rows and code lines stay on adjacent
    # lines; everything else is a paragraph of its own.
    blocks: list[tuple[str, str]] = []
    paragraph: list[str] = []
    kind = "paragraph"
    in_fence = False

    def flush() -> None:
        text = strip_inline_markdown(" ".join(paragraph)).strip()
        if text:
            blocks.append((kind, text))
        paragraph.clear()

    for raw in _LINE_BREAKS.sub("\n", markdown).split("\n"):
        if _FENCE.match(raw):
            flush()
            in_fence = not in_fence
            continue
        if in_fence:
            blocks.append(("code", raw.rstrip()))
            continue
        line = _QUOTE.sub("", raw)
        hard_break = line.endswith("  ") or line.endswith("\\")
        line = line.strip().removesuffix("\\").rstrip()
        if not line or _REF_DEFINITION.match(line) or _TABLE_SEPARATOR.match(line):
            flush()
        elif (_SETEXT.match(line) and len(paragraph) == 1) or _RULE.match(line):
            flush()  # a setext underline (the line before was a heading) or a rule
        elif heading := _ATX.match(line):
            flush()
            kind, paragraph[:] = "paragraph", [heading.group(1) or ""]
            flush()
        elif item := _ITEM.match(line):
            flush()
            kind, paragraph[:] = (
                "item",
                [f"{item.group(1) and '-' or item.group(2)} {item.group(3)}"],
            )
        elif line.startswith("|") and line.endswith("|"):
            flush()
            kind, paragraph[:] = "row", [" | ".join(c.strip() for c in line.strip("|").split("|"))]
            flush()
        else:
            if not paragraph:
                kind = "paragraph"
            paragraph.append(line)
        if hard_break:
            flush()
    flush()
    out: list[str] = []
    for index, (block_kind, text) in enumerate(blocks):
        tight = index > 0 and block_kind != "paragraph" and blocks[index - 1][0] == block_kind
        out.append(("\n" if tight else "\n\n") + text if index else text)
    return "".join(out).strip()


# --- token budget -------------------------------------------------------------------------

_WIDE = re.compile(r"[\u1100-\u11ff\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")


def estimate_tokens(text: str) -> int:
    """Rough token count without a tokenizer.

    The endpoint can be any OpenAI-compatible server running any model, so there is no
    tokenizer we could load that is right for it. The usual rule of thumb for English with
    BPE vocabularies is ~4 characters per token; it holds for Latin-script languages. Other
    scripts pack fewer characters per token, so the estimate stays on the safe side:
    non-ASCII characters count 1/2 token and CJK/Hangul/fullwidth characters a whole one.
    """
    return math.ceil(_weight(text))


def _weight(text: str) -> float:
    ascii_chars = sum(1 for ch in text if ord(ch) < 128)
    wide = len(_WIDE.findall(text))
    return ascii_chars / 4 + (len(text) - ascii_chars - wide) / 2 + wide


# A sentence ends at . ! ? … (optionally followed by closing quotes/brackets) before
# whitespace, at a CJK full stop, or at a line break (paragraphs and list items).
_SENTENCE_END = re.compile(
    r"[.!?\u2026]+[\"'\u201d\u2019\u00bb)\]]*(?=\s|$)|[\u3002\uff01\uff1f]+[\u300d\u300f\uff09]*|(?=\n)"
)
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st jr sr gen col lt sgt capt gov sen rep rev hon no nr vs etc e.g i.e"
    " inc ltd co corp jan feb mar apr jun jul aug sep sept oct nov dec z.b bzw ca vgl u.a"
    " usw mme mlle sra dra av".split()
)
_WORD_BEFORE = re.compile(r"([\w.]+)$")


def _is_sentence_end(text: str, match: re.Match[str]) -> bool:
    if not match.group(0) or "." not in match.group(0) or match.group(0).endswith(".."):
        return True
    before = _WORD_BEFORE.search(text, 0, match.start())
    word = before.group(1).lower().rstrip(".") if before else ""
    if word in _ABBREVIATIONS or "." in word or (len(word) == 1 and word.isalpha()):
        return False  # "Mr. Smith", "J. Smith", "U.S. officials"
    if word.isdigit() and len(word) <= 3:
        return False  # German ordinals ("12. März") and list numbers
    following = text[match.end() :].lstrip()
    return not (following[:1].islower())  # "e.g. the", "approx. ten"


def sentence_ends(text: str) -> list[int]:
    """Offsets just after each sentence of ``text`` (the last one is always len(text))."""
    ends: list[int] = []
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        if _is_sentence_end(text, match) and text[ends[-1] if ends else 0 : end].strip():
            ends.append(end)
    if not ends or text[ends[-1] :].strip():
        ends.append(len(text))
    return ends


def trim_to_budget(text: str, max_tokens: int) -> tuple[str, TrimNote | None]:
    """Cut ``text`` to fit ``max_tokens`` (see ``estimate_tokens``) at a sentence end.

    Returns the text unchanged and ``None`` when it fits. Otherwise keeps the longest run of
    whole sentences from the start that fits. Only if the very first sentence alone is
    over budget (no real prose is) does it cut at the last word boundary, with an ellipsis.
    """
    if max_tokens < 1:
        raise ValueError("max_tokens must be at least 1")
    if estimate_tokens(text) <= max_tokens:
        return text, None
    ends = sentence_ends(text)
    kept, total, start = 0, 0.0, 0
    for end in ends:  # the estimate is additive: sum it sentence by sentence
        total += _weight(text[start:end])
        if math.ceil(total) > max_tokens:
            break
        kept, start = kept + 1, end
    if kept:
        result = text[: ends[kept - 1]].rstrip()
        strategy = f"kept the first {kept} of {len(ends)} sentences (token budget {max_tokens})"
    else:
        cut = _chars_within(text, max_tokens - 1)  # one token left for the ellipsis
        parts = text[:cut].rsplit(None, 1)
        result = (parts[0] if len(parts) > 1 else text[:cut]).rstrip() + "\u2026"
        strategy = f"cut at a word boundary: no sentence end within token budget {max_tokens}"
    return result, TrimNote(original_chars=len(text), kept_chars=len(result), strategy=strategy)


def _chars_within(text: str, max_tokens: int) -> int:
    low, high = 0, len(text)
    while low < high:  # binary search: estimate_tokens grows with the prefix length
        middle = (low + high + 1) // 2
        if estimate_tokens(text[:middle]) <= max_tokens:
            low = middle
        else:
            high = middle - 1
    return low


# --- language -----------------------------------------------------------------------------


def detect_language(text: str) -> str | None:
    """ISO 639 code of ``text`` (``en``, ``tr``), or None when the text has too few letters
    or the identifier is not confident (the program's one identifier, digest.langid)."""
    from digest.langid import identifier

    return identifier().detect(text)
