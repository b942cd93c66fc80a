"""Owner names split into the first and last names a CRM asks for (rules: purchases.names)."""

from __future__ import annotations

import pytest

from aiqleads.purchases.names import split_name


@pytest.mark.parametrize(
    ("full", "first", "last"),
    [
        # the plain rule: the last word is the last name, the rest the first name
        ("Jane Public", "Jane", "Public"),
        ("Jane Q. Public", "Jane Q.", "Public"),
        ("Mary Ann Smith", "Mary Ann", "Smith"),
        ("Mary-Kate O'Neil", "Mary-Kate", "O'Neil"),
        ("José Álvarez", "José", "Álvarez"),
        ("  Jane   Public \t", "Jane", "Public"),
        # one word is a first name; nothing is nothing
        ("Cher", "Cher", ""),
        ("", "", ""),
        ("   ", "", ""),
        (None, "", ""),
        # "Last, First", as county records write names
        ("SMITH, JOHN", "JOHN", "SMITH"),
        ("Smith, John A.", "John A.", "Smith"),
        ("Smith, Dr. John", "John", "Smith"),
        ("Smith,", "", "Smith"),
        (", John", "John", ""),
        # suffixes stay with the last name, with or without a comma
        ("John Smith Jr.", "John", "Smith Jr."),
        ("John Smith, Jr.", "John", "Smith Jr."),
        ("Martin Luther King III", "Martin Luther", "King III"),
        # surname particles belong to the last name; the first word is always a first name
        ("Ludwig van Beethoven", "Ludwig", "van Beethoven"),
        ("Juan de la Cruz", "Juan", "de la Cruz"),
        ("De Shawn Smith", "De Shawn", "Smith"),
        # titles are dropped; a title and one word is a last name
        ("Dr. Jane Doe", "Jane", "Doe"),
        ("Mrs. Lee", "", "Lee"),
        ("Mr.", "", ""),
        # two owners: sharing a last name, or the first of two full names
        ("John & Mary Lee", "John & Mary", "Lee"),
        ("John and Mary Lee", "John and Mary", "Lee"),
        ("John Smith and Mary Lee", "John", "Smith"),
        # organisations: the whole name is the last name
        ("Acme Holdings LLC", "", "Acme Holdings LLC"),
        ("Acme L.L.C.", "", "Acme L.L.C."),
        ("The Smith Family Trust", "", "The Smith Family Trust"),
        ("Estate of John Smith", "", "Estate of John Smith"),
    ],
)
def test_a_name_splits_by_the_documented_rules(full: str | None, first: str, last: str) -> None:
    assert split_name(full) == (first, last)


def test_no_word_is_lost_or_changed_for_a_person() -> None:
    # Given names of people without titles or organisation words
    for full in ["A B C D", "Ludwig van der Rohe", "Juan Carlos de Borbón Jr."]:
        # When split, the two parts hold every word, in order, unchanged
        first, last = split_name(full)
        assert f"{first} {last}".strip() == full
