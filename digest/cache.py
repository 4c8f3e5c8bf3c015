"""Pay once: LLM answers kept in SQLite, keyed by everything that could change the answer.

Key = sha256 of canonical JSON of (kind, article hash, prompt name@version + fingerprint,
model, endpoint, language, output schema). Values are the StoryResult/BriefResult JSON.
WAL mode and a busy timeout let two runs share one file; a corrupt file is moved aside
and a locked one is worked around (the run goes on without caching), never a crash.
Keys and values never contain API keys: the endpoint is recorded as a host.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

# Ordered schema migrations; PRAGMA user_version records how many ran.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE IF NOT EXISTS answers (
        key TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        article TEXT NOT NULL,
        lang TEXT NOT NULL,
        prompt TEXT NOT NULL,
        model TEXT NOT NULL,
        value TEXT NOT NULL,
        created REAL NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS answers_article ON answers(article)",
    # What each endpoint + model takes (digest.llm.probe), so a re-run does not probe again.
    """
    CREATE TABLE IF NOT EXISTS capabilities (
        endpoint TEXT NOT NULL,
        model TEXT NOT NULL,
        structured_mode TEXT NOT NULL,
        probed REAL NOT NULL,
        PRIMARY KEY (endpoint, model)
    )
    """,
]


class CacheStats(BaseModel):
    path: str
    entries: int
    bytes: int
    by_prompt: dict[str, int]
    by_model: dict[str, int]


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def cache_key(**parts: str) -> str:
    return hashlib.sha256(canonical_json(parts).encode("utf-8")).hexdigest()


class Cache:
    """Thread-safe; ``Cache(None)`` is a cache that stores nothing (``--no-cache``)."""

    def __init__(self, path: Path | None, warn: Callable[[str], None] = lambda _m: None) -> None:
        self.path = path
        self._warn = warn
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self.hits = 0
        if path is not None:
            self._db = self._open(path)

    def _open(self, path: Path) -> sqlite3.Connection | None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            db = self._connect(path)
        except sqlite3.DatabaseError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                self._warn(f"cache {path} is locked by another process; running without cache")
                return None
            aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
            try:
                path.rename(aside)
                db = self._connect(path)
            except (OSError, sqlite3.DatabaseError) as again:
                self._warn(f"cache {path} is unusable ({again}); running without cache")
                return None
            self._warn(f"cache {path} was corrupt; moved it to {aside.name} and started afresh")
        except OSError as exc:
            self._warn(f"cannot open cache {path} ({exc.strerror}); running without cache")
            return None
        return db

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(path, timeout=10, check_same_thread=False, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout=10000")
            db.execute("PRAGMA journal_mode=WAL")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            for index, statement in enumerate(MIGRATIONS[version:], start=version):
                db.execute(statement)
                db.execute(f"PRAGMA user_version={index + 1}")
            db.execute("SELECT count(*) FROM answers").fetchone()
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    @property
    def enabled(self) -> bool:
        return self._db is not None

    def get(self, key: str) -> dict[str, Any] | None:
        if self._db is None:
            return None
        try:
            with self._lock:
                row = self._db.execute("SELECT value FROM answers WHERE key=?", (key,)).fetchone()
        except sqlite3.DatabaseError as exc:
            self._warn(f"cache read failed ({exc}); asking the model instead")
            return None
        if row is None:
            return None
        try:
            value: dict[str, Any] = json.loads(row[0])
        except json.JSONDecodeError:
            return None
        self.hits += 1
        return value

    def put(self, key: str, value: dict[str, Any], **meta: str) -> None:
        if self._db is None:
            return
        try:
            with self._lock:
                self._db.execute(
                    "INSERT OR REPLACE INTO answers(key, kind, article, lang, prompt, model, value,"
                    " created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        key,
                        meta.get("kind", ""),
                        meta.get("article", ""),
                        meta.get("lang", ""),
                        meta.get("prompt", ""),
                        meta.get("model", ""),
                        canonical_json(value),
                        time.time(),
                    ),
                )
        except sqlite3.DatabaseError as exc:
            self._warn(f"cache write failed ({exc}); the answer is used but not kept")

    def capability(self, endpoint: str, model: str) -> str | None:
        """The structured-output mode remembered for this endpoint and model, if any."""
        if self._db is None:
            return None
        try:
            with self._lock:
                row = self._db.execute(
                    "SELECT structured_mode FROM capabilities WHERE endpoint=? AND model=?",
                    (endpoint, model),
                ).fetchone()
        except sqlite3.DatabaseError:
            return None
        return str(row[0]) if row else None

    def remember_capability(self, endpoint: str, model: str, structured_mode: str) -> None:
        if self._db is None:
            return
        try:
            with self._lock:
                self._db.execute(
                    "INSERT OR REPLACE INTO capabilities(endpoint, model, structured_mode, probed)"
                    " VALUES (?, ?, ?, ?)",
                    (endpoint, model, structured_mode, time.time()),
                )
        except sqlite3.DatabaseError as exc:
            self._warn(f"cache write failed ({exc}); the endpoint will be probed again next run")

    def stats(self) -> CacheStats:
        entries, by_prompt, by_model = 0, {}, {}
        if self._db is not None:
            with self._lock:
                entries = self._db.execute("SELECT count(*) FROM answers").fetchone()[0]
                by_prompt = dict(
                    self._db.execute("SELECT prompt, count(*) FROM answers GROUP BY prompt")
                )
                by_model = dict(
                    self._db.execute("SELECT model, count(*) FROM answers GROUP BY model")
                )
        size = (
            sum(
                p.stat().st_size
                for p in (self.path, *(self.path.with_name(self.path.name + s) for s in ("-wal",)))
                if p is not None and p.exists()
            )
            if self.path
            else 0
        )
        return CacheStats(
            path=str(self.path), entries=entries, bytes=size, by_prompt=by_prompt, by_model=by_model
        )

    def clear(self) -> int:
        if self._db is None:
            return 0
        with self._lock:
            count = self._db.execute("SELECT count(*) FROM answers").fetchone()[0]
            self._db.execute("DELETE FROM answers")
            self._db.execute("VACUUM")
        return int(count)

    def close(self) -> None:
        if self._db is not None:
            with self._lock:
                self._db.close()
            self._db = None

    def __enter__(self) -> Cache:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
