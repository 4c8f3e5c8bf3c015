"""How fast to call: one ``Pacer`` shared by every worker of a run.

Two mechanisms, both consulted before every HTTP attempt (``Pacer.acquire``):

- **Adaptive concurrency (AIMD).** At most ``limit`` requests are in flight. Each success
  adds ``1/limit`` (about one more slot per round of answers), each 429 halves it (once per
  round: a 429 of a request sent before the last cut does not cut again). ``--concurrency``
  is the ceiling, 1 the floor.
- **Rate-limit headers.** OpenAI and Azure send ``x-ratelimit-{limit,remaining,reset}-
  {requests,tokens}`` with every answer (a reset is a duration: ``1s``, ``6m0s``, ``20ms``).
  For each of requests and tokens the pacer keeps the last reading, corrected for what was
  sent after the request it came with and for what refills since (the per-minute limit / 60
  per second; without a limit header, nothing until the announced reset), never above the
  most it has seen remaining (servers enforce a minute's limit over shorter spans too), and
  holds a request back until its cost fits. A 429's
  ``retry-after-ms`` / ``retry-after`` pauses every worker (``pause``).

Costs in tokens are estimates (``estimate_tokens`` of the messages + the prompt's
``max_tokens``, which is also how OpenAI counts a request against its token limit).
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)")
_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def parse_duration(text: str | None) -> float | None:
    """Seconds in a Go-style duration (``6m0s``, ``1.5s``, ``20ms``) or a plain number."""
    if text is None:
        return None
    text = text.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(number) * _UNITS[unit] for number, unit in parts)


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asks us to wait: ``retry-after-ms``, else ``retry-after`` (seconds
    or an HTTP date)."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    seconds = parse_duration(value)
    if seconds is not None:
        return seconds
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def estimate_tokens(messages: list[dict[str, str]]) -> int:
    """A deliberately high guess of a chat's prompt tokens, without a tokenizer: one per three
    bytes of UTF-8 (English runs ~4 characters a token, CJK ~1 character of 3 bytes), plus a
    few per message for the chat template."""
    size = sum(len(str(m.get("content", "")).encode("utf-8")) for m in messages)
    return math.ceil(size / 3) + 4 * len(messages) + 3


def _number(headers: Mapping[str, str], name: str) -> float | None:
    try:
        return float(headers[name])
    except (KeyError, ValueError):
        return None


@dataclass
class Ticket:
    """One admitted request: when it started and the running totals sent up to it."""

    started: float
    requests_sent: float
    tokens_sent: float
    cost: float
    epoch: int


class _Budget:
    """What the server last said about one limit (requests or tokens), and the refill rate."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.limit: float | None = None
        self.remaining: float | None = None
        self.reset_at = 0.0
        self.seen_at = -math.inf  # start of the request the reading came with
        self.sent_mark = 0.0  # running total sent up to and including that request
        self.rate: float | None = None  # units per second
        self.most = 0.0  # the most ever seen remaining: the burst is at least this

    def observe(self, headers: Mapping[str, str], ticket: Ticket, sent_mark: float) -> None:
        remaining = _number(headers, f"x-ratelimit-remaining-{self.kind}")
        if remaining is None or ticket.started < self.seen_at:
            return  # no reading, or older than the one we have
        limit = _number(headers, f"x-ratelimit-limit-{self.kind}")
        reset = parse_duration(headers.get(f"x-ratelimit-reset-{self.kind}"))
        self.limit = limit if limit is not None else self.limit
        self.remaining = remaining
        self.seen_at, self.sent_mark = ticket.started, sent_mark
        self.reset_at = ticket.started + (reset or 0.0)
        self.most = max(self.most, remaining)
        if self.limit is not None:
            self.rate = self.limit / 60  # a per-minute limit, refilled continuously

    def wait(self, sent_total: float, cost: float, now: float) -> float:
        """Seconds until ``cost`` more fits (0: now)."""
        if self.remaining is None:
            return 0.0
        level = self.remaining - (sent_total - self.sent_mark)
        if self.rate is not None:
            level += self.rate * (now - self.seen_at)
        # Never more than the most seen free (+1: the request that reading came with).
        ceiling = self.most + (1 if self.kind == "requests" else 0)
        level = min(level, ceiling)
        cost = min(cost, max(ceiling, 1.0))  # bigger than the burst: wait for a full one
        if level >= cost:
            return 0.0
        if self.rate:
            return (cost - level) / self.rate
        # No refill rate known: wait for the reset the server announced, then assume it.
        return max(0.0, self.reset_at - now)


class Pacer:
    """Shared by all workers of a run; thread-safe."""

    def __init__(
        self,
        ceiling: int,
        *,
        read_headers: bool = True,
        adaptive: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``read_headers`` / ``adaptive`` off: a fixed limit that only pauses on 429s (how
        digest paced before; bench/pacing.py compares)."""
        self.ceiling = max(1, ceiling)
        self.read_headers = read_headers
        self.adaptive = adaptive
        self.limit = float(self.ceiling)
        self._clock = clock
        self._cond = threading.Condition()
        self._in_flight = 0
        self._epoch = 0
        self._resume_at = 0.0
        self._requests_sent = 0.0
        self._tokens_sent = 0.0
        self._budgets = (_Budget("requests"), _Budget("tokens"))
        self._closed = False
        self.rate_limited = 0  # 429s seen
        self.lowest_limit = self.limit

    def acquire(self, tokens: int, cancelled: threading.Event | None = None) -> Ticket | None:
        """Wait until a request of ``tokens`` may start; None if cancelled meanwhile."""
        with self._cond:
            while True:
                if self._closed or (cancelled is not None and cancelled.is_set()):
                    return None
                now = self._clock()
                delay = max(
                    self._resume_at - now,
                    self._budgets[0].wait(self._requests_sent, 1, now),
                    self._budgets[1].wait(self._tokens_sent, tokens, now),
                )
                if delay <= 0 and self._in_flight < int(self.limit):
                    self._in_flight += 1
                    self._requests_sent += 1
                    self._tokens_sent += tokens
                    return Ticket(now, self._requests_sent, self._tokens_sent, tokens, self._epoch)
                # Woken early by a release; a time gate re-checks at least every 0.25 s.
                self._cond.wait(min(delay, 0.25) if delay > 0 else 0.25)

    def release(
        self, ticket: Ticket, *, headers: Mapping[str, str] | None = None, outcome: str = ""
    ) -> None:
        """The request is over: read its headers, then grow (``"ok"``), shrink (``"429"``)
        or stay (any other failure: not a sign of congestion)."""
        with self._cond:
            self._in_flight -= 1
            if headers and self.read_headers:
                self._budgets[0].observe(headers, ticket, ticket.requests_sent)
                self._budgets[1].observe(headers, ticket, ticket.tokens_sent)
            if outcome == "429":
                self.rate_limited += 1
                if self.adaptive and ticket.epoch == self._epoch:
                    self.limit = max(1.0, self.limit / 2)
                    self.lowest_limit = min(self.lowest_limit, self.limit)
                    self._epoch += 1
            elif outcome == "ok" and self.adaptive:
                self.limit = min(float(self.ceiling), self.limit + 1 / self.limit)
            self._cond.notify_all()

    def pause(self, seconds: float) -> None:
        """No request starts for ``seconds`` (a 429's Retry-After applies to every worker)."""
        with self._cond:
            self._resume_at = max(self._resume_at, self._clock() + seconds)

    def close(self) -> None:
        """Wake every waiting worker for good (the run is stopping)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
