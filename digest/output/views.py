"""What the reader templates see for one language: stories with their claims (and, with
``evidence``, numbered notes quoting the source sentences each claim rests on), labels for
text that is not the model's own summary in this language, sections, corrections.

Every string here has been through ``display_line``; templates add only escaping.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal

from digest.errors import UsageError
from digest.ingest.sentences import split_sentences
from digest.languages import parse_language
from digest.manifest import FORMATS, Manifest
from digest.models import (
    Article,
    Digest,
    LanguageInfo,
    StoryArticle,
    StoryResult,
    Summary,
    safe_url,
)
from digest.output.story_view import (
    SourceLink,
    UpdateView,
    section_name,
    story_extras,
    story_sentences,
)
from digest.output.strings import fill
from digest.output.text import display_line

_PREHEADER_HEADLINES = 3
_PREHEADER_CHARS = 140
_QUOTE_CHARS = 400  # a note quotes at most this much of its sentences
_OPENING_QUOTES = ("“", '"', "«", "„", "‘", "「", "'")


@dataclass(frozen=True)
class ClaimView:
    text: str
    notes: tuple[int, ...] = ()  # numbers of the evidence notes (empty without --evidence)


@dataclass(frozen=True)
class NoteView:
    """One evidence note: the article sentences a claim cites, in quotation marks."""

    number: int
    quote: str
    sentences: str  # "2, 4": which sentences of the article
    source_title: str
    url: str | None


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
    sentences: list[ClaimView] = field(default_factory=list)
    points: list[ClaimView] = field(default_factory=list)
    label: str = ""  # the text is an extract, or the summary in the article's language
    text_lang: str | None = None  # set when the text is in another language than the edition
    text_dir: str | None = None
    # A daily story (digest.output.story_view): its outlets when two or more, where they
    # disagree, and the earlier story it updates.
    sources: list[SourceLink] = field(default_factory=list)
    sources_label: str = ""
    disagreements: list[str] = field(default_factory=list)
    update: UpdateView | None = None


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
    notes: list[NoteView] = field(default_factory=list)  # evidence, when asked for


class _Notes:
    """Numbers evidence notes across one language's edition (Markdown footnotes, HTML
    anchors and text endnotes need edition-wide numbers)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.notes: list[NoteView] = []
        self._sentences: dict[str, list[str]] = {}

    def claims(self, summary: Summary, article: Article) -> tuple[list[ClaimView], ...]:
        views = ([], [])  # type: tuple[list[ClaimView], list[ClaimView]]
        for group, claims in zip(views, (summary.sentences, summary.points), strict=True):
            for claim in claims:
                group.append(
                    ClaimView(display_line(claim.text), self._note(claim.evidence, article))
                )
        return views

    def _note(self, evidence: list[int], article: Article) -> tuple[int, ...]:
        if not self.enabled or not evidence:
            return ()
        sentences = self._sentences.get(article.id)
        if sentences is None:
            # The same split the summarizer numbered the article with (deterministic); a
            # story of several sources: their sentences as its prompt numbered them.
            sentences = story_sentences(article) or split_sentences(
                article.text, article.source_lang
            )
            self._sentences[article.id] = sentences
        cited = [i for i in evidence if 1 <= i <= len(sentences)]
        if not cited:
            return ()
        source_title, url = display_line(article.title), safe_url(article.url)
        if isinstance(article, StoryArticle):
            part = next(p for p in article.parts if p.first + len(p.sentences) > cited[0])
            source_title, url = display_line(f"{part.outlet}: {part.title}"), safe_url(part.url)
        quote = " … ".join(display_line(sentences[i - 1]) for i in cited)
        if len(quote) > _QUOTE_CHARS:
            quote = quote[: _QUOTE_CHARS - 1].rstrip() + "…"
        if not quote.startswith(_OPENING_QUOTES):  # a quoted remark keeps its own marks
            quote = f"“{quote}”"
        number = len(self.notes) + 1
        self.notes.append(
            NoteView(
                number=number,
                quote=quote,
                sentences=", ".join(map(str, cited)),
                source_title=source_title,
                url=url,
            )
        )
        return (number,)


def build_edition(
    digest: Digest, lang: LanguageInfo, strings: dict[str, str], *, evidence: bool = False
) -> EditionView:
    """The per-language view model: stories in article order, grouped by first-seen section."""
    sections: dict[str | None, list[StoryView]] = {}
    results = digest.results_by_item()
    notes = _Notes(evidence)
    infos = {info.id: info for info in digest.stories}
    for article in digest.articles:
        result = results.get((article.id, lang.code))
        story = _story(article, result, lang, strings, notes)
        extras = story_extras(infos.get(article.id), strings, lang, digest.site_url)
        if extras:
            story = replace(story, **extras)
        sections.setdefault(display_line(article.section) or None, []).append(story)
    stories = [s for group in sections.values() for s in group]
    brief = next(
        (
            display_line(b.brief.overview)
            for b in digest.briefs
            if b.lang == lang.code and b.status == "published" and b.brief
        ),
        None,
    )
    title = display_line(title_for(digest, lang, strings))
    own = [s.headline for s in stories if s.published and not s.text_lang]
    preheader = " · ".join(own[:_PREHEADER_HEADLINES]) or brief or title
    if len(preheader) > _PREHEADER_CHARS:
        preheader = preheader[: _PREHEADER_CHARS - 1].rstrip() + "…"
    date = format_date(digest.edition_date, format="long", locale=lang.locale)
    usage = digest.usage
    tokens = format_decimal(usage.prompt_tokens + usage.completion_tokens, locale=lang.locale)
    generated_by = fill(
        strings["generated_by"],
        model=display_line(digest.model),
        prompt=display_line(digest.prompt),
        endpoint=display_line(digest.endpoint),
    )
    tokens_line = fill(strings["tokens"], count=tokens)
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
        sections=_section_views(sections, strings, daily=bool(digest.stories)),
        strings=strings,
        generated_by=generated_by,
        tokens=tokens_line,
        colophon=f"{generated_by} · {tokens_line}" if digest.colophon else None,
        published=sum(s.published for s in stories),
        withheld=sum(not s.published for s in stories),
        files={kind: Manifest.file_name(lang.code, kind) for kind in FORMATS},
        corrections=_corrections(digest, lang, strings),
        notes=notes.notes,
    )


def _section_views(
    sections: dict[str | None, list[StoryView]], strings: dict[str, str], *, daily: bool
) -> list[SectionView]:
    """A daily edition's sections in the reader's language, and its stories without a
    section after named ones under "More news" (first, they have no heading). Other
    editions (`digest run`) show sections as their files name them."""
    if not daily:
        return [SectionView(name, group) for name, group in sections.items()]
    views = []
    for n, (name, group) in enumerate(sections.items()):
        shown = section_name(name, strings)
        if name is None and n > 0:
            shown = strings["more_news"]
        views.append(SectionView(shown, group))
    return views


def _story(
    article: Article,
    result: StoryResult | None,
    lang: LanguageInfo,
    strings: dict[str, str],
    notes: _Notes,
) -> StoryView:
    summary = result.summary if result and result.status == "published" else None
    title = display_line(article.title)
    label, text_lang, text_dir = "", None, None
    if result is not None and summary is not None:
        label, text_lang, text_dir = _label(result, lang, strings)
    sentences, points = notes.claims(summary, article) if summary else ([], [])
    return StoryView(
        id=article.id,
        published=summary is not None,
        headline=display_line(summary.headline) if summary else title,
        summary=display_line(summary.summary) if summary else "",
        key_points=[display_line(p) for p in summary.key_points] if summary else [],
        source_title=title,
        url=safe_url(article.url),
        note=story_note(result, strings, lang.locale),
        sentences=sentences,
        points=points,
        label=label,
        text_lang=text_lang,
        text_dir=text_dir,
    )


def _label(
    result: StoryResult, lang: LanguageInfo, strings: dict[str, str]
) -> tuple[str, str | None, str | None]:
    """(label, language of the text, its direction) when the text is not this language's
    own summary: an extract of the article, or the summary in the article's language."""
    if result.origin == "extract":
        return strings["extract_note"], None, None
    if result.origin != "source-language" or not result.shown_lang:
        return "", None, None
    try:
        shown = parse_language(result.shown_lang)
    except UsageError:
        return fill(strings["source_language_note"], source_language=result.shown_lang), None, None
    label = fill(strings["source_language_note"], source_language=name_in(shown, lang))
    return label, shown.code, "rtl" if shown.rtl else "ltr"


def name_in(language: LanguageInfo, reader: LanguageInfo) -> str:
    """A language's name as the reader's language writes it (CLDR): "İngilizce" for English
    in a Turkish edition, "Englisch" in a German one."""
    try:
        name = Locale.parse(reader.locale).languages.get(language.base)
    except (ValueError, TypeError, LookupError):
        name = None
    return str(name) if name else language.english_name


def _corrections(
    digest: Digest, lang: LanguageInfo, strings: dict[str, str]
) -> list[CorrectionView]:
    return [
        CorrectionView(
            headline=display_line(c.headline),
            line=fill(
                strings["correction_from"],
                date=format_date(c.edition_date, format="long", locale=lang.locale),
            )
            + " · "
            + fill(
                strings["corrected_on"],
                date=format_date(c.corrected_at.date(), format="long", locale=lang.locale),
                note=display_line(c.note),
            ),
            source_title=display_line(c.source_title),
            url=safe_url(c.url),
        )
        for c in digest.corrections
        if c.lang == lang.code
    ]


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
        return fill(strings["corrected_on"], date=when, note=display_line(mark.note))
    if mark.action == "published" or any(c.status == "fail" for c in result.checks):
        return strings["editor_published_note"]
    return strings["edited_note"]


def title_for(digest: Digest, lang: LanguageInfo, strings: dict[str, str]) -> str:
    """A per-language title from config, else the configured title, else the translated
    default ("News digest", "Haber özeti" ...)."""
    configured = digest.titles.get(lang.code) or digest.titles.get(lang.base) or digest.title
    return configured or strings["title"]
