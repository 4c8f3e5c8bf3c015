"""The day's uncached summaries through the OpenAI Batch API (about half the price, slower).

One batch per run: every article x language the cache cannot answer becomes one JSONL
line whose body is exactly what the direct call would send, with the custom_id
``<article id>:<lang>:<prompt name@version>``. The batch id is saved (atomically) in a
state file *before* polling, so an interrupted run resumes that batch instead of paying
for a new one. Each answer is parsed and gated like a direct answer and, if it passes,
stored in the same cache under the same key; the caller then runs the ordinary direct
pass, which finds those answers in the cache and asks directly for everything else
(failed lines, answers that failed parsing or checks, an expired batch's rest). An
endpoint without the Files/Batches API (HTTP 404) means: direct calls, with one note.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import openai
from pydantic import BaseModel, ValidationError

from digest.checks import passed
from digest.fsutil import write_json_atomic
from digest.llm.ask import AnswerFault, parse_answer
from digest.models import Article, LanguageInfo, StoryResult, Summary, Usage
from digest.prompts import PromptSpec
from digest.summarize import Summarizer

Notice = Callable[[str], None]
BATCH_URL: Final = "/v1/chat/completions"
STATE_FILE = ".batch.json"
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})
MAX_POLL_ERRORS = 5


class BatchState(BaseModel):
    """What an interrupted run needs to resume its batch (the state file)."""

    batch_id: str
    input_file_id: str
    endpoint: str
    model: str
    prompt: str
    custom_ids: list[str]
    created_at: datetime


class BatchOutcome(BaseModel):
    batch_id: str | None = None
    answered: list[str] = []  # custom ids answered by the batch and now in the cache
    redo: list[str] = []  # custom ids sent in the batch that must be asked directly
    unused_usage: Usage = Usage()  # tokens paid for answers that could not be used


@dataclass(frozen=True)
class _Task:
    custom_id: str
    key: str
    article: Article
    lang: LanguageInfo


class _Unavailable(Exception):
    """No (usable) batch this run: everything goes through direct calls."""


def custom_id(article_id: str, lang: str, spec: PromptSpec) -> str:
    return f"{article_id}:{lang}:{spec.ref}"


class BatchRunner:
    def __init__(
        self,
        client: openai.OpenAI,
        summarizer: Summarizer,
        *,
        state_path: Path,
        notice: Notice = lambda _m: None,
        sleep: Callable[[float], None] = time.sleep,
        first_delay: float = 5.0,
        max_delay: float = 60.0,
        max_wait: float = 25 * 3600.0,  # past OpenAI's 24 h window the batch has expired anyway
    ) -> None:
        self.client = client
        self.summarizer = summarizer
        self.state_path = state_path
        self.notice = notice
        self.sleep = sleep
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.max_wait = max_wait

    # --- the whole run ----------------------------------------------------------------
    def run(
        self, articles: list[Article], languages: list[LanguageInfo], spec: PromptSpec
    ) -> BatchOutcome:
        """Puts every usable batch answer into the cache; never raises for batch trouble."""
        tasks = {t.custom_id: t for t in self._pending(articles, languages, spec)}
        state = self._load_state(spec)
        if state is None and not tasks:
            return BatchOutcome()
        if state is not None and not tasks.keys() & set(state.custom_ids):
            self.notice(f"batch {state.batch_id} from an earlier run is no longer needed")
            self._cancel(state.batch_id)
            state = None
            if not tasks:
                return BatchOutcome()
        try:
            if state is None:
                state = self._submit(list(tasks.values()), spec)
            else:
                self.notice(f"resuming batch {state.batch_id} from an earlier run")
            batch = self._wait(state.batch_id)
            return self._collect(batch, state, tasks, spec)
        except _Unavailable as exc:
            self.notice(f"{exc}; using direct calls")
            return BatchOutcome(batch_id=state.batch_id if state else None)

    def _pending(
        self, articles: list[Article], languages: list[LanguageInfo], spec: PromptSpec
    ) -> list[_Task]:
        tasks = []
        summarizer = self.summarizer
        for article in articles:
            for lang in languages:
                key = summarizer.key("summary", article.id, lang, spec)
                cached = summarizer.cache.get(key)
                if cached is None or (
                    summarizer.retry_withheld and cached.get("status") == "withheld"
                ):
                    tasks.append(_Task(custom_id(article.id, lang.code, spec), key, article, lang))
        return tasks

    # --- submit -----------------------------------------------------------------------
    def _submit(self, tasks: list[_Task], spec: PromptSpec) -> BatchState:
        llm = self.summarizer.llm
        lines = []
        for task in tasks:
            messages = spec.render(article=task.article, language=task.lang, fence=task.article.id)
            line = {
                "custom_id": task.custom_id,
                "method": "POST",
                "url": BATCH_URL,
                "body": llm.request_body(messages, spec),
            }
            lines.append(json.dumps(line, ensure_ascii=False))
        data = ("\n".join(lines) + "\n").encode("utf-8")
        try:
            upload = self.client.files.create(
                file=("digest-batch.jsonl", io.BytesIO(data), "application/jsonl"),
                purpose="batch",
            )
            batch = self.client.batches.create(
                input_file_id=upload.id,
                endpoint=BATCH_URL,
                completion_window="24h",
                metadata={"created_by": "digest daily"},
            )
        except openai.NotFoundError:
            raise _Unavailable(
                f"the endpoint {llm.endpoint} has no Batch API (HTTP 404 on /v1/files or "
                "/v1/batches)"
            ) from None
        except openai.APIStatusError as exc:
            raise _Unavailable(f"the batch was refused (HTTP {exc.status_code})") from None
        except openai.APIConnectionError:
            raise _Unavailable(f"cannot reach {llm.endpoint} to submit a batch") from None
        state = BatchState(
            batch_id=batch.id,
            input_file_id=upload.id,
            endpoint=llm.endpoint,
            model=llm.model,
            prompt=spec.ref,
            custom_ids=[t.custom_id for t in tasks],
            created_at=datetime.now(UTC).replace(microsecond=0),
        )
        # Saved before the first poll: from here on a re-run must resume, not pay again.
        write_json_atomic(self.state_path, state.model_dump(mode="json"))
        self.notice(
            f"submitted batch {batch.id} with {len(tasks)} request(s); waiting for it "
            "(an interrupted run resumes this batch)"
        )
        return state

    # --- wait -------------------------------------------------------------------------
    def _wait(self, batch_id: str) -> Any:
        delay, waited, errors, last_status = self.first_delay, 0.0, 0, ""
        while True:
            try:
                batch = self.client.batches.retrieve(batch_id)
                errors = 0
            except openai.NotFoundError:
                self._forget()
                raise _Unavailable(f"batch {batch_id} is unknown to the endpoint") from None
            except (openai.APIStatusError, openai.APIConnectionError) as exc:
                errors += 1
                if errors >= MAX_POLL_ERRORS:
                    # The state file stays: a later run can still collect this batch.
                    raise _Unavailable(f"cannot check batch {batch_id} ({exc})") from None
                batch = None
            if batch is not None:
                if batch.status in TERMINAL:
                    return batch
                if batch.status != last_status:
                    last_status = batch.status
                    self.notice(f"batch {batch_id}: {batch.status}")
            if waited >= self.max_wait:
                self._cancel(batch_id)
                raise _Unavailable(f"batch {batch_id} did not finish in {waited / 3600:.0f} h")
            self.sleep(delay)
            waited += delay
            delay = min(delay * 2, self.max_delay)

    def _cancel(self, batch_id: str) -> None:
        try:
            self.client.batches.cancel(batch_id)
        except openai.OpenAIError:
            pass  # it expires on its own; we only try not to pay for answers we won't use
        self._forget()

    # --- collect ----------------------------------------------------------------------
    def _collect(
        self, batch: Any, state: BatchState, tasks: dict[str, _Task], spec: PromptSpec
    ) -> BatchOutcome:
        records = self._lines(batch.output_file_id) + self._lines(batch.error_file_id)
        answered: list[str] = []
        problems: dict[str, str] = {}
        unused = Usage()
        for record in records:
            task = tasks.get(str(record.get("custom_id")))
            if task is None or task.custom_id in answered:
                continue
            problem, usage = self._accept(task, record, spec)
            if problem is None:
                answered.append(task.custom_id)
            else:
                problems[task.custom_id] = problem
                unused = unused + usage
        sent = [cid for cid in state.custom_ids if cid in tasks]
        for cid in sent:
            if cid not in answered and cid not in problems:
                problems[cid] = f"missing (batch {batch.status})"
        outside = [cid for cid in tasks if cid not in state.custom_ids]
        self._forget()
        if problems:
            counts: dict[str, int] = {}
            for problem in problems.values():
                counts[problem] = counts.get(problem, 0) + 1
            why = "; ".join(f"{n} x {p}" for p, n in sorted(counts.items(), key=lambda i: -i[1]))
            self.notice(
                f"batch {batch.id} ({batch.status}): {len(problems)} of {len(sent)} request(s) "
                f"not usable ({why[:300]}); asking for them directly"
            )
        if outside:
            self.notice(f"{len(outside)} request(s) were not in the resumed batch; asking directly")
        return BatchOutcome(
            batch_id=batch.id, answered=answered, redo=list(problems), unused_usage=unused
        )

    def _lines(self, file_id: str | None) -> list[dict[str, Any]]:
        if not file_id:
            return []
        try:
            text = self.client.files.content(file_id).text
        except openai.OpenAIError as exc:
            self.notice(f"cannot download batch file {file_id} ({type(exc).__name__})")
            return []
        records = []
        for line in text.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                records.append(record)
        return records

    def _accept(
        self, task: _Task, record: dict[str, Any], spec: PromptSpec
    ) -> tuple[str | None, Usage]:
        """(None, usage) if the answer was stored; else (why not, tokens wasted)."""
        error = record.get("error")
        response = record.get("response")
        if error or not isinstance(response, dict) or response.get("status_code") != 200:
            code = error.get("code") if isinstance(error, dict) else None
            status = response.get("status_code") if isinstance(response, dict) else None
            return str(code or (f"HTTP {status}" if status else "failed")), Usage()
        try:
            body = response["body"]
            choice = body["choices"][0]
            message = choice["message"]
            raw_usage = body.get("usage") or {}
            usage = Usage(
                calls=1,
                prompt_tokens=int(raw_usage.get("prompt_tokens") or 0),
                completion_tokens=int(raw_usage.get("completion_tokens") or 0),
            )
        except (KeyError, IndexError, TypeError, ValueError, ValidationError):
            return "not a chat completion", Usage()
        budget = self.summarizer.budget
        budget.charge(usage.prompt_tokens, usage.completion_tokens)
        usage.cost = budget.cost_of(usage.prompt_tokens, usage.completion_tokens)
        try:
            value = parse_answer(
                str(message.get("content") or ""),
                choice.get("finish_reason"),
                message.get("refusal"),
                spec.schema_model,
            )
        except AnswerFault as fault:
            return fault.reason.split(" (")[0], usage
        assert isinstance(value, Summary)
        article, lang = task.article, task.lang
        checks = self.summarizer.gate.check(
            value.fields(), source_text=article.text, source_lang=article.source_lang, lang=lang
        )
        if not passed(checks):
            return "failed checks", usage
        result = StoryResult(
            article_id=article.id,
            lang=lang.code,
            status="published",
            summary=value,
            checks=checks,
            attempts=1,
            usage=usage,
        )
        llm = self.summarizer.llm
        self.summarizer.cache.put(
            task.key,
            result.model_dump(mode="json"),
            kind="summary",
            article=article.id,
            lang=lang.code,
            prompt=spec.ref,
            model=llm.model,
        )
        return None, usage

    # --- state file -------------------------------------------------------------------
    def _load_state(self, spec: PromptSpec) -> BatchState | None:
        if not self.state_path.exists():
            return None
        try:
            state = BatchState.model_validate_json(self.state_path.read_bytes())
        except (OSError, ValidationError):
            self.notice(f"ignoring unreadable batch state {self.state_path}")
            self._forget()
            return None
        llm = self.summarizer.llm
        if (state.endpoint, state.model, state.prompt) != (llm.endpoint, llm.model, spec.ref):
            self.notice(
                f"ignoring batch {state.batch_id} from an earlier run: it was made for "
                f"{state.model} at {state.endpoint} with {state.prompt}"
            )
            self._forget()
            return None
        return state

    def _forget(self) -> None:
        self.state_path.unlink(missing_ok=True)
