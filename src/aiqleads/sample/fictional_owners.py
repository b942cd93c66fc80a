"""Obviously fictional owner contacts for sample data that has none.

Phone numbers are in the 555-0100..555-0199 range that North American numbering reserves for
fiction; e-mail addresses are at example.com, reserved for documentation (RFC 2606).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

_FIRST = ("Alex", "Jordan", "Casey", "Riley", "Morgan", "Taylor", "Jamie", "Avery", "Quinn", "Drew")
_LAST = ("Sample", "Example", "Placeholder", "Fictional", "Demo", "Testington", "Mockridge")

# The main area code of each metro's core city, so a fictional number looks local.
AREA_CODES = {
    "seattle": "206",
    "las_vegas": "702",
    "phoenix": "602",
    "austin": "512",
    "dallas": "214",
}
DEFAULT_AREA_CODE = AREA_CODES["seattle"]  # the demo market's, for a lead in no known metro


@dataclass(frozen=True, slots=True)
class Owner:
    name: str
    phone: str  # E.164
    email: str


def fictional_owner(seed: int, area_code: str = DEFAULT_AREA_CODE) -> Owner:
    """The same owner for the same seed, in every process (random.Random is seeded explicitly)."""
    rng = random.Random(seed)
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    return Owner(
        name=f"{first} {last}",
        phone=f"+1{area_code}55501{rng.randrange(100):02d}",
        email=f"{first.lower()}.{last.lower()}.{seed % 100000}@example.com",
    )


def owner_for(source: str, source_ref: str, metro: str | None) -> Owner:
    """The fictional owner of the lead (source, source_ref): stable across runs and machines,
    because the seed is a SHA-256 of the identity rather than Python's salted `hash`. `metro` is a
    slug of aiqleads.metros (None or unknown: the demo market's area code)."""
    digest = hashlib.sha256(f"{source}\x1f{source_ref}".encode()).digest()
    area_code = AREA_CODES.get(metro or "", DEFAULT_AREA_CODE)
    return fictional_owner(int.from_bytes(digest[:8], "big"), area_code)
