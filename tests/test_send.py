"""``digest send`` against a real aiosmtpd server on 127.0.0.1, driven through the CLI."""

from __future__ import annotations

import email
import email.policy
import json
import smtplib
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from digest.cli import main
from digest.config import load_settings
from digest.delivery.mail import SendOptions, send_edition
from digest.errors import DeliveryError
from digest.languages import parse_languages
from digest.manifest import Manifest
from digest.models import Digest

PASSWORD = "Hunter2-s3cret-pw"
USER = "desk"
FROM = "Digest Desk <desk@news.example>"
# AUTH without TLS is fine on 127.0.0.1; aiosmtpd warns about it anyway.
NO_TLS_WARNING = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
GREETING = {"en": "Good morning", "tr": "Günaydın, şöyle çığır açan haberler", "ar": "صباح الخير"}


# --- a recording SMTP server ----------------------------------------------------------


@dataclass
class Recorder:
    """aiosmtpd handler: records what arrives and misbehaves on request."""

    received: list[tuple[list[str], bytes, int]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)  # 550 at RCPT
    busy_once: set[str] = field(default_factory=set)  # 451 at RCPT, then accepted
    busy_always: set[str] = field(default_factory=set)
    drop_once: set[str] = field(default_factory=set)  # connection closed during DATA
    port: int = 0

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such user"
        if address in self.busy_always:
            return "451 4.3.0 mailbox busy"
        if address in self.busy_once:
            self.busy_once.discard(address)
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        dropped = self.drop_once.intersection(envelope.rcpt_tos)
        if dropped:
            self.drop_once -= dropped
            server.transport.close()
            return "250 OK"  # never reaches the client
        self.received.append((list(envelope.rcpt_tos), envelope.original_content, id(session)))
        return "250 OK"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            USER.encode(),
            PASSWORD.encode(),
        )
        if ok:
            self.logins.append(data.login.decode())
        # handled=False makes aiosmtpd answer 535 itself instead of leaving the client waiting
        return AuthResult(success=ok, handled=False)

    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[misc]
            for _, raw, _ in self.received
        ]

    def by_rcpt(self) -> dict[tuple[str, str], EmailMessage]:
        found = {}
        for (rcpts, _, _), msg in zip(self.received, self.messages(), strict=True):
            for rcpt in rcpts:
                found[(rcpt, str(msg["Content-Language"]))] = msg
        return found


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def start_server() -> Iterator[Any]:
    controllers: list[Controller] = []

    def start(auth_required: bool = False) -> Recorder:
        handler = Recorder(port=_free_port())
        controller = Controller(
            handler,
            hostname="127.0.0.1",
            port=handler.port,
            authenticator=handler.authenticate,
            auth_required=auth_required,
            auth_require_tls=False,
        )
        controller.start()
        controllers.append(controller)
        return handler

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def server(start_server: Any) -> Recorder:
    return start_server()  # type: ignore[no-any-return]


# --- an edition folder and the CLI ----------------------------------------------------


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No real config or DIGEST_* variables leak in."""
    import os

    for key in list(os.environ):
        if key.startswith(("DIGEST_", "OPENAI_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("DIGEST_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("DIGEST_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")


def make_edition(folder: Path, title: str = "Morning Brief", langs: str = "en,tr,ar") -> Path:
    languages = parse_languages(langs)
    edition = Digest(
        title=title,
        edition_date=date(2025, 3, 14),
        generated_at=datetime(2025, 3, 14, 6, 0, tzinfo=UTC),
        languages=languages,
        articles=[],
        results=[],
        prompt="summarize@v001",
        model="test-model",
        endpoint="127.0.0.1",
    )
    folder.mkdir(parents=True)
    Manifest.of(edition, title=title, titles={}).write(folder)
    for info in languages:
        words = GREETING[info.code]
        direction = "rtl" if info.rtl else "ltr"
        html = (
            f'<!doctype html><html lang="{info.code}" dir="{direction}"><head>'
            f'<meta charset="utf-8"><title>{title}</title></head>'
            f"<body><p>{words}</p><p>{'x' * 300}</p></body></html>\n"
        )
        (folder / f"digest.{info.code}.html").write_text(html, encoding="utf-8")
        (folder / f"digest.{info.code}.txt").write_text(f"{words}\n", encoding="utf-8")
        (folder / f"digest.{info.code}.md").write_text(f"# {words}\n", encoding="utf-8")
    return folder


@pytest.fixture
def edition(tmp_path: Path) -> Path:
    return make_edition(tmp_path / "out")


def write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("email,name,languages,topics\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def smtp_args(server: Recorder) -> list[str]:
    return [
        "--smtp-host", "127.0.0.1",
        "--smtp-port", str(server.port),
        "--smtp-security", "none",
        "--from", FROM,
        "--retry-wait", "0",
    ]  # fmt: skip


@dataclass
class Result:
    code: int
    out: str
    err: str


def run(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    code: int | str | None = 0
    try:
        main(["send", *args])
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return Result(int(code or 0), captured.out, captured.err)


def log_lines(folder: Path) -> list[dict[str, Any]]:
    path = folder / "send-log.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# --- tests ------------------------------------------------------------------------------


def test_each_subscriber_gets_each_language_as_text_then_html(
    edition: Path, server: Recorder, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    subscribers = write_csv(
        tmp_path / "subs.csv",
        [
            "alice@example.org,Alice Smith,en,",
            "ayse@example.org,Ayşe Yılmaz,tr;en,tech",
            "omar@example.org,عمر,ar,",
            "bob@example.org,Bob,fr,",
        ],
    )
    result = run(capsys, str(edition), "--subscribers", str(subscribers), *smtp_args(server))

    assert result.code == 0, result.err
    assert result.out.strip() == "sent 4"
    assert "the edition has no fr" in result.err
    got = server.by_rcpt()
    assert set(got) == {
        ("alice@example.org", "en"),
        ("ayse@example.org", "tr"),
        ("ayse@example.org", "en"),
        ("omar@example.org", "ar"),
    }
    assert len({session for _, _, session in server.received}) == 1  # one connection
    for (rcpt, lang), msg in got.items():
        assert msg.get_content_type() == "multipart/alternative"
        parts = list(msg.iter_parts())
        assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
        assert all(p.get_content_charset() == "utf-8" for p in parts)
        assert parts[0].get_content().strip() == GREETING[lang]
        assert f'<html lang="{lang}"' in parts[1].get_content()
        assert GREETING[lang] in parts[1].get_content()
        assert msg["To"].addresses[0].addr_spec == rcpt
        assert msg["From"].addresses[0].addr_spec == "desk@news.example"
        assert msg["Message-ID"].endswith("@news.example>")
        assert msg["Date"].datetime.tzinfo is not None
        assert msg["List-Unsubscribe"] is None  # no unsubscribe_url configured
    assert got[("ayse@example.org", "tr")]["To"].addresses[0].display_name == "Ayşe Yılmaz"
    assert got[("omar@example.org", "ar")]["To"].addresses[0].display_name == "عمر"
    assert got[("ayse@example.org", "tr")]["Subject"] == "Morning Brief — 14 Mart 2025"
    assert got[("omar@example.org", "ar")]["Subject"] == "Morning Brief — 14 مارس 2025"
    assert got[("alice@example.org", "en")]["Subject"] == "Morning Brief — March 14, 2025"
    # Non-ASCII only ever travels encoded: no relay needs SMTPUTF8 or 8BITMIME.
    assert all(raw.isascii() for _, raw, _ in server.received)


def test_arabic_and_turkish_subject_templates_round_trip(
    edition: Path, server: Recorder, capsys: pytest.CaptureFixture[str]
) -> None:
    template = "نشرة {title} · {date} · Günaydın {name}"
    result = run(
        capsys, str(edition), "--to", "Çağrı Öztürk <cagri@example.org>",
        "--lang", "ar,tr", "--subject", template, *smtp_args(server),
    )  # fmt: skip

    assert result.code == 0, result.err
    got = server.by_rcpt()
    ar = got[("cagri@example.org", "ar")]["Subject"]
    tr = got[("cagri@example.org", "tr")]["Subject"]
    assert ar == "نشرة Morning Brief · 14 مارس 2025 · Günaydın Çağrı Öztürk"
    assert tr == "نشرة Morning Brief · 14 Mart 2025 · Günaydın Çağrı Öztürk"


def test_to_without_lang_gets_the_first_language(
    edition: Path, server: Recorder, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run(capsys, str(edition), "--to", "me@example.org", *smtp_args(server))

    assert result.code == 0, result.err
    assert list(server.by_rcpt()) == [("me@example.org", "en")]


def test_refused_recipient_is_reported_while_others_get_mail(
    edition: Path, server: Recorder, capsys: pytest.CaptureFixture[str]
) -> None:
    server.refuse.add("ghost@example.org")
    server.busy_once.add("slow@example.org")
    server.busy_always.add("full@example.org")
    addresses = ["a@example.org", "ghost@example.org", "slow@example.org", "full@example.org"]
    to_args = [arg for address in addresses for arg in ("--to", address)]

    result = run(capsys, str(edition), *to_args, *smtp_args(server))

    assert result.code == 3
    assert set(server.by_rcpt()) == {("a@example.org", "en"), ("slow@example.org", "en")}
    assert result.out.startswith("sent 2, failed 2 (ghost@example.org: 550 5.1.1 no such user;")
    assert "full@example.org: 451 4.3.0 mailbox busy (gave up after 3 tries)" in result.out
    assert len(result.out.strip().splitlines()) == 1
    assert "ghost@example.org [en]: 550" in result.err
    assert {line["email"] for line in log_lines(edition)} == {"a@example.org", "slow@example.org"}


def test_dropped_connection_is_reopened_and_the_message_retried(
    edition: Path, server: Recorder, capsys: pytest.CaptureFixture[str]
) -> None:
    server.drop_once.add("b@example.org")
    result = run(
        capsys, str(edition), "--to", "a@example.org", "--to", "b@example.org",
        "--to", "c@example.org", *smtp_args(server),
    )  # fmt: skip

    assert result.code == 0, result.err
    assert result.out.strip() == "sent 3"
    assert [rcpts for rcpts, _, _ in server.received] == [
        ["a@example.org"],
        ["b@example.org"],
        ["c@example.org"],
    ]
    assert len({session for _, _, session in server.received}) == 2


def test_send_log_prevents_a_double_send_and_resend_overrides(
    edition: Path, server: Recorder, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [str(edition), "--to", "a@example.org", "--lang", "en,tr", *smtp_args(server)]

    first = run(capsys, *args)
    second = run(capsys, *args)

    assert first.out.strip() == "sent 2"
    assert second.code == 0
    assert second.out.strip() == "sent 0, skipped 2 (already sent)"
    assert len(server.received) == 2
    entries = log_lines(edition)
    assert [(e["email"], e["lang"]) for e in entries] == [
        ("a@example.org", "en"),
        ("a@example.org", "tr"),
    ]
    assert {e["edition"] for e in entries} == {"2025-03-14 Morning Brief"}
    sent_ids = {str(m["Message-ID"]) for m in server.messages()}
    assert {e["message_id"] for e in entries} == sent_ids

    third = run(capsys, *args, "--resend")

    assert third.out.strip() == "sent 2"
    assert len(server.received) == 4
    assert len(log_lines(edition)) == 4


def test_dry_run_writes_eml_files_and_sends_nothing(
    edition: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run(
        capsys, str(edition), "--to", "Ayşe <ayse@example.org>", "--lang", "tr,ar",
        "--dry-run", "--from", FROM,
    )  # fmt: skip

    outbox = edition / "outbox"
    assert result.code == 0, result.err
    assert result.out.strip() == f"dry run: wrote 2 message(s) to {outbox}"
    files = sorted(outbox.glob("*.eml"))
    assert [f.name for f in files] == ["ayse@example.org.ar.eml", "ayse@example.org.tr.eml"]
    ar = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert ar["Content-Language"] == "ar"
    assert ar["Subject"] == "Morning Brief — 14 مارس 2025"
    assert [p.get_content_type() for p in ar.iter_parts()] == ["text/plain", "text/html"]
    assert not (edition / "send-log.jsonl").exists()
    assert not list(outbox.glob(".*.tmp"))


def test_unsubscribe_headers_follow_rfc_8058(
    edition: Path, server: Recorder, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = tmp_path / "digest.toml"
    config.write_text(
        'unsubscribe_url = "https://example.org/unsub?e={email}&l={lang}"\n', encoding="utf-8"
    )
    result = run(
        capsys, str(edition), "--to", "a+news@example.org", "--config", str(config),
        *smtp_args(server),
    )  # fmt: skip

    assert result.code == 0, result.err
    (msg,) = server.messages()
    assert msg["List-Unsubscribe"] == "<https://example.org/unsub?e=a%2Bnews%40example.org&l=en>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_header_injection_is_neutralised(
    tmp_path: Path, server: Recorder, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = make_edition(tmp_path / "evil", title="Brief\r\nBcc: spy@attacker.example")
    subscribers = tmp_path / "subs.csv"
    subscribers.write_text(
        'email,name,languages\na@example.org,"Eve\r\nBcc: spy2@attacker.example",en\n',
        encoding="utf-8",
    )
    result = run(capsys, str(folder), "--subscribers", str(subscribers), *smtp_args(server))

    assert result.code == 0, result.err
    assert [rcpts for rcpts, _, _ in server.received] == [["a@example.org"]]
    (msg,) = server.messages()
    assert msg["Bcc"] is None
    assert msg["Subject"] == "Brief Bcc: spy@attacker.example — March 14, 2025"
    assert msg["To"].addresses[0].display_name == "Eve Bcc: spy2@attacker.example"


def test_bad_subscriber_rows_stop_the_run_before_sending(
    edition: Path, server: Recorder, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad_lang = write_csv(tmp_path / "lang.csv", ["a@example.org,A,en,", "b@example.org,B,xx-nope,"])
    bad_mail = write_csv(tmp_path / "mail.csv", ["a@example.org,A,en,", "not-an-address,B,en,"])

    by_lang = run(capsys, str(edition), "--subscribers", str(bad_lang), *smtp_args(server))
    by_mail = run(capsys, str(edition), "--subscribers", str(bad_mail), *smtp_args(server))
    injected = run(capsys, str(edition), "--to", "a@example.org\r\nBcc: x@y.z", *smtp_args(server))

    no_fr = run(capsys, str(edition), "--to", "a@example.org", "--lang", "fr", *smtp_args(server))
    both = run(capsys, str(edition), "--to", "a@x.org", "--subscribers", str(bad_mail))
    neither = run(capsys, str(edition), *smtp_args(server))

    for result in (by_lang, by_mail, injected, no_fr, both, neither):
        assert result.code == 2
        assert len(result.err.strip().splitlines()) == 1
    assert "has no 'fr' (it has en, tr, ar)" in no_fr.err
    assert "either --to" in both.err and "either --to" in neither.err
    assert "lang.csv line 3" in by_lang.err and "xx-nope" in by_lang.err
    assert "mail.csv line 3" in by_mail.err
    assert server.received == []


@NO_TLS_WARNING
def test_login_happens_and_the_password_never_leaks(
    tmp_path: Path,
    start_server: Any,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = start_server(auth_required=True)
    folder = make_edition(tmp_path / "out")
    monkeypatch.setenv("DIGEST_SMTP_USER", USER)
    monkeypatch.setenv("DIGEST_SMTP_PASSWORD", PASSWORD)
    args = [str(folder), "--to", "a@example.org", "--lang", "en,ar", *smtp_args(server)]

    sent = run(capsys, *args)
    dry = run(capsys, *args, "--resend", "--dry-run")

    assert sent.code == 0, sent.err
    assert server.logins == [USER]
    assert len(server.received) == 2
    assert dry.code == 0
    outputs = [sent.out, sent.err, dry.out, dry.err]
    outputs += [r.getMessage() for r in caplog.records if not r.name.startswith("mail.log")]
    files = [p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) >= 3 + 2  # manifest, bodies, send log, two .eml files
    assert all(PASSWORD not in text for text in outputs)
    assert all(PASSWORD.encode() not in data for data in files)


@NO_TLS_WARNING
def test_wrong_password_is_one_line_exit_5(
    edition: Path,
    start_server: Any,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = start_server(auth_required=True)
    wrong = "Wrong-" + PASSWORD
    monkeypatch.setenv("DIGEST_SMTP_USER", USER)
    monkeypatch.setenv("DIGEST_SMTP_PASSWORD", wrong)

    result = run(capsys, str(edition), "--to", "a@example.org", *smtp_args(server))

    assert result.code == 5
    assert result.out == ""
    (line,) = result.err.strip().splitlines()
    assert f"127.0.0.1:{server.port}" in line and "refused the login" in line
    assert wrong not in line
    assert server.logins == [] and server.received == []


def test_unreachable_server_is_one_line_exit_5(
    edition: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    closed = Recorder(port=_free_port())  # nothing listens there
    result = run(capsys, str(edition), "--to", "a@example.org", *smtp_args(closed))

    assert result.code == 5
    (line,) = result.err.strip().splitlines()
    assert line.startswith(f"digest: error: cannot connect to SMTP server 127.0.0.1:{closed.port}")


def test_server_gone_mid_batch_stops_and_keeps_the_log(edition: Path, server: Recorder) -> None:
    """Library level, with an injected factory: the second connection is refused."""
    server.drop_once.add("b@example.org")
    connections: list[str] = []

    def connect() -> smtplib.SMTP:
        connections.append("open")
        if len(connections) > 1:
            raise ConnectionRefusedError(111, "Connection refused")
        return smtplib.SMTP("127.0.0.1", server.port, timeout=5)

    settings = load_settings({"smtp": {"from": FROM}})
    options = SendOptions(
        folder=edition, to=["a@example.org", "b@example.org", "c@example.org"], retry_wait=0
    )
    with pytest.raises(DeliveryError) as info:
        send_edition(options, settings, connect=connect)

    assert "after sending 1" in info.value.message
    # b's first try runs on the open connection and is dropped; each retry reconnects.
    assert len(connections) == options.attempts
    assert [e["email"] for e in log_lines(edition)] == ["a@example.org"]
    assert [rcpts for rcpts, _, _ in server.received] == [["a@example.org"]]


def test_help_shows_examples(capsys: pytest.CaptureFixture[str]) -> None:
    result = run(capsys, "--help")

    assert result.code == 0
    assert "Examples:" in result.out
    assert "digest send digest-out/ --subscribers subscribers.csv" in result.out
    assert "--dry-run" in result.out and "--resend" in result.out
