"""Who gets which language of an edition: addresses from ``--to`` or a subscribers CSV
(validated up front, so a typo stops the run before the first message leaves), matched
against the edition's languages, minus those the send log says already got it.

CSV format (UTF-8, a BOM from spreadsheets is fine), header names case-insensitive::

    email,name,language,topics
    ayse@example.org,Ayşe Yılmaz,tr;en,
    omar@example.org,عمر,ar,world

The language column may be headed ``language``, ``languages`` or ``lang``; it holds BCP-47
codes separated by ``;``, ``,`` or spaces, and an empty cell means "the default language of
the run". ``name`` and ``topics`` are optional. Any other column is refused (a misspelt
language column would otherwise send everyone the default language), and so is a row with
more cells than the header.

A subscriber's language that the edition lacks is never replaced silently: it is reported as
unserved, or, when the caller names a fallback language, replaced by it and reported as such.
"""

from __future__ import annotations

import csv
import email.utils
import os
import re
from datetime import datetime
from email.errors import HeaderParseError
from email.headerregistry import Address
from pathlib import Path
from typing import NamedTuple, TextIO

from pydantic import BaseModel, ValidationError

from digest.errors import InputError, UsageError, file_error
from digest.languages import parse_language
from digest.models import LanguageInfo

_LIST_SPLIT = re.compile(r"[;,\s]+")


class Recipient(BaseModel):
    email: str
    name: str = ""
    languages: list[str] = []  # normalised BCP-47 codes; empty means the run's default
    topics: list[str] = []


def one_line(text: str) -> str:
    """Collapse every run of whitespace, CR/LF included, so text is safe in a header."""
    return " ".join(text.split())


def parse_address(text: str) -> tuple[str, str]:
    """``"Name <a@b>"`` or ``"a@b"`` -> (display name, addr-spec); ValueError if invalid.

    Non-ASCII domains are converted to IDNA; non-ASCII local parts are refused because
    they need SMTPUTF8, which we do not negotiate.
    """
    if "\r" in text or "\n" in text:
        raise ValueError("line breaks are not allowed in an address")
    parsed = email.utils.getaddresses([text])
    if len(parsed) != 1 or not parsed[0][1]:
        raise ValueError("expected exactly one address")
    name, spec = parsed[0]
    try:
        address = Address(addr_spec=spec)
        domain = address.domain.encode("idna").decode("ascii")
    except (ValueError, IndexError, HeaderParseError, UnicodeError):
        raise ValueError("not a valid email address") from None
    if not address.username or not domain:
        raise ValueError("not a valid email address")
    return one_line(name), f"{address.username}@{domain}"


def _languages(cell: str) -> list[str]:
    return [parse_language(code).code for code in _LIST_SPLIT.split(cell.strip()) if code]


def recipients_from_addresses(addresses: list[str]) -> list[Recipient]:
    """Recipients given with ``--to``; they get the run's default languages."""
    recipients = []
    for text in addresses:
        try:
            name, spec = parse_address(text)
        except ValueError as exc:
            raise UsageError(f"--to {one_line(text)!r}: {exc}") from None
        recipients.append(Recipient(email=spec, name=name))
    return recipients


def load_subscribers(path: Path) -> list[Recipient]:
    """Read and validate the whole file; any bad row is one UsageError naming its line."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(_read_rows(handle, path))
    except (OSError, UnicodeDecodeError) as exc:
        raise file_error(path, exc) from None
    except csv.Error as exc:
        raise InputError(f"{path}: not a readable CSV file ({exc})") from None
    if not rows:
        raise InputError(f"subscribers file {path} has no subscribers")
    return rows


# Header name (case-insensitive) -> the field it fills.
COLUMNS = {
    "email": "email",
    "name": "name",
    "language": "languages",
    "languages": "languages",
    "lang": "languages",
    "topics": "topics",
}
EXPECTED_COLUMNS = "email, name, language (or languages, lang), topics"


def _header(fieldnames: list[str], path: Path) -> dict[str, str]:
    """Field -> the header name as written; one InputError line for anything else."""
    fields: dict[str, str] = {}
    for raw in fieldnames:
        name = raw.strip().lower()
        if not name:
            continue  # a trailing comma from a spreadsheet: an unnamed, unused column
        field = COLUMNS.get(name)
        if field is None:
            raise InputError(
                f"{path}: unknown column {one_line(raw)!r} (expected {EXPECTED_COLUMNS})"
            )
        if field in fields:
            raise InputError(
                f"{path}: columns {fields[field]!r} and {raw.strip()!r} say the same; keep one"
            )
        fields[field] = raw
    if "email" not in fields:
        raise InputError(f"{path}: the header row must have an 'email' column")
    return fields


def _read_rows(handle: TextIO, path: Path) -> list[Recipient]:
    reader = csv.DictReader(handle)
    fields = _header(list(reader.fieldnames or []), path)
    recipients = []
    for row in reader:
        where = f"{path.name} line {reader.line_num}"
        if any((extra or "").strip() for extra in row.get(None) or []):
            raise UsageError(
                f"{where}: more cells than the header has columns "
                "(quote a name that contains a comma)"
            )
        cells = {field: (row.get(key) or "").strip() for field, key in fields.items()}
        if not any(cells.values()):
            continue
        try:
            name, spec = parse_address(cells["email"])
        except ValueError as exc:
            raise UsageError(f"{where}: {cells['email']!r}: {exc}") from None
        try:
            languages = _languages(cells.get("languages", ""))
        except UsageError as exc:
            raise UsageError(f"{where}: {exc.message}") from None
        recipients.append(
            Recipient(
                email=spec,
                name=one_line(cells.get("name", "")) or name,
                languages=list(dict.fromkeys(languages)),
                topics=[t for t in _LIST_SPLIT.split(cells.get("topics", "")) if t],
            )
        )
    return recipients


class Job(NamedTuple):
    recipient: Recipient
    lang: LanguageInfo


class Substitute(NamedTuple):
    """A language a subscriber asked for that the edition lacks, and what they get instead
    (``None``: nothing, no fallback language was given)."""

    recipient: Recipient
    wanted: str
    fallback: str | None


class Plan(NamedTuple):
    jobs: list[Job]
    fallbacks: list[Substitute]  # got the fallback language instead
    unserved: list[Substitute]  # got nothing in that language: reported, exit 3
    warnings: list[str]


def match_language(languages: list[LanguageInfo], code: str) -> LanguageInfo | None:
    """Exact code first; a bare ``pt`` also matches an edition's only ``pt-*``."""
    for info in languages:
        if info.code.lower() == code.lower():
            return info
    same_base = [info for info in languages if info.base == code.lower()]
    return same_base[0] if len(same_base) == 1 else None


def _edition_language(languages: list[LanguageInfo], code: str, what: str) -> LanguageInfo:
    info = match_language(languages, parse_language(code).code)
    if info is None:
        have = ", ".join(info.code for info in languages)
        raise UsageError(f"{what}: the edition has no {code!r} (it has {have})")
    return info


def plan(
    languages: list[LanguageInfo],
    recipients: list[Recipient],
    wanted: list[str],
    fallback: str | None = None,
) -> Plan:
    """Recipient x language pairs to deliver.

    ``languages`` are the edition's. ``wanted`` (--lang) filters; recipients without
    languages (``--to``, an empty CSV cell) get ``wanted``, or the edition's first language.
    A subscriber's language the edition lacks gets ``fallback`` instead (when it is sent in
    this run), else it is listed as unserved; neither happens silently.
    """
    chosen = [_edition_language(languages, code, "--lang").code for code in wanted]
    default = chosen or [languages[0].code]
    warnings: list[str] = []
    substitute = None
    if fallback:
        substitute = _edition_language(languages, fallback, "fallback language")
        if chosen and substitute.code not in chosen:
            warnings.append(
                f"the fallback language {substitute.code} is not sent in this run (--lang "
                f"{','.join(chosen)}): subscribers without their language get nothing"
            )
            substitute = None
    jobs: list[Job] = []
    fallbacks: list[Substitute] = []
    unserved: list[Substitute] = []
    seen: set[tuple[str, str]] = set()
    for recipient in recipients:
        for code in recipient.languages or default:
            info = match_language(languages, code)
            if info is None:
                if substitute is None:
                    unserved.append(Substitute(recipient, code, None))
                    continue
                fallbacks.append(Substitute(recipient, code, substitute.code))
                info = substitute
            key = (recipient.email.casefold(), info.code)
            if (chosen and info.code not in chosen) or key in seen:
                continue
            seen.add(key)
            jobs.append(Job(recipient, info))
    return Plan(jobs, fallbacks, unserved, warnings)


class LogEntry(BaseModel):
    edition: str
    email: str
    lang: str
    message_id: str
    time: datetime


class SendLog:
    """Append-only JSON lines; a torn last line (crash mid-write) is ignored on read."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def sent(self, edition: str) -> dict[tuple[str, str], str]:
        """(casefolded email, lang) -> message-id of everything already sent."""
        if not self.path.is_file():
            return {}
        done: dict[tuple[str, str], str] = {}
        for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entry = LogEntry.model_validate_json(line)
            except ValidationError:
                continue
            if entry.edition == edition:
                done[(entry.email.casefold(), entry.lang)] = entry.message_id
        return done

    def append(self, entry: LogEntry) -> None:
        """One write per line, flushed and fsynced: a crash loses at most the line in flight."""
        line = entry.model_dump_json() + "\n"
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
