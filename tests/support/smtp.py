"""A recording SMTP server (aiosmtpd handler), a rendered edition folder and the ``digest send``
runner, shared by the mail tests."""

from __future__ import annotations

import email
import email.policy
import json
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from digest.cli import main
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
    secure: list[bool] = field(default_factory=list)  # per message: did it arrive over TLS?

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
        # session.ssl is set after STARTTLS; an implicit-TLS transport carries its ssl_object
        tls = session.ssl is not None or server.transport.get_extra_info("ssl_object")
        self.secure.append(bool(tls))
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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def smtp_servers() -> Iterator[Callable[..., Recorder]]:
    """Start recording SMTP servers on 127.0.0.1 (``start(**Controller options)``); every
    one is stopped when the block ends."""
    controllers: list[Controller] = []

    def start(**options: Any) -> Recorder:
        handler = Recorder(port=free_port())
        controller = Controller(
            handler,
            hostname="127.0.0.1",
            port=handler.port,
            authenticator=handler.authenticate,
            **options,
        )
        controller.start()
        controllers.append(controller)
        return handler

    try:
        yield start
    finally:
        for controller in controllers:
            controller.stop()


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
