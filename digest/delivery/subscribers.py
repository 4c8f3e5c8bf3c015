"""Who gets which language of an edition: addresses from ``--to`` or a subscribers CSV
(validated up front, so a typo stops the run before the first message leaves), matched
against the edition's languages, minus those the send log says already got it.

CSV format (UTF-8, a BOM from spreadsheets is fine), header names case-insensitive::

    email,name,languages,topics
    ayse@example.org,Ayşe Yılmaz,tr;en,
    omar@example.org,عمر,ar,world

``languages`` holds BCP-47 codes separated by ``;``, ``,`` or spaces; an empty cell means
"the default language of the run". ``name`` and ``topics`` are optional columns.
"""

from __future__ import annotations

import csv
import email.utils
import os
import re
from collections import Counter
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


def _read_rows(handle: TextIO, path: Path) -> list[Recipient]:
    reader = csv.DictReader(handle)
    columns = {(name or "").strip().lower(): name for name in reader.fieldnames or []}
    if "email" not in columns:
        raise InputError(f"{path}: the header row must have an 'email' column")
    recipients = []
    for row in reader:
        cells = {column: (row.get(key) or "").strip() for column, key in columns.items()}
        if not any(cells.values()):
            continue
        where = f"{path.name} line {reader.line_num}"
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


def match_language(languages: list[LanguageInfo], code: str) -> LanguageInfo | None:
    """Exact code first; a bare ``pt`` also matches an edition's only ``pt-*``."""
    for info in languages:
        if info.code.lower() == code.lower():
            return info
    same_base = [info for info in languages if info.base == code.lower()]
    return same_base[0] if len(same_base) == 1 else None


def plan(
    languages: list[LanguageInfo], recipients: list[Recipient], wanted: list[str]
) -> tuple[list[Job], list[str]]:
    """Recipient x language pairs to deliver, and warnings for languages the edition lacks.

    ``languages`` are the edition's. ``wanted`` (--lang) filters; recipients without
    languages (``--to``, an empty CSV cell) get ``wanted``, or the edition's first language.
    """
    have = ", ".join(info.code for info in languages)
    chosen = []
    for code in wanted:
        info = match_language(languages, parse_language(code).code)
        if info is None:
            raise UsageError(f"the edition has no {code!r} (it has {have})")
        chosen.append(info.code)
    default = chosen or [languages[0].code]
    jobs: list[Job] = []
    seen: set[tuple[str, str]] = set()
    missing: Counter[str] = Counter()
    for recipient in recipients:
        for code in recipient.languages or default:
            info = match_language(languages, code)
            if info is None:
                if not chosen:  # with --lang the person would not get it anyway
                    missing[code] += 1
                continue
            key = (recipient.email.casefold(), info.code)
            if (chosen and info.code not in chosen) or key in seen:
                continue
            seen.add(key)
            jobs.append(Job(recipient, info))
    warnings = [
        f"the edition has no {code} (it has {have}); skipped it for {count} subscriber(s)"
        for code, count in missing.items()
    ]
    return jobs, warnings


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
