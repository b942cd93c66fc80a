from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from enum import Enum
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.ingestion import repository
from aiqleads.ingestion.batch import Batch, Item, Outcome
from aiqleads.ingestion.matching import Listing, MatchPolicy, match_rule
from aiqleads.ingestion.repository import Candidate
from aiqleads.ingestion.stages.base import Stage

T = TypeVar("T")
_RULE_RANK = {"address": 0, "phone": 1, "proximity": 2}
# Grid cells of 0.001° (111 m north-south, 76 m east-west at Seattle): larger than the radius at
# every US latitude, so a match is always in the 3 × 3 cells around a point.
_GRID = 1000


class _Match(Enum):
    """Why `DedupeStage._best` found no listing to merge into."""

    NONE = "none"  # no rule matched
    AMBIGUOUS = "ambiguous"  # proximity matched more than one home


def listing_of(item: Item) -> Listing:
    lead = item.lead
    assert lead is not None
    precision = item.columns.get("geocode_precision", lead.geocode_precision)
    return Listing(
        address_key=lead.address_key,
        phone_hmac=item.phone_hmac,
        latitude=lead.latitude,
        longitude=lead.longitude,
        exact=precision == "exact",
        bedrooms=lead.bedrooms,
        bathrooms=lead.bathrooms,
        asking_price_cents=lead.asking_price_cents,
        living_area_sqft=lead.living_area_sqft,
        lot_sqft=lead.lot_sqft,
        year_built=lead.year_built,
    )


def listing_of_candidate(c: Candidate) -> Listing:
    return Listing(
        address_key=c.address_key,
        phone_hmac=c.owner_phone_hmac,
        latitude=c.latitude,
        longitude=c.longitude,
        exact=c.geocode_precision == "exact",
        bedrooms=c.bedrooms,
        bathrooms=c.bathrooms,
        asking_price_cents=c.asking_price_cents,
        living_area_sqft=c.living_area_sqft,
        lot_sqft=c.lot_sqft,
        year_built=c.year_built,
    )


def _cell(lat: float, lon: float) -> tuple[int, int]:
    return round(lat * _GRID), round(lon * _GRID)


class _BatchIndex:
    """The batch's new leads so far, so two sightings in one batch merge like any others."""

    def __init__(self) -> None:
        self.by_key: dict[str, list[tuple[Item, Listing]]] = defaultdict(list)
        self.by_phone: dict[str, list[tuple[Item, Listing]]] = defaultdict(list)
        self.by_cell: dict[tuple[int, int], list[tuple[Item, Listing]]] = defaultdict(list)

    def add(self, item: Item, me: Listing) -> None:
        if me.address_key:
            self.by_key[me.address_key].append((item, me))
        if me.phone_hmac:
            self.by_phone[me.phone_hmac].append((item, me))
        if me.exact and me.latitude is not None and me.longitude is not None:
            self.by_cell[_cell(me.latitude, me.longitude)].append((item, me))

    def nearby(self, me: Listing) -> Iterable[tuple[Item, Listing]]:
        if me.address_key:
            yield from self.by_key.get(me.address_key, ())
        if me.phone_hmac:
            yield from self.by_phone.get(me.phone_hmac, ())
        if me.exact and me.latitude is not None and me.longitude is not None:
            y, x = _cell(me.latitude, me.longitude)
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    yield from self.by_cell.get((y + dy, x + dx), ())


class DedupeStage(Stage):
    """Same source: by source_ref (the known lookup and the upsert). Across sources: a new record
    that is another sighting of a stored lead, or of a new lead earlier in the batch, is merged
    into it (see `matching` for the rules)."""

    name = "dedupe"
    needs_known = True

    @property
    def policy(self) -> MatchPolicy:
        rules = self.settings.ingest
        return MatchPolicy(rules.dedupe_radius_m, rules.dedupe_price_tolerance)

    async def _candidates(
        self, session: AsyncSession, new: list[tuple[Item, Listing]]
    ) -> list[list[Candidate]]:
        keys = [me.address_key for _, me in new if me.address_key]
        phones = [me.phone_hmac for _, me in new if me.phone_hmac]
        points = [
            (n, me.latitude, me.longitude)
            for n, (_, me) in enumerate(new)
            if me.exact and me.latitude is not None and me.longitude is not None
        ]
        by_key: dict[str | None, list[Candidate]] = defaultdict(list)
        for c in await repository.candidates_by_address(session, keys) if keys else []:
            by_key[c.address_key].append(c)
        by_phone: dict[str | None, list[Candidate]] = defaultdict(list)
        for c in await repository.candidates_by_phone(session, phones) if phones else []:
            by_phone[c.owner_phone_hmac].append(c)
        near: dict[int, list[Candidate]] = defaultdict(list)
        if points:
            radius = self.settings.ingest.dedupe_radius_m
            for n, c in await repository.candidates_near(session, points, radius):
                near[n].append(c)
        return [
            [
                *(by_key[me.address_key] if me.address_key else ()),
                *(by_phone[me.phone_hmac] if me.phone_hmac else ()),
                *near[n],
            ]
            for n, (_, me) in enumerate(new)
        ]

    async def _reposts(self, batch: Batch, session: AsyncSession) -> None:
        """A repost that names its original (stored, or earlier in the batch) writes the
        original's lead: one lead, the original's price history continued, the repost's id kept
        as provenance. A repost whose original was never seen is a lead of its own."""
        asked = [i for i in batch.live() if i.known is None and i.lead and i.lead.repost_of]
        if not asked:
            return
        wanted = [(i.raw_pair()[0], i.lead.repost_of) for i in asked if i.lead and i.lead.repost_of]
        stored = await repository.stored_keys(session, wanted)
        asked_ids = {id(i) for i in asked}
        seen: set[tuple[str, str]] = set()
        for item in batch.live():
            lead = item.lead
            if lead is not None and id(item) in asked_ids and lead.repost_of:
                original = (lead.source, lead.repost_of)
                if original in stored or original in seen:
                    item.lead_key, item.match_rule = original, "repost"
                    item.outcome = Outcome.MERGED
            if lead is not None:
                seen.add(item.raw_pair())

    async def process(self, batch: Batch, session: AsyncSession) -> None:
        await self._reposts(batch, session)
        new = [(i, listing_of(i)) for i in batch.live() if i.known is None and i.lead_key is None]
        if not new:
            return
        policy = self.policy
        index = _BatchIndex()
        for (item, me), candidates in zip(new, await self._candidates(session, new), strict=True):
            stored = self._best(
                me, ((c, listing_of_candidate(c)) for c in candidates), policy, lambda c: c.id
            )
            earlier = (
                self._best(me, index.nearby(me), policy, id) if stored is _Match.NONE else None
            )
            if isinstance(stored, tuple):
                target, rule = stored
                item.merge_into, item.merge_metro, item.match_rule = target.id, target.metro, rule
                item.outcome = Outcome.MERGED
            elif isinstance(earlier, tuple):
                item.merge_into_item, item.match_rule = earlier
                item.outcome = Outcome.MERGED
            else:
                if _Match.AMBIGUOUS in (stored, earlier):
                    batch.note("dedupe_ambiguous: more than one home within reach agrees")
                index.add(item, me)

    @staticmethod
    def _best(
        me: Listing,
        others: Iterable[tuple[T, Listing]],
        policy: MatchPolicy,
        identity: Callable[[T], object],
    ) -> tuple[T, str] | _Match:
        """The other listing `me` is a sighting of and the rule, the best-ranked rule first.

        A proximity match must be the only one: when two or more distinct homes (by
        `identity`) agree with `me` by proximity alone, such as a row of identical townhouses,
        nothing tells which one it is and the answer is `_Match.AMBIGUOUS`, not a guess.
        """
        best: tuple[T, str] | None = None
        near: set[object] = set()
        for other, theirs in others:
            rule = match_rule(me, theirs, policy)
            if rule == "proximity":
                near.add(identity(other))
            if rule is not None and (best is None or _RULE_RANK[rule] < _RULE_RANK[best[1]]):
                best = (other, rule)
        if best is None:
            return _Match.NONE
        if best[1] == "proximity" and len(near) > 1:
            return _Match.AMBIGUOUS
        return best
