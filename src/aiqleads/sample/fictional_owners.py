"""Obviously fictional owner contacts for sample data that has none.

Phone numbers are in the 555-0100..555-0199 range that North American numbering reserves for
fiction; e-mail addresses are at example.com, reserved for documentation (RFC 2606).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

_FIRST = ("Alex", "Jordan", "Casey", "Riley", "Morgan", "Taylor", "Jamie", "Avery", "Quinn", "Drew")
_LAST = ("Sample", "Example", "Placeholder", "Fictional", "Demo", "Testington", "Mockridge")


@dataclass(frozen=True, slots=True)
class Owner:
    name: str
    phone: str  # E.164
    email: str


def fictional_owner(seed: int, area_code: str = "206") -> Owner:
    rng = random.Random(seed)
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    return Owner(
        name=f"{first} {last}",
        phone=f"+1{area_code}55501{rng.randrange(100):02d}",
        email=f"{first.lower()}.{last.lower()}.{seed % 100000}@example.com",
    )
