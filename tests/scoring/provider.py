"""A small local feature provider for the scoring tests (the lead engineer points the CLI at
aiqleads.features.lead): three columns read straight from the leads table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.models import Lead

NAMES = ("owner_phone", "asking_price_k", "bedrooms")


@dataclass(frozen=True)
class Matrix:
    lead_ids: NDArray[np.int64]
    names: tuple[str, ...]
    values: NDArray[np.float64]


async def features(session: AsyncSession, now: datetime, lead_ids: Sequence[int] | None) -> Matrix:
    """owner_phone (1/0), asking price in thousands of dollars (NaN unknown), bedrooms."""
    stmt = select(Lead.id, Lead.owner_phone_enc, Lead.asking_price_cents, Lead.bedrooms).order_by(
        Lead.id
    )
    if lead_ids is not None:
        stmt = stmt.where(Lead.id.in_(list(lead_ids)))
    rows = (await session.execute(stmt)).all()
    values = np.array(
        [
            [
                float(r.owner_phone_enc is not None),
                np.nan if r.asking_price_cents is None else r.asking_price_cents / 100_000,
                np.nan if r.bedrooms is None else float(r.bedrooms),
            ]
            for r in rows
        ],
        dtype=np.float64,
    ).reshape(len(rows), len(NAMES))
    return Matrix(np.array([r.id for r in rows], dtype=np.int64), NAMES, values)


async def other_features(
    session: AsyncSession, now: datetime, lead_ids: Sequence[int] | None
) -> Matrix:
    """The same matrix under other names: what a model trained on `features` must refuse."""
    m = await features(session, now, lead_ids)
    return Matrix(m.lead_ids, ("owner_phone", "asking_price_k", "bathrooms"), m.values)
