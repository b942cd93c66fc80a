"""Contacts with provenance: whose each phone and e-mail is, where it came from, how it was read.

DESIGN.md section 2: owner contact is what is sold, so every contact records its role (`owner`,
`listing_agent`, `office`, `unknown`) and origin (`field:OwnerPhone`, `text:description`), and
only the owner's becomes the lead's owner phone and e-mail. A source's fields say whose they are
(`RawRecord.contacts`); contacts read from free text are the poster's (`RawRecord.poster_role`:
the owner on a by-owner classified ad, unknown in MLS remarks), unless they repeat a field's.

Free text is read the way owners write to dodge harvesters, each reading leaving a note:

* digits spelled as words or spaced out, in brackets ("seven 0 two - five five five - zero one
  4 two", "(702) [555] 01 42") — our own reading, because libphonenumber's matcher only takes
  digits; the digits it yields are then checked by libphonenumber like any number;
* vanity numbers ("702-555-HOME") and extensions ("ext. 12", "x12") — libphonenumber's parser;
* e-mail addresses written with `at` / `dot`, in brackets or spaced ("dana.seller at example dot
  com", "dana [at] example [dot] com") — our reading, then email-validator's syntax check;
* text glued to a number or address ("Call702-555-0142now", "…@example.comCall me").

Owner names that are placeholders ("OF RECORD", "OWNER", "N/A", "SEE REMARKS", …) are not names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberMatcher

from aiqleads.ingestion.normalize.email import normalize_email
from aiqleads.ingestion.normalize.phone import DEFAULT_REGION, to_e164
from aiqleads.ingestion.normalize.reasons import Reason, clip, is_blank
from aiqleads.ingestion.records import CONTACT_ROLES, RawRecord

_MAX_TEXT = 20_000

# Placeholders MLS feeds and exports put in the owner-name field when the name is withheld or
# unknown (compared upper-case, without punctuation). A name made only of these words is none.
_PLACEHOLDER_NAMES = frozenset(
    {
        "OF RECORD", "OWNER OF RECORD", "OWNER", "OWNERS", "CURRENT OWNER", "PROPERTY OWNER",
        "RECORD OWNER", "ON RECORD", "OWNER ON RECORD", "SEE REMARKS", "SEE AGENT REMARKS",
        "SEE PUBLIC REMARKS", "SEE TAX RECORDS", "SEE TAX RECORD", "SEE MLS", "REFER TO AGENT",
        "CALL AGENT", "CALL LISTING AGENT", "CALL LISTING OFFICE", "CONTACT AGENT", "N A", "NA",
        "NONE", "NULL", "UNKNOWN", "UNK", "TBD", "TBA", "PRIVATE", "WITHHELD", "WITHHOLD",
        "CONFIDENTIAL", "NOT DISCLOSED", "UNDISCLOSED", "NOT AVAILABLE", "NOT PROVIDED",
        "ON FILE", "SELLER", "SELLERS", "THE SELLER", "RESIDENT", "OCCUPANT", "CURRENT RESIDENT",
        "VACANT", "BANK OWNED", "LENDER OWNED", "REO", "ESTATE", "TENANT", "LANDLORD",
    }
)  # fmt: skip
_NAME_KEY_RE = re.compile(r"[^A-Z0-9]+")

# --- phones in free text -------------------------------------------------------------------

_NUMBER_WORDS = {
    "zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip
_SPELLED_RE = re.compile(r"\b(?:zero|one|two|three|four|five|six|seven|eight|nine)\b", re.I)
# A token of a spelled-out number: a digit run or a number word; between tokens only spaces,
# dashes, dots, slashes and brackets may stand.
_TOKEN_RE = re.compile(
    r"\d+|\b(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)\b|[\s\-.,/()\[\]{}<>|_*]+|.",
    re.I,
)
_SEPARATOR_RE = re.compile(r"[\s\-.,/()\[\]{}<>|_*]+")
# Vanity numbers: an area code, then 7 characters of which some are capitals ("555-HOME").
_VANITY_RE = re.compile(
    r"(?<![\w])(?:\+?1[\s.\-]?)?\(?[2-9]\d{2}\)?[\s.\-]?(?=[A-Z0-9\-]{7,8}\b)(?=[\dA-Z\-]*[A-Z])"
    r"[A-Z0-9]{3}[\s.\-]?[A-Z0-9]{4}\b"
)
# Text glued to a number: "Call702-555-0142now" → "Call 702-555-0142 now".
_GLUE_BEFORE_RE = re.compile(r"(?<=[A-Za-z:])(?=\(?\d{3}\)?[\s.\-]?\d{3}[\s.\-]?\d{4})")
_GLUE_AFTER_RE = re.compile(r"(?<=\d{4})(?=[A-Za-z]{2})")
_DIGIT_RE = re.compile(r"\d")

# --- e-mails in free text ------------------------------------------------------------------

_TLDS = frozenset(
    [
        "com",
        "net",
        "org",
        "edu",
        "gov",
        "mil",
        "us",
        "io",
        "co",
        "info",
        "biz",
        "me",
        "ca",
        "uk",
        "de",
        "app",
        "dev",
        "ai",
        "email",
        "live",
        "tv",
        "ws",
    ]
)
_PLAIN_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
_AT = r"(?:\s*@\s*|\s*[\[({<]\s*(?:at|@)\s*[\])}>]\s*|\s+(?:at|AT|At)\s+|\s*\(at\)\s*)"
_DOT = r"(?:\s*\.\s*|\s*[\[({<]\s*(?:dot|\.)\s*[\])}>]\s*|\s+(?:dot|DOT|Dot)\s+)"
_OBFUSCATED_EMAIL_RE = re.compile(
    rf"(?P<local>[A-Za-z0-9][A-Za-z0-9._%+\-]*){_AT}(?P<domain>[A-Za-z0-9\-]+(?:{_DOT}[A-Za-z0-9\-]+)+)"
)
_DOT_SPLIT_RE = re.compile(_DOT)
# An address glued to the next word: "…@example.comCall me" → "…@example.com Call me".
_GLUED_TLD_RE = re.compile(
    r"(\.(?:" + "|".join(sorted(_TLDS, key=len, reverse=True)) + r"))(?=[A-Z]|\d)"
)


@dataclass(frozen=True, slots=True)
class Contact:
    """One phone (E.164) or e-mail (normalized) of a lead, with its provenance."""

    kind: str  # "phone" or "email"
    value: str
    role: str  # one of records.CONTACT_ROLES
    origin: str  # "field:OwnerPhone", "text:description"
    note: str | None = None  # how it was read when not plainly ("digits spelled as words")
    extension: str | None = None

    def as_dict(self) -> dict[str, str]:
        out = {"kind": self.kind, "value": self.value, "role": self.role, "origin": self.origin}
        if self.note:
            out["note"] = self.note
        if self.extension:
            out["extension"] = self.extension
        return out


@dataclass(frozen=True, slots=True)
class Found:
    """A contact read from free text."""

    kind: str
    value: str
    raw: str  # the text it was read from
    note: str | None = None
    extension: str | None = None


def owner_name(raw: Any) -> str | Reason | None:
    """The owner's name, None when absent, a reason when the field holds a placeholder."""
    if is_blank(raw) or not isinstance(raw, str):
        return None
    name = " ".join(raw.split())
    key = _NAME_KEY_RE.sub(" ", name.upper()).strip()
    if not key or key in _PLACEHOLDER_NAMES or not any(c.isalpha() for c in key):
        return Reason("owner_name_placeholder", clip(raw))
    return name


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return str(phonenumbers.format_number(number, PhoneNumberFormat.E164))


def _deglued(text: str) -> str:
    text = _GLUE_BEFORE_RE.sub(" ", text)
    text = _GLUE_AFTER_RE.sub(" ", text)
    return _GLUED_TLD_RE.sub(r"\1 ", text)


def _glued(text: str, raw: str) -> bool:
    """Whether `raw` stands in the text with a letter or digit touching one of its ends."""
    at = text.find(raw)
    if at < 0:
        return True  # only the de-glued copy holds it whole
    before = text[at - 1] if at else " "
    after = text[at + len(raw)] if at + len(raw) < len(text) else " "
    return before.isalnum() or after.isalnum()


def _valid_us(digits: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(digits, region)
    except NumberParseException:
        return None
    return _e164(number) if phonenumbers.is_valid_number(number) else None


def _spelled_numbers(text: str, region: str) -> list[Found]:
    """Numbers written with digits as words, spaced or bracketed: runs of digit tokens and
    number words joined only by separators, holding 10 digits (11 with a leading 1)."""
    found: list[Found] = []
    run: list[str] = []
    start = end = 0
    words = 0

    def close() -> None:
        digits = "".join(run)
        if words and len(digits) in (10, 11):
            value = _valid_us(digits, region)
            if value is not None:
                raw = text[start:end].strip()
                found.append(Found("phone", value, raw, "digits spelled as words"))

    for match in _TOKEN_RE.finditer(text):
        token = match.group(0)
        if token.isdigit() or token.lower() in _NUMBER_WORDS:
            if not run:
                start, words = match.start(), 0
            digit = token if token.isdigit() else _NUMBER_WORDS[token.lower()]
            words += not token.isdigit()
            run.append(digit)
            end = match.end()
            if len("".join(run)) > 11:
                run, words = [], 0
        elif _SEPARATOR_RE.fullmatch(token) and run:
            continue
        else:
            if run:
                close()
            run, words = [], 0
    if run:
        close()
    return found


@lru_cache(maxsize=16_384)
def _phones_in(text: str, region: str) -> tuple[Found, ...]:
    out: dict[str, Found] = {}
    glued = _deglued(text)
    for match in PhoneNumberMatcher(glued, region):
        value = _e164(match.number)
        note = "text glued to the number" if _glued(text, match.raw_string) else None
        out.setdefault(value, Found("phone", value, match.raw_string, note, match.number.extension))
    for vanity in _VANITY_RE.finditer(text):
        raw = vanity.group(0)
        try:
            number = phonenumbers.parse(raw, region)
        except NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            value = _e164(number)
            out.setdefault(value, Found("phone", value, raw, "vanity number"))
    if len(_SPELLED_RE.findall(text)) >= 3 or re.search(r"\d\s+\d\s+\d", text):
        for found in _spelled_numbers(text, region):
            out.setdefault(found.value, found)
    return tuple(out.values())


def phones_in(text: Any, region: str = DEFAULT_REGION) -> list[Found]:
    """Every valid phone number in free text, plainly written or not (see the module doc)."""
    if not isinstance(text, str) or not text.strip():
        return []
    text = text[:_MAX_TEXT]
    if (
        len(_DIGIT_RE.findall(text)) < 7
        and len(_SPELLED_RE.findall(text)) < 3
        and not _VANITY_RE.search(text)
    ):
        return []  # the cheap common case: no number could be written here
    return list(_phones_in(text, region))


@lru_cache(maxsize=16_384)
def _emails_in(text: str) -> tuple[Found, ...]:
    out: dict[str, Found] = {}
    glued = _deglued(text)
    for match in _PLAIN_EMAIL_RE.finditer(glued):
        result = normalize_email(match.group(0))
        if not isinstance(result, Reason):
            note = "text glued to the address" if _glued(text, match.group(0)) else None
            out.setdefault(result.address, Found("email", result.address, match.group(0), note))
    for match in _OBFUSCATED_EMAIL_RE.finditer(glued):
        raw = match.group(0)
        if _PLAIN_EMAIL_RE.fullmatch(raw.strip()):
            continue  # a plain address, read above
        parts = [p for p in _DOT_SPLIT_RE.split(match["domain"]) if p]
        if len(parts) < 2 or parts[-1].lower() not in _TLDS:
            continue  # "meet me at home" is no address: the domain must end in a known TLD
        result = normalize_email(f"{match['local']}@{'.'.join(parts)}")
        if not isinstance(result, Reason):
            out.setdefault(
                result.address, Found("email", result.address, raw, "written with at/dot")
            )
    return tuple(out.values())


def emails_in(text: Any) -> list[Found]:
    """Every e-mail address in free text, plainly written or with at/dot (see the module doc)."""
    if not isinstance(text, str):
        return []
    text = text[:_MAX_TEXT]
    lowered = text.lower()
    if "@" not in text and not (" at " in lowered or "(at)" in lowered or "[at]" in lowered):
        return []
    return list(_emails_in(text))


@dataclass(frozen=True, slots=True)
class Contacts:
    """A record's contacts with provenance, and the roles' first ones."""

    all: tuple[Contact, ...]
    owner_name: str | None
    notes: tuple[str, ...]

    def first(self, kind: str, role: str) -> str | None:
        return next((c.value for c in self.all if c.kind == kind and c.role == role), None)

    @property
    def owner_phone(self) -> str | None:
        return self.first("phone", "owner")

    @property
    def owner_email(self) -> str | None:
        return self.first("email", "owner")


def _field_contact(
    value: str, role: str, origin: str, kind: str | None = None
) -> Contact | Reason | None:
    role = role if role in CONTACT_ROLES else "unknown"
    if kind == "email" or (kind is None and "@" in value):
        email = normalize_email(value)
        if isinstance(email, Reason):
            return email
        if email.is_relay:
            return Contact("email", email.address, role, origin, "reply relay, not the poster's")
        return Contact("email", email.address, role, origin)
    phone = to_e164(value)
    if isinstance(phone, Reason):
        found = phones_in(value)
        if not found:
            return phone if phone.code != "phone_missing" else None
        first = found[0]
        return Contact("phone", first.value, role, origin, first.note, first.extension)
    extension = _extension(value)
    return Contact("phone", phone, role, origin, None, extension)


def _extension(raw: str) -> str | None:
    try:
        return phonenumbers.parse(raw, DEFAULT_REGION).extension or None
    except NumberParseException:
        return None


def resolve_contacts(record: RawRecord, *, default_poster: str = "unknown") -> Contacts:
    """The record's contacts: its fields' with their stated roles first, then those read from
    its phone/e-mail lists and its free text (title and description), as the poster's role
    (`record.poster_role`, else `default_poster`) unless a field already named the same number
    or address. Notes say what was read how."""
    notes: list[str] = []
    found: dict[tuple[str, str], Contact] = {}

    def add(contact: Contact) -> None:
        found.setdefault((contact.kind, contact.value), contact)

    for raw in record.contacts:
        contact = _field_contact(raw.value, raw.role, raw.origin)
        if isinstance(contact, Contact):
            add(contact)
        elif isinstance(contact, Reason):
            notes.append(f"{contact} ({raw.origin})")
    poster = record.poster_role if record.poster_role in CONTACT_ROLES else default_poster
    for value in record.phones:
        contact = _field_contact(value, poster, "text:phones", "phone")
        if isinstance(contact, Contact):
            add(contact)
        elif isinstance(contact, Reason):
            notes.append(str(contact))
    for value in record.emails:
        contact = _field_contact(value, poster, "text:emails", "email")
        if isinstance(contact, Contact):
            add(contact)
        elif isinstance(contact, Reason):
            notes.append(str(contact))
    for origin, text in (("text:title", record.title), ("text:description", record.description)):
        for item in [*phones_in(text), *emails_in(text)]:
            if (item.kind, item.value) in found:
                continue
            add(Contact(item.kind, item.value, poster, origin, item.note, item.extension))
            if item.note:
                notes.append(f"contact_read: {item.kind} {clip(item.raw, 80)} ({item.note})")
    # A relay address forwards to the poster but expires: the poster's own address, if any,
    # comes first.
    ordered = sorted(found.values(), key=lambda c: c.note == "reply relay, not the poster's")
    name = owner_name(record.owner_name)
    if isinstance(name, Reason):
        notes.append(str(name))
        name = None
    return Contacts(tuple(ordered), name, tuple(notes))
