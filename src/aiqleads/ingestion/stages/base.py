"""What every record stage is: built from settings, given a batch inside its transaction."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Self

from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.config import Settings
from aiqleads.ingestion.batch import Batch, Item
from aiqleads.kit.crypto import FieldCipher


class Stage(ABC):
    """One record stage. `needs_known`: the stage reads what the database already holds for each
    record (`Item.known`); the pipeline looks it up before the first stage that says so, so it
    is there whichever stages are switched on."""

    name: ClassVar[str]
    needs_known: ClassVar[bool] = False

    def __init__(self, settings: Settings, cipher: FieldCipher) -> None:
        self.settings = settings
        self.cipher = cipher

    @classmethod
    def from_settings(cls, settings: Settings, cipher: FieldCipher) -> Self:
        return cls(settings, cipher)

    @abstractmethod
    async def process(self, batch: Batch, session: AsyncSession) -> None:
        """Work on the batch's live items; drop the unusable ones with `batch.drop`."""


class PureStage(Stage):
    """A stage that reads nothing but its records (no database, no other batch): the pipeline
    may run it on the next batch, a few records at a time, while the database stores this one.
    `apply` works on the given items of the batch, in order; `process` is `apply` on all."""

    @abstractmethod
    def apply(self, batch: Batch, items: list[Item]) -> None:
        """Work on `items` (live items of `batch`); drop the unusable ones with `batch.drop`."""

    async def process(self, batch: Batch, session: AsyncSession) -> None:
        self.apply(batch, batch.live())
