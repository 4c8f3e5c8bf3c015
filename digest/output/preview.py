"""Serve a rendered edition folder on 127.0.0.1 for a look before sending.

Pages: ``/`` (every language, provenance, every check result), ``/email/<L>`` (the email
HTML file byte for byte), ``/text/<L>`` and ``/md/<L>`` (as text/plain: the Markdown holds
untrusted text and is never turned into HTML here), ``/compare?a=en&b=ar`` (two iframes),
``/manifest.json`` and ``/version``. Only language codes listed in the manifest map to files,
so no request path ever reaches the file system. The preview's own pages poll ``/version``
(a hash of the folder's file times and sizes) and reload when a re-run rewrites the files;
the email files are served untouched, without that script.

With ``--review`` (a ``ReviewSession``) ``/review`` shows every story in every language with
the editor's forms, and ``POST /review`` records a decision or correction
(digest.output.review_pages): only from this server's own pages (Origin), only with the
session's token, answered with a redirect back to the item (303) or the page with the
refusal (422). Every page forbids framing, so no other site can overlay a click on a form.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets
import socket
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jinja2

from digest.errors import UsageError
from digest.manifest import MANIFEST, Manifest
from digest.models import Check
from digest.output.evidence_page import EvidenceView, evidence_view
from digest.output.review_pages import (
    PostRefused,
    ReviewSession,
    ReviewView,
    handle,
    read_post,
    review_view,
)
from digest.output.story_view import load_story_infos, story_rows
from digest.resources import data_dir

# Route -> (file extension, content type). Markdown is shown as text: it is untrusted.
KINDS = {
    "email": ("html", "text/html; charset=utf-8"),
    "text": ("txt", "text/plain; charset=utf-8"),
    "md": ("md", "text/plain; charset=utf-8"),
}
_WATCHED = re.compile(r"^(?:manifest\.json|index\.html|digest\.[A-Za-z0-9-]+\.(?:html|md|txt))$")
_COMPARE_WIDTHS = range(240, 1601)
_EMAIL_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src http: https: data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)


@dataclass(frozen=True)
class ResultRow:
    item: str
    lang: str
    status: str
    checks: str
    reason: str
    attempts: int | str
    tokens: int
    cached: bool


def load_manifest(folder: Path) -> Manifest:
    """The edition's manifest, or one line saying how to make one (exit 2)."""
    return Manifest.load(folder)


def folder_version(folder: Path) -> str:
    """Changes whenever a rendered file is written, replaced or removed."""
    digest = hashlib.sha256()
    try:
        entries = sorted(p for p in folder.iterdir() if _WATCHED.match(p.name))
    except OSError:
        return "missing"
    for path in entries:
        try:
            stat = path.stat()
        except OSError:  # removed between listing and stat: the next poll sees the change
            continue
        digest.update(f"{path.name}\0{stat.st_mtime_ns}\0{stat.st_size}\n".encode())
    return digest.hexdigest()[:16]


def result_rows(manifest: Manifest) -> list[ResultRow]:
    """Every story and brief result, withheld first so problems are seen at once."""
    titles = {a.id: a.title for a in manifest.articles}
    rows = [
        ResultRow(
            item=titles.get(r.article_id, r.article_id),
            lang=r.lang,
            status=r.status,
            checks=_checks(r.checks),
            reason=r.reason or "",
            attempts=r.attempts,
            tokens=r.usage.prompt_tokens + r.usage.completion_tokens,
            cached=r.cached,
        )
        for r in manifest.results
    ]
    rows += [
        ResultRow(
            item="In brief",
            lang=b.lang,
            status=b.status,
            checks=_checks(b.checks),
            reason=b.reason or "",
            attempts="",
            tokens=b.usage.prompt_tokens + b.usage.completion_tokens,
            cached=b.cached,
        )
        for b in manifest.briefs
    ]
    return sorted(rows, key=lambda row: row.status != "withheld")


def _checks(checks: list[Check]) -> str:
    return ", ".join(
        f"{c.name}: {c.status}" + (f" ({c.detail})" if c.detail else "") for c in checks
    )


class PreviewPages:
    """The preview's own HTML pages, from templates/preview/*.j2 (autoescaped)."""

    def __init__(self) -> None:
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(data_dir("templates") / "preview"),
            undefined=jinja2.StrictUndefined,
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def index(
        self, manifest: Manifest, folder: Path, version: str, nonce: str, review: bool = False
    ) -> str:
        rows = result_rows(manifest)
        counts = {
            code: (
                sum(r.status == "published" for r in manifest.results if r.lang == code),
                sum(r.status == "withheld" for r in manifest.results if r.lang == code),
            )
            for code in manifest.codes()
        }
        usage = manifest.usage
        return self._render(
            "index.html.j2",
            m=manifest,
            stories=story_rows(
                manifest.stories or load_story_infos(folder),
                {a.id: a.title for a in manifest.articles},
                {a.id: a.section for a in manifest.articles},
            ),
            languages=[lang for lang in manifest.languages if lang.code in counts],
            counts=counts,
            rows=rows,
            withheld=sum(row.status == "withheld" for row in rows),
            total_tokens=usage.prompt_tokens + usage.completion_tokens,
            version=version,
            nonce=nonce,
            review=review,
        )

    def evidence(self, view: EvidenceView, version: str, nonce: str) -> str:
        return self._render("evidence.html.j2", v=view, version=version, nonce=nonce)

    def review(self, view: ReviewView, version: str, nonce: str) -> str:
        return self._render("review.html.j2", v=view, version=version, nonce=nonce)

    def compare(
        self, manifest: Manifest, a: str, b: str, width: int | None, version: str, nonce: str
    ) -> str:
        names = {lang.code: lang for lang in manifest.languages}
        return self._render(
            "compare.html.j2",
            m=manifest,
            codes=manifest.codes(),
            a=names[a],
            b=names[b],
            width=width,
            version=version,
            nonce=nonce,
        )

    def _render(self, name: str, **context: Any) -> str:
        return self.env.get_template(name).render(**context)


class PreviewServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that knows its edition folder and its page templates."""

    daemon_threads = True

    def __init__(
        self, folder: Path, host: str, port: int, review: ReviewSession | None = None
    ) -> None:
        self.folder = folder
        self.host = host
        self.review = review
        self.lock = threading.Lock()  # one write at a time (review.locked guards processes)
        self.pages = PreviewPages()
        self.allowed_hosts = _allowed_hosts(host)
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, port), PreviewHandler)

    @property
    def url(self) -> str:
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{shown}:{self.server_port}/"


def make_server(
    folder: Path, host: str = "127.0.0.1", port: int = 0, review: ReviewSession | None = None
) -> PreviewServer:
    """Check the folder holds an edition and bind the server (port 0: any free port)."""
    load_manifest(folder)
    if review is not None and _allowed_hosts(host) is None:
        raise UsageError(f"--review serves only on a loopback address, not {host}")
    try:
        return PreviewServer(folder, host, port, review)
    except OSError as exc:
        hint = " (try --port 0 for a free port)" if port else ""
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}{hint}") from None


def _allowed_hosts(host: str) -> set[str] | None:
    """Host headers a loopback server answers, so a DNS-rebinding web page cannot read it."""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        return None
    return {"localhost", "127.0.0.1", "[::1]", f"[{host}]" if ":" in host else host}


class PreviewHandler(BaseHTTPRequestHandler):
    server: PreviewServer
    server_version = "digest-preview"
    sys_version = ""
    send_body = True

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._handle(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._handle(send_body=False)

    def do_POST(self) -> None:  # noqa: N802
        """The review's one write action; every check before the desk is touched."""
        self.send_body = True
        session = self.server.review
        if not self._host_ok():
            self._send(HTTPStatus.BAD_REQUEST, b"unexpected Host header\n", "text/plain")
            return
        if session is None or urlsplit(self.path).path != "/review":
            self._not_found()
            return
        try:
            form = read_post(self.headers, self.rfile, session, self._origins())
        except PostRefused as exc:
            self._send(exc.status, f"{exc}\n".encode(), "text/plain")
            return
        with self.server.lock:
            done = handle(self.server.folder, form, session)
        if not done.error:
            self._redirect(f"/review#{done.anchor}")
            return
        nonce = secrets.token_urlsafe(16)
        refused = (done.anchor, done.error, done.action)
        view = review_view(self.server.folder, session, refused, form)
        html = self.server.pages.review(view, folder_version(self.server.folder), nonce)
        self._send_page(html, nonce, HTTPStatus.UNPROCESSABLE_ENTITY)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Quiet: the terminal shows the URL, not one line per poll of /version."""

    def _handle(self, send_body: bool) -> None:
        self.send_body = send_body
        if not self._host_ok():
            self._send(HTTPStatus.BAD_REQUEST, b"unexpected Host header\n", "text/plain")
            return
        parts = urlsplit(self.path)
        folder = self.server.folder
        if parts.path == "/version":
            self._send(HTTPStatus.OK, folder_version(folder).encode(), "text/plain")
            return
        if parts.path == "/favicon.ico":
            self._send(HTTPStatus.NO_CONTENT, b"", "text/plain")
            return
        try:
            manifest = load_manifest(folder)
        except UsageError as exc:
            # e.g. the folder was deleted while serving: say so, keep serving
            self._send(HTTPStatus.SERVICE_UNAVAILABLE, f"{exc.message}\n".encode(), "text/plain")
            return
        self._route(parts.path, parse_qs(parts.query), manifest)

    def _route(self, path: str, query: dict[str, list[str]], manifest: Manifest) -> None:
        folder = self.server.folder
        codes = manifest.codes()
        kind, _, code = path.lstrip("/").partition("/")
        nonce = secrets.token_urlsafe(16)  # lets exactly our own reload script run
        if path == "/":
            review = self.server.review is not None
            html = self.server.pages.index(manifest, folder, folder_version(folder), nonce, review)
            self._send_page(html, nonce)
        elif path == "/review" and self.server.review is not None:
            view = review_view(folder, self.server.review)
            self._send_page(self.server.pages.review(view, folder_version(folder), nonce), nonce)
        elif path == "/compare":
            a = query.get("a", codes[:1])[0] if codes else ""
            b = query.get("b", codes[1:2] or codes[:1])[0] if codes else ""
            if a not in codes or b not in codes:
                self._not_found()
                return
            width = _width(query.get("w", [""])[0])
            html = self.server.pages.compare(manifest, a, b, width, folder_version(folder), nonce)
            self._send_page(html, nonce)
        elif kind == "evidence" and code in codes:
            page = self.server.pages.evidence(
                evidence_view(folder, manifest, code), folder_version(folder), nonce
            )
            self._send_page(page, nonce)
        elif path == "/" + MANIFEST:
            self._send_file(folder / MANIFEST, "application/json; charset=utf-8")
        elif kind in KINDS and code in codes:
            ext, content_type = KINDS[kind]
            csp = _EMAIL_CSP if kind == "email" else None
            self._send_file(folder / f"digest.{code}.{ext}", content_type, csp)
        else:
            self._not_found()

    def _origins(self) -> set[str]:
        """``http://host:port`` of this server under each name it answers to."""
        port = self.server.server_port
        return {f"http://{host}:{port}" for host in self.server.allowed_hosts or ()}

    def _host_ok(self) -> bool:
        allowed = self.server.allowed_hosts
        if allowed is None:
            return True
        host = self.headers.get("Host", "")
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return name.lower() in allowed

    def _send_page(self, html: str, nonce: str, status: HTTPStatus = HTTPStatus.OK) -> None:
        csp = (
            "default-src 'none'; style-src 'unsafe-inline'; "
            f"script-src 'nonce-{nonce}'; connect-src 'self'; frame-src 'self'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        )
        self._send(status, html.encode("utf-8"), "text/html; charset=utf-8", csp)

    def _redirect(self, location: str) -> None:
        """After a POST: back to the page with a GET, so a reload never posts again."""
        self.send_response(HTTPStatus.SEE_OTHER)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()

    def _send_file(self, path: Path, content_type: str, csp: str | None = None) -> None:
        try:
            data = path.read_bytes()
        except OSError:
            self._not_found()
            return
        self._send(HTTPStatus.OK, data, content_type, csp)

    def _not_found(self) -> None:
        self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")

    def _send(
        self, status: HTTPStatus, body: bytes, content_type: str, csp: str | None = None
    ) -> None:
        if content_type == "text/plain":
            content_type = "text/plain; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        # Every response is re-read from disk: a re-run must show at once, never a stale copy.
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        # same-origin, not no-referrer: a browser then sends `Origin: null` with our own
        # form posts, and the review's Origin check needs the real one. Other sites still
        # get no Referer.
        self.send_header("Referrer-Policy", "same-origin")
        if csp:
            self.send_header("Content-Security-Policy", csp)
        self.end_headers()
        if self.send_body and status != HTTPStatus.NO_CONTENT:
            self.wfile.write(body)


def _width(value: str) -> int | None:
    """Optional phone-sized iframes in /compare (?w=375); anything odd means full width."""
    return int(value) if value.isdigit() and int(value) in _COMPARE_WIDTHS else None
