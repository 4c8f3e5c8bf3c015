"""Settings -> a ready LLMClient: a configured remote endpoint, or the embedded local model."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from digest.llm.client import LLMClient, RetryPolicy, StructuredMode
from digest.llm.local import LocalServer, resolve_model
from digest.llm.pacing import Pacer
from digest.llm.wire import Wire
from digest.sections import DEFAULT_MODEL, EndpointSettings

SWITCH_HINT = (
    "to use a real endpoint set OPENAI_BASE_URL (and OPENAI_API_KEY) and --model; "
    "or bring a bigger GGUF with --model-file"
)


# One answer of the embedded model on 2 busy cores: a long prompt read at ~20 tokens/s plus
# up to 900 generated tokens took over 120 s (bench/eval_models.py). A timeout there only
# catches a hung server, and a retry after it waits behind the abandoned request.
LOCAL_MIN_TIMEOUT = 600.0


def local_timeout(settings: EndpointSettings) -> float:
    return max(settings.timeout, LOCAL_MIN_TIMEOUT)


def retry_policy(settings: EndpointSettings) -> RetryPolicy:
    return RetryPolicy(
        attempts=settings.retries,
        max_seconds=settings.retry_max_seconds,
        base_delay=settings.retry_base_delay,
        max_delay=settings.retry_max_delay,
    )


@contextmanager
def open_endpoint(settings: EndpointSettings, notice: Callable[[str], None]) -> Iterator[LLMClient]:
    """Yields the client; a local server (if any) lives exactly as long as the block. The
    JSON mode of a remote endpoint is settled later, with the cache (``digest.llm.probe``)."""
    secrets = settings.secrets()
    if settings.uses_local_model:
        model_path, chat_format = resolve_model(settings.model_file, settings.model, notice)
        notice(
            f"using the embedded local model {model_path.name} (llama.cpp on 127.0.0.1); "
            + SWITCH_HINT
        )
        with LocalServer(
            model_path,
            chat_format=chat_format,
            threads=settings.local_threads,
            ctx=settings.local_ctx,
            startup_timeout=max(settings.timeout, 60.0),
        ) as server:
            wire = Wire(
                server.base_url,
                None,
                timeout=local_timeout(settings),
                endpoint=settings.label(),
                model=f"local/{model_path.stem}",
                secrets=secrets,
            )
            yield LLMClient(
                wire,
                policy=retry_policy(settings),
                pacer=Pacer(1),
                # llama.cpp's server takes a schema only through json_object (grammar).
                mode=StructuredMode.JSON_OBJECT_SCHEMA,
                max_concurrency=1,
            )
        return
    model = settings.model or DEFAULT_MODEL
    notice(f"using endpoint {settings.label()} with model {model}")
    wire = Wire(
        settings.base_url,
        settings.api_key.get_secret_value() if settings.api_key else None,
        timeout=settings.timeout,
        endpoint=settings.label(),
        model=model,
        secrets=secrets,
    )
    # --concurrency is the ceiling; the pacer moves below it on 429s and rate-limit headers.
    yield LLMClient(wire, policy=retry_policy(settings), pacer=Pacer(settings.concurrency))
