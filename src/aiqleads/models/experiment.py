from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.db.base import Base, BigIntPK, UTCDateTime


class Experiment(Base):
    """An A/B experiment on a surface ("recommendations"), owned by `aiqleads.experiments`.

    `variants` is the ordered list `[{"name", "weight", "config"}]`: the first is the control;
    an agent's variant is a hash of `salt` and its id (`experiments.assignment`), so the list
    and the salt never change once the experiment has started. `window_hours`: how long after
    an exposure a view, hold or purchase of a served lead counts as its outcome. The partial
    unique index lets at most one experiment run per surface, whatever races.
    """

    __tablename__ = "experiments"
    __table_args__ = (
        Index(
            "uq_experiments_running_surface",
            "surface",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    surface: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16))
    salt: Mapped[str] = mapped_column(String(80))
    variants: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    window_hours: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    concluded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    winner: Mapped[str | None] = mapped_column(String(40))
