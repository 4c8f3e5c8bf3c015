"""Fetch one web page or feed over HTTP, defensively, through an injected ``httpx.Client``.

Every way a page can be bad (not http(s), unreachable, slow, an HTTP error, a redirect
loop, too big, not the kind of document we asked for) becomes one ``FetchError`` whose
message names the URL. Callers report it as a warning and move on: one bad page never
stops an edition.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel

from digest import __version__
from digest.errors import FetchError
from digest.fsutil import MAX_INPUT_BYTES

USER_AGENT = f"digest/{__version__}"
FETCH_TIMEOUT = 20.0
MAX_REDIRECTS = 5
PER_HOST = 2  # requests at once to one host
OVERALL = 8  # requests at once in all
_CHUNK = 64 * 1024

HTML_TYPES = ("text/html", "application/xhtml+xml")
# Feeds are served under many types (text/xml, application/rss+xml, text/plain ...):
# accept anything textual or XML and let the feed parser decide.
_FEED_MARKERS = ("xml", "rss", "atom", "text/", "application/octet-stream")


class Fetched(BaseModel):
    url: str  # after redirects
    content: bytes
    content_type: str  # lowercased media type without parameters; "" if the server sent none
    # Conditional GET (digest.ingest.conditional): the validators the server sent, and
    # whether it answered 304 Not Modified to the ones we sent (then ``content`` is empty).
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False


def make_http_client(timeout: float = FETCH_TIMEOUT) -> httpx.Client:
    """The client pages and feeds are fetched with; tests hand in their own."""
    return httpx.Client(
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        timeout=timeout,
        headers={"User-Agent": USER_AGENT},
    )


def is_http_url(url: str) -> bool:
    parts = urlsplit(url.strip())
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def html_type(content_type: str) -> bool:
    # No Content-Type at all: let extraction decide rather than reject a working page.
    return not content_type or content_type in HTML_TYPES


def feed_type(content_type: str) -> bool:
    return not content_type or any(marker in content_type for marker in _FEED_MARKERS)


def fetch(
    client: httpx.Client,
    url: str,
    *,
    kind: str = "page",
    max_bytes: int = MAX_INPUT_BYTES,
    headers: dict[str, str] | None = None,
) -> Fetched:
    """GET ``url`` (kind "page" wants HTML, "feed" wants XML or text), read at most
    ``max_bytes``. ``headers``: extra request headers (If-None-Match, If-Modified-Since).
    Raises ``FetchError``, never an httpx exception."""
    if not is_http_url(url):
        raise FetchError(f"{url}: only http(s) URLs can be fetched")
    accepts = html_type if kind == "page" else feed_type
    try:
        with client.stream("GET", url, headers=headers) as response:
            final = str(response.url)
            if not is_http_url(final):
                raise FetchError(f"{url}: redirected to a non-http(s) URL")
            validators = {
                "etag": response.headers.get("etag"),
                "last_modified": response.headers.get("last-modified"),
            }
            if response.status_code == 304 and headers:
                return Fetched(
                    url=final, content=b"", content_type="", not_modified=True, **validators
                )
            response.raise_for_status()
            content_type = _media_type(response.headers.get("content-type", ""))
            if not accepts(content_type):
                what = "an HTML page" if kind == "page" else "a feed"
                raise FetchError(f"{url}: not {what} (Content-Type {content_type})")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise FetchError(f"{url}: {int(declared):,} bytes, over the {max_bytes:,} limit")
            content = _read_capped(response, url, max_bytes)
    except httpx.HTTPStatusError as exc:
        raise FetchError(f"{url}: HTTP {exc.response.status_code}") from None
    except httpx.TooManyRedirects:
        raise FetchError(f"{url}: too many redirects (more than {MAX_REDIRECTS})") from None
    except httpx.TimeoutException:
        raise FetchError(f"{url}: timed out") from None
    except httpx.UnsupportedProtocol:
        raise FetchError(f"{url}: redirected to a non-http(s) URL") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"{url}: cannot fetch ({_reason(exc)})") from None
    return Fetched(url=final, content=content, content_type=content_type, **validators)


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


class HostLimits:
    """At most ``per_host`` requests at once to one host name, ``overall`` in all: fetching
    many pages is quick without hammering any one site."""

    def __init__(self, per_host: int = PER_HOST, overall: int = OVERALL) -> None:
        self.per_host = max(1, per_host)
        self.overall = max(1, overall)
        self._lock = threading.Lock()
        self._hosts: dict[str, threading.Semaphore] = {}
        self._all = threading.Semaphore(self.overall)

    @contextmanager
    def slot(self, url: str) -> Iterator[None]:
        host = host_of(url)
        with self._lock:
            gate = self._hosts.setdefault(host, threading.Semaphore(self.per_host))
        with gate, self._all:  # the host first: a busy host never holds an overall slot
            yield


def _read_capped(response: httpx.Response, url: str, max_bytes: int) -> bytes:
    # Content-Length can be absent or wrong, so the cap is enforced on what arrives.
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes(_CHUNK):
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(f"{url}: more than {max_bytes:,} bytes, over the limit")
        chunks.append(chunk)
    return b"".join(chunks)


def _media_type(header: str) -> str:
    return header.split(";", 1)[0].strip().lower()


def _reason(exc: httpx.HTTPError) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return (text or type(exc).__name__)[:160]
