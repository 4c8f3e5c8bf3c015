"""``digest send`` against a real aiosmtpd server on 127.0.0.1, driven through the CLI."""

from __future__ import annotations

import email
import email.policy
import smtplib
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from support.smtp import (
    FROM,
    GREETING,
    NO_TLS_WARNING,
    PASSWORD,
    USER,
    Recorder,
    free_port,
    log_lines,
    make_edition,
    run,
    smtp_args,
    smtp_servers,
    write_csv,
)

from digest.config import load_settings
from digest.delivery.mail import SendOptions, send_edition
from digest.edition import write_edition
from digest.errors import DeliveryError
from digest.languages import parse_languages
from digest.manifest import Manifest
from digest.models import Digest


@pytest.fixture
def start_server() -> Iterator[Any]:
    with smtp_servers() as start:
        yield lambda auth_required=False: start(auth_required=auth_required, auth_require_tls=False)


@pytest.fixture
def server(start_server: Any) -> Recorder:
    return start_server()  # type: ignore[no-any-return]


# --- a clean environment and an edition folder -----------------------------------------


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


@pytest.fixture
def edition(tmp_path: Path) -> Path:
    return make_edition(tmp_path / "out")


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

    # bob asked for French, which the edition lacks: reported and skipped, never swapped.
    assert result.code == 3, result.err
    assert result.out.strip() == "sent 4, unserved 1 (bob@example.org: no fr)"
    assert "digest: skipped: bob@example.org [fr]: the edition has no fr" in result.err
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


def subscribers_file(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("column", ["language", "Lang", "languages"])
def test_every_name_of_the_language_column_is_honoured(
    tmp_path: Path, server: Recorder, capsys: pytest.CaptureFixture[str], column: str
) -> None:
    """Issue 10: a header `email,name,language` sent the Turkish edition to an Arabic reader."""
    folder = make_edition(tmp_path / "out", langs="tr,ar")
    subscribers = subscribers_file(
        tmp_path / "subs.csv",
        f"email,name,{column}",
        ["omar@example.org,عمر,ar", "ayse@example.org,Ayşe,tr"],
    )
    result = run(capsys, str(folder), "--subscribers", str(subscribers), *smtp_args(server))

    assert result.code == 0, result.err
    assert set(server.by_rcpt()) == {("omar@example.org", "ar"), ("ayse@example.org", "tr")}


def test_an_unknown_column_is_refused_naming_the_expected_ones(
    edition: Path, server: Recorder, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    misspelt = subscribers_file(tmp_path / "subs.csv", "email,name,langauge", ["a@x.org,A,ar"])
    twice = subscribers_file(tmp_path / "twice.csv", "email,lang,languages", ["a@x.org,ar,tr"])
    shifted = subscribers_file(tmp_path / "shift.csv", "email,name,lang", ["a@x.org,Doe, J,ar"])

    results = [
        run(capsys, str(edition), "--subscribers", str(path), *smtp_args(server))
        for path in (misspelt, twice, shifted)
    ]

    for result in results:
        assert result.code == 2
        assert len(result.err.strip().splitlines()) == 1, result.err
    assert (
        "unknown column 'langauge' (expected email, name, language (or languages, lang), "
        "topics)" in results[0].err
    )
    assert "'lang' and 'languages' say the same" in results[1].err
    assert "shift.csv line 2: more cells than the header" in results[2].err
    assert server.received == []


def test_a_subscriber_whose_language_is_missing_is_reported_and_skipped(
    tmp_path: Path, server: Recorder, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = make_edition(tmp_path / "out", langs="en,tr")
    subscribers = subscribers_file(
        tmp_path / "subs.csv",
        "email,name,language",
        ["omar@example.org,عمر,ar", "ayse@example.org,Ayşe,tr"],
    )
    result = run(capsys, str(folder), "--subscribers", str(subscribers), *smtp_args(server))

    assert result.code == 3
    assert list(server.by_rcpt()) == [("ayse@example.org", "tr")]
    assert result.out.strip() == "sent 1, unserved 1 (omar@example.org: no ar)"
    assert result.err.strip() == (
        "digest: skipped: omar@example.org [ar]: the edition has no ar (it has en, tr); "
        "--fallback-lang sends another"
    )
    assert [line["email"] for line in log_lines(folder)] == ["ayse@example.org"]


def test_a_fallback_language_is_opt_in_and_reported(
    tmp_path: Path, server: Recorder, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = make_edition(tmp_path / "out", langs="en,tr")
    subscribers = subscribers_file(
        tmp_path / "subs.csv",
        "email,name,lang",
        ["omar@example.org,عمر,ar", "ayse@example.org,Ayşe,tr", "zoe@example.org,Zoé,fr;en"],
    )
    config = tmp_path / "digest.toml"
    config.write_text('[mail]\nfallback_lang = "en"\n', encoding="utf-8")
    args = [str(folder), "--subscribers", str(subscribers), *smtp_args(server)]

    by_flag = run(capsys, *args, "--fallback-lang", "en")
    by_config = run(capsys, *args, "--config", str(config), "--resend", "--dry-run")
    missing = run(capsys, *args, "--fallback-lang", "de", "--resend")

    assert by_flag.code == 0, by_flag.err
    assert set(server.by_rcpt()) == {
        ("omar@example.org", "en"),
        ("ayse@example.org", "tr"),
        ("zoe@example.org", "en"),  # once: she asked for en as well
    }
    assert len(server.received) == 3
    summary = "fallback 2 (omar@example.org: en for ar; zoe@example.org: en for fr)"
    assert by_flag.out.strip() == f"sent 3, {summary}"
    assert "digest: fallback: omar@example.org gets en (the edition has no ar)" in by_flag.err
    assert by_config.code == 0, by_config.err
    assert by_config.out.strip().endswith(summary)
    assert missing.code == 2
    assert "fallback language: the edition has no 'de' (it has en, tr)" in missing.err


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


def test_subjects_carry_the_translated_default_title(
    tmp_path: Path, server: Recorder, capsys: pytest.CaptureFixture[str]
) -> None:
    """A rendered Arabic + Turkish edition with no configured title: each subject (and the
    sender's display name) carries that language's title from manifest.titles."""
    digest = Digest(
        title=None,
        edition_date=date(2025, 3, 14),
        generated_at=datetime(2025, 3, 14, 6, 0, tzinfo=UTC),
        languages=parse_languages("ar,tr"),
        articles=[],
        results=[],
        prompt="summarize@v001",
        model="test-model",
        endpoint="127.0.0.1",
    )
    folder = tmp_path / "out"
    write_edition(digest, folder, started=0.0)
    manifest = Manifest.load(folder)
    assert manifest.titles == {"ar": "موجز الأخبار", "tr": "Haber özeti"}
    assert manifest.title == "News digest"
    sender = ["--from", "desk@news.example"]

    result = run(
        capsys, str(folder), "--to", "a@example.org", "--lang", "ar,tr", *smtp_args(server), *sender
    )

    assert result.code == 0, result.err
    got = server.by_rcpt()
    ar, tr = got[("a@example.org", "ar")], got[("a@example.org", "tr")]
    assert ar["Subject"] == "موجز الأخبار — 14 مارس 2025"
    assert tr["Subject"] == "Haber özeti — 14 Mart 2025"
    assert ar["From"].addresses[0].display_name == "موجز الأخبار"
    assert tr["From"].addresses[0].display_name == "Haber özeti"


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
    closed = Recorder(port=free_port())  # nothing listens there
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
