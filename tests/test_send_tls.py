"""STARTTLS and implicit TLS against a real aiosmtpd server on 127.0.0.1, with certificates
made in the test by trustme. The client verifies the server's certificate against the CA the
user configures (``--smtp-ca-file``, ``[smtp] ca_file``, ``DIGEST_SMTP_CA_FILE``); a server
whose certificate it cannot verify is never sent a password or a message."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
import trustme
from support.smtp import (
    PASSWORD,
    USER,
    Recorder,
    make_edition,
    run,
    smtp_args,
    smtp_servers,
)

Mode = Literal["starttls", "tls"]
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def start_tls_server(ca: trustme.CA) -> Iterator[Any]:
    with smtp_servers() as start_smtp:

        def start(mode: Mode, issuer: trustme.CA | None = None) -> Recorder:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            (issuer or ca).issue_cert("127.0.0.1", "localhost").configure_cert(context)
            tls: dict[str, Any] = {"tls_context": context, "require_starttls": True}
            if mode == "tls":
                # aiosmtpd counts only STARTTLS as TLS when it decides to offer AUTH, so its
                # implicit-TLS listener must be told AUTH is fine (the connection is TLS).
                tls = {"ssl_context": context, "auth_require_tls": False}
            return start_smtp(auth_required=True, **tls)

        yield start


@pytest.fixture
def edition(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DIGEST_SMTP_USER", USER)
    monkeypatch.setenv("DIGEST_SMTP_PASSWORD", PASSWORD)
    return make_edition(tmp_path / "out")


def tls_args(server: Recorder, mode: Mode) -> list[str]:
    args = smtp_args(server)
    args[args.index("--smtp-security") + 1] = mode
    return args


@pytest.mark.parametrize("mode", ["starttls", "tls"])
def test_mail_goes_over_verified_tls_and_logs_in(
    mode: Mode,
    edition: Path,
    ca_file: Path,
    start_tls_server: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = start_tls_server(mode)
    result = run(
        capsys, str(edition), "--to", "a@example.org", "--lang", "en,ar",
        *tls_args(server, mode), "--smtp-ca-file", str(ca_file),
    )  # fmt: skip

    assert result.code == 0, result.err
    assert result.out.strip() == "sent 2"
    assert server.logins == [USER]
    assert server.secure == [True, True]
    assert set(server.by_rcpt()) == {("a@example.org", "en"), ("a@example.org", "ar")}


def test_the_ca_file_may_come_from_the_config_file_relative_to_it(
    edition: Path,
    ca: trustme.CA,
    tmp_path: Path,
    start_tls_server: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "conf"
    folder.mkdir()
    ca.cert_pem.write_to_path(str(folder / "private-ca.pem"))
    (folder / "digest.toml").write_text('[smtp]\nca_file = "private-ca.pem"\n', encoding="utf-8")
    server = start_tls_server("tls")

    result = run(
        capsys, str(edition), "--to", "a@example.org", *tls_args(server, "tls"),
        "--config", str(folder / "digest.toml"),
    )  # fmt: skip

    assert result.code == 0, result.err
    assert server.secure == [True]


@pytest.mark.parametrize("mode", ["starttls", "tls"])
@pytest.mark.parametrize("trust", ["system CAs", "another CA"])
def test_an_unverifiable_server_gets_no_password_and_no_mail(
    mode: Mode,
    trust: str,
    edition: Path,
    tmp_path: Path,
    start_tls_server: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = start_tls_server(mode)  # its certificate comes from the test CA
    args = [str(edition), "--to", "a@example.org", *tls_args(server, mode)]
    if trust == "another CA":
        other = tmp_path / "other-ca.pem"
        trustme.CA().cert_pem.write_to_path(str(other))
        args += ["--smtp-ca-file", str(other)]

    result = run(capsys, *args)

    assert result.code == 5
    (line,) = result.err.strip().splitlines()
    assert line.startswith(f"digest: error: SMTP server 127.0.0.1:{server.port}: its TLS certif")
    assert "not trusted" in line and "ca_file" in line
    assert PASSWORD not in result.err + result.out
    assert server.logins == [] and server.received == []


def test_an_unusable_ca_file_is_a_usage_error(
    edition: Path, tmp_path: Path, start_tls_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    server = start_tls_server("tls")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n", encoding="utf-8")
    args = [str(edition), "--to", "a@example.org", *tls_args(server, "tls")]

    missing = run(capsys, *args, "--smtp-ca-file", str(tmp_path / "nope.pem"))
    unusable = run(capsys, *args, "--smtp-ca-file", str(garbage))

    assert missing.code == unusable.code == 2
    assert missing.err.strip() == f"digest: error: {tmp_path / 'nope.pem'}: no such file"
    assert "not a PEM file of CA certificates" in unusable.err
    assert server.received == []
