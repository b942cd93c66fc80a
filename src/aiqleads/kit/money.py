"""Money is an integer number of cents plus a currency; never a float."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Money:
    cents: int
    currency: str = "USD"

    def __post_init__(self) -> None:
        if not isinstance(self.cents, int):
            raise TypeError("Money.cents must be an int")
        if len(self.currency) != 3 or not self.currency.isupper():
            raise ValueError(f"not an ISO 4217 currency code: {self.currency!r}")

    def percent_off(self, percent: int) -> Money:
        """Discount by a whole percentage, rounding half up to the cent."""
        return Money((self.cents * (100 - percent) + 50) // 100, self.currency)

    def clamp(self, low: int, high: int) -> Money:
        return Money(min(max(self.cents, low), high), self.currency)

    def __str__(self) -> str:
        return f"{self.cents // 100}.{self.cents % 100:02d} {self.currency}"
