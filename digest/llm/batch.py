"""The day's uncached summaries through the OpenAI Batch API (about half the price, slower).

One batch per run: every task the cache cannot answer (``Summarizer.pending``) becomes one
JSONL line whose body is exactly what the direct call would send, named by the task's
``custom_id``. The batch id is saved (atomically) in a state file *before* polling, so an
interrupted run resumes that batch instead of paying for a new one. Each answer goes back
through ``Summarizer.accept`` (parsed, checked and cached like a direct answer); the caller
then runs the ordinary direct pass, which finds those answers in the cache and asks
directly for everything else (failed lines, answers that failed parsing or checks, an
expired batch's rest). An endpoint without the Files/Batches API means: direct calls, with
one note. The Batch API itself is reached only through ``digest.llm.batch_api`` (over the wire).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, ValidationError

from digest.fsutil import write_json_atomic
from digest.llm.batch_api import BatchAPI, BatchInfo, BatchPollError, BatchUnavailable
from digest.llm.client import LLMClient
from digest.llm.wire import Completion
from digest.models import Usage
from digest.summarize import Summarizer, Task

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


class BatchRunner:
    def __init__(
        self,
        llm: LLMClient,
        summarizer: Summarizer,
        *,
        state_path: Path,
        notice: Notice = lambda _m: None,
        sleep: Callable[[float], None] = time.sleep,
        first_delay: float = 5.0,
        max_delay: float = 60.0,
        max_wait: float = 25 * 3600.0,  # past OpenAI's 24 h window the batch has expired anyway
    ) -> None:
        self.llm = llm
        self.api: BatchAPI = llm.batches()
        self.summarizer = summarizer
        self.state_path = state_path
        self.notice = notice
        self.sleep = sleep
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.max_wait = max_wait

    # --- the whole run ----------------------------------------------------------------
    def run(self, pending: list[Task], prompt: str) -> BatchOutcome:
        """Puts every usable batch answer into the cache; never raises for batch trouble."""
        tasks = {t.custom_id: t for t in pending}
        state = self._load_state(prompt)
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
                state = self._submit(list(tasks.values()), prompt)
            else:
                self.notice(f"resuming batch {state.batch_id} from an earlier run")
            batch = self._wait(state.batch_id)
            return self._collect(batch, state, tasks)
        except BatchUnavailable as exc:
            self.notice(f"{exc}; using direct calls")
            return BatchOutcome(batch_id=state.batch_id if state else None)

    # --- submit -----------------------------------------------------------------------
    def _submit(self, tasks: list[Task], prompt: str) -> BatchState:
        llm = self.llm
        lines = [
            json.dumps(
                {
                    "custom_id": task.custom_id,
                    "method": "POST",
                    "url": BATCH_URL,
                    "body": llm.request_body(task.messages(), task.spec),
                },
                ensure_ascii=False,
            )
            for task in tasks
        ]
        data = ("\n".join(lines) + "\n").encode("utf-8")
        batch_id, file_id = self.api.submit(data, BATCH_URL, {"created_by": "digest daily"})
        state = BatchState(
            batch_id=batch_id,
            input_file_id=file_id,
            endpoint=llm.endpoint,
            model=llm.model,
            prompt=prompt,
            custom_ids=[t.custom_id for t in tasks],
            created_at=datetime.now(UTC).replace(microsecond=0),
        )
        # Saved before the first poll: from here on a re-run must resume, not pay again.
        write_json_atomic(self.state_path, state.model_dump(mode="json"))
        self.notice(
            f"submitted batch {batch_id} with {len(tasks)} request(s); waiting for it "
            "(an interrupted run resumes this batch)"
        )
        return state

    # --- wait -------------------------------------------------------------------------
    def _wait(self, batch_id: str) -> BatchInfo:
        delay, waited, errors, last_status = self.first_delay, 0.0, 0, ""
        while True:
            batch: BatchInfo | None = None
            try:
                batch = self.api.retrieve(batch_id)
                errors = 0
            except BatchUnavailable:
                self._forget()
                raise
            except BatchPollError as exc:
                errors += 1
                if errors >= MAX_POLL_ERRORS:
                    # The state file stays: a later run can still collect this batch.
                    raise BatchUnavailable(str(exc)) from None
            if batch is not None:
                if batch.status in TERMINAL:
                    return batch
                if batch.status != last_status:
                    last_status = batch.status
                    self.notice(f"batch {batch_id}: {batch.status}")
            if waited >= self.max_wait:
                self._cancel(batch_id)
                raise BatchUnavailable(f"batch {batch_id} did not finish in {waited / 3600:.0f} h")
            self.sleep(delay)
            waited += delay
            delay = min(delay * 2, self.max_delay)

    def _cancel(self, batch_id: str) -> None:
        self.api.cancel(batch_id)
        self._forget()

    # --- collect ----------------------------------------------------------------------
    def _collect(self, batch: BatchInfo, state: BatchState, tasks: dict[str, Task]) -> BatchOutcome:
        records = self._lines(batch.output_file_id) + self._lines(batch.error_file_id)
        answered: list[str] = []
        problems: dict[str, str] = {}
        unused = Usage()
        for record in records:
            task = tasks.get(str(record.get("custom_id")))
            if task is None or task.custom_id in answered:
                continue
            problem, usage = self._accept(task, record)
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
            return self.api.lines(file_id)
        except BatchPollError as exc:
            self.notice(str(exc))
            return []

    def _accept(self, task: Task, record: dict[str, Any]) -> tuple[str | None, Usage]:
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
            completion = Completion(
                content=str(message.get("content") or ""),
                finish_reason=choice.get("finish_reason"),
                refusal=message.get("refusal"),
                usage=Usage(
                    calls=1,
                    prompt_tokens=int(raw_usage.get("prompt_tokens") or 0),
                    completion_tokens=int(raw_usage.get("completion_tokens") or 0),
                ),
            )
        except (KeyError, IndexError, TypeError, ValueError, ValidationError, AttributeError):
            return "not a chat completion", Usage()
        return self.summarizer.accept(task, completion)

    # --- state file -------------------------------------------------------------------
    def _load_state(self, prompt: str) -> BatchState | None:
        if not self.state_path.exists():
            return None
        try:
            state = BatchState.model_validate_json(self.state_path.read_bytes())
        except (OSError, ValidationError):
            self.notice(f"ignoring unreadable batch state {self.state_path}")
            self._forget()
            return None
        llm = self.llm
        if (state.endpoint, state.model, state.prompt) != (llm.endpoint, llm.model, prompt):
            self.notice(
                f"ignoring batch {state.batch_id} from an earlier run: it was made for "
                f"{state.model} at {state.endpoint} with {state.prompt}"
            )
            self._forget()
            return None
        return state

    def _forget(self) -> None:
        self.state_path.unlink(missing_ok=True)
