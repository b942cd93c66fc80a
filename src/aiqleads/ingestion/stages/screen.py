from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import h3
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.ingestion import repository
from aiqleads.ingestion.batch import Batch, Item
from aiqleads.ingestion.screening import (
    Signal,
    Subject,
    copied_text_signal,
    median_without,
    phone_signal,
    price_signal_of_median,
    text_signals,
    verdict,
)
from aiqleads.ingestion.stages.base import Stage
from aiqleads.kit.h3cells import cells_for
from aiqleads.kit.places import city_key

NOTE_WITHHELD = "screen_withheld"
# Comparables kept per neighbourhood and kind: a median of a few hundred is as good as of all.
_SAMPLE = 400
_SALE_KINDS = ("fsbo", "for_sale", "expired")


def _group(kind: str) -> str:
    return "rent" if kind == "for_rent" else "sale" if kind in _SALE_KINDS else "other"


class ScreenStage(Stage):
    """Scam and spam signals of each new or changed lead (see `ingestion.screening`): the
    signals, their summed weight and, at the threshold, `blocked_reason` (the write path then
    stores the lead as withheld). Records that only merge into another lead are not screened:
    that lead was. Neighbourhood medians come from the stored leads of each H3 resolution-7
    cell (read once per run) and the run's own leads."""

    name = "screen"
    needs_known = True

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._run: datetime | None = None
        self._loaded: set[int] = set()  # resolution-7 cells read this run
        self._prices: dict[tuple[int, str], list[int]] = defaultdict(list)

    def _start_run(self, now: datetime) -> None:
        # The stage lives as long as its pipeline; a run is known by its instant.
        if self._run != now:
            self._run, self._loaded, self._prices = now, set(), defaultdict(list)

    async def _load_cells(self, session: AsyncSession, cells: set[int]) -> None:
        new = cells - self._loaded
        if not new:
            return
        self._loaded |= new
        children = [int(c, 16) for cell in new for c in h3.cell_to_children(h3.int_to_str(cell), 8)]
        for r8, kind, price in await repository.prices_in_cells(session, children):
            parent = h3.str_to_int(h3.cell_to_parent(h3.int_to_str(r8), 7))
            self._add(parent, kind, price)

    def _add(self, cell: int, kind: str, price: int) -> None:
        bucket = self._prices[(cell, _group(kind))]
        if len(bucket) < _SAMPLE:
            bucket.append(price)

    async def process(self, batch: Batch, session: AsyncSession) -> None:
        self._start_run(batch.now)
        rules = self.settings.ingest.screening
        items = [
            i
            for i in batch.live()
            if i.lead is not None and i.merge_into is None and i.merge_into_item is None
        ]
        if not items:
            return
        cells: dict[int, int] = {}
        for item in items:
            point = _point(item)
            if point is not None:
                cells[id(item)] = cells_for(*point)[0]
        await self._load_cells(session, set(cells.values()))
        phones = [i.phone_hmac for i in items if i.phone_hmac]
        texts = [i.lead.description_hash for i in items if i.lead and i.lead.description_hash]
        phone_cities = await repository.phone_spread(session, phones) if phones else {}
        text_cities = await repository.text_spread(session, texts) if texts else {}
        # The batch's own leads count too (a spammer's fifty copies come in one file).
        for item in items:
            lead = item.lead
            assert lead is not None
            city = city_key(lead.city) if lead.city else None
            if item.phone_hmac:
                spread = phone_cities.setdefault(item.phone_hmac, {})
                spread[city] = spread.get(city, 0) + 1
            if lead.description_hash:
                seen = text_cities.setdefault(lead.description_hash, {})
                seen[city] = seen.get(city, 0) + 1
        # The batch's leads are comparables too (each screened against the others).
        for item in items:
            lead = item.lead
            assert lead is not None
            cell = cells.get(id(item))
            if cell is not None and lead.asking_price_cents is not None:
                self._add(cell, lead.kind, lead.asking_price_cents)
        ordered: dict[tuple[int, str], list[int]] = {}  # each neighbourhood's prices, sorted once
        for item in items:
            lead = item.lead
            assert lead is not None
            signals: list[Signal] = []
            subject = Subject(
                kind=lead.kind,
                price_cents=lead.asking_price_cents,
                texts=tuple(t for t in (lead.title, lead.description) if t),
                phones=sum(c.kind == "phone" for c in lead.contacts),
                emails=tuple(c.value for c in lead.contacts if c.kind == "email"),
            )
            cell = cells.get(id(item))
            if cell is not None and lead.asking_price_cents is not None:
                key = (cell, _group(lead.kind))
                if key not in ordered:
                    ordered[key] = sorted(self._prices.get(key, ()))
                # Not its own comparable: the median of the others.
                median, count = median_without(ordered[key], lead.asking_price_cents)
                found = price_signal_of_median(subject, median, count, rules)
                signals += [found] if found else []
            signals += text_signals(subject, rules)
            city = city_key(lead.city) if lead.city else None
            if item.phone_hmac:
                spread = phone_cities.get(item.phone_hmac, {})
                found = phone_signal(sum(spread.values()), len(spread), rules)
                signals += [found] if found else []
            if lead.description_hash:
                seen = text_cities.get(lead.description_hash, {})
                others = {c: n for c, n in seen.items() if c != city}
                found = copied_text_signal(sum(others.values()), len(others), rules)
                signals += [found] if found else []
            result = verdict(signals, rules)
            item.columns.update(
                risk_score=result.score if signals else 0.0,
                risk_signals=[s.as_dict() for s in result.signals] or None,
                blocked_reason="scam_signals" if result.blocked else None,
            )
            for signal in result.signals:
                batch.note(f"signal_{signal.name}")
            if result.blocked:
                batch.note(NOTE_WITHHELD)


def _point(item: Item) -> tuple[float, float] | None:
    lead = item.lead
    assert lead is not None
    lat = item.columns.get("latitude", lead.latitude)
    lon = item.columns.get("longitude", lead.longitude)
    return None if lat is None or lon is None else (lat, lon)
