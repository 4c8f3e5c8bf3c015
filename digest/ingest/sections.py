"""Sections a reader can scan: a short list, each story in one of them or in "More news".

Where a story's section comes from, first found wins:

1. the ``section`` configured for a source that carried one of its articles (the most
   common among them; kept as written, even when it is not in the list);
2. its articles' feed categories (or a file's ``section:``), mapped onto the list: the
   configured ``category_map`` first, then ``DEFAULT_CATEGORY_MAP`` (common category words in
   several languages), then a category that is itself a section name;
3. the classification prompt (``classify = true``), when one is given;
4. none: "More news".

Sections come in the order of the list (a configured section not in it: after them), each
with its stories best first. A section with fewer than ``min_stories`` stories gets no
heading of its own: its stories join "More news" at the end.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping

from digest.ingest.events import Event
from digest.sections import DEFAULT_SECTIONS

__all__ = ["DEFAULT_CATEGORY_MAP", "DEFAULT_SECTIONS", "arrange", "map_category", "section_for"]
_DEFAULT_WORDS = {
    "World": "world international global foreign europe asia africa americas middle-east "
    "dünya welt ausland international monde mundo internacional mondo",
    "Politics": "politics political election elections government parliament policy "
    "politika siyaset politik politique política politica",
    "Business": "business economy economics finance financial markets market money companies "
    "industry trade energy ekonomi finans wirtschaft finanzen économie economía "
    "economia",
    "Technology": "technology tech internet digital computing gadgets ai software "
    "teknoloji technik technologie tecnología tecnologia",
    "Science": "science health environment climate space research medicine bilim sağlık "
    "wissenschaft gesundheit umwelt sciences santé ciencia salud scienza",
    "Sport": "sport sports football soccer basketball tennis cricket olympics spor futbol "
    "fußball fussball deportes sportif",
    "Culture": "culture arts art entertainment books music film movies cinema lifestyle "
    "kültür sanat kultur feuilleton cultura",
}
DEFAULT_CATEGORY_MAP: dict[str, str] = {
    word: section for section, words in _DEFAULT_WORDS.items() for word in words.split()
}
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)?")

Classify = Callable[[Event, list[str]], str | None]


def _norm(text: str) -> str:
    return " ".join(text.casefold().replace("&", " and ").split())


def map_category(
    category: str | None, sections: list[str], category_map: Mapping[str, str]
) -> str | None:
    """A feed category as one of ``sections`` (configured map, defaults, the name itself)."""
    if not category:
        return None
    wanted = {_norm(s): s for s in sections}
    key = _norm(category)
    configured = {_norm(k): v for k, v in category_map.items()}
    for table in (configured, DEFAULT_CATEGORY_MAP):
        candidates = [key, *(_norm(w) for w in _WORD.findall(category))]
        for candidate in candidates:
            target = table.get(candidate)
            if target is not None and _norm(target) in wanted:
                return wanted[_norm(target)]
    return wanted.get(key)


def section_for(
    event: Event,
    sections: list[str],
    category_map: Mapping[str, str],
    classify: Classify | None = None,
) -> str | None:
    configured = Counter(m.article.section for m in event.members if m.article.section)
    if configured:
        return configured.most_common(1)[0][0]
    mapped = Counter(
        found
        for m in event.members
        if (found := map_category(m.category, sections, category_map)) is not None
    )
    if mapped:
        return mapped.most_common(1)[0][0]
    if classify is not None:
        answer = classify(event, sections)
        return answer if answer in sections else None
    return None


def arrange(events: list[Event], sections: list[str], min_stories: int) -> list[Event]:
    """Events grouped by section in list order, best first in each; lone ones (fewer than
    ``min_stories`` in their section) lose their section and go to the end."""
    groups: dict[str | None, list[Event]] = {}
    for event in events:
        groups.setdefault(event.section, []).append(event)
    order = {name: i for i, name in enumerate(sections)}
    named = sorted(
        (name for name in groups if name is not None),
        key=lambda name: (order.get(name, len(order)), -groups[name][0].score),
    )
    arranged: list[Event] = []
    rest = list(groups.get(None, []))
    for name in named:
        if len(groups[name]) >= min_stories:
            arranged.extend(groups[name])
        else:
            for event in groups[name]:
                event.section = None
            rest.extend(groups[name])
    return arranged + sorted(rest, key=lambda e: -e.score)
