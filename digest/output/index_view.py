"""The operator's page (index.html in the edition folder): provenance, usage, timings,
warnings and every check result of every item, withheld ones first to the eye."""

from __future__ import annotations

from dataclasses import dataclass

from babel.dates import format_date
from babel.numbers import format_decimal

from digest.models import Check, Digest, safe_url
from digest.output.text import display_line
from digest.output.views import EditionView


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


def build_index(digest: Digest, editions: list[EditionView], warnings: list[str]) -> IndexView:
    """The operator's preview page: provenance, usage and every check result."""
    rows: list[ResultRow] = []
    results = digest.results_by_item()
    for article in digest.articles:
        for lang in digest.languages:
            result = results.get((article.id, lang.code))
            rows.append(
                ResultRow(
                    item=display_line(article.title),
                    url=safe_url(article.url),
                    section=display_line(article.section) or None,
                    lang=lang.code,
                    status=result.status if result else "missing",
                    checks=[_clean_check(c) for c in result.checks] if result else [],
                    reason=display_line(result.reason) if result else "no result for this language",
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
                reason=display_line(brief.reason),
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
        title=display_line(digest.title or (editions[0].title if editions else "")),
        date=format_date(digest.edition_date, format="long", locale="en"),
        generated_at=digest.generated_at.isoformat(timespec="seconds"),
        model=display_line(digest.model),
        prompt=display_line(digest.prompt),
        endpoint=display_line(digest.endpoint),
        structured_mode=display_line(digest.structured_mode),
        usage=usage_view,
        timings={k: f"{v:.2f} s" for k, v in digest.timings.items()},
        warnings=[display_line(w) for w in [*digest.warnings, *warnings]],
        editions=editions,
        rows=rows,
    )


def _clean_check(check: Check) -> Check:
    return Check(
        name=display_line(check.name), status=check.status, detail=display_line(check.detail)
    )
