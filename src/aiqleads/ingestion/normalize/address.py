"""US addresses: one-line addresses parsed with usaddress, parts normalised, a matching key.

usaddress costs about 300 µs a line, ten times everything else a record needs, so it runs only
for records that give a single line, and its answers are cached (the same building appears in
many listings). Records that already give street / city / state / ZIP go through the token rules
in `normalize_street`, which need no model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import usaddress

from aiqleads.ingestion.normalize.reasons import Reason, clip, is_blank
from aiqleads.ingestion.normalize.usps import (
    DIRECTIONALS,
    HIGHWAY_JOINED,
    HIGHWAY_PHRASES,
    STATE_CODES,
    STATES,
    STREET_TYPES,
    UNIT_TYPES,
)
from aiqleads.kit.places import city_key, display_city, title_case_place

# Longer "addresses" are descriptions pasted into the wrong field; the tagger would waste time.
_MAX_LINE = 200
_ZIP_RE = re.compile(r"(\d{5})(?:[-\s]?\d{4})?")
_EDGE_PUNCT = ".,;:()\"'"
_KEY_DROP_RE = re.compile(r"[^a-z0-9 ]+")
_SPACES_RE = re.compile(r"\s+")
_ORDINAL_RE = re.compile(r"\d+(st|nd|rd|th)", re.IGNORECASE)
_JOINED_HIGHWAY_RE = re.compile(
    r"(" + "|".join(sorted(HIGHWAY_JOINED, key=len, reverse=True)) + r")-?(\d+[A-Z]?)",
    re.IGNORECASE,
)
_LONGEST_PHRASE = max(len(k) for k in HIGHWAY_PHRASES)
_DIRECTION_KEYS = frozenset(v.lower() for v in DIRECTIONALS.values())


@dataclass(frozen=True, slots=True)
class ParsedAddress:
    street: str | None  # "9163 NW 26th St": number, directionals, name, type
    unit: str | None  # "APT O31", "#4"
    city: str | None
    state: str | None  # two letters
    zip5: str | None
    number: str | None  # the AddressNumber alone, "9163"
    street_name: str | None  # the StreetName alone, "26th"
    guessed: bool = False  # a label came back twice apart; the first run was kept


def normalize_state(raw: Any) -> str | None:
    if not isinstance(raw, str):
        return None
    text = _SPACES_RE.sub(" ", raw.strip(_EDGE_PUNCT + " ").replace(".", "")).upper()
    if text in STATE_CODES:
        return text
    return STATES.get(text)


def normalize_zip(raw: Any) -> str | Reason:
    """ZIP or ZIP+4 → the five digits. Integer input gets its leading zeros back (CSV damage)."""
    if is_blank(raw):
        return Reason("zip_missing", "")
    if isinstance(raw, bool):
        return Reason("zip_invalid", clip(raw))
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, int):
        text = str(raw).zfill(5) if 0 < raw < 100_000 else str(raw)
    elif isinstance(raw, str):
        text = raw.strip()
    else:
        return Reason("zip_invalid", clip(raw))
    match = _ZIP_RE.fullmatch(text)
    if match is None or match.group(1) == "00000":
        return Reason("zip_invalid", clip(raw))
    return match.group(1)


def _clean(token: str) -> str:
    return token.strip(_EDGE_PUNCT)


_UPPER_WORDS = frozenset({"US", "FM", "RM"})


def _name_case(token: str) -> str:
    # "26TH" → "26th"; "MAIN" → "Main"; "MCKINNEY" → "McKinney"; "O'CONNOR" → "O'Connor";
    # mixed case such as "McKinney" is kept as written; highway designators stay capitals.
    if token[:1].isdigit():
        return token.lower()
    if token.upper() in _UPPER_WORDS:
        return token.upper()
    if token.isupper() or token.islower():
        return title_case_place(token)
    return token


def _directional(token: str) -> str | None:
    return DIRECTIONALS.get(_clean(token).replace(".", "").upper())


def _street_type(token: str) -> str | None:
    return STREET_TYPES.get(_clean(token).replace(".", "").upper())


def normalize_unit(raw: Any) -> str | None:
    """ "Apt. o31" → "APT O31", "# 4" → "#4", "Unit #4" → "UNIT 4", "4" → "#4"."""
    if is_blank(raw) or not isinstance(raw, str | int):
        return None
    text = str(raw).strip().strip(",;").upper().replace(".", " ")
    text = re.sub(r"#\s*", "# ", text)
    tokens = [t for t in (_clean(t) for t in text.split()) if t]
    if not tokens:
        return None
    designator = UNIT_TYPES.get(tokens[0])
    if designator is not None:
        tokens = tokens[1:]
        if tokens and tokens[0] == "#":
            tokens = tokens[1:]
    else:
        designator = "#"
    tokens = [t for t in tokens if t != "#"]
    if not tokens:
        return designator if designator != "#" else None
    ident = " ".join(tokens)
    return f"#{ident}" if designator == "#" else f"{designator} {ident}"


@dataclass(frozen=True, slots=True)
class StreetParts:
    street: str
    unit: str | None
    number: str | None
    street_name: str
    street_type: str | None  # "St"; None when the line did not end in a known type


def normalize_street(raw: Any) -> StreetParts | Reason:
    """A street line without city/state ("9163 N.W. 26th Street Apt 4") by token rules, no model.

    Order assumed: number, pre-directional, name…, type, post-directional, unit designator + id.
    A directional or type is only treated as such when a name word remains ("100 North St" is
    North Street, "100 N Main" is North Main).
    """
    if is_blank(raw):
        return Reason("street_missing", "")
    if not isinstance(raw, str):
        return Reason("street_unparsed", clip(raw))
    text = raw.replace(",", " ").strip()
    tokens = [t for t in text.split() if _clean(t)]
    if not tokens:
        return Reason("street_missing", clip(raw))
    unit: str | None = None
    for i, token in enumerate(tokens[1:], start=1):
        upper = _clean(token).replace(".", "").upper()
        if token.startswith("#") or (upper in UNIT_TYPES and i + 1 < len(tokens) and i >= 2):
            unit = normalize_unit(" ".join(tokens[i:]))
            tokens = tokens[:i]
            break
    number: str | None = None
    if _clean(tokens[0])[:1].isdigit():
        number = _clean(tokens[0]).upper()
        tokens = tokens[1:]
    pre = post = kind = None
    if len(tokens) >= 2 and (pre := _directional(tokens[0])) is not None:
        if len(tokens) == 2 and _street_type(tokens[1]) is not None:
            pre = None  # "North St"
        else:
            tokens = tokens[1:]
    if len(tokens) >= 2 and (post := _directional(tokens[-1])) is not None:
        tokens = tokens[:-1]
    if len(tokens) >= 2 and (kind := _street_type(tokens[-1])) is not None:
        tokens = tokens[:-1]
    name = " ".join(_name_case(_clean(t)) for t in _highways(tokens) if _clean(t))
    if not name:
        return Reason("street_unparsed", clip(raw))
    parts = [p for p in (number, pre, name, kind, post) if p]
    return StreetParts(" ".join(parts), unit, number, name, kind)


def _highways(tokens: list[str]) -> list[str]:
    """Highway and route names in the standard form: "Highway 95" → "Hwy 95", "US-67" → "US
    Hwy 67", "Farm to Market Road 1960" → "FM 1960", "IH-35" → "Interstate 35". A designator
    counts only when a number follows it ("Route 66"), so "Rt Hon Way" or "Fm Lane" stay."""
    split: list[str] = []
    for token in tokens:
        joined = _JOINED_HIGHWAY_RE.fullmatch(_clean(token))
        split.extend([joined.group(1), joined.group(2)] if joined else [token])
    out: list[str] = []
    i = 0
    while i < len(split):
        for size in range(min(_LONGEST_PHRASE, len(split) - i - 1), 0, -1):
            words = tuple(_clean(t).replace(".", "").upper() for t in split[i : i + size])
            standard = HIGHWAY_PHRASES.get(words)
            after = _clean(split[i + size]) if i + size < len(split) else ""
            if standard is not None and after[:1].isdigit():
                out.extend(standard.split())
                i += size
                break
        else:
            out.append(split[i])
            i += 1
    return out


def _first_runs(tokens: list[tuple[str, str]]) -> tuple[dict[str, str], bool]:
    """Group tagged tokens by label, keeping each label's first contiguous run.

    usaddress.tag raises RepeatedLabelError when a label appears twice apart ("123 Main St 456
    Oak Ave"); the first run is the best guess for a listing, and the caller learns it guessed.
    """
    runs: dict[str, list[str]] = {}
    closed: set[str] = set()
    repeated = False
    previous = ""
    for token, label in tokens:
        if label != previous and previous in runs:
            closed.add(previous)
        if label in closed:
            repeated = True
        else:
            runs.setdefault(label, []).append(token)
        previous = label
    return {label: " ".join(words) for label, words in runs.items()}, repeated


def _join(parts: dict[str, str], *labels: str) -> str | None:
    words = [w for label in labels if (v := parts.get(label)) for w in v.split() if _clean(w)]
    return " ".join(words) if words else None


def parse_address(line: Any) -> ParsedAddress | Reason:
    """A one-line address → parts. A reason only when no street, city or ZIP came out of it."""
    if is_blank(line):
        return Reason("address_missing", "")
    if not isinstance(line, str):
        return Reason("address_unparsed", clip(line))
    if len(line) > _MAX_LINE:
        return Reason("address_too_long", f"{len(line)} characters")
    return _parse_line(line)


@lru_cache(maxsize=65_536)
def _parse_line(line: str) -> ParsedAddress | Reason:
    simple = _parse_simple(line)
    if simple is not None:
        return simple
    try:
        tagged = usaddress.parse(line)
    except Exception as exc:  # a CRF tagger on arbitrary text: any failure becomes a reason
        return Reason("address_unparsed", f"{clip(line)} ({type(exc).__name__})")
    parts, repeated = _first_runs(tagged)
    number = _clean(parts.get("AddressNumber", "")).upper() or None
    street_name = _join(parts, "StreetName")
    street: str | None = None
    if number and street_name:
        pieces = (
            number,
            _join(parts, "AddressNumberSuffix"),
            _name_words(_join(parts, "StreetNamePreModifier")),
            _map_words(_join(parts, "StreetNamePreDirectional"), _directional),
            _map_words(_join(parts, "StreetNamePreType"), _street_type),
            _name_words(street_name),
            _map_words(_join(parts, "StreetNamePostType"), _street_type),
            _map_words(_join(parts, "StreetNamePostDirectional"), _directional),
            _name_words(_join(parts, "StreetNamePostModifier")),
        )
        street = " ".join(p for p in pieces if p)
        # The tagger's pieces through the same token rules (highway names, casing).
        again = normalize_street(street)
        if isinstance(again, StreetParts) and again.unit is None:
            street = again.street
    unit_raw = _join(parts, "OccupancyType", "OccupancyIdentifier") or _join(
        parts, "SubaddressType", "SubaddressIdentifier"
    )
    city = normalize_city(_join(parts, "PlaceName"))
    state = normalize_state(parts.get("StateName"))
    zip_value = normalize_zip(parts.get("ZipCode"))
    zip5 = zip_value if isinstance(zip_value, str) else None
    if street is None and city is None and zip5 is None:
        return Reason("address_unparsed", clip(line))
    return ParsedAddress(
        street=street,
        unit=normalize_unit(unit_raw),
        city=city,
        state=state,
        zip5=zip5,
        number=number,
        street_name=_name_words(street_name),
        guessed=repeated,
    )


# The shape listing sites print ("123 Main St Apt 4, Seattle, WA 98101"): the commas already say
# which part is which, so the token rules read it in ~10 µs instead of usaddress's ~300 µs.
_SIMPLE_RE = re.compile(
    r"(?P<street>\d[^,]*?)\s*,\s*(?P<city>[A-Za-z][A-Za-z .'-]*?)\s*,\s*"
    r"(?P<state>[A-Za-z]{2})\.?(?:\s+(?P<zip>\d{5}(?:-\d{4})?))?\s*"
)


def _parse_simple(line: str) -> ParsedAddress | None:
    match = _SIMPLE_RE.fullmatch(line.strip())
    if match is None:
        return None
    state = normalize_state(match["state"])
    street = normalize_street(match["street"])
    # Only the plain shape (number, name, a known type) is trusted to the rules; floors, bare
    # suite numbers and highways ("Wabash 608", "Highway 179") are left to usaddress.
    if (
        state is None
        or isinstance(street, Reason)
        or street.number is None
        or street.street_type is None
        or any(
            word[:1].isdigit() and not _ORDINAL_RE.fullmatch(word)
            for word in street.street_name.split()
        )
    ):
        return None
    return ParsedAddress(
        street=street.street,
        unit=street.unit,
        city=normalize_city(match["city"]),
        state=state,
        zip5=match["zip"][:5] if match["zip"] else None,
        number=street.number,
        street_name=street.street_name,
    )


def _name_words(text: str | None) -> str | None:
    if not text:
        return None
    words = [_name_case(_clean(w)) for w in text.split() if _clean(w)]
    return " ".join(words) or None


def _map_words(text: str | None, mapping: Any) -> str | None:
    # A directional or type the vocabulary does not know is kept, in name case, not dropped.
    if not text:
        return None
    joined = _clean(text).replace(" ", "")
    mapped: str | None = mapping(joined)
    if mapped is not None:
        return mapped
    return _name_words(text)


def address_key(
    street: str | None,
    unit: str | None,
    *,
    zip5: str | None,
    city: str | None = None,
    state: str | None = None,
) -> str | None:
    """The key cross-source deduplication matches on: "9163 nw 26th st|o31|33322".

    Street and unit are already in USPS abbreviations (from `normalize_street` or
    `parse_address`); here they lose case and punctuation. The unit keeps its own slot without
    its designator, so "APT 4", "Unit 4" and "#4" agree, and a building still matches its units
    by the first slot. The locality is the ZIP, else "city st" with the city as
    `kit.places.city_key` writes it (so "St. Louis" and "SAINT LOUIS" agree); without a street
    there is no key.
    """
    if not street:
        return None
    street_key = _directionals_first(
        _SPACES_RE.sub(" ", _KEY_DROP_RE.sub("", street.lower())).strip()
    )
    if not street_key:
        return None
    if zip5:
        locality = zip5
    elif city and state:
        locality = f"{city_key(city)} {state.lower()}"
    else:
        return None
    unit_key = ""
    if unit:
        ident = unit[1:] if unit.startswith("#") else unit.partition(" ")[2] or unit
        unit_key = _KEY_DROP_RE.sub("", ident.lower().replace(" ", ""))
    return f"{street_key}|{unit_key}|{locality}"


def _directionals_first(street_key: str) -> str:
    """The key's street with its directional right after the number, wherever the source wrote
    it: "3655 las vegas blvd s" and "3655 s las vegas blvd" are one street written two ways. A
    directional moves only when at least two other words stay ("100 n st" is N Street)."""
    words = street_key.split(" ")
    if not words or not words[0][:1].isdigit():
        return street_key
    number, rest = words[0], words[1:]
    if len(rest) >= 3 and rest[-1] in _DIRECTION_KEYS and rest[0] not in _DIRECTION_KEYS:
        rest = [rest[-1], *rest[:-1]]
    return " ".join([number, *rest])


# Punctuation that frames a city in a line ("Seattle,", "(Seattle)") but is no part of it; a
# final "." or "'" may be ("Washington D.C.", "Land O'").
_CITY_EDGE_PUNCT = ',;:()"'


def normalize_city(raw: Any) -> str | None:
    """A city as stored: `kit.places.display_city` of the text without framing punctuation.

    "SEATTLE" / "seattle" → "Seattle", "MCKINNEY" → "McKinney"; mixed case as the source wrote
    it ("McKinney", "DeSoto"); blanks and placeholders ("N/A") → None.
    """
    if is_blank(raw) or not isinstance(raw, str):
        return None
    return display_city(raw.strip(_CITY_EDGE_PUNCT + " \t\r\n"))
