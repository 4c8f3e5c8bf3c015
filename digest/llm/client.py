"""One chat call with structured output: transport retries, pacing and the JSON mode.

Who retries what (so retries never multiply):
- the SDK's own retries are off, and ``digest.llm.wire`` sends each request once;
- transport faults (no connection, timeouts, 408/409/429/5xx) are retried here with
  tenacity: exponential backoff with jitter, ``Retry-After`` / ``retry-after-ms`` honoured,
  bounded in attempts (429s count apart: the server said when) and in total seconds. Every
  attempt first waits for the run's ``Pacer`` (adaptive concurrency + rate-limit headers);
- answer faults (bad JSON, wrong schema, cut off, wrong language, failed gates) are
  re-asked by ``digest.llm.ask``, which sees only answers that made it through transport.

The JSON mode is never chosen by an error of a task: it is set once before the fan-out
(``digest.llm.probe``, remembered per endpoint and model) or fixed (the embedded model). A
task whose request is refused *for its format* (the server's message says so: a remembered
mode gone stale, or a schema the server takes in the probe's small form but not in ours)
moves the whole run one mode down, once per mode, and the new mode is remembered; any other
refusal is what it is.
"""

from __future__ import annotations

import enum
import json
import random
import re
import threading
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from tenacity import RetryCallState, Retrying, retry_if_exception

from digest.errors import Cancelled, ContextOverflow, EndpointError, EndpointStatusError
from digest.llm.batch_api import BatchAPI
from digest.llm.pacing import Pacer, estimate_tokens, retry_after
from digest.llm.wire import Completion, Wire
from digest.prompts import PromptSpec, wire_schema


class StructuredMode(enum.StrEnum):
    """How we ask for JSON, best first."""

    JSON_SCHEMA = "json_schema"
    JSON_OBJECT_SCHEMA = "json_object+schema"  # llama.cpp server: grammar from the schema
    JSON_OBJECT = "json_object"
    PLAIN = "plain"  # instructions only; the answer is still validated


FALLBACK_ORDER = list(StructuredMode)
_FORMAT_WORDS = re.compile(r"response_format|json_schema|json_object|schema|grammar", re.I)


def format_rejected(exc: EndpointStatusError, *, probing: bool = False) -> bool:
    """Did the server refuse the *format* we asked for? Decided by what it said, never by a
    bare status: a message naming response_format / json_schema / schema / grammar (llama.cpp
    answers 500 "response_format type must be one of ..."), or, for the tiny probe request,
    400/422 (it has nothing else a server could object to)."""
    if exc.status in (401, 403, 404, 408, 409, 429) or isinstance(exc, ContextOverflow):
        return False
    if probing and exc.status in (400, 422):
        return True
    return bool(_FORMAT_WORDS.search(exc.detail))


class RetryPolicy(BaseModel):
    attempts: int = 5
    max_seconds: float = 120.0
    base_delay: float = 0.5
    max_delay: float = 30.0


class LLMClient:
    """Sends one prompt, returns one Completion; owns transport retries and the JSON mode."""

    def __init__(
        self,
        wire: Wire,
        *,
        policy: RetryPolicy | None = None,
        pacer: Pacer | None = None,
        mode: StructuredMode | None = None,
        sleep: Callable[[float], None] | None = None,
        max_concurrency: int | None = None,
    ) -> None:
        self.wire = wire
        self.model = wire.model
        self.endpoint = wire.endpoint
        self._policy = policy or RetryPolicy()
        # llama.cpp's Python server decodes one request at a time: more in flight only
        # queue up and run into client timeouts.
        self.max_concurrency = max_concurrency
        self.pacer = pacer or Pacer(max_concurrency or 8)
        self._mode = mode or StructuredMode.JSON_SCHEMA
        self.mode_fixed = mode is not None  # the embedded model: known, never probed
        self.mode_source = "fixed" if mode is not None else "assumed"
        self._on_step_down: Callable[[StructuredMode], None] | None = None
        self._mode_lock = threading.Lock()
        self._cancelled = threading.Event()
        self._sleep = sleep or self._interruptible_sleep

    def _interruptible_sleep(self, seconds: float) -> None:
        # Backoff sleeps wake up as soon as the run is cancelled.
        self._cancelled.wait(seconds)

    def batches(self) -> BatchAPI:
        return BatchAPI(self.wire)

    def cancel(self) -> None:
        """Stop: backoff sleeps wake, waiting workers give up, no new request starts."""
        self._cancelled.set()
        self.pacer.close()

    @property
    def mode(self) -> StructuredMode:
        return self._mode

    def use_mode(
        self,
        mode: StructuredMode,
        source: str,
        on_step_down: Callable[[StructuredMode], None] | None = None,
    ) -> None:
        """Settle the JSON mode for the run (before the fan-out). ``on_step_down`` hears of
        a lower mode chosen after a format refusal (to remember it)."""
        with self._mode_lock:
            self._mode, self.mode_source, self._on_step_down = mode, source, on_step_down

    def redact(self, text: str) -> str:
        return self.wire.redact(text)

    # --- one answer -------------------------------------------------------------------------
    def complete(self, messages: list[dict[str, str]], spec: PromptSpec) -> Completion:
        """One answer for these messages in the run's JSON mode."""
        while True:
            mode = self._mode
            try:
                return self.send(self.request_body(messages, spec, mode))
            except EndpointStatusError as exc:
                if not (format_rejected(exc) and self._switch_mode(mode)):
                    raise

    def _switch_mode(self, tried: StructuredMode) -> bool:
        """After a format refusal: True if the request should be sent again (a lower mode)."""
        with self._mode_lock:
            if self._mode is not tried:
                return True  # another worker has already stepped down
            if self.mode_fixed or tried is StructuredMode.PLAIN:
                return False
            self._mode = FALLBACK_ORDER[FALLBACK_ORDER.index(tried) + 1]
            self.mode_source += f", then {self._mode} ({tried} refused)"
            if self._on_step_down is not None:
                self._on_step_down(self._mode)
            return True

    def prompt_tokens(self, messages: list[dict[str, str]], spec: PromptSpec) -> int:
        """A high estimate of the prompt tokens of these messages as sent (with the mode's
        instructions); a call may cost this plus the prompt's ``max_tokens``."""
        return estimate_tokens(self.request_body(messages, spec)["messages"])

    # --- transport -------------------------------------------------------------------------
    def send(self, body: dict[str, Any]) -> Completion:
        """POST one chat body, retrying transient faults; the last fault ends as an
        EndpointError (exit 4)."""
        tokens = estimate_tokens(body["messages"]) + int(body.get("max_tokens") or 0)
        policy = self._policy
        rate_limited = 0

        def attempt() -> Completion:
            nonlocal rate_limited
            ticket = self.pacer.acquire(tokens, self._cancelled)
            if ticket is None:
                raise Cancelled("the run was cancelled")
            try:
                reply = self.wire.chat(body)
            except EndpointStatusError as exc:
                limited = exc.status == 429
                rate_limited += limited
                self.pacer.release(ticket, headers=exc.headers, outcome="429" if limited else "")
                raise
            except BaseException:
                self.pacer.release(ticket, outcome="")
                raise
            self.pacer.release(ticket, headers=reply.headers, outcome="ok")
            return reply.completion

        def stop(state: RetryCallState) -> bool:
            # 429s say "later", not "broken": they are bounded by time and a wide cap.
            failures = state.attempt_number - rate_limited
            return (
                failures >= policy.attempts
                or rate_limited >= 4 * policy.attempts
                or (state.seconds_since_start or 0.0) >= policy.max_seconds
            )

        retrying = Retrying(
            stop=stop,
            retry=retry_if_exception(_worth_retrying),
            wait=self._wait,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except EndpointStatusError as exc:
            if not _worth_retrying(exc):
                raise
            raise EndpointError(
                f"the LLM endpoint {self.endpoint} kept failing: HTTP {exc.status}"
                + (f" ({exc.detail})" if exc.detail else "")
                + " after retries"
            ) from None

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        asked = retry_after(exc.headers) if isinstance(exc, EndpointStatusError) else None
        if asked is not None:
            delay = min(asked, self._policy.max_delay)
        else:
            base = self._policy.base_delay * 2 ** (state.attempt_number - 1)
            delay = min(base, self._policy.max_delay) * random.uniform(0.5, 1.5)
        if isinstance(exc, EndpointStatusError) and exc.status == 429:
            self.pacer.pause(delay)  # every worker waits, not only this one
        return delay

    # --- the request body ---------------------------------------------------------------------
    def request_body(
        self, messages: list[dict[str, str]], spec: PromptSpec, mode: StructuredMode | None = None
    ) -> dict[str, Any]:
        """The JSON body of one chat-completions request (also what a Batch API line holds)."""
        mode = mode or self._mode
        body: dict[str, Any] = {
            "model": self.model,
            "messages": self._with_mode_instructions(messages, spec, mode),
            "temperature": spec.temperature,
            "max_tokens": spec.max_tokens,
        }
        response_format = response_format_for(mode, spec.output, wire_schema(spec.schema_model))
        if response_format is not None:
            body["response_format"] = response_format
        if spec.repeat_penalty is not None and self.endpoint.startswith("local:"):
            body["repeat_penalty"] = spec.repeat_penalty
        return body

    @staticmethod
    def _with_mode_instructions(
        messages: list[dict[str, str]], spec: PromptSpec, mode: StructuredMode
    ) -> list[dict[str, str]]:
        if mode in (StructuredMode.JSON_SCHEMA, StructuredMode.JSON_OBJECT_SCHEMA):
            return messages
        # Without server-side schemas the model only has our words to go by.
        note = (
            "\n\nReply with JSON only (no code fences), matching this JSON schema:\n"
            + json.dumps(wire_schema(spec.schema_model), ensure_ascii=False)
        )
        first, *rest = messages
        return [{**first, "content": first["content"] + note}, *rest]


def _worth_retrying(exc: BaseException) -> bool:
    """Transient, unless the server said it was about the format (llama.cpp's 500)."""
    if isinstance(exc, EndpointStatusError) and format_rejected(exc):
        return False
    return isinstance(exc, EndpointError) and exc.transient


def response_format_for(
    mode: StructuredMode, name: str, schema: dict[str, Any]
) -> dict[str, Any] | None:
    if mode is StructuredMode.JSON_SCHEMA:
        return {
            "type": "json_schema",
            "json_schema": {"name": name, "schema": schema, "strict": False},
        }
    if mode is StructuredMode.JSON_OBJECT_SCHEMA:
        return {"type": "json_object", "schema": schema}
    if mode is StructuredMode.JSON_OBJECT:
        return {"type": "json_object"}
    return None
