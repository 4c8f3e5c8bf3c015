"""The only module that imports ``openai``: the requests digest sends, and nothing else.

Every call goes through ``map_exceptions``, which turns the openai package's exceptions into
ours, once (``digest.errors``: ``EndpointUnreachable``, ``EndpointStatusError`` carrying the
status, the response headers and the server's one-line message, ``EndpointGarbage``). Above
this module nobody sees an openai type. Chat completions come back with their response
headers (``with_raw_response``), so the pacer can read the rate-limit headers of every answer.

No retries here: the SDK's own are off (``max_retries=0``) and ``digest.llm.client`` owns them.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import openai
from pydantic import BaseModel

from digest.errors import (
    ContextOverflow,
    EndpointError,
    EndpointGarbage,
    EndpointStatusError,
    EndpointUnreachable,
)
from digest.models import Usage

HINTS = {
    401: "check OPENAI_API_KEY",
    403: "the key may lack access to this model",
}


class Completion(BaseModel):
    content: str
    finish_reason: str | None
    refusal: str | None
    usage: Usage


class Reply(BaseModel):
    """One chat completion and the headers it came with (lower-case names)."""

    completion: Completion
    headers: dict[str, str] = {}


class BatchInfo(BaseModel):
    id: str
    status: str
    output_file_id: str | None = None
    error_file_id: str | None = None


def make_openai_client(base_url: str | None, api_key: str | None, timeout: float) -> openai.OpenAI:
    # A local server needs no key, but the SDK insists on one.
    return openai.OpenAI(
        base_url=base_url, api_key=api_key or "not-needed", timeout=timeout, max_retries=0
    )


def _first_line(text: str, limit: int = 200) -> str:
    return text.strip().splitlines()[0][:limit] if text.strip() else ""


# How servers say a request is longer than the model's context: OpenAI and vLLM
# ("maximum context length is 4096 tokens", code context_length_exceeded), llama.cpp
# ("exceeds the available context size", "n_ctx"), Anthropic-compatible proxies ("prompt is
# too long"). A 400 that says so concerns one item, not the endpoint.
_CONTEXT_WORDS = re.compile(
    r"context[ _](length|window|size)|maximum context|too many tokens|prompt is too long"
    r"|n_ctx|exceeds? the (available )?context",
    re.I,
)


def _context_overflow(exc: openai.APIStatusError, detail: str) -> bool:
    if exc.status_code not in (400, 413, 422):
        return False
    code = exc.body.get("code") if isinstance(exc.body, dict) else None
    if isinstance(exc.body, dict) and isinstance(exc.body.get("error"), dict):
        code = exc.body["error"].get("code") or code
    return code == "context_length_exceeded" or bool(_CONTEXT_WORDS.search(detail))


def _server_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return _first_line(str(inner["message"]), 160)
        if isinstance(inner, str):
            return _first_line(inner, 160)
    return ""


@contextmanager
def map_exceptions(
    endpoint: str, redact: Callable[[str], str], hint_404: str = ""
) -> Iterator[None]:
    """Translate the openai package's exceptions into ours (messages one line, redacted)."""
    try:
        yield
    except openai.APIConnectionError as exc:  # includes APITimeoutError
        cause = exc.__cause__ or exc.__context__
        reason = _first_line(str(cause) if cause and str(cause) else str(exc)) or type(exc).__name__
        if isinstance(exc, openai.APITimeoutError):
            reason = "no answer within the timeout"
        raise EndpointUnreachable(
            f"cannot reach the LLM endpoint {endpoint}: {redact(reason)}"
        ) from None
    except openai.APIStatusError as exc:
        detail = redact(_server_message(exc))
        hint = HINTS.get(exc.status_code, hint_404 if exc.status_code == 404 else "")
        kind = ContextOverflow if _context_overflow(exc, detail) else EndpointStatusError
        raise kind(
            f"the LLM endpoint {endpoint} refused the request: HTTP {exc.status_code}"
            + (f" ({detail})" if detail else "")
            + (f"; {hint}" if hint else ""),
            status=exc.status_code,
            headers={k.lower(): v for k, v in exc.response.headers.items()},
            detail=detail,
        ) from None
    except (openai.APIResponseValidationError, ValueError) as exc:
        # ValueError covers a JSON body the SDK could not decode (json.JSONDecodeError).
        raise EndpointGarbage(
            f"the LLM endpoint {endpoint} answered something that is not an "
            f"OpenAI-compatible response ({redact(_first_line(str(exc)) or type(exc).__name__)})"
        ) from None
    except openai.OpenAIError as exc:
        raise EndpointError(
            f"the LLM endpoint {endpoint} failed: {redact(_first_line(str(exc)))}"
        ) from None


class Wire:
    """One endpoint, as digest speaks to it: chat completions, the model list, embeddings,
    the Batch API."""

    def __init__(
        self,
        base_url: str | None,
        api_key: str | None,
        *,
        timeout: float,
        endpoint: str,
        model: str,
        secrets: tuple[str, ...] = (),
    ) -> None:
        self._client = make_openai_client(base_url, api_key, timeout)
        self.endpoint = endpoint
        self.model = model
        self._secrets = tuple(s for s in secrets if s)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _mapped(self) -> Any:
        return map_exceptions(
            self.endpoint,
            self.redact,
            hint_404=f"is the model name {self.model!r} and the base URL right?",
        )

    # --- chat -----------------------------------------------------------------------------
    def chat(self, body: dict[str, Any]) -> Reply:
        """POST /chat/completions with this JSON body; the completion and its headers."""
        kwargs = dict(body)
        # Fields the openai SDK has no parameter for travel in extra_body.
        extra = {k: kwargs.pop(k) for k in ("repeat_penalty",) if k in kwargs}
        if extra:
            kwargs["extra_body"] = extra
        with self._mapped():
            raw = self._client.chat.completions.with_raw_response.create(**kwargs)
            headers = {k.lower(): v for k, v in raw.headers.items()}
            response = raw.parse()
            if not getattr(response, "choices", None):
                # e.g. an HTML page with status 200: the SDK hands back a str, not a completion.
                raise ValueError("no choices in the answer")
            choice = response.choices[0]
            usage = response.usage
            completion = Completion(
                content=choice.message.content or "",
                finish_reason=choice.finish_reason,
                refusal=getattr(choice.message, "refusal", None),
                usage=Usage(
                    calls=1,
                    prompt_tokens=usage.prompt_tokens if usage else 0,
                    completion_tokens=usage.completion_tokens if usage else 0,
                ),
            )
        return Reply(completion=completion, headers=headers)

    def models(self) -> list[str]:
        """Model ids the endpoint lists."""
        with self._mapped():
            return [m.id for m in self._client.models.list().data]

    def embeddings(self, model: str, texts: list[str]) -> list[list[float]]:
        """POST /embeddings: one vector per text, in input order (digest.llm.embeddings)."""
        with self._mapped():
            answer = self._client.embeddings.create(model=model, input=texts)
            ordered = sorted(answer.data, key=lambda item: item.index)
            return [list(item.embedding) for item in ordered]

    # --- Batch API (Files + Batches) ---------------------------------------------------------
    def upload_batch_file(self, jsonl: bytes) -> str:
        with self._mapped():
            upload = self._client.files.create(
                file=("digest-batch.jsonl", io.BytesIO(jsonl), "application/jsonl"),
                purpose="batch",
            )
        return upload.id

    def create_batch(self, input_file_id: str, url: str, metadata: dict[str, str]) -> str:
        with self._mapped():
            batch = self._client.batches.create(
                input_file_id=input_file_id,
                endpoint=url,  # type: ignore[arg-type]
                completion_window="24h",
                metadata=metadata,
            )
        return batch.id

    def batch(self, batch_id: str) -> BatchInfo:
        with self._mapped():
            batch = self._client.batches.retrieve(batch_id)
        return BatchInfo(
            id=batch.id,
            status=batch.status,
            output_file_id=batch.output_file_id,
            error_file_id=batch.error_file_id,
        )

    def file_text(self, file_id: str) -> str:
        with self._mapped():
            return self._client.files.content(file_id).text

    def cancel_batch(self, batch_id: str) -> None:
        with self._mapped():
            self._client.batches.cancel(batch_id)
