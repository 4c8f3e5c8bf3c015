"""How an edition's summaries are made, language by language, and the floors under them.

``pivot`` (the default, bench/strategy.py): summarise each article once, in its own
language, citing its numbered sentences, claim-checked against them; then translate that
verified summary (not the article) into every other language and check the translation
against it. ``direct``: summarise each article in every language straight from the
article (claims written in another language get the checks that work across languages).

Floors, so no story is ever empty: when the summary in the article's own language fails,
its extract (the article's own central sentences, digest.extract) takes its place; when a
language's summary or translation fails, the article-language summary is shown in its
place, labelled as such. Both can be switched off (``extract_fallback``,
``source_language_fallback``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from digest.errors import UsageError
from digest.extract import extract_summary
from digest.fanout import run_all
from digest.languages import parse_language
from digest.models import Article, LanguageInfo, StoryArticle, StoryResult
from digest.prompts import PromptSpec
from digest.summarize import Progress, Summarizer
from digest.translate import Translator, enforce_consistent_names
from digest.verify import Verifier


@dataclass(frozen=True)
class Strategy:
    name: str  # "pivot" or "direct"
    prompt: PromptSpec
    translate: PromptSpec | None
    verify: PromptSpec | None
    extract_fallback: bool
    source_language_fallback: bool
    story_prompt: PromptSpec | None = None  # a story of several sources (digest.story_sources)

    def prompt_for(self, article: Article) -> PromptSpec:
        if self.story_prompt is not None and isinstance(article, StoryArticle):
            return self.story_prompt
        return self.prompt


def own_language(article: Article) -> LanguageInfo | None:
    """The language an article is written in, if identification was confident."""
    if not article.source_lang:
        return None
    try:
        return parse_language(article.source_lang)
    except UsageError:
        return None


def summarise(
    summarizer: Summarizer,
    strategy: Strategy,
    articles: list[Article],
    languages: list[LanguageInfo],
    *,
    concurrency: int,
    progress: Progress | None = None,
) -> tuple[list[StoryResult], list[StoryResult]]:
    """One result per article x language, in that order; and the pivots the edition did not
    ask for in their own language (paid for, and what the translations rest on)."""
    verifier = Verifier(summarizer, strategy.verify) if strategy.verify else None

    def summary(article: Article, lang: LanguageInfo) -> Callable[[], StoryResult]:
        def work() -> StoryResult:
            task = summarizer.task(article, lang, strategy.prompt_for(article))
            result = summarizer.summarize_task(task)
            if verifier is not None:
                result = verifier.verify(task, result)
            return _with_extract(summarizer, strategy, article, lang, result)

        return summarizer.guarded(work)

    pivots: dict[str, StoryResult] = {}
    if strategy.name == "pivot" and strategy.translate is not None:
        own = {a.id: own_language(a) for a in articles}
        pivoting = [(a, lang) for a in articles if (lang := own[a.id]) is not None]
        firsts = run_all(
            [summary(a, lang) for a, lang in pivoting],
            concurrency=concurrency,
            on_stop=summarizer.stop,
        )
        pivots = {a.id: r for (a, _), r in zip(pivoting, firsts, strict=True)}
        translator = Translator(summarizer, strategy.translate)
        jobs = [
            _pivot_job(summarizer, translator, summary, a, own[a.id], pivots.get(a.id), lang)
            for a in articles
            for lang in languages
        ]
        results = run_all(
            jobs, concurrency=concurrency, on_result=progress, on_stop=summarizer.stop
        )
        results = enforce_consistent_names(results)
    else:
        jobs = [summary(a, lang) for a in articles for lang in languages]
        results = run_all(
            jobs, concurrency=concurrency, on_result=progress, on_stop=summarizer.stop
        )
    if strategy.source_language_fallback:
        results = _source_language_fallback(results, articles, pivots)
    shown = {(r.article_id, r.lang.split("-")[0]) for r in results if r.origin != "source-language"}
    unshown = [p for p in pivots.values() if (p.article_id, p.lang.split("-")[0]) not in shown]
    return results, unshown


def _pivot_job(
    summarizer: Summarizer,
    translator: Translator,
    summary: Callable[[Article, LanguageInfo], Callable[[], StoryResult]],
    article: Article,
    source: LanguageInfo | None,
    pivot: StoryResult | None,
    lang: LanguageInfo,
) -> Callable[[], StoryResult]:
    if source is None or pivot is None:
        return summary(article, lang)  # language unknown: straight from the article
    if source.base == lang.base:
        return lambda: pivot.model_copy(update={"lang": lang.code})
    if pivot.status != "published" or pivot.summary is None:
        reason = f"no verified {source.english_name} summary to translate ({pivot.reason})"
        return lambda: StoryResult(
            article_id=article.id, lang=lang.code, status="withheld", reason=reason
        )
    verified = pivot.summary
    return summarizer.guarded(
        lambda: translator.translate(translator.task(article, verified, source, lang))
    )


def _with_extract(
    summarizer: Summarizer,
    strategy: Strategy,
    article: Article,
    lang: LanguageInfo,
    result: StoryResult,
) -> StoryResult:
    """A withheld summary in the article's own language gives way to its extract."""
    own = own_language(article)
    if result.status == "published" or not strategy.extract_fallback:
        return result
    if own is None or own.base != lang.base:
        return result
    source = summarizer.sources.of(article)
    sentences = source.sentences
    if isinstance(article, StoryArticle):  # several sources: only those in this language
        from digest.story_sources import StorySources

        if isinstance(source, StorySources):
            sentences = source.in_language(lang.base)
    extract = extract_summary(article.title, sentences, source.lang)
    if extract is None:
        return result
    task = summarizer.task(article, lang, strategy.prompt_for(article))
    summary, checks = summarizer.judge(task, extract, headline=False)
    if any(c.status == "fail" for c in checks):
        return result
    return result.model_copy(
        update={
            "status": "published",
            "origin": "extract",
            "summary": summary,
            "checks": checks,
            "replaced": [c for c in result.checks if c.status == "fail"],
            "note": f"the model's summary failed ({result.reason}); showing an extract",
            "reason": None,
        }
    )


def _source_language_fallback(
    results: list[StoryResult], articles: list[Article], pivots: dict[str, StoryResult]
) -> list[StoryResult]:
    """A withheld item shows the article-language summary instead, labelled, when one was
    published (requested in its own right, or the pivot)."""
    own: dict[str, StoryResult] = {}
    for article in articles:
        language = own_language(article)
        candidates = [pivots[article.id]] if article.id in pivots else []
        candidates += [
            r
            for r in results
            if r.article_id == article.id and language and r.lang.split("-")[0] == language.base
        ]
        for candidate in candidates:
            if candidate.status == "published" and candidate.summary is not None:
                shown_lang = language.code if language else None
                own[article.id] = candidate.model_copy(update={"shown_lang": shown_lang})
                break
    fallen: list[StoryResult] = []
    for result in results:
        shown = own.get(result.article_id)
        if result.status == "published" or shown is None or shown.lang == result.lang:
            fallen.append(result)
            continue
        fallen.append(
            result.model_copy(
                update={
                    "status": "published",
                    "origin": "source-language",
                    "shown_lang": shown.shown_lang or shown.lang,
                    "summary": shown.summary,
                    "note": f"not verified in this language ({result.reason}); "
                    f"showing the {shown.shown_lang or shown.lang} summary",
                    "reason": None,
                }
            )
        )
    return fallen
