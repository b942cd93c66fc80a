"""Place names: how a city is shown, and the key that two spellings of one city share.

Sources spell cities their own way: "McKinney", "MCKINNEY", "mckinney"; "St. Louis" and USPS's
"SAINT LOUIS"; "Winston-Salem" and USPS's "WINSTON SALEM". `display_city` keeps a source's
mixed-case spelling (it knows "DeSoto" better than any rule) and title-cases only text that has
lost its case. `city_key` is what storage and filters compare, so any of those spellings finds the
same leads.
"""

from __future__ import annotations

import functools
import re
import unicodedata

# Words written in lower case inside a name ("Isle of Palms", "Hastings-on-Hudson", "Fond du Lac",
# "Havre de Grace", "Marina del Rey"), as the places themselves write them. "La" and "Des" are
# not here: "Bayou La Batre" and "West Des Moines" capitalise them.
_LOWER_INSIDE = frozenset({"of", "on", "the", "in", "by", "and", "du", "de", "del"})
_APOSTROPHES = "'’"  # ASCII and typographic
_INITIALS_RE = re.compile(r"(?:\w\.){2,}")  # "D.C."
# Abbreviated words in city names, written out as USPS's city list spells them: sources write
# "St. Louis", "Ft. Worth", "Mt. Vernon"; USPS "SAINT LOUIS", "FORT WORTH", "MOUNT VERNON".
_KEY_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "ft": "fort", "mt": "mount"}
# USPS writes an elision as two words ("O FALLON", "COEUR D ALENE") and a possessive as one
# ("SAINT MARYS"); the key does the same, then any other punctuation separates words.
_KEY_ELISION_RE = re.compile(r"\b(\w)['’]")
_KEY_APOSTROPHE_RE = re.compile(r"['’]")
_KEY_SEPARATORS_RE = re.compile(r"[\W_]+")


def _title_part(part: str, *, first: bool) -> str:
    lower = part.lower()
    if not first and lower in _LOWER_INSIDE:
        return lower
    if _INITIALS_RE.fullmatch(lower):
        return lower.upper()
    if lower.startswith("mc") and len(lower) > 2 and lower[2].isalpha():
        return "Mc" + lower[2:].capitalize()  # "MCKINNEY" → "McKinney"
    for mark in _APOSTROPHES:
        head, found, tail = lower.partition(mark)
        if not found:
            continue
        if len(head) == 1 and head.isalpha() and tail:
            # An elided article or patronymic: "O'Fallon", "L'Anse", "D'Iberville", and
            # "Coeur d'Alene", where French writes the "d'" small inside a name.
            prefix = head if head == "d" and not first else head.upper()
            return prefix + found + _title_part(tail, first=False)
        return head.capitalize() + found + tail  # a possessive: "Saint Mary's"
    return lower.capitalize()  # "26TH" → "26th": capitalize leaves a leading digit as it is


def title_case_place(text: str) -> str:
    """Title case for a place name that has lost its case ("WINSTON-SALEM" → "Winston-Salem").

    Each word, and each part of a hyphenated word, gets a capital, with the exceptions place
    names use: "Mc" ("MCKINNEY" → "McKinney"), "O'"/"L'"/"D'" ("O'FALLON" → "O'Fallon"), "d'"
    inside a name ("COEUR D'ALENE" → "Coeur d'Alene"), small words inside a name ("ISLE OF
    PALMS" → "Isle of Palms"), initials ("D.C."). It does not look at whether `text` had case
    worth keeping: `display_city` decides that.
    """
    words = text.split(" ")
    out = []
    for i, word in enumerate(words):
        parts = word.split("-")
        out.append(
            "-".join(
                _title_part(p, first=i == 0 and j == 0) if p else p for j, p in enumerate(parts)
            )
        )
    return " ".join(out)


def display_city(raw: str | None) -> str | None:
    """A city as stored and shown: whitespace collapsed; None for None or blank text.

    A mixed-case spelling is the source's and is kept as given ("McKinney", "DeSoto",
    "La Cañada Flintridge"); only text in one case, ALL CAPS or all lower, is title-cased by
    `title_case_place` ("SEATTLE", "seattle" → "Seattle"; "MCKINNEY" → "McKinney").
    """
    if raw is None:
        return None
    text = " ".join(raw.split())
    if not text:
        return None
    if text.isupper() or text.islower():
        return title_case_place(text)
    return text


# Memoised: ingestion keys every lead's city two or three times (screening, the write path), and
# a file names a few hundred cities at most; the key is a pure function of the name.
@functools.lru_cache(maxsize=4096)
def city_key(raw: str) -> str:
    """The key two spellings of one city match on: "St. Louis", "SAINT LOUIS" → "saint louis".

    Unicode NFKC then casefold (so "ß" matches "ss" and a decomposed "ñ" its composed form);
    punctuation written as USPS writes it (its city list has none): an apostrophe after one
    letter becomes a space ("O'Fallon" matches "O FALLON"), any other apostrophe goes ("Saint
    Mary's" matches "SAINT MARYS"), other punctuation becomes a space ("Winston-Salem" matches
    "WINSTON SALEM"); whitespace collapsed; the words "st", "ste", "ft", "mt" written out as
    "saint", "sainte", "fort", "mount". Accents are kept: "La Cañada Flintridge" and
    "La Canada Flintridge" are two keys. A blank name gives "".
    """
    folded = unicodedata.normalize("NFC", unicodedata.normalize("NFKC", raw).casefold())
    folded = _KEY_APOSTROPHE_RE.sub("", _KEY_ELISION_RE.sub(r"\1 ", folded))
    words = _KEY_SEPARATORS_RE.sub(" ", folded).split()
    return " ".join(_KEY_ABBREVIATIONS.get(w, w) for w in words)
