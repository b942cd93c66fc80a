"""Owner contact lost, mangled or taken from someone else (field cases C03, C04, C10): further
shapes of the kind. Every contact keeps whose it is and where it came from; only the owner's is
the lead's owner contact."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from aiqleads.ingestion.normalize.contacts import emails_in, owner_name, phones_in
from aiqleads.ingestion.normalize.lead import NormalizedLead, normalize
from aiqleads.ingestion.normalize.reasons import Reason
from aiqleads.ingestion.records import RawContact, RawRecord

NOW = datetime(2025, 6, 1, tzinfo=UTC)


def lead(**fields: Any) -> NormalizedLead:
    fields.setdefault("source", "craigslist")
    fields.setdefault("source_ref", "1")
    fields.setdefault("payload", {})
    fields.setdefault("zip_code", "89110")
    result = normalize(RawRecord(**fields), now=NOW)
    assert isinstance(result, NormalizedLead), result
    return result


@pytest.mark.parametrize(
    ("text", "phone", "note"),
    [
        ("seven 0 two - five five five - zero one 4 two", "+17025550142", "spelled"),  # C03
        ("Text (seven oh two) five five five, zero one four two", "+17025550142", "spelled"),
        ("call 7 0 2 5 5 5 0 1 4 2 after six", "+17025550142", None),
        ("Call702-555-0142now", "+17025550142", "glued"),
        ("tel 702-555-HOME", "+17025554663", "vanity"),
        ("ring [702] 555 0142", "+17025550142", None),
    ],
)
def test_phones_written_to_dodge_harvesters_are_read_with_a_note(
    text: str, phone: str, note: str | None
) -> None:
    (found,) = phones_in(text)
    assert found.value == phone
    if note is None:
        assert found.note is None
    else:
        assert found.note is not None and note in found.note.replace("digits spelled", "spelled")


def test_an_extension_is_kept_beside_the_number() -> None:
    (found,) = phones_in("office 702-555-0100 ext. 12, ask for Pat")
    assert (found.value, found.extension) == ("+17025550100", "12")


@pytest.mark.parametrize(
    "text", ["I am at home at 5 today", "rent 1200, 2 bed, built 1999, 3 parking", "call me"]
)
def test_text_without_a_number_gives_none(text: str) -> None:
    assert phones_in(text) == []


@pytest.mark.parametrize(
    ("text", "email"),
    [
        ("Email only please: dana.seller at example dot com", "dana.seller@example.com"),  # C04
        ("dana [at] example [dot] com", "dana@example.com"),
        ("write to dana(at)example(dot)com", "dana@example.com"),
        ("pat AT example DOT org", "pat@example.org"),
        ("Email: dana@example.comCall me", "dana@example.com"),
    ],
)
def test_emails_written_with_at_and_dot_or_glued_are_read(text: str, email: str) -> None:
    (found,) = emails_in(text)
    assert found.value == email
    assert found.note is not None


@pytest.mark.parametrize(
    "text", ["meet me at the park dot com", "See you at noon. Dot com boom", "open at nine"]
)
def test_at_and_dot_in_prose_are_no_address(text: str) -> None:
    assert emails_in(text) == []


@pytest.mark.parametrize(
    "raw", ["OF RECORD", "Owner of Record", "SEE REMARKS", "Unknown", "OWNER", "***", "Withheld"]
)
def test_placeholders_are_not_names(raw: str) -> None:
    assert isinstance(owner_name(raw), Reason)


def test_blank_placeholders_are_no_name_at_all() -> None:
    assert owner_name("N/A") is None and owner_name("  ") is None


def test_a_name_is_a_name() -> None:
    assert owner_name("  Jane   Roe ") == "Jane Roe"


def test_a_by_owner_post_gives_the_posters_text_contact_as_the_owners() -> None:
    result = lead(
        kind="reo",
        is_fsbo=True,
        description="Selling ourselves. Call or text seven 0 two 555 zero one 4 two",
    )
    assert result.owner_phone == "+17025550142"
    (contact,) = result.contacts
    assert (contact.role, contact.origin) == ("owner", "text:description")
    assert any(n.startswith("contact_read: phone") for n in result.notes)


def test_agent_and_office_fields_never_become_owner_contact() -> None:
    # Given an MLS record with only the agent's and office's contact, and a number in remarks
    result = lead(
        source="reso",
        kind="for_sale",
        owner_name="OWNER OF RECORD",
        description="Call listing office 702-555-0199 for showings",
        contacts=[
            RawContact("702-555-0110", "listing_agent", "field:ListAgentDirectPhone"),
            RawContact("agent@example.com", "listing_agent", "field:ListAgentEmail"),
            RawContact("702-555-0101", "office", "field:ListOfficePhone"),
        ],
        poster_role="unknown",
    )
    # Then no owner contact, and each number says whose it is
    assert (result.owner_name, result.owner_phone, result.owner_email) == (None, None, None)
    roles = {(c.value, c.role) for c in result.contacts}
    assert roles == {
        ("+17025550110", "listing_agent"),
        ("agent@example.com", "listing_agent"),
        ("+17025550101", "office"),
        ("+17025550199", "unknown"),
    }
    assert (result.listing_agent_phone, result.listing_office_phone) == (
        "+17025550110",
        "+17025550101",
    )
    assert "owner_name_placeholder: 'OWNER OF RECORD'" in result.notes


def test_the_owners_field_is_the_owners_even_beside_an_agents() -> None:
    result = lead(
        source="reso",
        kind="for_sale",
        contacts=[
            RawContact("702-555-0110", "listing_agent", "field:ListAgentDirectPhone"),
            RawContact("(702) 555-0177", "owner", "field:OwnerPhone"),
        ],
    )
    assert result.owner_phone == "+17025550177"


def test_a_number_in_text_that_is_the_agents_keeps_the_agents_role() -> None:
    result = lead(
        kind="reb",
        description="Call Pat at 702-555-0110",
        contacts=[RawContact("702-555-0110", "listing_agent", "field:ListAgentDirectPhone")],
        poster_role="owner",
    )
    assert result.owner_phone is None
    (contact,) = result.contacts
    assert contact.role == "listing_agent"
