"""Splitting an owner's name into the first and last names a CRM asks for.

Sources give one free-text name ("Jane Q. Public", "SMITH, JOHN", "John & Mary Lee", "Acme
Holdings LLC"). The rules, in order:

1. Nothing, or only spaces: both empty. Runs of whitespace count as one space.
2. An organisation (a word such as LLC, Inc, Trust, Estate, Bank, Holdings: `ORGANISATION_WORDS`)
   keeps its whole name as the last name and no first name: CRMs need a last name, and an
   organisation has no first one.
3. "Last, First" (a comma): the part before it is the last name, the part after it the first
   name, unless what follows the comma is only a suffix ("John Smith, Jr."): then the suffix
   joins the last name of the part before it.
4. Two owners joined by "and", "&" or "+": when both sides are full names ("John Smith & Mary
   Lee") the first owner is the contact ("John", "Smith"); when they share the last name
   ("John & Mary Lee") the first names stay together ("John & Mary", "Lee").
5. Titles at the start (Mr, Mrs, Ms, Miss, Mx, Dr, Prof) are dropped; a title followed by one
   word names a last name ("Mrs. Lee" → "", "Lee").
6. Otherwise the last word is the last name and everything before it the first name (middle
   names and initials included), with two refinements: suffixes at the end (Jr, Sr, II, III,
   IV, Esq, MD, PhD) stay with the last name ("John Smith Jr." → "John", "Smith Jr."), and
   lower-case-insensitive surname particles before the last word (van, von, de, del, della, da,
   di, du, la, le, st, ter, ten, bin, al…) belong to it ("Ludwig van Beethoven" → "Ludwig",
   "van Beethoven"), never the first word, which is always a first name.
7. One word alone is a first name ("Cher" → "Cher", "").

The words are kept as written (no change of case or spelling).
"""

from __future__ import annotations

import re

ORGANISATION_WORDS = frozenset(
    {
        "llc",
        "inc",
        "incorporated",
        "corp",
        "corporation",
        "company",
        "co",
        "ltd",
        "lp",
        "llp",
        "pllc",
        "trust",
        "trustee",
        "trustees",
        "estate",
        "bank",
        "holdings",
        "properties",
        "investments",
        "realty",
        "partners",
        "partnership",
        "association",
        "foundation",
        "church",
        "fund",
        "group",
        "hoa",
    }
)
TITLES = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof"})
SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "esq", "md", "phd", "dds", "cpa"})
PARTICLES = frozenset(
    {
        "van",
        "von",
        "der",
        "den",
        "de",
        "del",
        "della",
        "dela",
        "da",
        "di",
        "du",
        "dos",
        "das",
        "la",
        "le",
        "st",
        "ter",
        "ten",
        "bin",
        "ibn",
        "al",
        "el",
    }
)
CONJUNCTIONS = frozenset({"and", "&", "+"})

_WS = re.compile(r"\s+")


def _bare(word: str) -> str:
    """The word lower-cased without its punctuation: "Jr." → "jr", "L.L.C." → "llc"."""
    return re.sub(r"[^\w&+]", "", word).lower()


def split_name(full: str | None) -> tuple[str, str]:
    """(first name, last name) of a free-text owner name, by the rules in the module's
    docstring. Never raises; an empty string for a part it cannot find."""
    if full is None:
        return "", ""
    name = _WS.sub(" ", full).strip()
    if not name:
        return "", ""
    words = name.split(" ")
    if any(_bare(w) in ORGANISATION_WORDS for w in words):
        return "", name
    if "," in name:
        return _comma_form(name)
    return _person(words)


def _comma_form(name: str) -> tuple[str, str]:
    before, _, after = (part.strip() for part in name.partition(","))
    after_words = after.split(" ") if after else []
    if after_words and all(_bare(w) in SUFFIXES for w in after_words):
        first, last = _person(before.split(" ")) if before else ("", "")
        return first, f"{last} {after}".strip()
    if not before:
        return _person(after_words) if after_words else ("", "")
    if not after:  # "Smith,": what comes before the comma is a last name
        return "", before
    # "Smith, John A." → the words after the comma are the first name, titles dropped.
    first_words = [w for w in after_words if _bare(w) not in TITLES] or after_words
    return " ".join(first_words).replace(",", "").strip(), before


def _person(words: list[str]) -> tuple[str, str]:
    joined = [i for i, w in enumerate(words) if _bare(w) in CONJUNCTIONS]
    if joined:
        cut = joined[0]
        left, right = words[:cut], words[cut + 1 :]
        if len(left) >= 2 and len(right) >= 2:
            return _person(left)  # two full names: the first owner is the contact
        if left and right:
            first, last = _person(right)
            both = " ".join([*left, words[cut], first]).strip()
            return both, last
    titled = bool(words) and _bare(words[0]) in TITLES
    while words and _bare(words[0]) in TITLES:
        words = words[1:]
    if not words:
        return "", ""
    if len(words) == 1:
        return ("", words[0]) if titled else (words[0], "")
    end = len(words)
    while end > 1 and _bare(words[end - 1]) in SUFFIXES:
        end -= 1
    if end == 1:  # "John Jr.": a first name and a suffix
        return words[0], " ".join(words[1:])
    start = end - 1
    while start > 1 and _bare(words[start - 1]) in PARTICLES:
        start -= 1
    return " ".join(words[:start]), " ".join(words[start:])
