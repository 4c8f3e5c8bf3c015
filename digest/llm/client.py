"""The only module that imports ``openai``: one chat call with structured output, retried.

Who retries what (so retries never multiply):
- the SDK's own retries are off (``max_retries=0``);
- transport faults (connection refused/reset, timeouts, 408/409/429/5xx) are retried here
  with tenacity: exponential backoff with jitter, ``Retry-After`` honoured, bounded in
  attempts and total seconds, and a 429 pauses every worker (``Throttle``);
- answer faults (bad JSON, wrong schema, cut off, wrong language, failed gates) are
  re-asked by ``digest.llm.ask``, which sees only answers that made it through transport.
"""

from __future__ import annotations

import enum
import io
import json
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import openai
from pydantic import BaseModel
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
)

from digest.errors import Cancelled, EndpointError
from digest.models import Usage
from digest.prompts import PromptSpec, wire_schema


class StructuredMode(enum.StrEnum):
    """How we ask for JSON, best first. Chosen on the first call, kept for the run."""

    JSON_SCHEMA = "json_schema"
    JSON_OBJECT_SCHEMA = "json_object+schema"  # llama.cpp server: grammar from the schema
    JSON_OBJECT = "json_object"
    PLAIN = "plain"  # instructions only; the answer is still validated


FALLBACK_ORDER = list(StructuredMode)
MODE_REJECTIONS = (400, 422, 500, 501)


class Completion(BaseModel):
    content: str
    finish_reason: str | None
    refusal: str | None
    usage: Usage


class RetryPolicy(BaseModel):
    attempts: int = 5
    max_seconds: float = 120.0
    base_delay: float = 0.5
    max_delay: float = 30.0


class Throttle:
    """Shared by all workers: one 429 pauses everyone instead of a thundering herd."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._resume_at = 0.0

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._resume_at = max(self._resume_at, time.monotonic() + seconds)

    def wait(self) -> None:
        while True:
            with self._lock:
                delay = self._resume_at - time.monotonic()
            if delay <= 0:
                return
            time.sleep(min(delay, 1.0))


def make_openai_client(base_url: str | None, api_key: str | None, timeout: float) -> openai.OpenAI:
    # A local server needs no key, but the SDK insists on one.
    return openai.OpenAI(
        base_url=base_url,
        api_key=api_key or "not-needed",
        timeout=timeout,
        max_retries=0,
    )


def _status(exc: BaseException) -> int | None:
    return exc.status_code if isinstance(exc, openai.APIStatusError) else None


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        return True
    status = _status(exc)
    return status is not None and (status in (408, 409, 429) or status >= 500)


def _retry_after(exc: BaseException) -> float | None:
    if not isinstance(exc, openai.APIStatusError):
        return None
    value = exc.response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class LLMClient:
    """Sends one prompt, returns one Completion; owns transport retries and the JSON mode."""

    def __init__(
        self,
        client: openai.OpenAI,
        *,
        model: str,
        endpoint: str,
        policy: RetryPolicy | None = None,
        throttle: Throttle | None = None,
        mode: StructuredMode | None = None,
        secrets: tuple[str, ...] = (),
        sleep: Callable[[float], None] | None = None,
        max_concurrency: int | None = None,
    ) -> None:
        self._client = client
        self.model = model
        self.endpoint = endpoint
        self._policy = policy or RetryPolicy()
        self._throttle = throttle or Throttle()
        self._mode = mode or StructuredMode.JSON_SCHEMA
        self._mode_known = mode is not None
        self._probe_retried = False
        self._mode_lock = threading.Lock()
        self._secrets = tuple(s for s in secrets if s)
        self._cancelled = threading.Event()
        self._sleep = sleep or self._interruptible_sleep
        # llama.cpp's Python server decodes one request at a time: more in flight only
        # queue up and run into client timeouts.
        self.max_concurrency = max_concurrency

    @property
    def client(self) -> openai.OpenAI:
        return self._client

    def batches(self) -> BatchAPI:
        return BatchAPI(self._client, self.endpoint)

    def cancel(self) -> None:
        self._cancelled.set()

    def _interruptible_sleep(self, seconds: float) -> None:
        # Backoff sleeps wake up as soon as the run is cancelled.
        self._cancelled.wait(seconds)

    @property
    def mode(self) -> StructuredMode:
        return self._mode

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def complete(self, messages: list[dict[str, str]], spec: PromptSpec) -> Completion:
        """One answer for these messages, falling back in JSON mode once if the server balks."""
        while True:
            mode = self._mode
            try:
                return self._complete_with_retries(messages, spec, mode)
            except openai.APIStatusError as exc:
                if not self._downgrade(mode, exc):
                    raise self._endpoint_error(exc) from None

    def _downgrade(self, tried: StructuredMode, exc: openai.APIStatusError) -> bool:
        """A 4xx/5xx to a response_format we have not seen work: try the next mode."""
        if exc.status_code not in MODE_REJECTIONS or tried is StructuredMode.PLAIN:
            return False
        with self._mode_lock:
            if self._mode_known:
                # Another worker already found the working mode; retry with it.
                return self._mode is not tried
            if self._mode is tried:
                if exc.status_code >= 500 and not self._probe_retried:
                    # A 5xx may be a passing fault rather than "I don't take this format":
                    # one more try in the same mode before falling back for the whole run.
                    self._probe_retried = True
                    return True
                self._mode = FALLBACK_ORDER[FALLBACK_ORDER.index(tried) + 1]
                self._probe_retried = False
            return True

    def _complete_with_retries(
        self, messages: list[dict[str, str]], spec: PromptSpec, mode: StructuredMode
    ) -> Completion:
        probing = not self._mode_known and mode is not StructuredMode.PLAIN

        def should_retry(exc: BaseException) -> bool:
            # While probing, a 400/500 most likely means "I don't take this response_format"
            # (llama.cpp answers 500): fall back at once instead of backing off five times.
            if probing and _status(exc) in MODE_REJECTIONS:
                return False
            return _is_transient(exc)

        retrying = Retrying(
            stop=stop_after_attempt(self._policy.attempts)
            | stop_after_delay(self._policy.max_seconds),
            retry=retry_if_exception(should_retry),
            wait=self._wait,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            completion = retrying(self._send, messages, spec, mode)
        except openai.APIConnectionError as exc:
            raise EndpointError(
                f"cannot reach the LLM endpoint {self.endpoint}: {self._reason(exc)}"
            ) from None
        except openai.APIStatusError as exc:
            if _is_transient(exc) and not (probing and exc.status_code in MODE_REJECTIONS):
                raise EndpointError(
                    f"the LLM endpoint {self.endpoint} kept failing: HTTP {exc.status_code}"
                    f" after {self._policy.attempts} attempts"
                ) from None
            raise
        except (openai.APIResponseValidationError, ValueError) as exc:
            # ValueError covers a JSON body the SDK could not decode (json.JSONDecodeError).
            raise EndpointError(
                f"the LLM endpoint {self.endpoint} answered something that is not an "
                f"OpenAI-compatible response ({self._reason(exc)})"
            ) from None
        with self._mode_lock:
            if not self._mode_known and self._mode is mode:
                self._mode_known = True
        return completion

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        retry_after = _retry_after(exc) if exc else None
        if retry_after is not None:
            delay = min(retry_after, self._policy.max_delay)
        else:
            base = self._policy.base_delay * 2 ** (state.attempt_number - 1)
            delay = min(base, self._policy.max_delay) * random.uniform(0.5, 1.5)
        if _status(exc) == 429 if exc else False:
            self._throttle.pause(delay)
        return delay

    def _send(
        self, messages: list[dict[str, str]], spec: PromptSpec, mode: StructuredMode
    ) -> Completion:
        self._throttle.wait()
        if self._cancelled.is_set():
            raise Cancelled("the run was cancelled")
        kwargs = self.request_body(messages, spec, mode)
        # Fields the openai SDK has no parameter for travel in extra_body.
        extra = {k: kwargs.pop(k) for k in ("repeat_penalty",) if k in kwargs}
        if extra:
            kwargs["extra_body"] = extra
        response = self._client.chat.completions.create(**kwargs)
        if not getattr(response, "choices", None):
            # e.g. an HTML page with status 200: the SDK hands back a str, not a completion.
            raise ValueError("no choices in the answer")
        choice = response.choices[0]
        usage = response.usage
        return Completion(
            content=choice.message.content or "",
            finish_reason=choice.finish_reason,
            refusal=getattr(choice.message, "refusal", None),
            usage=Usage(
                calls=1,
                prompt_tokens=usage.prompt_tokens if usage else 0,
                completion_tokens=usage.completion_tokens if usage else 0,
            ),
        )

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
        response_format = self._response_format(spec, mode)
        if response_format is not None:
            body["response_format"] = response_format
        if spec.repeat_penalty is not None and self.endpoint.startswith("local:"):
            body["repeat_penalty"] = spec.repeat_penalty
        return body

    @staticmethod
    def _response_format(spec: PromptSpec, mode: StructuredMode) -> dict[str, Any] | None:
        schema = wire_schema(spec.schema_model)
        if mode is StructuredMode.JSON_SCHEMA:
            return {
                "type": "json_schema",
                "json_schema": {"name": spec.output, "schema": schema, "strict": False},
            }
        if mode is StructuredMode.JSON_OBJECT_SCHEMA:
            return {"type": "json_object", "schema": schema}
        if mode is StructuredMode.JSON_OBJECT:
            return {"type": "json_object"}
        return None

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

    def _reason(self, exc: BaseException) -> str:
        cause = exc.__cause__ or exc.__context__
        text = str(cause) if cause and str(cause) else str(exc)
        return self.redact(text.splitlines()[0] if text else type(exc).__name__)[:200]

    def _endpoint_error(self, exc: openai.APIStatusError) -> EndpointError:
        hints = {
            401: "check OPENAI_API_KEY",
            403: "the key may lack access to this model",
            404: f"is the model name {self.model!r} and the base URL right?",
        }
        hint = hints.get(exc.status_code, "")
        message = self.redact(_error_message(exc))
        return EndpointError(
            f"the LLM endpoint {self.endpoint} refused the request: HTTP {exc.status_code}"
            + (f" ({message})" if message else "")
            + (f"; {hint}" if hint else "")
        )


class BatchUnavailable(Exception):
    """No usable Batch API for this run (none at the endpoint, refused, unreachable)."""


class BatchInfo(BaseModel):
    id: str
    status: str
    output_file_id: str | None = None
    error_file_id: str | None = None


class BatchAPI:
    """The OpenAI Batch API (Files + Batches) as the batch runner needs it. Every openai
    error becomes ``BatchUnavailable`` (the run goes on with direct calls) or, while
    polling, ``BatchPollError`` (try again later)."""

    def __init__(self, client: openai.OpenAI, endpoint: str) -> None:
        self._client = client
        self.endpoint = endpoint

    def submit(self, jsonl: bytes, url: str, metadata: dict[str, str]) -> tuple[str, str]:
        """(batch id, input file id) of a new batch over these JSONL lines."""
        try:
            upload = self._client.files.create(
                file=("digest-batch.jsonl", io.BytesIO(jsonl), "application/jsonl"),
                purpose="batch",
            )
            batch = self._client.batches.create(
                input_file_id=upload.id,
                endpoint=url,  # type: ignore[arg-type]
                completion_window="24h",
                metadata=metadata,
            )
        except openai.NotFoundError:
            raise BatchUnavailable(
                f"the endpoint {self.endpoint} has no Batch API (HTTP 404 on /v1/files or "
                "/v1/batches)"
            ) from None
        except openai.APIStatusError as exc:
            raise BatchUnavailable(f"the batch was refused (HTTP {exc.status_code})") from None
        except openai.APIConnectionError:
            raise BatchUnavailable(f"cannot reach {self.endpoint} to submit a batch") from None
        return batch.id, upload.id

    def retrieve(self, batch_id: str) -> BatchInfo:
        try:
            batch = self._client.batches.retrieve(batch_id)
        except openai.NotFoundError:
            raise BatchUnavailable(f"batch {batch_id} is unknown to the endpoint") from None
        except (openai.APIStatusError, openai.APIConnectionError) as exc:
            raise BatchPollError(f"cannot check batch {batch_id} ({type(exc).__name__})") from None
        return BatchInfo(
            id=batch.id,
            status=batch.status,
            output_file_id=batch.output_file_id,
            error_file_id=batch.error_file_id,
        )

    def lines(self, file_id: str) -> list[dict[str, Any]]:
        """The JSON objects of a batch output (or error) file; unreadable lines are skipped."""
        try:
            text = self._client.files.content(file_id).text
        except openai.OpenAIError as exc:
            raise BatchPollError(
                f"cannot download batch file {file_id} ({type(exc).__name__})"
            ) from None
        records = []
        for line in text.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                records.append(record)
        return records

    def cancel(self, batch_id: str) -> None:
        try:
            self._client.batches.cancel(batch_id)
        except openai.OpenAIError:
            pass  # it expires on its own; we only try not to pay for answers we won't use


class BatchPollError(Exception):
    """A passing failure while polling or downloading; the batch may still finish."""


def _error_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"]).splitlines()[0][:160]
    return ""


def probe_models(client: openai.OpenAI) -> list[str]:
    """Model ids the endpoint lists (for `digest models`)."""
    return [m.id for m in client.models.list().data]


def probe_structured_mode(client: openai.OpenAI, model: str) -> tuple[StructuredMode | None, str]:
    """The best JSON mode this endpoint accepts, found with tiny requests (for `digest models`)."""
    schema = {
        "type": "object",
        "properties": {"ok": {"type": "boolean"}},
        "required": ["ok"],
        "additionalProperties": False,
    }
    formats: dict[StructuredMode, dict[str, Any] | None] = {
        StructuredMode.JSON_SCHEMA: {
            "type": "json_schema",
            "json_schema": {"name": "probe", "schema": schema, "strict": False},
        },
        StructuredMode.JSON_OBJECT_SCHEMA: {"type": "json_object", "schema": schema},
        StructuredMode.JSON_OBJECT: {"type": "json_object"},
        StructuredMode.PLAIN: None,
    }
    last_error = ""
    for mode, response_format in formats.items():
        kwargs: dict[str, Any] = {
            "model": model,
            "messages": [{"role": "user", "content": 'Reply with the JSON {"ok": true}.'}],
            "max_tokens": 16,
            "temperature": 0,
        }
        if response_format is not None:
            kwargs["response_format"] = response_format
        try:
            client.chat.completions.create(**kwargs)
            return mode, ""
        except openai.APIStatusError as exc:
            last_error = f"HTTP {exc.status_code}"
            if exc.status_code not in MODE_REJECTIONS:
                return None, last_error
        except openai.APIConnectionError as exc:
            return None, f"no answer ({type(exc).__name__})"
    return None, last_error
