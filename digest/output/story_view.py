"""What a story shows beyond its summary in a daily edition: its sources, where they
disagree, the earlier story it updates, and its section's name in the reader's language.

Built from ``StoryInfo`` (``Digest.stories``; for an edition re-rendered from its folder,
``stories.json``) for ``views.build_edition``; every text is cleaned here and escaped by the
templates like the rest. Interface strings come from ``templates/strings.yaml``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal
from pydantic import ValidationError

from digest.models import (
    Article,
    LanguageInfo,
    SourceDisagreement,
    StoryArticle,
    StoryInfo,
    StoryUpdate,
    safe_url,
)
from digest.output.text import display_line

STORIES_FILE = "stories.json"


@dataclass(frozen=True)
class SourceLink:
    name: str
    url: str | None


@dataclass(frozen=True)
class UpdateView:
    label: str  # "Update"
    line: str  # "Earlier: <headline> (14 September 2025)"
    url: str | None  # the earlier story in the archive, when site_url is set


def _clean(value: str | None) -> str:
    return display_line(value)


def story_sentences(article: Article) -> list[str] | None:
    """A story of several sources: its sentences as the story prompt numbered them."""
    if isinstance(article, StoryArticle):
        return [s for part in article.parts for s in part.sentences]
    return None


def load_story_infos(out_dir: Path) -> list[StoryInfo]:
    """The stories of an edition folder's stories.json (none when it has none)."""
    try:
        data = json.loads((out_dir / STORIES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    stories = data.get("stories") if isinstance(data, dict) else None
    infos = []
    for raw in stories if isinstance(stories, list) else []:
        try:
            infos.append(StoryInfo.model_validate(raw))
        except ValidationError:
            continue
    return infos


def section_name(name: str | None, strings: dict[str, str]) -> str | None:
    """A section of the default list in the reader's language; any other as configured."""
    if not name:
        return None
    key = "section_" + "_".join(name.casefold().split())
    return strings.get(key, name)


def story_extras(
    info: StoryInfo | None, strings: dict[str, str], lang: LanguageInfo, site_url: str | None
) -> dict[str, Any]:
    """The StoryView fields of one story: ``sources`` (two outlets or more), ``sources_label``,
    ``disagreements`` (one line each) and ``update``."""
    if info is None:
        return {}
    extras: dict[str, Any] = {}
    if len(info.outlets) > 1:
        links: dict[str, str | None] = {}
        for source in info.sources:
            if links.get(source.outlet) is None:
                links[source.outlet] = safe_url(source.url)
        names = [*info.outlets, *(o for o in links if o not in info.outlets)]
        extras["sources"] = [SourceLink(_clean(name), links.get(name)) for name in names]
        count = format_decimal(len(names), locale=lang.locale)
        extras["sources_label"] = _clean(strings["sources_count"].replace("{count}", count))
    extras["disagreements"] = [
        disagreement_line(d, strings, lang.locale) for d in info.disagreements
    ]
    if info.update is not None:
        extras["update"] = update_view(info.update, strings, lang, site_url)
    return extras


def disagreement_line(found: SourceDisagreement, strings: dict[str, str], locale: str) -> str:
    """'Sources differ on the number injured: 12 (Serran Wire), 14 (City News, Kurier)'."""
    what = strings.get(f"differ_{found.what}", strings["differ_other"])
    values = ", ".join(
        f"{_value(v.value, found.kind, locale)} ({', '.join(v.outlets)})" for v in found.values
    )
    return _clean(strings["sources_differ"].replace("{what}", what).replace("{values}", values))


def _value(value: str, kind: str, locale: str) -> str:
    if kind != "figure":
        return value
    try:
        return format_decimal(float(value), locale=locale)
    except ValueError:
        return value


def update_view(
    update: StoryUpdate, strings: dict[str, str], lang: LanguageInfo, site_url: str | None
) -> UpdateView:
    headline = update.headlines.get(lang.code) or update.headlines.get(lang.base) or update.title
    day = format_date(update.edition_date, format="long", locale=lang.locale)
    line = strings["earlier_story"].replace("{headline}", _clean(headline)).replace("{date}", day)
    url = None
    if site_url:
        from digest.output.feeds import archive_page  # feeds imports the renderer

        page = archive_page(update.edition_date.isoformat(), lang.code)
        url = safe_url(f"{site_url}{page}#story-{update.story_id}")
    return UpdateView(label=_clean(strings["update"]), line=_clean(line), url=url)


@dataclass(frozen=True)
class StoryRow:
    """One story on the preview's front page (English, for the operator)."""

    title: str
    section: str
    prompt: str
    sources: list[SourceLink]
    disagreements: list[str]
    update: str  # "2025-09-15: <earlier title>"


def story_rows(
    stories: list[StoryInfo], titles: dict[str, str], sections: dict[str, str | None]
) -> list[StoryRow]:
    """The preview's "Stories" table: every story's sources, disagreements and update."""
    from digest.output.strings import ENGLISH, load_strings, strings_for

    english = strings_for(load_strings(), LanguageInfo.model_validate(ENGLISH))
    rows = []
    for info in stories:
        links: dict[str, str | None] = {}
        for source in info.sources:
            if links.get(source.outlet) is None:
                links[source.outlet] = safe_url(source.url)
        update = info.update
        rows.append(
            StoryRow(
                title=_clean(titles.get(info.id, info.id)),
                section=_clean(sections.get(info.id)) or "(more news)",
                prompt=info.prompt or "",
                sources=[SourceLink(_clean(name), url) for name, url in links.items()],
                disagreements=[disagreement_line(d, english, "en") for d in info.disagreements],
                update=_clean(f"{update.edition_date.isoformat()}: {update.title}")
                if update
                else "",
            )
        )
    return rows
