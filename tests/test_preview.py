"""``digest preview``: a real server on 127.0.0.1 in a thread, fetched with httpx."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support.serving import serving
from test_render import hostile_digest, make_digest

from digest.cli import main
from digest.edition import write_edition as write_digest
from digest.errors import UsageError
from digest.fsutil import write_atomic
from digest.models import Usage
from digest.output.preview import PreviewServer, folder_version, load_manifest, make_server

CODES = ("en", "tr", "ar", "de")
REASON = "summary is in the wrong language (fr)"
WARNING = "feed https://feeds.example/rss timed out"


def write_edition(out: Path) -> Path:
    digest = make_digest(withheld={(1, "tr"), (1, "ar")})
    results = [
        r.model_copy(update={"usage": Usage(calls=1, prompt_tokens=1500, completion_tokens=250)})
        for r in digest.results
    ]
    digest = digest.model_copy(
        update={"results": results, "warnings": [WARNING], "structured_mode": "json_schema"}
    )
    write_digest(digest, out, started=0.0)
    return out


@pytest.fixture
def edition(tmp_path: Path) -> Path:
    return write_edition(tmp_path / "out")


@pytest.fixture
def server(edition: Path) -> Iterator[PreviewServer]:
    with serving(make_server(edition, "127.0.0.1", 0)) as srv:
        yield srv


@pytest.fixture
def client(server: PreviewServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        yield http


def raw_get(server: PreviewServer, path: str, host: str | None = None) -> int:
    """http.client sends the path byte for byte (httpx would normalise the dot segments)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
    try:
        conn.putrequest("GET", path, skip_host=host is not None)
        if host is not None:
            conn.putheader("Host", host)
        conn.endheaders()
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def test_server_listens_on_loopback_by_default(server: PreviewServer):
    assert server.url.startswith("http://127.0.0.1:")
    assert server.server_port != 0
    assert server.server_address[0] == "127.0.0.1"


def test_index_lists_every_language_with_checks_and_provenance(client: httpx.Client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    html = response.text
    for code in CODES:
        for kind in ("email", "text", "md"):
            assert f'href="/{kind}/{code}"' in html
    for name in ("English", "Türkçe", "العربية", "Deutsch"):
        assert name in html
    assert 'href="/compare?a=en&amp;b=ar"' in html
    # withheld items and why, tokens, provenance, warnings
    assert "2 items withheld" in html
    assert html.count('class="withheld">withheld') == 2
    assert html.count(REASON) == 2 and "language: fail (detected fr)" in html
    assert "123,456" in html and "7,890" in html and "131,346" in html  # run totals
    assert "1,750" in html  # one result's own tokens
    for needle in ("summarize@v003", "gemma-3-270m-it", "127.0.0.1:8080", "json_schema", WARNING):
        assert needle in html
    # withheld rows come first so a problem is seen at once
    rows = re.findall(r'<td class="\w+">(published|withheld)', html)
    assert rows[:2] == ["withheld", "withheld"] and "withheld" not in rows[2:]


def test_chrome_pages_reload_script_is_nonced_and_knows_the_version(
    client: httpx.Client, edition: Path
):
    for path in ("/", "/compare?a=en&b=ar"):
        response = client.get(path)
        nonce = re.search(
            r"script-src 'nonce-([\w-]+)'", response.headers["content-security-policy"]
        )
        assert nonce, response.headers["content-security-policy"]
        assert re.findall(r"<script[^>]*>", response.text) == [f'<script nonce="{nonce[1]}">']
        assert json.dumps(folder_version(edition)) in response.text
        assert 'fetch("/version"' in response.text


def test_hostile_text_in_the_manifest_stays_text(tmp_path: Path):
    write_digest(hostile_digest(), tmp_path, started=0.0)
    with serving(make_server(tmp_path, "127.0.0.1", 0)) as server:
        html = httpx.get(server.url, timeout=10).text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the model name, shown as text
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # an article title
    assert len(re.findall(r"<script", html)) == 1  # only the reload script
    assert "<img" not in html and 'href="javascript' not in html.lower()
    assert not re.search(r"<[^>]*\son\w+=", html)  # no event-handler attribute anywhere


def test_editions_are_served_verbatim_with_the_right_types(client: httpx.Client, edition: Path):
    for code in CODES:
        email = client.get(f"/email/{code}")
        assert email.headers["content-type"] == "text/html; charset=utf-8"
        assert email.content == (edition / f"digest.{code}.html").read_bytes()
        assert "<script" not in email.text  # the reload script stays out of the email
        assert "script-src" not in email.headers["content-security-policy"]
        for kind, ext in (("text", "txt"), ("md", "md")):
            response = client.get(f"/{kind}/{code}")
            assert response.headers["content-type"] == "text/plain; charset=utf-8"
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.content == (edition / f"digest.{code}.{ext}").read_bytes()
    assert 'dir="rtl"' in client.get("/email/ar").text


def test_compare_puts_two_editions_side_by_side(client: httpx.Client):
    html = client.get("/compare", params={"a": "en", "b": "ar"}).text
    assert re.findall(r'<iframe src="([^"]+)"', html) == ["/email/en", "/email/ar"]
    assert "width: 100%" in html
    assert "width: 375px" in client.get("/compare?a=tr&b=de&w=375").text
    assert re.findall(r'<iframe src="([^"]+)"', client.get("/compare").text) == [
        "/email/en",
        "/email/tr",
    ]
    assert client.get("/compare?a=en&b=xx").status_code == 404
    assert client.get("/compare?a=../manifest.json&b=en").status_code == 404


def test_manifest_is_served_as_json(client: httpx.Client, edition: Path):
    response = client.get("/manifest.json")
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json() == json.loads((edition / "manifest.json").read_text())


@pytest.mark.parametrize(
    "path",
    [
        "/email/../../etc/passwd",
        "/email/..%2F..%2Fetc%2Fpasswd",
        "/email/en/../../../etc/passwd",
        "/email/xx",
        "/email/",
        "/email/EN",
        "/md/en.md",
        "/text/en/extra",
        "/digest.en.html",
        "/index.html",
        "/../manifest.json",
        "/etc/passwd",
    ],
)
def test_only_known_language_codes_are_served(server: PreviewServer, path: str):
    assert raw_get(server, path) == 404


def test_a_tampered_manifest_code_never_names_a_file(edition: Path, server: PreviewServer):
    manifest = json.loads((edition / "manifest.json").read_text())
    manifest["languages"][0]["code"] = "../../../../etc/passwd"
    (edition / "manifest.json").write_text(json.dumps(manifest))
    assert raw_get(server, "/email/../../../../etc/passwd") == 404
    assert raw_get(server, "/email/tr") == 200


def test_foreign_host_header_is_refused(server: PreviewServer):
    # a DNS-rebinding page would arrive with its own host name
    assert raw_get(server, "/", host=f"evil.example:{server.server_port}") == 400
    assert raw_get(server, "/manifest.json", host="evil.example") == 400
    assert raw_get(server, "/", host=f"localhost:{server.server_port}") == 200
    assert raw_get(server, "/", host=f"127.0.0.1:{server.server_port}") == 200


def test_version_changes_when_a_file_is_rewritten(client: httpx.Client, edition: Path):
    first = client.get("/version")
    assert first.headers["content-type"] == "text/plain; charset=utf-8"
    assert first.headers["cache-control"] == "no-store"
    assert client.get("/version").text == first.text  # stable while nothing changes
    target = edition / "digest.en.html"
    before = target.stat().st_mtime_ns
    write_atomic(target, "<!doctype html><p>second run</p>")
    os.utime(target, ns=(before + 10**9, before + 10**9))  # coarse clocks: make sure it moved
    second = client.get("/version")
    assert second.text != first.text
    assert client.get("/email/en").text == "<!doctype html><p>second run</p>"
    assert json.dumps(second.text) in client.get("/").text
    # files the preview does not show (a send log) do not cause reloads
    (edition / "send-log.jsonl").write_text("{}\n")
    assert client.get("/version").text == second.text


def test_missing_folder_is_one_line_usage_error(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exit_info:
        main(["preview", "nope"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err == "digest: error: no digest in nope; run `digest run ... --out nope` first\n"


def test_default_folder_is_the_configured_out(tmp_path: Path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["preview"])
    assert exit_info.value.code == 2
    assert "no digest in digest-out;" in capsys.readouterr().err
    (tmp_path / "digest-out").mkdir()  # a folder without manifest.json is no edition either
    with pytest.raises(SystemExit):
        main(["preview", "--port", "0"])
    assert capsys.readouterr().err.count("\n") == 1


def test_broken_manifest_is_a_usage_error(tmp_path: Path):
    (tmp_path / "manifest.json").write_text('{"title": "x"}')
    with pytest.raises(UsageError, match=r"is not a digest manifest \(bad edition_date\)"):
        load_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(UsageError, match="cannot read"):
        make_server(tmp_path, "127.0.0.1", 0)


def test_busy_port_is_a_usage_error(edition: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(UsageError, match=f"cannot listen on 127.0.0.1:{port}"):
            make_server(edition, "127.0.0.1", port)


def test_command_prints_url_opens_browser_and_stops_on_ctrl_c(edition: Path, tmp_path: Path):
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.py"
    browser.write_text(
        f"import sys, pathlib\npathlib.Path({str(opened)!r}).write_text(sys.argv[1])\n"
    )
    env = {**os.environ, "BROWSER": f"{sys.executable} {browser} %s"}
    process = subprocess.Popen(
        [sys.executable, "-m", "digest", "preview", str(edition), "--port", "0", "--open"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # a shell may start us with SIGINT ignored; a user's Ctrl-C is not
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", url), url
        assert httpx.get(url + "manifest.json", timeout=10).status_code == 200
        deadline = time.monotonic() + 20
        while not opened.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert opened.read_text() == url
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0
    assert out == ""
    assert "Traceback" not in err
    assert err.splitlines()[-1] == "digest: preview stopped"
