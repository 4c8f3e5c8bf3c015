"""Settings, layered: defaults < config file < environment < command-line flags.

Config file: ``--config PATH``, else ``./digest.toml``, else ``[tool.digest]`` in
``./pyproject.toml``, else ``digest.toml`` in the user config dir. Environment: the openai
package's own ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL``, plus ``DIGEST_<KEY>`` for any plain
key (``DIGEST_MODEL``, ``DIGEST_CONCURRENCY`` ...) and ``DIGEST_SMTP_<KEY>`` (+
``DIGEST_FROM``) for mail. Secrets are ``SecretStr``: they print as ``**********``.

In memory the settings come in sections, and each layer of the program receives only its
own: ``endpoint`` (the LLM and how calls to it behave), ``budget``, ``cache``, ``smtp``,
``mail`` (the newsletter around the edition), ``daily`` (sources, window), ``review``
(the editor in the loop: ``review = "required"``, ``editor``) and ``notify`` (Apprise URLs).
The file may
use the sections as tables (``[endpoint]``) or the flat keys of earlier versions
(``model = ...`` at the top); ``FLAT_KEYS`` routes each flat key to its section, and the
same names serve the environment and the flags. Every path in a config file (feeds,
folders, ``model_file``, ``cache``, ``smtp.ca_file``) is read from the file's own folder
when relative.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator

from digest.errors import UsageError, file_error, first_error
from digest.fsutil import MAX_ARTICLE_TOKENS
from digest.sections import (
    BudgetSettings,
    CacheSettings,
    DailySettings,
    EndpointSettings,
    MailSettings,
    NotifySettings,
    ReviewSettings,
    Section,
    SmtpSettings,
    user_config_dir,
)


class Settings(Section):
    """Everything a command needs: the edition's own keys at the top, the rest in sections."""

    languages: list[str] = ["en"]
    out: Path = Path("digest-out")
    title: str | None = None  # None: the translated default ("News digest", "Haber özeti" ...)
    titles: dict[str, str] = {}  # per language code ("de" = "Morgenlage"), over `title`
    colophon: bool = False  # readers see model, prompt and tokens under the edition
    # Where `digest archive` is published (https://news.example.org/archive/): feeds link
    # their entries there and take their id authority (tag:news.example.org,...) from it.
    site_url: str | None = None
    prompt: str = "summarize"
    brief_prompt: str = "briefing"
    reasks: int = Field(default=2, ge=0, description="re-asks after a bad answer")
    strategy: Literal["pivot", "direct"] = "pivot"
    translate_prompt: str = "translate"
    verify: bool = False  # the verifier pass: one more call per summary (README: when)
    verify_prompt: str = "verify"
    evidence: bool = False  # readers see footnotes quoting the source sentences
    extract_fallback: bool = True  # the article's own key sentences when its summary fails
    source_language_fallback: bool = True  # the article-language summary, labelled, in place

    max_article_tokens: int = Field(default=MAX_ARTICLE_TOKENS, ge=200)

    endpoint: EndpointSettings = EndpointSettings()
    budget: BudgetSettings = BudgetSettings()
    cache: CacheSettings = CacheSettings()
    smtp: SmtpSettings = SmtpSettings()
    mail: MailSettings = MailSettings()
    daily: DailySettings = DailySettings()
    review: ReviewSettings = ReviewSettings()
    notify: NotifySettings = NotifySettings()

    config_file: Path | None = Field(default=None, exclude=True)

    @field_validator("site_url")
    @classmethod
    def _site_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL such as https://news.example.org/archive/")
        return value if value.endswith("/") else value + "/"


# Flat keys (the file's top level, DIGEST_<KEY>, command-line flags) -> (section, field).
FLAT_KEYS: dict[str, tuple[str, str]] = {
    **{
        key: ("endpoint", key)
        for key in (
            "base_url",
            "api_key",
            "model",
            "model_file",
            "local_threads",
            "local_ctx",
            "concurrency",
            "timeout",
            "retries",
            "retry_max_seconds",
            "retry_base_delay",
            "retry_max_delay",
        )
    },
    **{key: ("budget", key) for key in ("max_tokens", "max_cost", "prices")},
    "cache": ("cache", "path"),
    "no_cache": ("cache", "disabled"),
    "retry_withheld": ("cache", "retry_withheld"),
    "subject": ("mail", "subject"),
    "unsubscribe_url": ("mail", "unsubscribe_url"),
    "fallback_lang": ("mail", "fallback_lang"),
    **{key: ("daily", key) for key in ("sources", "since", "max_stories")},
    "review": ("review", "mode"),
    "editor": ("review", "editor"),
    "notify_urls": ("notify", "urls"),
}
_SECTIONS = {"endpoint", "budget", "cache", "smtp", "mail", "daily", "review", "notify"}
_TOP_LEVEL = set(Settings.model_fields) - _SECTIONS - {"config_file"}


def route(values: Mapping[str, Any]) -> dict[str, Any]:
    """Flat keys into their sections; section tables and top-level keys stay as they are
    (``cache`` and ``review`` are sections as tables, a value of theirs when not)."""
    routed: dict[str, Any] = {}
    for key, value in values.items():
        if key in _SECTIONS and isinstance(value, Mapping):
            routed[key] = {**routed.get(key, {}), **value}
        elif key in FLAT_KEYS:
            section, field = FLAT_KEYS[key]
            routed.setdefault(section, {})[field] = value
        else:
            routed[key] = value  # unknown keys stay, so validation names them
    return routed


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
    except (OSError, UnicodeDecodeError) as exc:
        raise file_error(path, exc) from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"config file {path} is not valid TOML: {exc}") from None


def _file_values(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    data = _read_toml(path)
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("digest", {})
    return route(data)


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
        elif name in _TOP_LEVEL or (name in FLAT_KEYS and name not in {"prices", "sources"}):
            values[name] = value.split(",") if name == "languages" else value
    if smtp:
        values["smtp"] = smtp
    return route(values)


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


def _resolve_file_paths(values: dict[str, Any], base: Path) -> dict[str, Any]:
    """Relative paths written in a config file are relative to that file, not to the
    directory digest happens to run in (``out`` excepted: it is where the user is)."""

    def resolve(location: Any) -> Any:
        if not isinstance(location, str | Path):
            return location
        return str((base / Path(location).expanduser()).resolve())

    endpoint = values.get("endpoint")
    if isinstance(endpoint, dict) and "model_file" in endpoint:
        endpoint["model_file"] = resolve(endpoint["model_file"])
    cache = values.get("cache")
    if isinstance(cache, dict) and "path" in cache:
        cache["path"] = resolve(cache["path"])
    smtp = values.get("smtp")
    if isinstance(smtp, dict) and "ca_file" in smtp:
        smtp["ca_file"] = resolve(smtp["ca_file"])
    return values


def load_settings(
    flags: Mapping[str, Any] | None = None,
    config_file: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Build Settings from every layer; a bad value is one UsageError naming the field."""
    path = find_config_file(config_file)
    from_file = _file_values(path)
    if path is not None:
        from_file = _resolve_file_paths(from_file, path.parent)
    values = _merge(from_file, _env_values(os.environ if env is None else env))
    values = _merge(values, route(flags or {}))
    try:
        settings = Settings.model_validate({**values, "config_file": path})
    except ValidationError as exc:
        origin = f" (from {path})" if path else ""
        # Never echo the rejected input: it may be a secret.
        raise UsageError(f"invalid setting{origin}: {first_error(exc)}") from None
    if path is not None:
        # Sources come only from the file, so they are resolved against it once, here.
        daily = settings.daily
        resolved = [source.resolved(path.parent) for source in daily.sources]
        settings = settings.model_copy(
            update={"daily": daily.model_copy(update={"sources": resolved})}
        )
    return settings
