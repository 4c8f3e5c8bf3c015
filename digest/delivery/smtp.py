"""SMTP as delivery needs it: a connection factory (STARTTLS, implicit TLS, login) and one
connection per batch that is reopened when the server drops it. Replies are sorted into
temporary (4xx, dropped connection: retry) and permanent (5xx: give up on this recipient);
an unreachable server or a refused login is a ``DeliveryError`` (exit 5). The password never
appears in anything we print, whatever a server echoes back."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from email.message import EmailMessage

from digest.delivery.subscribers import one_line
from digest.errors import DeliveryError, FileError, file_error
from digest.sections import SmtpSettings

SmtpFactory = Callable[[], smtplib.SMTP]
"""Returns a connected client, TLS and login done; raises OSError / SMTPException."""

DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}


def tls_context(smtp: SmtpSettings) -> ssl.SSLContext:
    """Certificate and host name verified, always: against ``ca_file`` when it is set (a
    private CA), else the system's CAs. A CA file that cannot be used is a usage error."""
    if smtp.ca_file is None:
        return ssl.create_default_context()
    try:
        return ssl.create_default_context(cafile=str(smtp.ca_file))
    except ssl.SSLError:
        raise FileError(smtp.ca_file, "not a PEM file of CA certificates (smtp ca_file)") from None
    except OSError as exc:
        raise file_error(smtp.ca_file, exc) from None


def smtp_connector(smtp: SmtpSettings) -> SmtpFactory:
    """The real factory: connect, STARTTLS or implicit TLS, and log in when a user is set."""
    host = smtp.host or "localhost"
    port = smtp.port or DEFAULT_PORTS[smtp.security]
    context = tls_context(smtp) if smtp.security != "none" else None

    def connect() -> smtplib.SMTP:
        client: smtplib.SMTP
        if smtp.security == "tls":
            client = smtplib.SMTP_SSL(host, port, timeout=smtp.timeout, context=context)
        else:
            client = smtplib.SMTP(host, port, timeout=smtp.timeout)
        try:
            if smtp.security == "starttls":
                client.starttls(context=context)
            if smtp.user:
                secret = smtp.password.get_secret_value() if smtp.password else ""
                client.login(smtp.user, secret)
        except BaseException:
            client.close()
            raise
        return client

    return connect


class Temporary(Exception):
    def __init__(self, reason: str, unreachable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.unreachable = unreachable


class Permanent(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Connection:
    """One SMTP connection for the whole batch, reopened when the server drops it."""

    def __init__(self, connect: SmtpFactory, where: str, secret: str | None) -> None:
        self._connect = connect
        self._client: smtplib.SMTP | None = None
        self.where = where
        self._secret = secret

    def clean(self, text: str) -> str:
        """One line, bounded, and never the password, whatever a server echoes back."""
        text = one_line(text)
        if self._secret:
            text = text.replace(self._secret, "***")
        return text[:200]

    def _reply(self, code: int, message: bytes | str) -> str:
        raw = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
        return self.clean(f"{code} {raw}")

    def _connect_once(self) -> smtplib.SMTP:
        try:
            return self._connect()
        except smtplib.SMTPAuthenticationError as exc:
            reply = self._reply(exc.smtp_code, exc.smtp_error)
            raise DeliveryError(f"SMTP server {self.where} refused the login: {reply}") from None

    def open(self) -> None:
        try:
            self._client = self._connect_once()
        except ssl.SSLCertVerificationError as exc:
            reason = self.clean(exc.verify_message or str(exc))
            raise DeliveryError(
                f"SMTP server {self.where}: its TLS certificate is not trusted ({reason}); "
                "if it uses a private CA, set ca_file under [smtp] (or DIGEST_SMTP_CA_FILE)"
            ) from None
        except OSError as exc:
            reason = self.clean(str(exc))
            raise DeliveryError(f"cannot connect to SMTP server {self.where}: {reason}") from None

    def send(self, msg: EmailMessage, sender: str, rcpt: str) -> None:
        if self._client is None:
            try:
                self._client = self._connect_once()
            except OSError as exc:
                raise Temporary(self.clean(str(exc)), unreachable=True) from None
        client = self._client
        try:
            client.send_message(msg, from_addr=sender, to_addrs=[rcpt])
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            raise self._outcome(code, reply) from None
        except smtplib.SMTPResponseException as exc:
            raise self._outcome(exc.smtp_code, exc.smtp_error) from None
        except smtplib.SMTPServerDisconnected as exc:
            self.drop()
            raise Temporary(f"connection lost: {self.clean(str(exc))}") from None
        except smtplib.SMTPException as exc:
            raise Permanent(self.clean(str(exc))) from None
        except OSError as exc:
            self.drop()
            raise Temporary(f"connection lost: {self.clean(str(exc))}") from None
        finally:
            if client.sock is None:  # smtplib closed it itself (a 421 reply, a drop)
                self._client = None

    def _outcome(self, code: int, reply: bytes | str) -> Exception:
        reason = self._reply(code, reply)
        return Temporary(reason) if 400 <= code < 500 else Permanent(reason)

    def drop(self) -> None:
        if self._client is not None:
            self._client.close()
        self._client = None

    def close(self) -> None:
        if self._client is None:
            return
        try:
            self._client.quit()
        except OSError:
            pass
        self.drop()


def open_connection(smtp: SmtpSettings, connect: SmtpFactory | None = None) -> Connection:
    """A connection to the configured server (or through ``connect``: tests, other transports);
    nothing is opened until ``Connection.open``."""
    port = smtp.port or DEFAULT_PORTS[smtp.security]
    secret = smtp.password.get_secret_value() if smtp.password else None
    return Connection(connect or smtp_connector(smtp), f"{smtp.host or 'localhost'}:{port}", secret)
