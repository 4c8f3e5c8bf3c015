"""The sections of the settings, each handed only to the part of the program it configures:
``endpoint`` (the LLM and how calls to it behave), ``budget``, ``cache``, ``smtp``, ``mail``
(the newsletter around an edition), ``daily`` (sources, window, stories, fetching),
``review`` (the editor in the loop) and ``notify`` (Apprise URLs). Loading and layering them
is digest.config's job."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import platformdirs
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

APP_NAME = "digest"
DEFAULT_MODEL = "gpt-4o-mini"


def user_cache_dir() -> Path:
    """Overridable so tests (and CI) never touch the real home directory."""
    override = os.environ.get("DIGEST_CACHE_DIR")
    return Path(override) if override else Path(platformdirs.user_cache_dir(APP_NAME))


def user_config_dir() -> Path:
    override = os.environ.get("DIGEST_CONFIG_DIR")
    return Path(override) if override else Path(platformdirs.user_config_dir(APP_NAME))


def _is_http_url(location: str) -> bool:
    return urlsplit(location).scheme.lower() in ("http", "https")


class Section(BaseModel):
    """Every section, and Settings itself: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Price(Section):
    input_per_million: float
    output_per_million: float


class EndpointSettings(Section):
    """Where LLM calls go and how they behave. No base_url, api_key or model_file: the
    embedded local model."""

    base_url: str | None = None
    api_key: SecretStr | None = None
    model: str | None = None
    model_file: Path | None = None
    local_threads: int | None = None
    # The embedded model's context. 4096 was too small: a 3,000-token article, numbered
    # sentences and the prompt came to 5,300 tokens in Gemma's tokenizer (Turkish, Arabic).
    # Every bundled model takes 8k or more; the KV cache costs ~230 MB at 1.5B.
    local_ctx: int = 8192
    concurrency: int = Field(default=8, ge=1, le=256)
    timeout: float = Field(default=120.0, gt=0)
    retries: int = Field(default=5, ge=1, description="transport attempts per call")
    retry_max_seconds: float = Field(default=120.0, gt=0)
    retry_base_delay: float = Field(default=0.5, ge=0, description="first backoff, doubling")
    retry_max_delay: float = Field(default=30.0, ge=0, description="longest single wait")

    @property
    def uses_local_model(self) -> bool:
        return self.base_url is None and self.api_key is None or self.model_file is not None

    def label(self) -> str:
        """Where calls go, safe to print and store: a host, never a key or a URL's userinfo."""
        if self.uses_local_model:
            name = self.model_file.name if self.model_file else "bundled"
            return f"local:{name}"
        if self.base_url:
            parts = urlsplit(self.base_url)
            host = parts.hostname or "?"
            return f"{host}:{parts.port}" if parts.port else host
        return "api.openai.com"

    def secrets(self) -> tuple[str, ...]:
        return (self.api_key.get_secret_value(),) if self.api_key else ()


class BudgetSettings(Section):
    max_tokens: int | None = Field(default=None, ge=1, description="token budget for a run")
    max_cost: float | None = Field(default=None, gt=0)
    prices: dict[str, Price] = {}


class CacheSettings(Section):
    path: Path | None = None
    disabled: bool = False
    retry_withheld: bool = False

    @property
    def file(self) -> Path:
        return self.path if self.path is not None else user_cache_dir() / "cache.sqlite3"

    @property
    def location(self) -> Path | None:
        """The SQLite file, or None when caching is off."""
        return None if self.disabled else self.file


class SmtpSettings(Section):
    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: SecretStr | None = None
    from_addr: str | None = Field(default=None, alias="from")
    security: Literal["starttls", "tls", "none"] = "starttls"
    # The server's certificate is always verified: against the system's CAs, or only this
    # PEM file's (a private CA, a self-signed server).
    ca_file: Path | None = None
    timeout: float = 30.0


class MailSettings(Section):
    """The newsletter around an edition: subject line, unsubscribe link, fallback language."""

    subject: str = "{title} — {date}"
    unsubscribe_url: str | None = None
    # For subscribers whose language the edition lacks; unset, they are reported and skipped.
    fallback_lang: str | None = None


class NotifySettings(Section):
    """Where `digest notify` posts: Apprise URLs, secrets in them, so kept as secrets."""

    urls: list[SecretStr] = []

    @field_validator("urls", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        # DIGEST_NOTIFY_URLS holds several, separated by spaces or commas (as Apprise's own)
        return [u for u in re.split(r"[\s,]+", value) if u] if isinstance(value, str) else value


class ReviewSettings(Section):
    """The editor in the loop (digest.review). ``required``: `digest send` refuses an
    edition with undecided items. ``editor``: who decides (default: the OS user)."""

    mode: Literal["optional", "required"] = "optional"
    editor: str | None = None


class SourceConfig(Section):
    """One source of the daily edition: a feed, a list of URLs, or a folder of files."""

    feed: str | None = None
    urls: list[str] = []
    folder: str | None = None
    section: str | None = None

    def resolved(self, base: Path) -> SourceConfig:
        """Feed files and folders as absolute paths, a relative one taken from ``base`` (the
        config file's folder); URLs are left alone; ``~`` is expanded."""

        def resolve(location: str) -> str:
            return str((base / Path(location).expanduser()).resolve())

        return self.model_copy(
            update={
                "feed": resolve(self.feed)
                if self.feed and not _is_http_url(self.feed)
                else self.feed,
                "folder": resolve(self.folder) if self.folder else None,
            }
        )


DEFAULT_SECTIONS = ["World", "Politics", "Business", "Technology", "Science", "Sport", "Culture"]


class DailySettings(Section):
    """`digest daily`: sources and window, how articles become stories, sections, fetching."""

    sources: list[SourceConfig] = []
    since: str = "24h"
    max_stories: int = Field(default=20, ge=1)
    # Stories: articles of one event across outlets and languages (digest.ingest.clusters).
    cluster_window: str = "48h"  # articles further apart never share a story
    embeddings: Literal["auto", "off"] = "auto"  # auto: when the endpoint serves them
    embedding_model: str = "text-embedding-3-small"
    embedding_threshold: float = Field(default=0.8, gt=0, le=1)
    confirm_merges: bool = False  # ask prompts/same-event about borderline merges
    same_event_prompt: str = "same-event"
    story_prompt: str = "summarize-story"  # a story from several sources, or an update
    continuity_days: int = Field(default=3, ge=0)  # updates of stories this many days back
    # Sections: this list, filled from a source's section, feed categories (category_map,
    # then built-in words) or, with classify, prompts/classify-section.
    sections: list[str] = DEFAULT_SECTIONS
    category_map: dict[str, str] = {}
    classify: bool = False
    classify_prompt: str = "classify-section"
    min_section_stories: int = Field(default=2, ge=1)  # fewer: "More news", no heading
    # Fetching: conditional GET (ETag / Last-Modified, state in OUT/.fetch-state/) and
    # at most per_host requests at once to one host, fetch_concurrency in all.
    conditional_get: bool = True
    per_host: int = Field(default=2, ge=1)
    fetch_concurrency: int = Field(default=8, ge=1, le=64)
