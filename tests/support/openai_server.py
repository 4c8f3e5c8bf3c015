"""A real OpenAI-compatible HTTP server on 127.0.0.1 for tests.

The real ``openai`` client talks to it over a socket, so retries, timeouts, dropped
connections and odd bodies go through the same code paths as in production. Faults are
queued per chat request (FIFO) or set as a default; with no fault the server answers
canned JSON that is valid for the requested schema and written in the requested language.

Canned texts hold no digits and no capitalised words except at sentence starts, so they
pass faithfulness gates on any article; py3langid identifies each of them (tested).
"""

# The canned texts are natural sentences that must not be wrapped; the formatter keeps
# code within the limit anyway.
# ruff: noqa: E501

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import itertools
import json
import math
import random
import re
import sys
import threading
import time
import unicodedata
from collections import deque
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal

from support.answers import (
    answer_for,
    canned_answer,
    message_text,
    requested_kind,
    requested_language,
)
from support.canned import CANNED

# Re-exported: tests and benchmarks import the server's vocabulary from here.
__all__ = [
    "CANNED",
    "FakeOpenAI",
    "Fault",
    "canned_answer",
    "message_text",
    "requested_kind",
    "requested_language",
]
from support.serving import serving

BatchMode = Literal["complete", "partial_fail", "expire"]

# Facts no seed article contains: a year, a big number and invented proper names.
HALLUCINATION = "FIFA World Cup 2018: 9,999,999 — Marguerite Okonkwo-Vance, Port Zebulon."
HOSTILE = (
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[x](javascript:alert(1))",
    "# injected heading\n\n![t](http://127.0.0.1:9/p.png) <a href='javascript:alert(1)'>x</a>",
)
REFUSAL = "I'm sorry, but I can't help with that request."


@dataclass(frozen=True)
class Fault:
    """One deliberately wrong answer to one chat request."""

    kind: str
    code: int = 200
    retry_after: float | None = None
    body: str | None = None
    seconds: float = 0.0
    content: str | None = None
    lang: str | None = None
    in_field: bool = True

    @classmethod
    def status(cls, code: int, retry_after: float | None = None, body: str | None = None) -> Fault:
        """An HTTP error; body defaults to an OpenAI-style error JSON."""
        return cls("status", code=code, retry_after=retry_after, body=body)

    @classmethod
    def hang(cls, seconds: float) -> Fault:
        """Sleep (cut short by stop()) before answering normally."""
        return cls("hang", seconds=seconds)

    @classmethod
    def drop(cls) -> Fault:
        return cls("drop")

    @classmethod
    def raw(cls, content: str) -> Fault:
        return cls("raw", content=content)

    @classmethod
    def truncated(cls) -> Fault:
        return cls("truncated")

    @classmethod
    def empty(cls) -> Fault:
        return cls("empty")

    @classmethod
    def refusal(cls, in_field: bool = True) -> Fault:
        """in_field: OpenAI style (message.refusal set, content null); else the refusal
        sentence is the content, as local models without a refusal field answer."""
        return cls("refusal", in_field=in_field)

    @classmethod
    def wrong_language(cls, lang: str) -> Fault:
        return cls("wrong_language", lang=lang)

    @classmethod
    def hostile(cls) -> Fault:
        return cls("hostile")

    @classmethod
    def hallucinate(cls) -> Fault:
        return cls("hallucinate")

    @classmethod
    def garbage_http(cls, content_type: str = "text/html") -> Fault:
        """A 200 whose body is no OpenAI response. With text/html the openai client hands
        back the body as a plain str; with application/json it fails to decode it."""
        return cls("garbage_http", content=content_type)


TRANSPORT_FAULTS = frozenset({"status", "hang", "drop", "garbage_http"})


def is_probe(body: dict[str, Any]) -> bool:
    """digest's capability probe (digest.llm.probe), told apart by its words."""
    return any("capability probe" in message_text(m) for m in body.get("messages") or [])


def word_count(text: str) -> int:
    return len(re.findall(r"\w+", text))


EMBEDDING_DIM = 256


def embed_text(text: str) -> list[float]:
    """A deterministic unit vector: signed hashed bag of accent-folded words (sublinear
    counts; capitalised words and figures, which cross languages, count double)."""
    vector = [0.0] * EMBEDDING_DIM
    counts: dict[str, float] = {}
    for word in re.findall(r"\w+", text):
        folded = "".join(
            c
            for c in unicodedata.normalize("NFKD", word.casefold())
            if not unicodedata.combining(c)
        )
        if len(folded) < 2:
            continue
        weight = 2.0 if word[0].isupper() or word[0].isdigit() else 1.0
        counts[folded] = counts.get(folded, 0.0) + weight
    for word, count in counts.items():
        digest = hashlib.md5(word.encode("utf-8")).digest()
        index = int.from_bytes(digest[:4], "big") % EMBEDDING_DIM
        sign = 1.0 if digest[4] & 1 else -1.0
        vector[index] += sign * (1.0 + math.log(count))
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [round(x / norm, 6) for x in vector]


def _error_body(message: str, type_: str, code: str | int | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


def go_duration(seconds: float) -> str:
    """A duration as OpenAI's rate-limit headers write it: ``20ms``, ``1.5s``, ``6m0s``."""
    if seconds < 1:
        return f"{max(0, round(seconds * 1000))}ms"
    minutes, rest = divmod(seconds, 60)
    rest_text = f"{round(rest, 3):g}s"
    return f"{int(minutes)}m{rest_text}" if minutes else rest_text


class RateLimit:
    """Requests- and tokens-per-minute limits as OpenAI applies them: a bucket per kind that
    holds ``burst`` (default: the per-minute limit) and refills continuously at limit/60 per
    second. A request is admitted if one request and its tokens (prompt characters / 4 +
    max_tokens, as OpenAI counts before generating) fit; else 429 with retry-after(-ms).
    Every answer carries x-ratelimit-{limit,remaining,reset}-{requests,tokens}."""

    def __init__(
        self,
        rpm: float,
        tpm: float,
        *,
        burst_requests: float | None = None,
        burst_tokens: float | None = None,
    ) -> None:
        self.limits = {"requests": rpm, "tokens": tpm}
        self.capacity = {"requests": burst_requests or rpm, "tokens": burst_tokens or tpm}
        self.level = dict(self.capacity)
        self.at = time.monotonic()
        self.admitted = {"requests": 0.0, "tokens": 0.0}
        self.refused = 0

    @staticmethod
    def cost(body: dict[str, Any]) -> float:
        chars = sum(len(message_text(m)) for m in body.get("messages") or [])
        return chars / 4 + float(body.get("max_tokens") or 0)

    def admit(self, body: dict[str, Any]) -> tuple[bool, dict[str, str]]:
        """(admitted, headers); called under the server's lock."""
        now = time.monotonic()
        for kind, limit in self.limits.items():
            self.level[kind] = min(
                self.capacity[kind], self.level[kind] + (now - self.at) * limit / 60
            )
        self.at = now
        need = {"requests": 1.0, "tokens": self.cost(body)}
        short = {k: need[k] - self.level[k] for k in need if self.level[k] < need[k]}
        if not short:
            for kind in need:
                self.level[kind] -= need[kind]
                self.admitted[kind] += need[kind]
        headers: dict[str, str] = {}
        for kind, limit in self.limits.items():
            rate = limit / 60
            headers[f"x-ratelimit-limit-{kind}"] = f"{limit:g}"
            headers[f"x-ratelimit-remaining-{kind}"] = str(int(max(0, self.level[kind])))
            full_in = (self.capacity[kind] - self.level[kind]) / rate
            headers[f"x-ratelimit-reset-{kind}"] = go_duration(full_in)
        if short:
            self.refused += 1
            wait = max(gap / (self.limits[k] / 60) for k, gap in short.items())
            headers["retry-after-ms"] = str(max(1, round(wait * 1000)))
            headers["retry-after"] = str(max(1, int(wait + 0.999)))
        return not short, headers


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
        return cls(status, json.dumps(data, ensure_ascii=False).encode(), headers=headers or {})


def _not_found(what: str) -> Reply:
    return Reply.json(_error_body(what, "invalid_request_error", "not_found"), 404)


@dataclass
class StoredFile:
    id: str
    filename: str
    purpose: str
    content: bytes
    created_at: int

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.content),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
        }


@dataclass
class BatchJob:
    id: str
    input_file_id: str
    endpoint: str
    completion_window: str
    created_at: int
    status: str = "validating"
    polls: int = 0
    times: dict[str, int] = field(default_factory=dict)
    output_file_id: str | None = None
    error_file_id: str | None = None
    counts: dict[str, int] = field(
        default_factory=lambda: {"total": 0, "completed": 0, "failed": 0}
    )
    metadata: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "batch",
            "endpoint": self.endpoint,
            "errors": None,
            "input_file_id": self.input_file_id,
            "completion_window": self.completion_window,
            "status": self.status,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": self.created_at,
            "expires_at": self.created_at + 86400,
            **{f"{name}_at": at for name, at in self.times.items()},
            "request_counts": dict(self.counts),
            "metadata": self.metadata,
        }


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.0: one request per connection, so stop() never waits on an idle keep-alive.
    protocol_version = "HTTP/1.0"
    timeout = 10
    server: _Server

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        content_type = self.headers.get("Content-Type", "")
        reply = self.server.fake.handle(method, self.path, content_type, raw)
        if reply.drop:
            self.close_connection = True
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("Connection", "close")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the tests assert on fake.requests; access logs would only clutter output


class _Server(ThreadingHTTPServer):
    # Non-daemon handler threads are joined by server_close(), so stop() leaves none behind.
    daemon_threads = False
    block_on_close = True
    # Room for a burst of parallel connects: an overflowing backlog makes clients wait ~1 s
    # for a SYN retry, which would serialise a concurrency test.
    request_queue_size = 64

    def __init__(self, fake: FakeOpenAI) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out or hung up makes our late write fail: expected, not news.
        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)


class FakeOpenAI:
    """OpenAI-compatible server on a free loopback port; use as a context manager."""

    def __init__(
        self,
        latency: float = 0.0,
        reject_json_schema: bool = False,
        model: str = "fake-model",
        *,
        batches_supported: bool = True,
        batch_mode: BatchMode = "complete",
        batch_polls: int = 2,
        embeddings_supported: bool = True,
    ) -> None:
        self.latency = latency
        self.rate_limit: RateLimit | None = None  # set one to send rate-limit headers
        # Extra latency per chat request, uniform in [0, jitter), from a seeded generator:
        # real endpoints never answer two requests in exactly the same time.
        self.jitter = 0.0
        self._random = random.Random(6)
        self.reject_json_schema = reject_json_schema
        self.model = model
        self.batches_supported = batches_supported
        self.batch_mode: BatchMode = batch_mode
        # retrieve() calls before a batch is terminal; the ones before answer in_progress.
        self.batch_polls = batch_polls
        # /v1/embeddings: deterministic hashed bag-of-words vectors (``embed_text``); off,
        # the route answers 404 as servers without embeddings do.
        self.embeddings_supported = embeddings_supported
        self.embedding_requests: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []  # chat requests of tasks (no probes)
        self.probes: list[dict[str, Any]] = []  # digest's capability probes
        self.batch_requests: list[dict[str, Any]] = []
        self.spans: list[tuple[float, float]] = []
        self.files: dict[str, StoredFile] = {}
        self.batches: dict[str, BatchJob] = {}
        self.batches_created = 0
        self._faults: deque[Fault] = deque()
        self._probe_faults: deque[Fault] = deque()
        self._default: Fault | None = None
        self._script: tuple[Fault, ...] = ()
        self._attempts: dict[str, int] = {}
        # Consulted on the first attempt of each distinct conversation (bench/soak.py): a
        # fault for it, or None. What it served is recorded in ``planned``.
        self.plan: Callable[[dict[str, Any]], Fault | None] | None = None
        self.planned: list[str] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._ids = itertools.count(1)
        self._serving: ExitStack | None = None
        self.base_url = ""

    # ---- lifecycle -------------------------------------------------------------------
    def start(self) -> FakeOpenAI:
        self._stopping.clear()
        self._serving = ExitStack()
        # Stopping wakes hang()/latency sleepers so their threads can finish.
        server = self._serving.enter_context(serving(_Server(self), on_stop=self._stopping.set))
        host, port = server.server_address[:2]
        self.base_url = f"http://{host!s}:{port}/v1"
        return self

    def stop(self) -> None:
        if self._serving is not None:
            self._serving.close()
            self._serving = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---- knobs and observations ------------------------------------------------------
    def enqueue(self, *faults: Fault) -> None:
        with self._lock:
            self._faults.extend(faults)

    def enqueue_probe(self, *faults: Fault) -> None:
        """Faults for capability probes only (FIFO); ``enqueue`` faults meet tasks only."""
        with self._lock:
            self._probe_faults.extend(faults)

    def set_default(self, fault: Fault | None) -> None:
        with self._lock:
            self._default = fault

    def each_task(self, *faults: Fault) -> None:
        """Every distinct conversation (a task's question, or a re-ask) meets these faults
        on its first attempts, in order, then normal answers: "the first attempt of each
        task answers 429, the second 500" whatever the order the tasks arrive in."""
        with self._lock:
            self._script = faults
            self._attempts.clear()

    @property
    def chat_calls(self) -> int:
        """Chat requests of tasks (answers, re-asks, retries), capability probes apart."""
        with self._lock:
            return len(self.requests)

    @property
    def probe_calls(self) -> int:
        with self._lock:
            return len(self.probes)

    @property
    def all_calls(self) -> int:
        with self._lock:
            return len(self.requests) + len(self.probes)

    @property
    def max_in_flight(self) -> int:
        """Most chat requests the server was handling at one moment (from recorded spans)."""
        with self._lock:
            events = sorted([(s, 1) for s, _ in self.spans] + [(e, -1) for _, e in self.spans])
        peak = current = 0
        for _, step in events:  # at equal times, ends (-1) sort first: touching is not overlap
            current += step
            peak = max(peak, current)
        return peak

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):06d}"

    def _pause(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)

    # ---- routing ---------------------------------------------------------------------
    def handle(self, method: str, path: str, content_type: str, raw: bytes) -> Reply:
        path = path.split("?", 1)[0].rstrip("/")
        parts = path.split("/")[1:]  # "", "v1", ... -> "v1", ...
        if parts[:1] != ["v1"]:
            return _not_found(f"Unknown request URL: {method} {path}")
        route = parts[1:]
        if method == "POST" and route == ["chat", "completions"]:
            return self._chat(raw)
        if method == "POST" and route == ["embeddings"] and self.embeddings_supported:
            return self._embeddings(raw)
        if method == "GET" and route == ["models"]:
            model = {"id": self.model, "object": "model", "created": 0, "owned_by": "fake"}
            return Reply.json({"object": "list", "data": [model]})
        if route[:1] in (["files"], ["batches"]):
            if not self.batches_supported:
                # Servers without batches (Ollama, llama.cpp) have no Files API either.
                return _not_found(f"Unknown request URL: {method} {path}")
            if route[0] == "files":
                return self._files(method, route[1:], content_type, raw)
            return self._batches(method, route[1:], raw)
        return _not_found(f"Unknown request URL: {method} {path}")

    # ---- chat completions ------------------------------------------------------------
    def _chat(self, raw: bytes) -> Reply:
        started = time.monotonic()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return Reply.json(
                _error_body("body is not a JSON object", "invalid_request_error"), 400
            )
        probe = is_probe(body)
        with self._lock:
            (self.probes if probe else self.requests).append(body)
            admitted, limit_headers = self.rate_limit.admit(body) if self.rate_limit else (True, {})
            fault = self._next_fault(body, probe) if admitted else None
            delay = self.latency + self._random.uniform(0, self.jitter)
        try:
            if not admitted:
                message = "Rate limit reached for requests or tokens per minute (fake)"
                data = _error_body(message, "requests", "rate_limit_exceeded")
                return Reply.json(data, 429, limit_headers)
            self._pause(delay)
            reply = self._answer(body, fault)
            reply.headers = {**limit_headers, **reply.headers}
            return reply
        finally:
            with self._lock:
                self.spans.append((started, time.monotonic()))

    def _next_fault(self, body: dict[str, Any], probe: bool) -> Fault | None:
        if self._script or self.plan is not None:
            key = json.dumps(body.get("messages"), sort_keys=True)
            attempt = self._attempts.get(key, 0)
            self._attempts[key] = attempt + 1
            if attempt < len(self._script):
                return self._script[attempt]
            planned = self.plan(body) if self.plan is not None and attempt == 0 else None
            if planned is not None:
                self.planned.append(planned.kind if planned.kind != "status" else str(planned.code))
                return planned
        queue = self._probe_faults if probe else self._faults
        fault = queue.popleft() if queue else self._default
        if probe and fault is not None and fault.kind not in TRANSPORT_FAULTS:
            return None  # a probe's content is never read: only whether it was accepted
        return fault

    def _answer(self, body: dict[str, Any], fault: Fault | None) -> Reply:
        if fault is not None and fault.kind == "hang":
            self._pause(fault.seconds)
            fault = None
        if fault is not None and fault.kind == "status":
            return self._status_reply(fault)
        if fault is not None and fault.kind == "drop":
            return Reply(drop=True)
        if fault is not None and fault.kind == "garbage_http":
            page = b"<html><body><h1>It works!</h1>not an API</body></html>"
            return Reply(200, page, content_type=fault.content or "text/html")
        fmt = body.get("response_format")
        if self.reject_json_schema and isinstance(fmt, dict) and fmt.get("type") == "json_schema":
            # What llama.cpp-style servers answer when they do not support json_schema.
            message = "response_format type 'json_schema' is not supported; use 'json_object'"
            return Reply.json(_error_body(message, "invalid_request_error", 400), 400)
        if body.get("stream"):
            return Reply.json(_error_body("stream is not supported", "invalid_request_error"), 400)
        if is_probe(body):
            return Reply.json(self._completion(body, '{"ok": true}', None, "stop"))
        content, refusal, finish = self._content(body, fault)
        return Reply.json(self._completion(body, content, refusal, finish))

    def _status_reply(self, fault: Fault) -> Reply:
        headers = {}
        if fault.retry_after is not None:
            headers["Retry-After"] = f"{fault.retry_after:g}"
        if fault.body is not None:
            return Reply(fault.code, fault.body.encode(), headers=headers)
        type_ = "rate_limit_exceeded" if fault.code == 429 else "server_error"
        if 400 <= fault.code < 429:
            type_ = "invalid_request_error"
        data = _error_body(f"fake error {fault.code}", type_, str(fault.code))
        return Reply.json(data, fault.code, headers)

    def _content(
        self, body: dict[str, Any], fault: Fault | None
    ) -> tuple[str | None, str | None, str]:
        """(content, refusal, finish_reason) for a 200 answer."""
        answer = answer_for(body)
        if fault is None:
            return json.dumps(answer, ensure_ascii=False), None, "stop"
        if fault.kind == "raw":
            return fault.content, None, "stop"
        if fault.kind == "truncated":
            text = json.dumps(answer, ensure_ascii=False)
            return text[: len(text) // 2], None, "length"
        if fault.kind == "empty":
            return "", None, "stop"
        if fault.kind == "refusal":
            return (None, REFUSAL, "stop") if fault.in_field else (REFUSAL, None, "stop")
        if fault.kind == "wrong_language":
            answer = answer_for(body, fault.lang or "en")
        elif fault.kind == "hostile":
            answer = _hostile(answer)
        elif fault.kind == "hallucinate":
            answer = _hallucinated(answer)
        else:
            raise ValueError(f"unknown fault kind {fault.kind!r}")
        return json.dumps(answer, ensure_ascii=False), None, "stop"

    def _completion(
        self, body: dict[str, Any], content: str | None, refusal: str | None, finish: str
    ) -> dict[str, Any]:
        prompt = sum(word_count(message_text(m)) for m in body.get("messages") or [])
        completion = word_count(content or refusal or "")
        message = {"role": "assistant", "content": content, "refusal": refusal}
        return {
            "id": self._new_id("chatcmpl-"),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": str(body.get("model") or self.model),
            "choices": [
                {"index": 0, "message": message, "finish_reason": finish, "logprobs": None}
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
            "system_fingerprint": "fake",
        }

    # ---- embeddings ------------------------------------------------------------------
    def _embeddings(self, raw: bytes) -> Reply:
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        texts = body.get("input") if isinstance(body, dict) else None
        if isinstance(texts, str):
            texts = [texts]
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            message = "input must be a string or a list of strings"
            return Reply.json(_error_body(message, "invalid_request_error"), 400)
        with self._lock:
            self.embedding_requests.append(body)
        data = [
            {"object": "embedding", "index": n, "embedding": embed_text(text)}
            for n, text in enumerate(texts)
        ]
        words = sum(word_count(t) for t in texts)
        return Reply.json(
            {
                "object": "list",
                "data": data,
                "model": str(body.get("model") or "fake-embedding"),
                "usage": {"prompt_tokens": words, "total_tokens": words},
            }
        )

    # ---- files -----------------------------------------------------------------------
    def _files(self, method: str, route: list[str], content_type: str, raw: bytes) -> Reply:
        if method == "POST" and not route:
            return self._upload(content_type, raw)
        with self._lock:
            stored = self.files.get(route[0]) if route else None
        if stored is None:
            return _not_found(f"No such File object: {route[0] if route else ''}")
        if method == "GET" and route[1:] == ["content"]:
            return Reply(200, stored.content, content_type="application/octet-stream")
        if method == "GET" and len(route) == 1:
            return Reply.json(stored.to_json())
        if method == "DELETE" and len(route) == 1:
            with self._lock:
                del self.files[stored.id]
            return Reply.json({"id": stored.id, "object": "file", "deleted": True})
        return _not_found(f"Unknown request URL: {method} /v1/files/{'/'.join(route)}")

    def _upload(self, content_type: str, raw: bytes) -> Reply:
        fields = parse_multipart(content_type, raw)
        upload = fields.get("file")
        purpose = fields.get("purpose")
        if upload is None or purpose is None:
            message = "multipart/form-data with 'file' and 'purpose' is required"
            return Reply.json(_error_body(message, "invalid_request_error"), 400)
        stored = self._store(upload[0] or "upload.jsonl", purpose[1].decode(), upload[1])
        return Reply.json(stored.to_json())

    def _store(self, filename: str, purpose: str, content: bytes) -> StoredFile:
        stored = StoredFile(self._new_id("file-"), filename, purpose, content, int(time.time()))
        with self._lock:
            self.files[stored.id] = stored
        return stored

    # ---- batches ---------------------------------------------------------------------
    def _batches(self, method: str, route: list[str], raw: bytes) -> Reply:
        if method == "POST" and not route:
            return self._create_batch(raw)
        with self._lock:
            job = self.batches.get(route[0]) if route else None
        if job is None:
            return _not_found(f"No such Batch object: {route[0] if route else ''}")
        if method == "GET" and len(route) == 1:
            self._advance(job)
        elif method == "POST" and route[1:] == ["cancel"]:
            self._cancel(job)
        else:
            return _not_found(f"Unknown request URL: {method} /v1/batches/{'/'.join(route)}")
        with self._lock:
            return Reply.json(job.to_json())

    def _create_batch(self, raw: bytes) -> Reply:
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return Reply.json(
                _error_body("body is not a JSON object", "invalid_request_error"), 400
            )
        if body.get("endpoint") != "/v1/chat/completions":
            message = f"endpoint {body.get('endpoint')!r} is not supported by this fake"
            return Reply.json(_error_body(message, "invalid_request_error"), 400)
        file_id = str(body.get("input_file_id"))
        with self._lock:
            known = file_id in self.files
        if not known:
            return Reply.json(
                _error_body(f"No such File object: {file_id}", "invalid_request_error"), 400
            )
        job = BatchJob(
            id=self._new_id("batch_"),
            input_file_id=file_id,
            endpoint=body["endpoint"],
            completion_window=str(body.get("completion_window", "24h")),
            created_at=int(time.time()),
            metadata=body.get("metadata"),
        )
        with self._lock:
            self.batches[job.id] = job
            self.batches_created += 1
            return Reply.json(job.to_json())

    def _cancel(self, job: BatchJob) -> None:
        with self._lock:
            if job.status in ("validating", "in_progress"):
                job.status = "cancelling"
                job.times["cancelling"] = int(time.time())

    def _advance(self, job: BatchJob) -> None:
        with self._lock:
            if job.status == "cancelling":
                job.status = "cancelled"
                job.times["cancelled"] = int(time.time())
                return
            if job.status not in ("validating", "in_progress"):
                return
            job.polls += 1
            if job.polls < self.batch_polls:
                job.status = "in_progress"
                job.times.setdefault("in_progress", int(time.time()))
                return
            mode = self.batch_mode
            stored = self.files.get(job.input_file_id)
            lines = stored.content.decode().splitlines() if stored else []
        self._finish(job, [line for line in lines if line.strip()], mode)

    def _finish(self, job: BatchJob, lines: list[str], mode: BatchMode) -> None:
        done = len(lines) // 2 if mode == "expire" else len(lines)
        outputs: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for index, line in enumerate(lines):
            if index >= done:
                error = {"code": "batch_expired", "message": "This request could not be executed"}
                errors.append(self._batch_line(_custom_id(line), None, error))
            elif mode == "partial_fail" and index % 3 == 2:
                error = {"code": "server_error", "message": "fake failure of every third line"}
                errors.append(self._batch_line(_custom_id(line), None, error))
            else:
                record = self._run_line(line)
                ok = record["response"] is not None and record["response"]["status_code"] == 200
                (outputs if ok else errors).append(record)
        now = int(time.time())
        output_id = self._store_lines(outputs, "batch_output")
        error_id = self._store_lines(errors, "batch_output")
        with self._lock:
            job.output_file_id, job.error_file_id = output_id, error_id
            job.counts = {"total": len(lines), "completed": len(outputs), "failed": len(errors)}
            job.status = "expired" if mode == "expire" else "completed"
            job.times.setdefault("in_progress", now)
            job.times["expired" if mode == "expire" else "completed"] = now

    def _run_line(self, line: str) -> dict[str, Any]:
        try:
            request = json.loads(line)
            body = request["body"]
            custom_id = str(request["custom_id"])
        except (ValueError, KeyError, TypeError):
            error = {"code": "invalid_json_line", "message": "line is not a valid batch request"}
            return self._batch_line(None, None, error)
        if not isinstance(body, dict) or request.get("url") != "/v1/chat/completions":
            error = {"code": "invalid_request", "message": "only /v1/chat/completions is supported"}
            return self._batch_line(custom_id, None, error)
        with self._lock:
            self.batch_requests.append(body)
        reply = self._answer(body, None)
        response = {
            "status_code": reply.status,
            "request_id": self._new_id("req_"),
            "body": json.loads(reply.body),
        }
        return self._batch_line(custom_id, response, None)

    def _batch_line(
        self, custom_id: str | None, response: dict[str, Any] | None, error: dict[str, Any] | None
    ) -> dict[str, Any]:
        return {
            "id": self._new_id("batch_req_"),
            "custom_id": custom_id,
            "response": response,
            "error": error,
        }

    def _store_lines(self, records: list[dict[str, Any]], purpose: str) -> str | None:
        if not records:
            return None
        data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()
        return self._store("batch_output.jsonl", purpose, data).id


def _custom_id(line: str) -> str | None:
    try:
        value = json.loads(line).get("custom_id")
    except (ValueError, AttributeError):
        return None
    return None if value is None else str(value)


def _append(item: Any, extra: str, *, before: str = "", after: str = "") -> Any:
    """``extra`` added to one text item, whether a string or a claim {"text", "evidence"}."""
    if isinstance(item, dict):
        return {**item, "text": f"{before}{item['text']}{after} {extra}".strip()}
    return f"{before}{item}{after} {extra}".strip()


def _summary_items(answer: dict[str, Any]) -> list[Any]:
    summary = answer["summary"]
    return list(summary) if isinstance(summary, list) else [summary]


def _with_summary(answer: dict[str, Any], items: list[Any]) -> Any:
    return items if isinstance(answer["summary"], list) else items[0]


def _hostile(answer: dict[str, Any]) -> dict[str, Any]:
    if "overview" in answer:
        return {"overview": f"{HOSTILE[0]} {answer['overview']} {HOSTILE[1]} {HOSTILE[2]}"}
    points = answer["key_points"]
    summary = _summary_items(answer)
    summary[0] = _append(summary[0], f"{HOSTILE[1]} {HOSTILE[3]}")
    return {
        **answer,
        "headline": f"{answer['headline']} {HOSTILE[0]}",
        "summary": _with_summary(answer, summary),
        "key_points": [
            _append(points[0], HOSTILE[2]),
            _append(points[1], "| --- |", before="**", after="**"),
            *points[2:],
        ],
    }


def _hallucinated(answer: dict[str, Any]) -> dict[str, Any]:
    if "overview" in answer:
        return {"overview": f"{answer['overview']} {HALLUCINATION}"}
    summary = _summary_items(answer)
    summary[0] = _append(summary[0], HALLUCINATION)
    points = answer["key_points"]
    return {
        **answer,
        "summary": _with_summary(answer, summary),
        "key_points": [_append(points[0], HALLUCINATION), *points[1:]],
    }


def parse_multipart(content_type: str, raw: bytes) -> dict[str, tuple[str | None, bytes]]:
    """Form fields of a multipart/form-data body: name -> (filename, bytes)."""
    header = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(header + raw)
    fields: dict[str, tuple[str | None, bytes]] = {}
    if not message.is_multipart():
        return fields
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            fields[name] = (part.get_filename(), payload)
    return fields
