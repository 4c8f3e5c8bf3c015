"""Ask for one structured answer and re-ask (bounded, with tenacity) until it passes.

An answer fault (empty, refused, cut off, not JSON, not schema-valid, failing the quality
gates) is sent back to the model saying what was wrong. What still fails after the last
re-ask is returned as withheld, with the reason and every token it cost.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import NamedTuple

from pydantic import BaseModel, ValidationError
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt

from digest.errors import ContextOverflow
from digest.llm.wire import Completion
from digest.models import Check, Usage
from digest.prompts import PromptSpec

GateFn = Callable[[BaseModel], list[Check]]


class AnswerFault(Exception):
    """The endpoint answered, but not with something we can publish."""

    def __init__(
        self,
        reason: str,
        feedback: str,
        candidate: BaseModel | None = None,
        checks: list[Check] | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.feedback = feedback
        self.candidate = candidate
        self.checks = checks or []


class _NoRoom(Exception):
    """The conversation no longer fits the model's context (never re-asked)."""


class Answer(BaseModel):
    value: BaseModel | None
    checks: list[Check]
    attempts: int
    usage: Usage
    reason: str | None = None  # set when withheld
    extra_keys: list[str] = []  # keys of the last answer that the schema does not name


class Parsed(NamedTuple):
    value: BaseModel
    extra_keys: list[str]


_FENCE_RE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


def parse_answer(
    content: str, finish_reason: str | None, refusal: str | None, model: type[BaseModel]
) -> Parsed:
    """The answer validated on the fields ``model`` names; other keys are listed, not fatal."""
    if refusal:
        raise AnswerFault("the model refused", "Do not refuse: summarise the article as asked.")
    if finish_reason == "length":
        raise AnswerFault(
            "the answer was cut off (token limit)",
            "Your answer was cut off. Answer again, shorter, as one complete JSON object.",
        )
    text = content.strip()
    if not text:
        raise AnswerFault("empty answer", "Your answer was empty. Answer with the JSON object.")
    fenced = _FENCE_RE.match(text)
    if fenced:
        text = fenced.group(1)
    try:
        # strict=False: raw newlines inside strings (llama.cpp grammars allow them) are fine.
        data = json.loads(text, strict=False)
    except json.JSONDecodeError as exc:
        raise AnswerFault(
            f"not valid JSON ({exc.msg} at char {exc.pos})",
            f"Your answer was not valid JSON ({exc.msg}). Answer with one JSON object only.",
        ) from None
    try:
        value = model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'answer'}: {err['msg']}"
            for err in exc.errors()[:5]
        )
        raise AnswerFault(
            f"answer does not match the schema ({problems})",
            f"Your JSON did not match the required shape: {problems}. Fix it.",
        ) from None
    extra = sorted(str(k) for k in data if k not in model.model_fields)
    return Parsed(value, extra)


def ask(
    complete: Callable[[list[dict[str, str]]], Completion],
    spec: PromptSpec,
    messages: list[dict[str, str]],
    gate: GateFn,
    *,
    reasks: int,
    feedback_text: Callable[[list[Check]], str],
) -> Answer:
    """Ask (``complete``: one paid call for a conversation), validate, gate; re-ask at most
    ``reasks`` times. Never raises AnswerFault."""
    conversation = list(messages)
    usage = Usage()
    attempts = 0
    last: AnswerFault | None = None
    extra_keys: list[str] = []

    def attempt() -> tuple[BaseModel, list[Check]]:
        nonlocal usage, attempts, last, extra_keys
        attempts += 1
        try:
            completion = complete(conversation)
        except ContextOverflow as exc:
            attempts -= 1  # nothing was answered, nothing paid
            raise _NoRoom(exc.detail) from None
        usage = usage + completion.usage
        try:
            value, extra_keys = parse_answer(
                completion.content, completion.finish_reason, completion.refusal, spec.schema_model
            )
            checks = gate(value)
            failed = [c for c in checks if c.status == "fail"]
            if failed:
                raise AnswerFault(
                    "failed checks: " + "; ".join(f"{c.name}: {c.detail}" for c in failed),
                    feedback_text(checks),
                    candidate=value,
                    checks=checks,
                )
        except AnswerFault as fault:
            last = fault
            conversation.extend(
                [
                    {"role": "assistant", "content": completion.content[:4000]},
                    {"role": "user", "content": fault.feedback},
                ]
            )
            raise
        return value, checks

    retrying = Retrying(
        stop=stop_after_attempt(reasks + 1),
        retry=retry_if_exception_type(AnswerFault),
        reraise=True,
    )
    try:
        value, checks = retrying(attempt)
    except _NoRoom as full:
        # A re-ask carries the earlier answer and the feedback: it can outgrow a context the
        # first question fitted. Then the last answer's verdict stands.
        if last is not None:
            return Answer(
                value=last.candidate,
                checks=last.checks,
                attempts=attempts,
                usage=usage,
                reason=f"a re-ask would not fit the model's context; {last.reason}",
                extra_keys=extra_keys,
            )
        return Answer(
            value=None,
            checks=[],
            attempts=attempts,
            usage=usage,
            reason=f"too long for the model's context ({full})",
        )
    except AnswerFault:
        assert last is not None
        return Answer(
            value=last.candidate,
            checks=last.checks,
            attempts=attempts,
            usage=usage,
            reason=last.reason,
            extra_keys=extra_keys,
        )
    return Answer(value=value, checks=checks, attempts=attempts, usage=usage, extra_keys=extra_keys)
