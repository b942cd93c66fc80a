from __future__ import annotations

import re

from aiqleads.sample.fictional_owners import AREA_CODES, Owner, owner_for

KC_REF = "7129300520:20141013T000000"  # the first King County sale's source_ref


def test_an_identity_has_one_owner_in_every_process() -> None:
    # Pinned: the seed is a SHA-256 of the identity, not Python's per-process salted hash
    assert owner_for("king_county_sales", KC_REF, "seattle") == Owner(
        name="Alex Placeholder",
        phone="+12065550156",
        email="alex.placeholder.33530@example.com",
    )


def test_owners_are_obviously_fictional_and_local_to_the_metro() -> None:
    for metro, area_code in AREA_CODES.items():
        owners = [owner_for("redfin", str(ref), metro) for ref in range(200)]
        for owner in owners:
            # 555-0100..0199 is reserved for fiction; example.com for documentation (RFC 2606)
            assert re.fullmatch(rf"\+1{area_code}55501\d\d", owner.phone)
            assert owner.email.endswith("@example.com")
        assert len({o.phone for o in owners}) > 50  # spread over the fictional range


def test_another_identity_or_an_unknown_metro() -> None:
    assert owner_for("redfin", "1", "seattle") != owner_for("craigslist", "1", "seattle")
    assert owner_for("redfin", "1", None).phone.startswith("+1206")
    assert owner_for("redfin", "1", "atlantis").phone.startswith("+1206")
