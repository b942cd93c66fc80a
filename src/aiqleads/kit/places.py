"""Place names: one spelling to show, one key to match."""

from __future__ import annotations


def city_key(name: str) -> str:
    """The key a city is matched by: case-insensitive, whitespace collapsed ("McKinney" and
    "MCKINNEY" match; accents are kept, "Cañon City" is not "Canon City")."""
    return " ".join(name.split()).casefold()
