"""``digest notify`` through real Apprise plugins (json://, ntfy://) to a loopback webhook
receiver that records every request. Apprise URLs carry secrets: none may appear in what
digest prints, whatever happens."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from support.cli import Result, invoke
from support.serving import serving
from test_render import make_digest

from digest.edition import write_edition

SECRET = "Sup3rSecretToken-42"


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    port: int = 0
    requests: list[Request] = field(default_factory=list)
    failing: set[str] = field(default_factory=set)  # paths answered with 500
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, scheme: str, path: str) -> str:
        return f"{scheme}://127.0.0.1:{self.port}/{path}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    server: _Server

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        receiver = self.server.receiver
        with receiver.lock:
            receiver.requests.append(Request(self.path, dict(self.headers), body))
        status = 500 if self.path.lstrip("/") in receiver.failing else 200
        payload = b'{"ok": true}' if status == 200 else b"boom"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver
        super().__init__(("127.0.0.1", 0), _Handler)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    with serving(_Server(receiver)) as server:
        receiver.port = server.server_address[1]
        yield receiver


def rendered(folder: Path, codes: str = "en,tr,ar", brief: bool = False) -> Path:
    digest = make_digest(codes, stories=3, withheld={(2, "tr")})
    if not brief:
        digest = digest.model_copy(update={"briefs": []})
    write_edition(digest, folder, started=0.0)
    return folder


def notify(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    result = invoke(capsys, "notify", *args)
    assert SECRET not in result.out + result.err
    return result


def test_headlines_are_posted_per_language_to_a_json_webhook(
    tmp_path: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = rendered(tmp_path / "out")
    hook = receiver.url("json", f"hooks/{SECRET}")

    result = notify(capsys, str(folder), "--to", hook, "--lang", "ar,tr")

    assert result.code == 0, result.err
    assert result.out.strip() == "notified 2 of 2 (target x language: 1 target(s), ar, tr)"
    assert [r.path for r in receiver.requests] == [f"/hooks/{SECRET}"] * 2
    tr, ar = (r.json() for r in receiver.requests)  # in the edition's language order
    assert ar["title"] == "Larkford Morning Digest — 12 مارس 2024"
    assert tr["title"] == "Larkford Morning Digest — 12 Mart 2024"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    headlines = {
        lang: [
            r["summary"]["headline"]
            for r in manifest["results"]
            if r["lang"] == lang and r["status"] == "published"
        ]
        for lang in ("ar", "tr")
    }
    assert ar["message"].splitlines() == [f"• {h}" for h in headlines["ar"]]
    assert tr["message"].splitlines() == [f"• {h}" for h in headlines["tr"]]  # 2: one withheld
    assert len(headlines["tr"]) == 2


def test_the_in_brief_overview_goes_out_when_there_is_one_and_links_the_archive(
    tmp_path: Path,
    receiver: Receiver,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = rendered(tmp_path / "out", brief=True)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    overview = next(b["brief"]["overview"] for b in manifest["briefs"] if b["lang"] == "en")
    # URLs (secrets) from the environment rather than the command line
    urls = f"{receiver.url('json', SECRET)} {receiver.url('ntfy', 'news' + SECRET)}"
    monkeypatch.setenv("DIGEST_NOTIFY_URLS", urls)
    monkeypatch.setenv("DIGEST_SITE_URL", "https://news.example.org/archive/")

    result = notify(capsys, str(folder))

    assert result.code == 0, result.err
    assert result.out.strip() == "notified 2 of 2 (target x language: 2 target(s), en)"
    json_hook, ntfy = receiver.requests  # in the order of the URLs
    page = "https://news.example.org/archive/en/2024-03-12.html"
    assert json_hook.path == f"/{SECRET}"
    assert json_hook.json()["message"] == f"{overview}\n\n{page}"
    assert ntfy.path == "/" and ntfy.json()["topic"] == f"news{SECRET}"
    assert ntfy.json()["message"] == f"{overview}\n\n{page}"
    assert ntfy.json()["title"] == "Larkford Morning Digest — March 12, 2024"


def test_a_target_that_fails_is_reported_without_its_secret(
    tmp_path: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = rendered(tmp_path / "out")
    receiver.failing.add(f"broken/{SECRET}")
    broken = receiver.url("json", f"broken/{SECRET}").replace("json://", f"json://u:{SECRET}@")
    working = receiver.url("json", "ok")

    result = notify(capsys, str(folder), "--to", broken, "--to", working)

    assert result.code == 3
    assert len(receiver.requests) == 2
    (line,) = result.err.strip().splitlines()
    assert line.startswith("digest: failed: target 1 (JSON) [en]: ")
    assert "500" in line
    assert result.out.startswith("notified 1 of 2 (target x language: 2 target(s), en), failed 1")


def test_bad_input_is_one_line_and_shows_no_secret(
    tmp_path: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = rendered(tmp_path / "out")
    good = receiver.url("json", SECRET)

    unknown = notify(capsys, str(folder), "--to", good, "--to", f"bogus://{SECRET}@host/x")
    no_lang = notify(capsys, str(folder), "--to", good, "--lang", "de")
    no_url = notify(capsys, str(folder))
    no_edition = notify(capsys, str(tmp_path / "missing"), "--to", good)

    for result in (unknown, no_lang, no_url, no_edition):
        assert result.code == 2, result.err
        assert result.out == ""
        assert len(result.error_lines()) == 1 and len(result.err.strip().splitlines()) == 1
    assert "--to #2 (scheme 'bogus'): not a notification URL Apprise knows" in unknown.err
    assert "the edition has no 'de' (it has en, tr, ar)" in no_lang.err
    assert "no notification URL" in no_url.err
    assert "no digest in" in no_edition.err
    assert receiver.requests == []  # everything is checked before the first message
