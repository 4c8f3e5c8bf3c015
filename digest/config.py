"""Settings, layered: defaults < config file < environment < command-line flags.

Config file: ``--config PATH``, else ``./digest.toml``, else ``[tool.digest]`` in
``./pyproject.toml``, else ``digest.toml`` in the user config dir. Environment: the openai
package's own ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL``, plus ``DIGEST_<FIELD>`` for any
top-level field (``DIGEST_MODEL``, ``DIGEST_CONCURRENCY`` ...) and ``DIGEST_SMTP_<FIELD>``
(+ ``DIGEST_FROM``) for mail. Secrets are ``SecretStr``: they print as ``**********``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from digest.errors import UsageError

APP_NAME = "digest"


def user_cache_dir() -> Path:
    """Overridable so tests (and CI) never touch the real home directory."""
    override = os.environ.get("DIGEST_CACHE_DIR")
    return Path(override) if override else Path(platformdirs.user_cache_dir(APP_NAME))


def user_config_dir() -> Path:
    override = os.environ.get("DIGEST_CONFIG_DIR")
    return Path(override) if override else Path(platformdirs.user_config_dir(APP_NAME))


class Price(BaseModel):
    model_config = ConfigDict(extra="forbid")
    input_per_million: float
    output_per_million: float


class SmtpSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: SecretStr | None = None
    from_addr: str | None = Field(default=None, alias="from")
    security: Literal["starttls", "tls", "none"] = "starttls"
    timeout: float = 30.0


class SourceConfig(BaseModel):
    """One source of the daily edition: a feed, a list of URLs, or a folder of files."""

    model_config = ConfigDict(extra="forbid")
    feed: str | None = None
    urls: list[str] = []
    folder: str | None = None
    section: str | None = None


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    # Endpoint. None of base_url / api_key / model_file means: the embedded local model.
    base_url: str | None = None
    api_key: SecretStr | None = None
    model: str | None = None
    model_file: Path | None = None
    local_threads: int | None = None
    local_ctx: int = 4096

    languages: list[str] = ["en"]
    out: Path = Path("digest-out")
    title: str = "News digest"
    prompt: str = "summarize"
    brief_prompt: str = "briefing"

    concurrency: int = Field(default=8, ge=1, le=256)
    timeout: float = Field(default=120.0, gt=0)
    retries: int = Field(default=5, ge=1, description="transport attempts per call")
    retry_max_seconds: float = Field(default=120.0, gt=0)
    reasks: int = Field(default=2, ge=0, description="re-asks after a bad answer")
    max_article_tokens: int = Field(default=3000, ge=200)

    cache: Path | None = None
    no_cache: bool = False
    retry_withheld: bool = False

    max_tokens: int | None = Field(default=None, ge=1, description="token budget for a run")
    max_cost: float | None = Field(default=None, gt=0)
    prices: dict[str, Price] = {}

    smtp: SmtpSettings = SmtpSettings()
    unsubscribe_url: str | None = None
    subject: str = "{title} — {date}"

    sources: list[SourceConfig] = []
    since: str = "24h"
    max_stories: int = Field(default=20, ge=1)

    @property
    def uses_local_model(self) -> bool:
        return self.base_url is None and self.api_key is None or self.model_file is not None

    @property
    def cache_path(self) -> Path:
        return self.cache if self.cache is not None else user_cache_dir() / "cache.sqlite3"

    def endpoint_label(self) -> str:
        """Where calls go, safe to print and store: a host, never a key or a URL's userinfo."""
        if self.uses_local_model:
            name = self.model_file.name if self.model_file else "bundled"
            return f"local:{name}"
        if self.base_url:
            parts = urlsplit(self.base_url)
            host = parts.hostname or "?"
            return f"{host}:{parts.port}" if parts.port else host
        return "api.openai.com"


def find_config_file(explicit: Path | None) -> Path | None:
    if explicit is not None:
        if not explicit.is_file():
            raise UsageError(f"config file not found: {explicit}")
        return explicit
    for candidate in (Path("digest.toml"), user_config_dir() / "digest.toml"):
        if candidate.is_file():
            return candidate
    pyproject = Path("pyproject.toml")
    if pyproject.is_file() and "digest" in _read_toml(pyproject).get("tool", {}):
        return pyproject
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"cannot read config file {path}: {exc}") from None


def _file_values(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    data = _read_toml(path)
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("digest", {})
    return dict(data)


def _env_values(env: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if env.get("OPENAI_API_KEY"):
        values["api_key"] = env["OPENAI_API_KEY"]
    if env.get("OPENAI_BASE_URL"):
        values["base_url"] = env["OPENAI_BASE_URL"]
    smtp: dict[str, Any] = {}
    for key, value in env.items():
        if not key.startswith("DIGEST_") or value == "":
            continue
        name = key.removeprefix("DIGEST_").lower()
        if name.startswith("smtp_"):
            smtp[name.removeprefix("smtp_")] = value
        elif name == "from":
            smtp["from"] = value
        elif name in Settings.model_fields and name not in {"smtp", "prices", "sources"}:
            values[name] = value.split(",") if name == "languages" else value
    if smtp:
        values["smtp"] = smtp
    return values


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if value is None:
            continue
        if isinstance(value, Mapping):
            # Recursing also drops None inside a section no earlier layer set.
            previous = merged.get(key)
            merged[key] = _merge(dict(previous) if isinstance(previous, Mapping) else {}, value)
        else:
            merged[key] = value
    return merged


def load_settings(
    flags: Mapping[str, Any] | None = None,
    config_file: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Build Settings from every layer; a bad value is one UsageError naming the field."""
    path = find_config_file(config_file)
    values = _merge(_file_values(path), _env_values(os.environ if env is None else env))
    values = _merge(values, flags or {})
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        origin = f" (from {path})" if path else ""
        # Never echo the rejected input: it may be a secret.
        raise UsageError(f"invalid setting {where}{origin}: {first['msg']}") from None
