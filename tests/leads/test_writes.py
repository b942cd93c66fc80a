"""The one write path of leads: identity, derived location, status from the source, history,
data versions, merges and conditional status changes."""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import h3
import pytest
from sqlalchemy import ColumnElement, Insert, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from aiqleads.config import Settings
from aiqleads.db.engine import transaction
from aiqleads.events import repository as events
from aiqleads.kit.clock import FrozenClock
from aiqleads.kit.crypto import FieldCipher
from aiqleads.leads import versions, writes
from aiqleads.models import Lead, LeadStatusHistory
from aiqleads.models.enums import EventKind, LeadStatus
from tests.factories import insert_leads, lead_row, make_account, record_purchase


async def _lead(sessions: async_sessionmaker[AsyncSession]) -> Lead:
    async with sessions() as session:
        [lead] = (await session.execute(select(Lead))).scalars().all()
        return lead


async def _history(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[Any, ...]]:
    async with sessions() as session:
        rows = await session.execute(
            select(
                LeadStatusHistory.status_from,
                LeadStatusHistory.status_to,
                LeadStatusHistory.listing_status,
                LeadStatusHistory.cause,
            ).order_by(LeadStatusHistory.id)
        )
        return [tuple(r) for r in rows]


async def test_upsert_is_keyed_on_source_and_ref_and_keeps_identity(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given a stored lead
    row = lead_row(settings, cipher, now=clock.now(), source_ref="same", asking_price_cents=100)
    await insert_leads(sessions, [row])
    first = await _lead(sessions)
    # When the same (source, source_ref) arrives again a day later with a new price
    clock.advance(timedelta(days=1))
    again = {**row, "asking_price_cents": 200, "published_at": clock.now()}
    await insert_leads(sessions, [again], now=clock.now())
    # Then there is still one lead, with the new facts but its first identity and times
    lead = await _lead(sessions)
    assert lead.public_id == first.public_id
    assert lead.asking_price_cents == 200
    assert lead.first_seen_at == first.first_seen_at
    assert lead.published_at == first.published_at
    assert lead.updated_at == clock.now()


async def test_public_ids_are_random_not_derived_from_the_source(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    rows = [lead_row(settings, cipher, now=clock.now()) for _ in range(20)]
    await insert_leads(sessions, rows)
    ids = [r["public_id"] for r in rows]
    assert len(set(ids)) == 20
    assert all(i.version == 4 for i in ids)
    for r in rows:
        for name in (f"aiqleads:{r['source']}:{r['source_ref']}", r["source_ref"]):
            assert r["public_id"] != uuid.uuid5(uuid.NAMESPACE_URL, name)


async def test_location_is_derived_from_the_point_and_the_preview_cell(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    await insert_leads(
        sessions,
        [lead_row(settings, cipher, now=clock.now(), latitude=47.61234, longitude=-122.33456)],
    )
    lead = await _lead(sessions)
    r8 = h3.latlng_to_cell(47.61234, -122.33456, 8)
    assert lead.h3_r8 == h3.str_to_int(r8)
    assert lead.h3_r9 == h3.str_to_int(h3.latlng_to_cell(47.61234, -122.33456, 9))
    assert lead.h3_r7 == h3.str_to_int(h3.cell_to_parent(r8, 7))
    assert (lead.preview_latitude, lead.preview_longitude) == pytest.approx(h3.cell_to_latlng(r8))
    assert lead.metro == "seattle"
    assert (lead.latitude, lead.longitude) == (47.61234, -122.33456)


async def test_derived_columns_city_key_and_score_bucket(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    await insert_leads(
        sessions, [lead_row(settings, cipher, now=clock.now(), city="McKinney", score=0.8)]
    )
    lead = await _lead(sessions)
    assert (lead.city, lead.city_key, lead.score_bucket) == ("McKinney", "mckinney", "A")


async def test_an_exact_point_is_never_replaced_by_a_coarser_one(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given a lead stored at its exact point
    row = lead_row(settings, cipher, now=clock.now(), latitude=47.6101, longitude=-122.3301)
    await insert_leads(sessions, [row])
    before = await _lead(sessions)
    # When its source sends it again known only to its ZIP's centre
    coarse = {
        **row,
        "latitude": 47.6115,
        "longitude": -122.3370,
        "geocode_precision": "zip_centroid",
    }
    await insert_leads(sessions, [coarse], now=clock.now())
    # Then the lead keeps its exact point and every cell derived from it
    after = await _lead(sessions)
    columns = ("latitude", "longitude", "geocode_precision", "h3_r8", "preview_latitude")
    assert [getattr(after, c) for c in columns] == [getattr(before, c) for c in columns]
    # And an exact point does replace a coarse one
    await insert_leads(sessions, [{**row, "latitude": 47.6102}], now=clock.now())
    assert (await _lead(sessions)).latitude == 47.6102


async def test_the_zcta_is_the_exact_points_and_follows_the_location_rules(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given leads stored in one batch: one in downtown Seattle (ZCTA 98101) whatever ZIP the
    # source gave, one on the water (inside no ZCTA), one without a point
    now = clock.now()
    row = lead_row(
        settings, cipher, now=now, latitude=47.6101, longitude=-122.3301, zip_code="98107"
    )
    water = lead_row(settings, cipher, now=now, latitude=47.60, longitude=-122.45)
    nowhere = lead_row(settings, cipher, now=now, latitude=None, longitude=None)
    await insert_leads(sessions, [row, water, nowhere])

    async def zctas() -> dict[str, str | None]:
        async with sessions() as s:
            found = (await s.execute(select(Lead.source_ref, Lead.zcta))).all()
        return {ref: z for ref, z in found}

    # Then each has the ZCTA holding its exact point, None outside every polygon or unlocated
    assert await zctas() == {
        row["source_ref"]: "98101",
        water["source_ref"]: None,
        nowhere["source_ref"]: None,
    }
    # When the first comes again known only to a point in another ZCTA (Ballard's, 98107)
    coarse = {**row, "latitude": 47.66, "longitude": -122.38, "geocode_precision": "zip_centroid"}
    await insert_leads(sessions, [coarse], now=now)
    # Then it keeps the ZCTA of its exact point, as it keeps the point
    assert (await zctas())[row["source_ref"]] == "98101"
    # When an exact point across the border, in the same preview cell, arrives (ZCTA 98104)
    await insert_leads(sessions, [{**row, "latitude": 47.60768, "longitude": -122.3279}], now=now)
    # Then the ZCTA follows it
    assert (await zctas())[row["source_ref"]] == "98104"


async def test_a_merge_upgrades_the_zcta_with_the_point(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given a lead known only to a coarse point in Ballard (ZCTA 98107)
    now = clock.now()
    row = lead_row(
        settings, cipher, now=now, latitude=47.66, longitude=-122.38,
        geocode_precision="zip_centroid",
    )  # fmt: skip
    await insert_leads(sessions, [row])
    lead = await _lead(sessions)
    assert lead.zcta == "98107"
    # When a coarse sighting elsewhere is merged, then an exact one downtown (ZCTA 98101)
    coarse = lead_row(
        settings, cipher, now=now, source="other", latitude=47.6101, longitude=-122.3301,
        geocode_precision="zip_centroid",
    )  # fmt: skip
    exact = lead_row(
        settings, cipher, now=now, source="third", latitude=47.6101, longitude=-122.3301
    )
    async with transaction(sessions) as session:
        await writes.merge(session, [(lead.id, coarse)], now=now, cause="ingest:other")
    assert (await _lead(sessions)).zcta == "98107"
    async with transaction(sessions) as session:
        await writes.merge(session, [(lead.id, exact)], now=now, cause="ingest:third")
    # Then only the exact point moves the ZCTA
    assert (await _lead(sessions)).zcta == "98101"


@pytest.mark.parametrize(
    ("listing", "status"),
    [
        ("Active", "available"),
        ("Coming Soon", "available"),
        ("Pending", "pending"),
        ("Active Under Contract", "pending"),
        ("Closed", "sold"),
        ("Expired", "expired"),
        ("Canceled", "expired"),
        ("Withdrawn", "withdrawn"),
        ("Hold", "withdrawn"),
    ],
)
async def test_status_follows_the_source_and_is_kept_in_history(
    listing: str,
    status: str,
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given an available lead
    row = lead_row(settings, cipher, now=clock.now())
    await insert_leads(sessions, [row])
    # When its source reports a listing status, then active again
    await insert_leads(sessions, [{**row, "listing_status": listing}], now=clock.now())
    changed = (await _lead(sessions)).status
    await insert_leads(sessions, [{**row, "listing_status": "Active"}], now=clock.now())
    # Then the status follows, and every change is in the history with its cause
    assert changed == status
    assert (await _lead(sessions)).status == "available"
    # (status_from, status_to, listing_status, cause)
    expected: list[tuple[str | None, str, str | None, str]] = [(None, "available", None, "test")]
    if status != "available":
        expected += [
            ("available", status, listing, "test"),
            (status, "available", "Active", "test"),
        ]
    assert await _history(sessions) == expected


async def test_a_source_that_says_nothing_keeps_the_status(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    row = lead_row(settings, cipher, now=clock.now(), status="pending")
    await insert_leads(sessions, [row])
    # A source without a status keeps the last one it gave; "Incomplete" (an MLS draft) is
    # recorded but says nothing about the market
    for listing, recorded in ((None, "Pending"), ("Incomplete", "Incomplete")):
        await insert_leads(sessions, [{**row, "listing_status": listing}], now=clock.now())
        lead = await _lead(sessions)
        assert (lead.status, lead.listing_status) == ("pending", recorded)


async def test_a_bought_lead_keeps_that_fact_whatever_the_source_says(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    row = lead_row(settings, cipher, now=clock.now())
    await insert_leads(sessions, [row])
    buyer = await make_account(sessions, now=clock.now())
    await record_purchase(sessions, lead_public_id=row["public_id"], account=buyer, now=clock.now())
    for listing in ("Expired", "Active", "Withdrawn"):
        await insert_leads(sessions, [{**row, "listing_status": listing}], now=clock.now())
        assert (await _lead(sessions)).status == "sold"
    assert [h[:2] for h in await _history(sessions)] == [(None, "available"), ("available", "sold")]


async def test_a_held_lead_stays_held_while_active_and_leaves_the_market_when_not(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    row = lead_row(settings, cipher, now=clock.now())
    await insert_leads(sessions, [row])
    lead_id = (await _lead(sessions)).id
    holder = await make_account(sessions, now=clock.now())
    async with transaction(sessions) as session:
        held = await writes.take_hold(
            session,
            lead_id,
            account_id=holder.id,
            until=clock.now() + timedelta(hours=1),
            now=clock.now(),
            visible_before=None,
        )
    assert held
    await insert_leads(sessions, [{**row, "listing_status": "Active"}], now=clock.now())
    assert (await _lead(sessions)).status == "held"
    await insert_leads(sessions, [{**row, "listing_status": "Pending"}], now=clock.now())
    assert (await _lead(sessions)).status == "pending"


def _hold_event(guard: ColumnElement[bool] | None) -> list[Insert]:
    # The statement is built once and kept: the account, lead and moment are bound by name.
    row = events.event(
        EventKind.HOLD,
        account_id=bindparam(writes.ACCOUNT),
        lead_id=bindparam(writes.LEAD),
        at=bindparam(writes.NOW),
    )
    return [events.appending_if(row, guard)]


def test_records_along_a_move_must_be_a_module_level_function() -> None:
    # Its statement is built once and kept, so a closure's values would be reused for all calls
    for kept in (lambda guard: _hold_event(guard), functools.partial(_hold_event), str.upper):
        with pytest.raises(ValueError, match="module-level"):
            writes.Along(kept, {})  # type: ignore[arg-type]
    assert writes.Along(_hold_event, {}).records is _hold_event


async def test_the_records_along_a_hold_are_written_only_when_it_is_taken(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given a lead, two agents, and an event each would log with its hold
    await insert_leads(sessions, [lead_row(settings, cipher, now=clock.now())])
    lead_id = (await _lead(sessions)).id
    first = await make_account(sessions, now=clock.now())
    second = await make_account(sessions, now=clock.now())

    async def try_hold(account_id: int, until: datetime) -> bool:
        async with transaction(sessions) as session:
            return await writes.take_hold(
                session,
                lead_id,
                account_id=account_id,
                until=until,
                now=clock.now(),
                visible_before=None,
                along=writes.Along(_hold_event, {}),
            )

    # When the first holds it, the second tries while it is held, and (the first hold lapsed)
    # the second tries again
    taken = [await try_hold(first.id, clock.now() + timedelta(minutes=5))]
    taken.append(await try_hold(second.id, clock.now() + timedelta(minutes=5)))
    clock.advance(timedelta(minutes=6))
    taken.append(await try_hold(second.id, clock.now() + timedelta(minutes=5)))
    # Then only the holds taken wrote their event (the lapsed one retaken too)
    assert taken == [True, False, True]
    async with sessions() as session:
        logged = await events.for_lead(session, lead_id)
    assert logged == [("hold", first.id), ("hold", second.id)]


async def test_expire_holds_frees_lapsed_holds_in_batches_and_leaves_live_ones(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given four held leads: three holds lapsed a minute ago, one still live
    await insert_leads(sessions, [lead_row(settings, cipher, now=clock.now()) for _ in range(4)])
    async with sessions() as session:
        ids = sorted((await session.scalars(select(Lead.id))).all())
    holder = await make_account(sessions, now=clock.now())
    async with transaction(sessions) as session:
        for n, lead_id in enumerate(ids):
            minutes = 60 if n == 1 else 4
            until = clock.now() + timedelta(minutes=minutes)
            assert await writes.take_hold(
                session,
                lead_id,
                account_id=holder.id,
                until=until,
                now=clock.now(),
                visible_before=None,
            )
    clock.advance(timedelta(minutes=5))
    # When the sweeper expires them two at a time
    batches = []
    for _ in range(3):
        async with transaction(sessions) as session:
            batches.append(await writes.expire_holds(session, now=clock.now(), limit=2))
    # Then the lapsed ones are freed, lowest ids first, each with its history; the live one stays
    assert batches == [[ids[0], ids[2]], [ids[3]], []]
    async with sessions() as session:
        status = {r.id: r.status for r in await session.execute(select(Lead.id, Lead.status))}
        freed = await session.scalars(
            select(LeadStatusHistory.lead_id).where(LeadStatusHistory.cause == "hold expired")
        )
        assert sorted(freed.all()) == [ids[0], ids[2], ids[3]]
    assert status == {ids[0]: "available", ids[1]: "held", ids[2]: "available", ids[3]: "available"}


async def test_set_status_is_conditional_so_only_one_caller_wins(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    await insert_leads(sessions, [lead_row(settings, cipher, now=clock.now())])
    lead_id = (await _lead(sessions)).id
    wins = []
    for _ in range(2):
        async with transaction(sessions) as session:
            wins.append(
                await writes.set_status(
                    session,
                    [lead_id],
                    LeadStatus.WITHDRAWN,
                    now=clock.now(),
                    cause="admin",
                    only_from=[LeadStatus.AVAILABLE],
                )
            )
    assert wins == [[lead_id], []]
    assert (await _history(sessions))[-1] == ("available", "withdrawn", None, "admin")


async def test_writes_bump_only_their_metro_version(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    async with sessions() as session:
        assert await versions.current(session, "seattle") == 0
    await insert_leads(sessions, [lead_row(settings, cipher, now=clock.now())])
    vegas = lead_row(settings, cipher, now=clock.now(), latitude=36.17, longitude=-115.14)
    await insert_leads(sessions, [vegas])
    await insert_leads(sessions, [{**vegas, "listing_status": "Pending"}], now=clock.now())
    async with transaction(sessions) as session:
        assert await versions.current(session, "seattle") == 1
        assert await versions.current(session, "las_vegas") == 2
        assert await versions.current(session, "phoenix") == 0
        assert await session.scalar(select(func.count()).select_from(Lead)) == 2


async def test_merge_fills_gaps_upgrades_the_point_and_follows_the_status(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given a lead known only to its ZIP, without bedrooms
    row = lead_row(
        settings,
        cipher,
        now=clock.now(),
        bedrooms=None,
        title="Mine",
        latitude=47.6115,
        longitude=-122.337,
        geocode_precision="zip_centroid",
    )
    await insert_leads(sessions, [row])
    lead_id = (await _lead(sessions)).id
    # When another source's sighting with an exact point, bedrooms, another title and a
    # pending status is merged into it
    other = lead_row(
        settings,
        cipher,
        now=clock.now(),
        source="other",
        bedrooms=4,
        title="Theirs",
        latitude=47.6101,
        longitude=-122.3301,
        listing_status="Pending",
    )
    async with transaction(sessions) as session:
        await writes.merge(session, [(lead_id, other)], now=clock.now(), cause="ingest:other")
    # Then the gap is filled, what was known stays, the point is upgraded, the status follows
    lead = await _lead(sessions)
    assert (lead.bedrooms, lead.title) == (4, "Mine")
    assert (lead.latitude, lead.geocode_precision) == (47.6101, "exact")
    assert lead.h3_r8 == h3.str_to_int(h3.latlng_to_cell(47.6101, -122.3301, 8))
    assert lead.status == "pending"
    assert (await _history(sessions))[-1] == ("available", "pending", "Pending", "ingest:other")


async def test_a_row_without_a_given_column_is_refused(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    row = lead_row(settings, cipher, now=clock.now())
    del row["kind"]
    async with transaction(sessions) as session:
        with pytest.raises(ValueError, match="kind"):
            await writes.upsert(session, [row], now=clock.now(), cause="test")


async def test_set_scores_writes_score_bucket_and_version_and_bumps_the_metro(
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    cipher: FieldCipher,
    clock: FrozenClock,
) -> None:
    # Given a Seattle lead scored by the rules
    row = lead_row(settings, cipher, now=clock.now())
    await insert_leads(sessions, [row])
    lead = await _lead(sessions)
    async with sessions() as session:
        before = await versions.current(session, "seattle")
    # When the learned model's score is stored (and an unknown lead id is skipped)
    async with transaction(sessions) as session:
        written = await writes.set_scores(
            session,
            [
                _scored(lead.id, 0.81, bucket="B"),
                _scored(lead.id + 999, 0.2),
            ],
            now=clock.now(),
        )
    # Then the score, its territory bucket, the model's version, the reasons and the price are
    # stored, and the metro's data version moved
    assert written == 1
    stored = await _lead(sessions)
    assert (stored.score, stored.score_bucket, stored.model_version) == (0.81, "B", "lgbm-1")
    assert stored.price_factors is not None and stored.score_reasons is not None
    assert (stored.price_cents, stored.price_factors["demand"]) == (1234, 1.1)
    assert stored.score_reasons[0]["text"] == "owner phone on file"
    async with sessions() as session:
        assert await versions.current(session, "seattle") == before + 1

    # When the source sends the lead again (ingestion gives the rules-1 score and price)
    again = dict(row)
    async with transaction(sessions) as session:
        await writes.upsert(session, [again], now=clock.now(), cause="test")
    # Then the model's score, bucket, reasons and price stay until the model scores it again
    kept = await _lead(sessions)
    assert (kept.score, kept.score_bucket, kept.model_version, kept.price_cents) == (
        0.81,
        "B",
        "lgbm-1",
        1234,
    )
    assert kept.score_reasons == stored.score_reasons


def _scored(lead_id: int, score: float, *, bucket: str = "A", **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "lead_id": lead_id,
        "score": score,
        "model_version": "lgbm-1",
        "score_bucket": bucket,
        "score_reasons": [
            {
                "feature": "has_owner_phone",
                "text": "owner phone on file",
                "direction": "up",
                "preview": True,
            }
        ],
        "price_cents": 1234,
        "price_factors": {
            "base_cents": 1000,
            "quality": 1.0,
            "demand": 1.1,
            "market": 1.12,
            "cents": 1234,
        },
    }
    row.update(over)
    return row


@pytest.mark.parametrize(
    ("over", "reason"),
    [
        ({"score": 1.5}, "not a probability"),
        ({"score": float("nan")}, "not a probability"),
        ({"model_version": ""}, "empty"),
        ({"model_version": "v" * 41}, "over 40"),
        ({"score_bucket": "D"}, "unknown score bucket"),
        ({"price_cents": 0}, "positive integer"),
        ({"price_cents": 12.5}, "positive integer"),
    ],
)
async def test_set_scores_refuses_a_bad_score_with_a_reason(
    sessions: async_sessionmaker[AsyncSession], over: dict[str, Any], reason: str
) -> None:
    async with transaction(sessions) as session:
        with pytest.raises(ValueError, match=reason):
            await writes.set_scores(
                session,
                [{**_scored(1, 0.5), **over}],
                now=FrozenClock(datetime(2026, 1, 1, tzinfo=UTC)).now(),
            )


async def test_sell_many_sells_the_buyers_and_the_free_leads_only(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given four leads: held by the buyer, available, held live by another agent, and held by
    # another agent whose hold has lapsed
    now = clock.now()
    await insert_leads(sessions, [lead_row(settings, cipher, now=now) for _ in range(4)])
    async with sessions() as session:
        mine, free, theirs, lapsed = (
            await session.scalars(select(Lead.id).order_by(Lead.id))
        ).all()
    buyer = await make_account(sessions, now=now)
    other = await make_account(sessions, now=now)
    later = now + timedelta(hours=1)
    for lead_id, account, until in (
        (mine, buyer, later),
        (theirs, other, later),
        (lapsed, other, now - timedelta(minutes=1)),
    ):
        async with transaction(sessions) as session:
            assert await writes.take_hold(
                session,
                lead_id,
                account_id=account.id,
                until=until,
                now=now - timedelta(hours=1),
                visible_before=None,
            )
    # When the buyer's order sells all four at once
    async with transaction(sessions) as session:
        sold = await writes.sell_many(
            session, [theirs, lapsed, free, mine], account_id=buyer.id, now=now
        )
    # Then all but the one held live by another are sold, each with its history row
    assert sold == {mine, free, lapsed}
    async with sessions() as session:
        statuses = dict((await session.execute(select(Lead.id, Lead.status))).all())
        rows = await session.execute(
            select(LeadStatusHistory.lead_id, LeadStatusHistory.status_from).where(
                LeadStatusHistory.status_to == "sold"
            )
        )
        history = dict(rows.all())
    assert statuses == {mine: "sold", free: "sold", theirs: "held", lapsed: "sold"}
    assert history == {mine: "held", free: "available", lapsed: "available"}


async def test_take_hold_wins_whichever_free_state_the_caller_saw(
    sessions: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    settings: Settings,
    cipher: FieldCipher,
) -> None:
    # Given an available lead, and one whose hold has lapsed
    now = clock.now()
    await insert_leads(sessions, [lead_row(settings, cipher, now=now) for _ in range(2)])
    async with sessions() as session:
        free, lapsed = (await session.scalars(select(Lead.id).order_by(Lead.id))).all()
    agent = await make_account(sessions, now=now)
    async with transaction(sessions) as session:
        assert await writes.take_hold(
            session,
            lapsed,
            account_id=agent.id,
            until=now - timedelta(minutes=1),
            now=now - timedelta(hours=1),
            visible_before=None,
        )
    # When each is taken by a caller whose read of its status is stale (the other state)
    until = now + timedelta(hours=1)
    async with transaction(sessions) as session:
        won = [
            await writes.take_hold(
                session,
                lead_id,
                account_id=agent.id,
                until=until,
                now=now,
                visible_before=None,
                seen_status=seen,
            )
            for lead_id, seen in ((free, "held"), (lapsed, "available"))
        ]
    # Then both are held all the same
    assert won == [True, True]
