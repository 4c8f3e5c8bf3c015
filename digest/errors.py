"""The one exception tree of digest.

Every error a user can cause is a ``DigestError``: its message is written for the user
(one line, no secrets) and it carries the process exit code. The CLI translates them
once, at the edge (``digest.cli.main``); anything else is a bug and shows a traceback
only under ``DIGEST_DEBUG=1`` or pytest.

    DigestError                 exit 1
    ├── UsageError              exit 2  bad flags, config, language codes, prompt refs
    │   └── InputError          exit 2  missing / empty / binary / unreadable inputs
    ├── EndpointError           exit 4  endpoint down, refusing us, or the local model fails
    ├── BudgetExceeded          (caught: the rest is withheld, exit 3)
    └── DeliveryError           exit 5  SMTP server unreachable or refused the login

Exit code 3 is not an error: the run finished but withheld some items (or some
recipients / sources failed). See ``ExitCode``.
"""

from __future__ import annotations

from enum import IntEnum


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


class EndpointError(DigestError):
    exit_code = ExitCode.ENDPOINT


class BudgetExceeded(DigestError):
    exit_code = ExitCode.ENDPOINT


class DeliveryError(DigestError):
    exit_code = ExitCode.DELIVERY
