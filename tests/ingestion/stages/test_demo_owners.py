"""The demo_owners stage: fictional owners for leads without any owner contact, demo only."""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from tests.ingestion.conftest import kc_document, reso_document

from aiqleads.config import INGEST_STAGES, Settings
from aiqleads.db.engine import transaction
from aiqleads.ingestion.pipeline import Pipeline
from aiqleads.ingestion.stages.demo_owners import NOTE
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.models import Lead
from aiqleads.sample.fictional_owners import owner_for
from aiqleads.sample.sources import demo_settings

Sessions = async_sessionmaker[AsyncSession]
FICTIONAL_PHONE = re.compile(r"^\+1(\d{3})55501\d\d$")


def _area_code(phone: str | None) -> str | None:
    """The area code of a fictional number (+1 NPA 555-01xx), None for any other."""
    match = FICTIONAL_PHONE.match(phone or "")
    return match.group(1) if match else None


def _demo_stages(settings: Settings) -> list[str]:
    return demo_settings(settings).ingest.stages


def _home(key: str, **fields: object) -> dict[str, object]:
    """A RESO listing with no owner contact: no owner name, no agent phone or e-mail."""
    record: dict[str, object] = {
        "ListingKey": key,
        "StandardStatus": "Active",
        "ListPrice": 450000,
        "BedroomsTotal": 3,
        "BathroomsTotalInteger": 2,
        "Latitude": 47.6205,
        "Longitude": -122.3493,
        "PostalCode": "98109",
    }
    record.update(fields)
    return record


async def _leads(sessions: Sessions) -> list[Lead]:
    async with transaction(sessions) as session:
        return list((await session.scalars(select(Lead).order_by(Lead.source_ref))).all())


async def test_leads_without_owner_contact_get_a_stable_fictional_owner(
    sessions: Sessions,
    make_pipeline: Callable[..., Pipeline],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> None:
    # Given the demo's stages and five King County sales, which carry no owner contact
    pipeline = make_pipeline(stages=_demo_stages(settings))
    # When ingested for Seattle
    summary = await pipeline.run(sessions, [kc_document(5)], metro="seattle", now=clock.now())
    # Then each lead has the fictional owner of its identity, Seattle's area code, and a note
    leads = await _leads(sessions)
    assert len(leads) == summary.outcomes["created"] == summary.notes[NOTE] == 5
    for lead in leads:
        owner = owner_for(lead.source, lead.source_ref, "seattle")
        stored = (
            cipher.decrypt(lead.owner_name_enc),
            cipher.decrypt(lead.owner_phone_enc),
            cipher.decrypt(lead.owner_email_enc),
        )
        assert stored == (owner.name, owner.phone, owner.email)
        assert _area_code(owner.phone) == "206"
        assert owner.email.endswith("@example.com")
        # A fictional phone identifies no one: no blind index, so no phone match on it
        assert lead.owner_phone_hmac is None
        # And the score counts the contact: 0.40 contact + 0.35 property + 0.25 × 0.2 (a 2014
        # sale is over a year old), the most a year-old listing can score
        assert lead.score == 0.8
    # When the same file is ingested again
    again = await pipeline.run(sessions, [kc_document(5)], metro="seattle", now=clock.now())
    # Then nothing changed: the source said the same, and the fiction is the same
    assert again.outcomes["unchanged"] == 5 and NOTE not in again.notes


async def test_the_default_stages_never_invent_an_owner(
    sessions: Sessions, make_pipeline: Callable[..., Pipeline], clock: FrozenClock
) -> None:
    pipeline = make_pipeline()
    assert pipeline.stage_names == list(INGEST_STAGES[1:])
    summary = await pipeline.run(sessions, [kc_document(5)], metro="seattle", now=clock.now())
    assert NOTE not in summary.notes
    for lead in await _leads(sessions):
        assert (lead.owner_name_enc, lead.owner_phone_enc, lead.owner_email_enc) == (None,) * 3
        assert lead.score == 0.4  # the same record as above without its 0.40 of contact


async def test_an_owner_contact_from_the_source_is_kept_and_merges_are_left_alone(
    sessions: Sessions,
    make_pipeline: Callable[..., Pipeline],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> None:
    # Given a listing naming its owner, and one home sent twice under two keys (same address)
    address = {
        "UnparsedAddress": "9163 NW 26th Street, Seattle, WA 98117",
        "PostalCode": "98117",
        "Latitude": None,  # placed by their ZIP, so they match each other by address alone
        "Longitude": None,
    }
    named = _home("named", OwnerName="Pat Owner")
    first, repost = _home("first", **address), _home("repost", **address, ListPrice=460000)
    # When the demo's stages ingest them
    pipeline = make_pipeline(stages=_demo_stages(settings))
    summary = await pipeline.run(
        sessions, [reso_document(named, first, repost)], metro="seattle", now=clock.now()
    )
    # Then the named owner is kept as the source gave it, without invented phone or e-mail
    assert summary.outcomes["created"] == 2 and summary.outcomes["merged"] == 1
    leads = {lead.source_ref: lead for lead in await _leads(sessions)}
    assert cipher.decrypt(leads["named"].owner_name_enc) == "Pat Owner"
    assert (leads["named"].owner_phone_enc, leads["named"].owner_email_enc) == (None, None)
    # And the repost, merged into the first sighting, got no owner of its own
    assert summary.notes[NOTE] == 1
    owner = owner_for("reso", "first", "seattle")
    assert cipher.decrypt(leads["first"].owner_phone_enc) == owner.phone


async def test_without_a_run_metro_the_area_code_follows_the_point(
    sessions: Sessions,
    make_pipeline: Callable[..., Pipeline],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> None:
    dallas = _home("dallas", Latitude=32.7767, Longitude=-96.797, PostalCode="75201")
    pipeline = make_pipeline(stages=_demo_stages(settings))
    await pipeline.run(sessions, [reso_document(dallas)], metro=None, now=clock.now())
    (lead,) = await _leads(sessions)
    assert _area_code(cipher.decrypt(lead.owner_phone_enc)) == "214"
