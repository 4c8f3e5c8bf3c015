"""Which structured-output mode an endpoint + model takes, decided once, on purpose.

Before the fan-out the run settles its JSON mode (``settle_mode``): remembered in the cache
database (table ``capabilities``, per endpoint and model), else found by the probe: one tiny
request per mode, best first (json_schema, json_object with a schema, json_object, plain).
A refusal counts only when it is about the format (``format_rejected``: 400/422 to this
request, or a message naming response_format / json_schema / schema / grammar); transient
faults (429, 5xx that say nothing about the format, timeouts) are retried like any call, and
an endpoint that stays down or refuses the key ends the run as any call would. The embedded
model's mode is fixed and never probed.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from digest.cache import Cache
from digest.errors import EndpointError, EndpointStatusError
from digest.llm.client import FALLBACK_ORDER, LLMClient, StructuredMode, format_rejected
from digest.llm.client import response_format_for as _format
from digest.models import Usage

PROBE_PROMPT = 'digest capability probe: reply with the JSON {"ok": true} and nothing else.'
PROBE_SCHEMA = {
    "type": "object",
    "properties": {"ok": {"type": "boolean"}},
    "required": ["ok"],
    "additionalProperties": False,
}


class Capability(BaseModel):
    mode: StructuredMode
    source: str  # "probed", "remembered" or "fixed"
    usage: Usage = Usage()  # what the probe cost (nothing when remembered)
    refused: list[str] = []  # modes the endpoint refused, with its reason


def probe_mode(llm: LLMClient) -> Capability:
    """Ask once per mode, best first, until the endpoint takes one."""
    usage = Usage()
    refused: list[str] = []
    for mode in FALLBACK_ORDER:
        try:
            completion = llm.send(_probe_body(llm, mode))
        except EndpointStatusError as exc:
            if mode is StructuredMode.PLAIN or not format_rejected(exc, probing=True):
                raise
            why = f" ({exc.detail})" if exc.detail else ""
            refused.append(f"{mode}: HTTP {exc.status}{why}")
            continue
        usage = usage + completion.usage
        return Capability(mode=mode, source="probed", usage=usage, refused=refused)
    raise EndpointError(f"the LLM endpoint {llm.endpoint} refused every request format")


def _probe_body(llm: LLMClient, mode: StructuredMode) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": llm.model,
        "messages": [{"role": "user", "content": PROBE_PROMPT}],
        "max_tokens": 16,
        "temperature": 0,
    }
    response_format = _format(mode, "probe", PROBE_SCHEMA)
    if response_format is not None:
        body["response_format"] = response_format
    return body


def settle_mode(llm: LLMClient, cache: Cache, *, fresh: bool = False) -> Capability:
    """The run's JSON mode, set on ``llm``: fixed, remembered, or probed now (and then
    remembered). ``fresh`` probes even when a mode is remembered (``digest models``)."""
    if llm.mode_fixed:
        # Nothing to find out; `digest models` (fresh) still checks that it answers.
        usage = llm.send(_probe_body(llm, llm.mode)).usage if fresh else Usage()
        return Capability(mode=llm.mode, source="fixed", usage=usage)

    def remember(mode: StructuredMode) -> None:
        cache.remember_capability(llm.endpoint, llm.model, str(mode))

    remembered = None if fresh else cache.capability(llm.endpoint, llm.model)
    if remembered in set(StructuredMode):
        capability = Capability(mode=StructuredMode(remembered), source="remembered")
    else:  # none yet, or written by another version of digest: probe
        capability = probe_mode(llm)
        remember(capability.mode)
    llm.use_mode(capability.mode, capability.source, on_step_down=remember)
    return capability
