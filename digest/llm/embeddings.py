"""Embeddings from the configured endpoint's ``/v1/embeddings`` (``Wire.embeddings``), for
clustering the day's articles (``cluster_articles(embed=...)``).

``probe`` asks once, for one tiny input, whether the endpoint serves embeddings for the
model; an endpoint without them (HTTP 404, or a refusal of the model) is not an error: the
caller clusters lexically and records why. ``embedder`` then embeds the day's texts in
batches; a failure after a good probe raises ``EmbeddingsUnavailable``, which the caller
also turns into the lexical method.
"""

from __future__ import annotations

from collections.abc import Callable

from digest.errors import EndpointError, EndpointStatusError
from digest.llm.wire import Wire

Embedder = Callable[[list[str]], list[list[float]]]
BATCH = 64  # inputs per request: well under every server's limit
PROBE_TEXT = "probe"


class EmbeddingsUnavailable(Exception):
    """The endpoint gives no embeddings (now): cluster without them."""


def probe(wire: Wire, model: str) -> str | None:
    """None when ``model`` answers embeddings at this endpoint; else why not, in a few words
    (a 404 says "the endpoint has no /v1/embeddings")."""
    try:
        vectors = wire.embeddings(model, [PROBE_TEXT])
    except EndpointStatusError as exc:
        if exc.status == 404:
            return "the endpoint has no /v1/embeddings (HTTP 404)"
        return f"embeddings refused (HTTP {exc.status})"
    except EndpointError as exc:
        return f"no embeddings ({exc.message})"
    if len(vectors) != 1 or not vectors[0]:
        return "the endpoint answered embeddings without vectors"
    return None


def embedder(wire: Wire, model: str, batch: int = BATCH) -> Embedder:
    """Texts -> vectors, in input order, ``batch`` texts per request."""

    def embed(texts: list[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), batch):
            chunk = texts[start : start + batch]
            try:
                answer = wire.embeddings(model, chunk)
            except EndpointError as exc:
                raise EmbeddingsUnavailable(exc.message) from None
            if len(answer) != len(chunk):
                raise EmbeddingsUnavailable(
                    f"the endpoint returned {len(answer)} vectors for {len(chunk)} texts"
                )
            vectors.extend(answer)
        return vectors

    return embed
