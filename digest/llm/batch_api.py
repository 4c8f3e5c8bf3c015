"""The OpenAI Batch API (Files + Batches) as the batch runner needs it, over ``Wire``.

Every endpoint error becomes ``BatchUnavailable`` (the run goes on with direct calls) or,
while polling, ``BatchPollError`` (try again later).
"""

from __future__ import annotations

import json
from typing import Any

from digest.errors import EndpointError, EndpointStatusError
from digest.llm.wire import BatchInfo, Wire

__all__ = ["BatchAPI", "BatchInfo", "BatchPollError", "BatchUnavailable"]


class BatchUnavailable(Exception):
    """No usable Batch API for this run (none at the endpoint, refused, unreachable)."""


class BatchPollError(Exception):
    """A passing failure while polling or downloading; the batch may still finish."""


def _status(exc: EndpointError) -> int | None:
    return exc.status if isinstance(exc, EndpointStatusError) else None


class BatchAPI:
    def __init__(self, wire: Wire) -> None:
        self._wire = wire
        self.endpoint = wire.endpoint

    def submit(self, jsonl: bytes, url: str, metadata: dict[str, str]) -> tuple[str, str]:
        """(batch id, input file id) of a new batch over these JSONL lines."""
        try:
            file_id = self._wire.upload_batch_file(jsonl)
            batch_id = self._wire.create_batch(file_id, url, metadata)
        except EndpointError as exc:
            status = _status(exc)
            if status == 404:
                raise BatchUnavailable(
                    f"the endpoint {self.endpoint} has no Batch API (HTTP 404 on /v1/files or "
                    "/v1/batches)"
                ) from None
            if status is not None:
                raise BatchUnavailable(f"the batch was refused (HTTP {status})") from None
            raise BatchUnavailable(f"cannot reach {self.endpoint} to submit a batch") from None
        return batch_id, file_id

    def retrieve(self, batch_id: str) -> BatchInfo:
        try:
            return self._wire.batch(batch_id)
        except EndpointError as exc:
            if _status(exc) == 404:
                raise BatchUnavailable(f"batch {batch_id} is unknown to the endpoint") from None
            raise BatchPollError(f"cannot check batch {batch_id} ({type(exc).__name__})") from None

    def lines(self, file_id: str) -> list[dict[str, Any]]:
        """The JSON objects of a batch output (or error) file; unreadable lines are skipped."""
        try:
            text = self._wire.file_text(file_id)
        except EndpointError as exc:
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
            self._wire.cancel_batch(batch_id)
        except EndpointError:
            pass  # it expires on its own; we only try not to pay for answers we won't use
