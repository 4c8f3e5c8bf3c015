"""Files in and out: capped reads worded for the user, and atomic writes (a crash or Ctrl-C
never leaves a half-written output behind)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from digest.errors import FileError, file_error

# One cap for every file or page we read: a news article is rarely over 1 MB, and anything
# far bigger is not one (or is an attempt to exhaust memory).
MAX_INPUT_BYTES = 5_000_000
# How much of an article goes to the model (cut at a sentence end beyond that).
MAX_ARTICLE_TOKENS = 3000


def read_capped(path: Path, max_bytes: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of a regular file no bigger than ``max_bytes``; else one ``FileError``."""
    try:
        if not path.is_file() and path.exists():
            raise FileError(path, "not a regular file")
        size = path.stat().st_size
        if size > max_bytes:
            raise FileError(path, f"{size:,} bytes, over the limit of {max_bytes:,} bytes")
        return path.read_bytes()
    except OSError as exc:
        raise file_error(path, exc) from None


def write_atomic(path: Path, data: str | bytes) -> Path:
    """Write to a temp file in the same folder, fsync, then rename over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes 0600 files; outputs are meant to be served and mailed, like any file.
        os.chmod(tmp_name, 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(path: Path, data: Any) -> Path:
    return write_atomic(
        path, json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False) + "\n"
    )
