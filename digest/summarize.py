"""Article x language work, concurrently: cache lookup, ask (with re-asks), gate, store.

Each task is independent, so one call per article-language is the unit of caching
(adding a language pays only for it) and of failure (one bad answer withholds one item).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from pydantic import BaseModel

from digest.budget import Budget
from digest.cache import Cache, cache_key
from digest.checks import Gate, feedback, passed
from digest.errors import BudgetExceeded, Cancelled, DigestError
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


@dataclass(frozen=True)
class Task:
    """One article in one language under one prompt: the unit of asking and caching."""

    article: Article
    lang: LanguageInfo
    spec: PromptSpec
    key: str

    @property
    def custom_id(self) -> str:
        """How the Batch API names this task (one JSONL line): article:lang:prompt@version."""
        return f"{self.article.id}:{self.lang.code}:{self.spec.ref}"

    def messages(self) -> list[dict[str, str]]:
        return self.spec.render(article=self.article, language=self.lang, fence=self.article.id)


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
        self._cancel = threading.Event()

    # --- one task -------------------------------------------------------------------
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

    def _ask(
        self,
        spec: PromptSpec,
        messages: list[dict[str, str]],
        gate_fn: Callable[[BaseModel], list[Check]],
    ) -> Answer:
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

    def task(self, article: Article, lang: LanguageInfo, spec: PromptSpec) -> Task:
        return Task(article, lang, spec, self.key("summary", article.id, lang, spec))

    def pending(
        self, articles: list[Article], languages: list[LanguageInfo], spec: PromptSpec
    ) -> list[Task]:
        """Tasks the cache cannot answer (or answered with a withheld item, when asked to
        retry those): what a Batch API run should ask for."""
        tasks = [self.task(a, lang, spec) for a in articles for lang in languages]
        return [t for t in tasks if self._cached(t) is None]

    def _cached(self, task: Task) -> StoryResult | None:
        data = self.cache.get(task.key)
        if data is None:
            return None
        result = StoryResult.model_validate(data)
        if self.retry_withheld and result.status == "withheld":
            return None
        return result

    def _gate_fn(self, task: Task) -> Callable[[BaseModel], list[Check]]:
        article, lang = task.article, task.lang

        def gate_fn(value: BaseModel) -> list[Check]:
            assert isinstance(value, Summary)
            return self.gate.check(
                value.fields(), source_text=article.text, source_lang=article.source_lang, lang=lang
            )

        return gate_fn

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
        checks = self._gate_fn(task)(value)
        if not passed(checks):
            return "failed checks", usage
        assert isinstance(value, Summary)
        result = StoryResult(
            article_id=task.article.id,
            lang=task.lang.code,
            status="published",
            summary=value,
            checks=checks,
            attempts=1,
            usage=usage,
            extra_keys=extra_keys,
        )
        self._store(task, result)
        return None, usage

    def _store(self, task: Task, result: StoryResult) -> None:
        self.cache.put(
            task.key,
            result.model_dump(mode="json"),
            kind="summary",
            article=task.article.id,
            lang=task.lang.code,
            prompt=task.spec.ref,
            model=self.llm.model,
        )

    def summarize_one(self, article: Article, lang: LanguageInfo, spec: PromptSpec) -> StoryResult:
        try:
            return self._summarize_one(self.task(article, lang, spec))
        except DigestError:
            # Fatal for the run (endpoint down, key refused): stop other workers at once.
            self._cancel.set()
            self.llm.cancel()
            raise

    def _summarize_one(self, task: Task) -> StoryResult:
        started = time.monotonic()
        gate_fn = self._gate_fn(task)
        cached = self._cached(task)
        if cached is not None:
            return self._regate(cached, gate_fn)
        article, lang = task.article, task.lang
        try:
            answer = self._ask(task.spec, task.messages(), gate_fn)
        except BudgetExceeded as exc:
            return StoryResult(
                article_id=article.id, lang=lang.code, status="withheld", reason=exc.message
            )
        result = StoryResult(
            article_id=article.id,
            lang=lang.code,
            status="withheld" if answer.reason else "published",
            summary=answer.value if isinstance(answer.value, Summary) else None,
            checks=answer.checks,
            reason=answer.reason,
            attempts=answer.attempts,
            usage=answer.usage,
            seconds=round(time.monotonic() - started, 3),
            extra_keys=answer.extra_keys,
        )
        self._store(task, result)
        return result

    def _regate(
        self, result: StoryResult, gate_fn: Callable[[BaseModel], list[Check]]
    ) -> StoryResult:
        """Cached answers are checked again: gates may have improved since they were paid for."""
        result = result.model_copy(update={"cached": True})
        if result.summary is None:
            return result
        checks = gate_fn(result.summary)
        if passed(checks):
            return result.model_copy(
                update={"checks": checks, "status": "published", "reason": None}
            )
        failed = "; ".join(f"{c.name}: {c.detail}" for c in checks if c.status == "fail")
        return result.model_copy(
            update={"checks": checks, "status": "withheld", "reason": f"failed checks: {failed}"}
        )

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
            answer = self._ask(
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
        todo = [(lang, stories) for lang, stories in todo if stories]
        if not todo:
            return []
        with ThreadPoolExecutor(max_workers=min(concurrency, len(todo))) as pool:
            futures = [
                pool.submit(self.brief_one, stories, lang, spec, edition) for lang, stories in todo
            ]
            return [future.result() for future in futures]

    # --- all tasks ------------------------------------------------------------------
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
        tasks = [(article, lang) for article in articles for lang in languages]
        results: dict[int, StoryResult] = {}
        pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="digest-llm")
        futures: dict[Future[StoryResult], int] = {}
        try:
            for index, (article, lang) in enumerate(tasks):
                futures[pool.submit(self.summarize_one, article, lang, spec)] = index
            pending = set(futures)
            errors: list[BaseException] = []
            while pending and not any(not isinstance(e, Cancelled) for e in errors):
                done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for future in done:
                    error = future.exception()
                    if error is not None:
                        errors.append(error)
                        continue
                    result = future.result()
                    results[futures[future]] = result
                    if progress is not None:
                        progress(result)
            if errors:
                # Report the failure that stopped the run, not a worker it cancelled.
                raise next((e for e in errors if not isinstance(e, Cancelled)), errors[0])
        except BaseException:
            # Stop queued work and wake sleeping retries; in-flight calls end with the endpoint.
            self._cancel.set()
            self.llm.cancel()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        return [results[i] for i in range(len(tasks))]


def published_summaries(results: list[StoryResult], lang: str) -> list[Summary]:
    return [r.summary for r in results if r.lang == lang and r.status == "published" and r.summary]
