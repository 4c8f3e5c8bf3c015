"""Conditional GET for feeds and pages: an unchanged feed or page costs one empty 304.

The store is a folder (``OUT/.fetch-state/``, beside the dated editions, so it travels with
them): per URL, the validators the server sent (``ETag``, ``Last-Modified``) and what we made
of the answer (a feed's bytes; a page's extracted article, much smaller than its HTML). The
next request for that URL sends ``If-None-Match`` / ``If-Modified-Since``; a 304 hands back
what was stored. A URL that sent no validators is not stored (nothing to ask with). Entries
not used for ``KEEP_DAYS`` are removed at the end of a run. A damaged entry is a miss.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from pathlib import Path

import httpx
from pydantic import BaseModel, ValidationError

from digest.errors import FetchError
from digest.fsutil import write_atomic
from digest.ingest.fetch import Fetched, fetch

STATE_DIR = ".fetch-state"
KEEP_DAYS = 14


class Stored(BaseModel):
    url: str  # as requested
    final_url: str  # after redirects
    content_type: str
    etag: str | None = None
    last_modified: str | None = None
    kind: str  # "feed" (payload: its bytes) or "page" (payload: the extracted article JSON)

    def request_headers(self) -> dict[str, str]:
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


class FetchCounts:
    """What the network cost: requests sent, 304s among them, body bytes received (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.not_modified = 0
        self.bytes = 0

    def add(self, *, requests: int = 0, not_modified: int = 0, size: int = 0) -> None:
        with self._lock:
            self.requests += requests
            self.not_modified += not_modified
            self.bytes += size


class ConditionalStore:
    """Validators and payloads per URL in ``folder`` (None: the store is off)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder

    @classmethod
    def beside(cls, editions: Path) -> ConditionalStore:
        return cls(editions / STATE_DIR)

    def _paths(self, url: str) -> tuple[Path, Path]:
        assert self.folder is not None
        key = hashlib.sha256(url.encode("utf-8")).hexdigest()[:24]
        return self.folder / f"{key}.json", self.folder / f"{key}.body"

    def get(self, url: str, kind: str) -> tuple[Stored, bytes] | None:
        if self.folder is None:
            return None
        meta, body = self._paths(url)
        try:
            stored = Stored.model_validate(json.loads(meta.read_text(encoding="utf-8")))
            payload = body.read_bytes()
        except (OSError, ValueError, ValidationError):
            return None
        if stored.url != url or stored.kind != kind:
            return None
        return stored, payload

    def put(self, url: str, kind: str, fetched: Fetched, payload: bytes) -> None:
        if self.folder is None or not (fetched.etag or fetched.last_modified):
            return
        stored = Stored(
            url=url,
            final_url=fetched.url,
            content_type=fetched.content_type,
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            kind=kind,
        )
        meta, body = self._paths(url)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            write_atomic(body, payload)
            write_atomic(meta, stored.model_dump_json())
        except OSError:
            pass  # only a later run's 304 is lost

    def touch(self, url: str) -> None:
        if self.folder is None:
            return
        meta, _ = self._paths(url)
        try:
            os.utime(meta)
        except OSError:
            pass

    def prune(self, keep_days: float = KEEP_DAYS) -> int:
        """Remove entries unused for ``keep_days``; how many were removed."""
        if self.folder is None or not self.folder.is_dir():
            return 0
        cutoff = time.time() - keep_days * 86400
        removed = 0
        for meta in self.folder.glob("*.json"):
            try:
                if meta.stat().st_mtime < cutoff:
                    meta.unlink()
                    meta.with_suffix(".body").unlink(missing_ok=True)
                    removed += 1
            except OSError:
                continue
        return removed


def fetch_conditional(
    client: httpx.Client,
    url: str,
    *,
    kind: str,
    store: ConditionalStore,
    counts: FetchCounts,
) -> tuple[Fetched, bytes | None]:
    """(the answer, the stored payload when the server said 304 Not Modified). Raises
    ``FetchError`` as ``fetch`` does."""
    stored = store.get(url, kind)
    headers = stored[0].request_headers() if stored else None
    try:
        fetched = fetch(client, url, kind=kind, headers=headers)
    except FetchError:
        counts.add(requests=1)
        raise
    counts.add(requests=1, size=len(fetched.content))
    if fetched.not_modified and stored is not None:
        counts.add(not_modified=1)
        store.touch(url)
        meta, payload = stored
        return fetched.model_copy(
            update={"url": meta.final_url, "content_type": meta.content_type}
        ), payload
    return fetched, None
