"""City spellings: the one shown and stored, and the key that filters match on."""

from __future__ import annotations

import pytest

from aiqleads.kit.places import city_key, display_city, title_case_place


@pytest.mark.parametrize(
    "city",
    [
        "McKinney",
        "DeSoto",
        "Winston-Salem",
        "O'Fallon",
        "Coeur d'Alene",
        "La Cañada Flintridge",
        "St. Louis",
        "SeaTac",
        "Mckinney",  # a source's own spelling, even a poor one, is not second-guessed
    ],
)
def test_a_mixed_case_spelling_is_kept_as_given(city: str) -> None:
    assert display_city(city) == city


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("SEATTLE", "Seattle"),
        ("seattle", "Seattle"),
        ("  san   antonio ", "San Antonio"),
        ("MCKINNEY", "McKinney"),
        ("mckinney", "McKinney"),
        ("WINSTON-SALEM", "Winston-Salem"),
        ("O'FALLON", "O'Fallon"),
        ("o'fallon", "O'Fallon"),
        ("COEUR D'ALENE", "Coeur d'Alene"),  # "d'" inside a name is written small
        ("coeur d’alene", "Coeur d’Alene"),  # a typographic apostrophe is kept
        ("D'IBERVILLE", "D'Iberville"),  # … and capital when it starts the name
        ("LA CAÑADA FLINTRIDGE", "La Cañada Flintridge"),
        ("ST. LOUIS", "St. Louis"),
        ("SAINT MARY'S", "Saint Mary's"),  # a possessive "s" stays small
        ("LAND O' LAKES", "Land O' Lakes"),
        ("HASTINGS-ON-HUDSON", "Hastings-on-Hudson"),
        ("ISLE OF PALMS", "Isle of Palms"),
        ("FOND DU LAC", "Fond du Lac"),
        ("WEST DES MOINES", "West Des Moines"),
        ("DE SOTO", "De Soto"),  # a small word that starts the name keeps its capital
        ("FORT MCDOWELL", "Fort McDowell"),
        ("WASHINGTON D.C.", "Washington D.C."),
    ],
)
def test_text_in_one_case_is_title_cased_as_places_write_it(raw: str, shown: str) -> None:
    assert display_city(raw) == shown


@pytest.mark.parametrize("raw", [None, "", "   ", "\t\n"])
def test_no_city_is_none(raw: str | None) -> None:
    assert display_city(raw) is None


def test_title_case_place_keeps_digits_and_hyphen_parts() -> None:
    assert title_case_place("26TH") == "26th"
    assert title_case_place("SEDRO-WOOLLEY") == "Sedro-Woolley"
    assert title_case_place("CROTON-ON-HUDSON") == "Croton-on-Hudson"


@pytest.mark.parametrize(
    ("spellings", "key"),
    [
        (["McKinney", "MCKINNEY", "mckinney", "Mckinney", "McKinney "], "mckinney"),
        (["DeSoto", "DESOTO", "desoto", "Desoto"], "desoto"),
        (["Winston-Salem", "WINSTON-SALEM", "Winston Salem", "winston–salem"], "winston salem"),
        (["Seattle", "SEATTLE", "seattle", " Seattle "], "seattle"),
        (["San Antonio", "  san   antonio ", "SAN\tANTONIO"], "san antonio"),
        (["O'Fallon", "O'FALLON", "O Fallon", "O’Fallon"], "o fallon"),
        (["Coeur d'Alene", "COEUR D'ALENE", "Coeur D Alene", "Coeur d’Alene"], "coeur d alene"),
        (["St. Louis", "ST LOUIS", "Saint Louis", "st louis"], "saint louis"),
        (["Saint Mary's", "SAINT MARYS"], "saint marys"),
        (["Mt. Vernon", "Mount Vernon"], "mount vernon"),
        (["Ft. Worth", "Fort Worth"], "fort worth"),
    ],
)
def test_every_spelling_of_a_city_has_one_key(spellings: list[str], key: str) -> None:
    # given the ways sources and USPS write one city / when keyed / then one key
    assert {city_key(s) for s in spellings} == {key}


def test_keys_keep_accents_and_agree_across_unicode_forms() -> None:
    composed = "La Ca\u00f1ada Flintridge"
    decomposed = "La Can\u0303ada Flintridge"
    assert city_key(composed) == city_key(decomposed) == "la cañada flintridge"
    # accents are part of the name: the USPS spelling without them is another key
    assert city_key("La Canada Flintridge") == "la canada flintridge"
    assert city_key("Straße") == city_key("STRASSE") == "strasse"  # casefold, not lower


def test_different_cities_keep_different_keys() -> None:
    assert city_key("DeSoto") != city_key("De Soto")  # DeSoto TX, De Soto KS/MO
    assert city_key("Kent") != city_key("Kennewick")
    assert city_key("") == ""


def test_a_displayed_city_keeps_its_key() -> None:
    # a lead stored with display_city is found by the key of what a user types
    for raw in ["MCKINNEY", "winston-salem", "COEUR D'ALENE", "  san   antonio ", "ST. LOUIS"]:
        shown = display_city(raw)
        assert shown is not None
        assert city_key(shown) == city_key(raw)
