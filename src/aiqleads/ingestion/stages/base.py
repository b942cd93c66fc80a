"""What every record stage is: built from settings, given a batch inside its transaction."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Self

from sqlalchemy.ext.asyncio import AsyncSession

from aiqleads.config import Settings
from aiqleads.ingestion.batch import Batch
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
