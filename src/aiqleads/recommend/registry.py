"""Which ranker this process serves, reloaded without a restart.

The registry table (`recommender_models`, one row `serving`) is the stamp every process shares.
Each process checks it at most every `reload_check_seconds` (one indexed single-row SELECT) and,
when the serving version changed, loads the new artifact in a worker thread and swaps it in; a
request in flight keeps the ranker it started with. A rollback is the same change the other
way. With no serving model, or an artifact that will not load (logged, the previous ranker
kept), recommendations use the cold-start scorer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.observability.metrics import RECOMMENDER_SERVING
from aiqleads.recommend import repository
from aiqleads.recommend.ranker import COLD_START_VERSION, ArtifactError, Ranker, load

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Serving:
    """What ranks a list: a learned ranker and its version, or none (cold start)."""

    version: str
    ranker: Ranker | None


COLD_START = Serving(COLD_START_VERSION, None)


class ModelRegistry:
    """One process's serving ranker."""

    def __init__(self, check_seconds: float) -> None:
        self._check = check_seconds
        self._checked_at: float | None = None
        self._current = COLD_START
        self._lock = asyncio.Lock()
        # Versions an experiment's variants name besides the serving one, loaded once each.
        self._variants: dict[str, Serving] = {}

    @property
    def current(self) -> Serving:
        return self._current

    async def serving(self, session: AsyncSession) -> Serving:
        """The ranker to use now: the one loaded, after checking the stamp if it is due."""
        due = self._checked_at is None or time.monotonic() - self._checked_at >= self._check
        if due:
            async with self._lock:
                await self._refresh(session)
        return self._current

    async def variant(self, session: AsyncSession, version: str) -> Serving | None:
        """A registered version by name, for an experiment's variant (`{"recommender":
        VERSION}`): the serving one, the cold-start scorer (`cold-start-1`), or another loaded
        once and kept. None when no such version is registered or its artifact does not load
        (the caller serves the default and says so in the log)."""
        if version == COLD_START.version:
            return COLD_START
        current = await self.serving(session)
        if version == current.version:
            return current
        if version in self._variants:
            return self._variants[version]
        stamp = await repository.registered(session, version)
        if stamp is None:
            return None
        try:
            ranker = await asyncio.to_thread(load, Path(stamp.artifact_path))
        except (ArtifactError, OSError) as exc:
            log.error(
                "experiment's recommender artifact not loaded",
                extra={"version": version, "error": str(exc)},
            )
            return None
        self._variants[version] = Serving(version, ranker)
        return self._variants[version]

    async def _refresh(self, session: AsyncSession) -> None:
        self._checked_at = time.monotonic()
        stamp = await repository.serving(session)
        if stamp is None:
            self._swap(COLD_START)
            return
        if stamp.version == self._current.version:
            return
        try:
            ranker = await asyncio.to_thread(load, Path(stamp.artifact_path))
        except (ArtifactError, OSError) as exc:
            log.error(
                "recommender artifact not loaded; keeping the current one",
                extra={"version": stamp.version, "error": str(exc)},
            )
            return
        self._swap(Serving(stamp.version, ranker))

    def _swap(self, new: Serving) -> None:
        if new.version == self._current.version:
            return
        RECOMMENDER_SERVING.labels(self._current.version).set(0)
        RECOMMENDER_SERVING.labels(new.version).set(1)
        log.info(
            "recommender version changed",
            extra={"previous": self._current.version, "version": new.version},
        )
        self._current = new
