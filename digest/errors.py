"""The one exception tree of digest.

Every error a user can cause is a ``DigestError``: its message is written for the user
(one line, no secrets) and it carries the process exit code. The CLI translates them
once, at the edge (``digest.cli.main``); anything else is a bug and shows a traceback
only under ``DIGEST_DEBUG=1`` or pytest.

    DigestError                 exit 1
    ├── UsageError              exit 2  bad flags, config, language codes, prompt refs
    │   └── InputError          exit 2  missing / empty / binary / unreadable inputs
    │       └── FileError       exit 2  one file could not be read (path + reason)
    ├── SourceError             exit 3  one feed or page could not be used (a warning in
    │   ├── FetchError                  daily: the edition goes on without it)
    │   └── FeedError
    ├── BudgetExceeded          exit 3  --max-tokens / --max-cost reached: the rest is withheld
    ├── EndpointError           exit 4  endpoint down, refusing us, or the local model fails
    │   ├── EndpointUnreachable         no connection, or no answer within the timeout
    │   ├── EndpointStatusError         an HTTP error status (.status, .headers, .detail)
    │   └── EndpointGarbage             a 200 that is not an OpenAI-compatible response
    └── DeliveryError           exit 5  SMTP server unreachable or refused the login

    Cancelled                   not an error: the run is stopping (Ctrl-C or another
                                worker's fatal error); workers stop quietly

The three kinds of ``EndpointError`` are what ``digest.llm.wire`` makes of the openai
package's exceptions (translated there, once). ``transient`` says whether trying the same
request again may help (no connection, 408/409/429/5xx); the client retries those and only
the last one, if it fails too, ends the run.

Exit code 3 is not a failure: the run finished but withheld some items (or some
recipients / sources failed). See ``ExitCode``. Translation helpers (``file_error``,
``first_error``) are written once here, so every layer words these errors the same way.
"""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path

from pydantic import ValidationError


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1
    USAGE = 2
    PARTIAL = 3
    ENDPOINT = 4
    DELIVERY = 5


class DigestError(Exception):
    exit_code: ExitCode = ExitCode.FAILURE

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(DigestError):
    exit_code = ExitCode.USAGE


class InputError(UsageError):
    pass


class FileError(InputError):
    """A file we were asked to read could not be read: one line naming it and why."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


class SourceError(DigestError):
    """A feed or page of the daily edition could not be used; the edition goes on."""

    exit_code = ExitCode.PARTIAL


class FetchError(SourceError):
    pass


class FeedError(SourceError):
    pass


class BudgetExceeded(DigestError):
    """Control flow more than failure: asking stops, the rest is withheld (exit 3)."""

    exit_code = ExitCode.PARTIAL


class EndpointError(DigestError):
    exit_code = ExitCode.ENDPOINT
    transient = False


class EndpointUnreachable(EndpointError):
    """Refused or reset connection, or no answer within the timeout."""

    transient = True


TRANSIENT_STATUSES = frozenset({408, 409, 429})


class EndpointStatusError(EndpointError):
    """The endpoint answered an HTTP error. ``detail`` is its own one-line message
    (redacted), ``headers`` its response headers (Retry-After, rate limits)."""

    def __init__(
        self, message: str, *, status: int, headers: dict[str, str], detail: str = ""
    ) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers
        self.detail = detail
        self.transient = status in TRANSIENT_STATUSES or status >= 500


class ContextOverflow(EndpointStatusError):
    """The request (prompt, article and answer budget) is longer than the model's context.
    Only this item cannot be asked: it is withheld, the run goes on."""


class EndpointGarbage(EndpointError):
    """A 200 whose body is not an OpenAI-compatible response (an HTML page, bad JSON)."""


class DeliveryError(DigestError):
    exit_code = ExitCode.DELIVERY


class Cancelled(Exception):
    """The run is stopping (Ctrl-C or another worker's fatal error): do not call again."""


def file_error(path: Path | str, exc: OSError | UnicodeDecodeError) -> FileError:
    """An OSError (or undecodable bytes) while reading ``path``, worded for the user."""
    if isinstance(exc, FileNotFoundError):
        return FileError(path, "no such file")
    if isinstance(exc, IsADirectoryError):
        return FileError(path, "is a folder, not a file")
    if isinstance(exc, PermissionError):
        return FileError(path, "permission denied")
    if isinstance(exc, UnicodeDecodeError):
        return FileError(path, f"not valid {exc.encoding} text")
    return FileError(path, f"cannot read ({exc.strerror or exc})")


def first_error(exc: ValidationError) -> str:
    """``where: what`` of a pydantic error's first problem (never the rejected input, which
    may be a secret)."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "value"
    return f"{where}: {first['msg']}"
