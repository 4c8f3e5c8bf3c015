"""Article x language work: cache lookup, ask (with re-asks), check, store.

One call per article and language is the unit of caching (adding a language pays only for
it) and of failure (one bad answer withholds one item). An answer is checked twice over:
the gate (form, language, numbers, names, copies) and, when it cites the article's numbered
sentences, the claim checks (digest.evidence). What still fails after the re-asks keeps
its dropped key points out (``evidence.salvage``) or is withheld; the extract floor and
the source-language fallback are the edition's (digest.edition).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pydantic import BaseModel

from digest.answers import EvidencedSummaryAnswer, SummaryAnswer
from digest.budget import Budget
from digest.cache import Cache, cache_key
from digest.checks import Gate, feedback, passed
from digest.errors import BudgetExceeded, Cancelled, DigestError
from digest.evidence import SourceBook, evaluate, has_evidence, salvage
from digest.fanout import run_all
from digest.llm.ask import Answer, AnswerFault, ask, parse_answer
from digest.llm.client import LLMClient
from digest.llm.wire import Completion
from digest.models import (
    Article,
    Brief,
    BriefResult,
    Check,
    LanguageInfo,
    StoryResult,
    Summary,
    Usage,
)
from digest.prompts import PromptSpec

Progress = Callable[[StoryResult], None]
GateFn = Callable[[BaseModel], list[Check]]


@dataclass(frozen=True)
class Task:
    """One article in one language under one prompt: the unit of asking and caching."""

    article: Article
    lang: LanguageInfo
    spec: PromptSpec  # bounded to the article's sentences when it cites them
    key: str
    sentences: str = ""  # the numbered "[1] ..." block, for prompts that cite sentences

    @property
    def custom_id(self) -> str:
        """How the Batch API names this task (one JSONL line): article:lang:prompt@version."""
        return f"{self.article.id}:{self.lang.code}:{self.spec.ref}"

    def messages(self) -> list[dict[str, str]]:
        extra = {"sentences": self.sentences} if self.spec.cites_sentences else {}
        return self.spec.render(
            article=self.article, language=self.lang, fence=self.article.id, **extra
        )


def as_summary(value: BaseModel) -> Summary:
    """A parsed summary answer, whichever schema its prompt asked for, as a Summary."""
    if isinstance(value, SummaryAnswer | EvidencedSummaryAnswer):
        return value.to_summary()
    if isinstance(value, Summary):
        return value
    raise TypeError(f"not a summary answer: {type(value).__name__}")


class Summarizer:
    def __init__(
        self,
        llm: LLMClient,
        cache: Cache,
        gate: Gate,
        *,
        reasks: int,
        budget: Budget,
        retry_withheld: bool = False,
    ) -> None:
        self.llm = llm
        self.cache = cache
        self.gate = gate
        self.reasks = reasks
        self.budget = budget
        self.retry_withheld = retry_withheld
        self.sources = SourceBook()
        self._cancel = threading.Event()

    # --- asking, caching ---------------------------------------------------------------
    def key(self, kind: str, subject: str, lang: LanguageInfo, spec: PromptSpec) -> str:
        return cache_key(
            kind=kind,
            subject=subject,
            prompt=f"{spec.ref}#{spec.fingerprint()}",
            model=self.llm.model,
            endpoint=self.llm.endpoint,
            lang=lang.code,
            schema=spec.output,
        )

    def ask(self, spec: PromptSpec, messages: list[dict[str, str]], gate_fn: GateFn) -> Answer:
        """One structured answer with re-asks. Each call reserves its estimated tokens from
        the budget first and settles what it really used after (so --max-tokens holds under
        concurrency); raises BudgetExceeded before a call the budget cannot pay, Cancelled
        when the run is stopping."""

        def complete(conversation: list[dict[str, str]]) -> Completion:
            if self._cancel.is_set():
                raise Cancelled("cancelled")
            reservation = self.budget.reserve(
                self.llm.prompt_tokens(conversation, spec), spec.max_tokens
            )
            usage = None
            try:
                completion = self.llm.complete(conversation, spec)
                usage = completion.usage
                return completion
            finally:
                self.budget.settle(reservation, usage)

        answer = ask(complete, spec, messages, gate_fn, reasks=self.reasks, feedback_text=feedback)
        answer.usage.cost = self.budget.cost_of(
            answer.usage.prompt_tokens, answer.usage.completion_tokens
        )
        return answer

    def cached(self, key: str) -> StoryResult | None:
        data = self.cache.get(key)
        if data is None:
            return None
        try:
            result = StoryResult.model_validate(data)
        except ValueError:
            return None  # an entry from an incompatible version: ask again
        if self.retry_withheld and result.status == "withheld":
            return None
        return result.model_copy(update={"cached": True})

    def store(self, key: str, result: StoryResult, *, kind: str, prompt: str) -> None:
        self.cache.put(
            key,
            result.model_dump(mode="json", exclude={"cached"}),
            kind=kind,
            article=result.article_id,
            lang=result.lang,
            prompt=prompt,
            model=self.llm.model,
        )

    def stop(self) -> None:
        """A fatal error somewhere: no worker calls again, sleeping retries wake."""
        self._cancel.set()
        self.llm.cancel()

    def guarded(self, work: Callable[[], StoryResult]) -> Callable[[], StoryResult]:
        def run() -> StoryResult:
            try:
                return work()
            except DigestError:
                # Fatal for the run (endpoint down, key refused): stop other workers at once.
                self.stop()
                raise

        return run

    # --- one summary -------------------------------------------------------------------
    def task(self, article: Article, lang: LanguageInfo, spec: PromptSpec) -> Task:
        key = self.key("summary", article.id, lang, spec)
        if not spec.cites_sentences:
            return Task(article, lang, spec, key)
        source = self.sources.of(article)
        return Task(article, lang, spec.for_sentences(len(source)), key, source.numbered())

    def pending(
        self, articles: list[Article], languages: list[LanguageInfo], spec: PromptSpec
    ) -> list[Task]:
        """Tasks the cache cannot answer (or answered with a withheld item, when asked to
        retry those): what a Batch API run should ask for."""
        tasks = [self.task(a, lang, spec) for a in articles for lang in languages]
        return [t for t in tasks if self.cached(t.key) is None]

    def judge(
        self, task: Task, summary: Summary, *, headline: bool = True
    ) -> tuple[Summary, list[Check]]:
        """The gate's checks, then the claim checks when the summary cites sentences; the
        summary comes back with each claim's checks filled in. ``headline=False``: the
        headline is the article's own title, not a claim to check."""
        article, lang = task.article, task.lang
        checks = self.gate.check(
            summary.fields(), source_text=article.text, source_lang=article.source_lang, lang=lang
        )
        if task.spec.cites_sentences or has_evidence(summary):
            source = self.sources.of(article)
            summary, claim_checks = evaluate(summary, source, lang=lang.base, headline=headline)
            checks += claim_checks
        return summary, checks

    def verdict(
        self, task: Task, summary: Summary, checks: list[Check], base: StoryResult
    ) -> StoryResult:
        """Published when every check passed, or when dropping failed key points makes it
        pass; else withheld with the failed checks as the reason."""
        if passed(checks):
            return base.model_copy(
                update={"status": "published", "summary": summary, "checks": checks}
            )
        rescued = salvage(summary)
        if rescued is not None:
            trimmed, dropped = rescued
            trimmed, again = self.judge(task, trimmed)
            if passed(again):
                return base.model_copy(
                    update={
                        "status": "published",
                        "summary": trimmed,
                        "checks": again,
                        "dropped": dropped,
                    }
                )
        failed = "; ".join(f"{c.name}: {c.detail}" for c in checks if c.status == "fail")
        return base.model_copy(
            update={
                "status": "withheld",
                "summary": summary,
                "checks": checks,
                "reason": base.reason or f"failed checks: {failed}",
            }
        )

    def accept(self, task: Task, completion: Completion) -> tuple[str | None, Usage]:
        """An answer that came some other way (the Batch API): parsed, checked and, if it
        passes, stored under the task's key. (None, usage) when stored; else (why not, usage)."""
        usage = completion.usage.model_copy()
        self.budget.charge(usage.prompt_tokens, usage.completion_tokens)
        usage.cost = self.budget.cost_of(usage.prompt_tokens, usage.completion_tokens)
        try:
            value, extra_keys = parse_answer(
                completion.content,
                completion.finish_reason,
                completion.refusal,
                task.spec.schema_model,
            )
        except AnswerFault as fault:
            return fault.reason.split(" (")[0], usage
        summary, checks = self.judge(task, as_summary(value))
        base = StoryResult(
            article_id=task.article.id,
            lang=task.lang.code,
            status="withheld",
            attempts=1,
            extra_keys=extra_keys,
        )
        result = self.verdict(task, summary, checks, base.model_copy(update={"usage": usage}))
        if result.status != "published":
            return "failed checks", usage
        self.store(task.key, result, kind="summary", prompt=task.spec.ref)
        return None, usage

    def summarize_one(self, article: Article, lang: LanguageInfo, spec: PromptSpec) -> StoryResult:
        return self.guarded(lambda: self.summarize_task(self.task(article, lang, spec)))()

    def summarize_task(self, task: Task) -> StoryResult:
        started = time.monotonic()
        cached = self.cached(task.key)
        if cached is not None:
            return self._recheck(task, cached)
        article, lang = task.article, task.lang
        base = StoryResult(article_id=article.id, lang=lang.code, status="withheld")
        try:
            answer = self.ask(
                task.spec,
                task.messages(),
                lambda value: self.judge(task, as_summary(value))[1],
            )
        except BudgetExceeded as exc:
            return base.model_copy(update={"reason": exc.message})
        base = base.model_copy(
            update={
                "attempts": answer.attempts,
                "usage": answer.usage,
                "seconds": round(time.monotonic() - started, 3),
                "extra_keys": answer.extra_keys,
            }
        )
        if answer.value is None:
            result = base.model_copy(update={"reason": answer.reason, "checks": answer.checks})
        else:
            summary, checks = self.judge(task, as_summary(answer.value))
            result = self.verdict(task, summary, checks, base)
        self.store(task.key, result, kind="summary", prompt=task.spec.ref)
        return result

    def _recheck(self, task: Task, result: StoryResult) -> StoryResult:
        """Cached answers are checked again: checks may have improved since they were paid
        for. A withheld answer's own reason (cut off, not JSON) stays when it had no text."""
        if result.summary is None:
            return result
        summary, checks = self.judge(task, result.summary)
        fresh = result.model_copy(update={"reason": None, "dropped": []})
        return self.verdict(task, summary, checks, fresh)

    # --- the "in brief" overview -------------------------------------------------------
    def brief_one(
        self, stories: list[Summary], lang: LanguageInfo, spec: PromptSpec, edition: str
    ) -> BriefResult:
        """The edition's 'in brief' overview, gated against the summaries it was written from."""
        source = "\n".join(f"{s.headline}. {s.summary}" for s in stories)
        key = self.key("brief", edition + "|" + source, lang, spec)

        def gate_fn(value: BaseModel) -> list[Check]:
            assert isinstance(value, Brief)
            return self.gate.check(
                value.fields(), source_text=source, source_lang=lang.base, lang=lang
            )

        cached = self.cache.get(key)
        if cached is not None:
            return BriefResult.model_validate(cached).model_copy(update={"cached": True})
        try:
            answer = self.ask(
                spec, spec.render(stories=stories, language=lang, fence=key[:16]), gate_fn
            )
        except BudgetExceeded as exc:
            return BriefResult(lang=lang.code, status="withheld", reason=exc.message)
        result = BriefResult(
            lang=lang.code,
            status="withheld" if answer.reason else "published",
            brief=answer.value if isinstance(answer.value, Brief) else None,
            checks=answer.checks,
            reason=answer.reason,
            usage=answer.usage,
            extra_keys=answer.extra_keys,
        )
        self.cache.put(
            key,
            result.model_dump(mode="json"),
            kind="brief",
            article=edition,
            lang=lang.code,
            prompt=spec.ref,
            model=self.llm.model,
        )
        return result

    def brief_all(
        self,
        results: list[StoryResult],
        languages: list[LanguageInfo],
        spec: PromptSpec,
        edition: str,
        *,
        concurrency: int,
    ) -> list[BriefResult]:
        """One overview per language that has a published summary; none is written from
        nothing."""
        todo = [(lang, published_summaries(results, lang.code)) for lang in languages]
        jobs = [
            (lambda lang=lang, stories=stories: self.brief_one(stories, lang, spec, edition))
            for lang, stories in todo
            if stories
        ]
        return run_all(jobs, concurrency=concurrency, on_stop=self.stop)

    # --- all tasks ---------------------------------------------------------------------
    def summarize_all(
        self,
        articles: Iterable[Article],
        languages: list[LanguageInfo],
        spec: PromptSpec,
        *,
        concurrency: int,
        progress: Progress | None = None,
    ) -> list[StoryResult]:
        """Results in article x language order. An endpoint failure stops everything early."""

        def job(article: Article, lang: LanguageInfo) -> Callable[[], StoryResult]:
            return self.guarded(lambda: self.summarize_task(self.task(article, lang, spec)))

        jobs = [job(article, lang) for article in articles for lang in languages]
        return run_all(jobs, concurrency=concurrency, on_result=progress, on_stop=self.stop)


def published_summaries(results: list[StoryResult], lang: str) -> list[Summary]:
    """What the overview of a language is written from: its own published summaries (a
    story shown in another language is not one of them)."""
    return [
        r.summary
        for r in results
        if r.lang == lang
        and r.status == "published"
        and r.summary
        and r.origin != "source-language"
    ]
