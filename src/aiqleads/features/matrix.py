"""A feature matrix: rows of entities, columns of named features."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True, slots=True)
class FeatureMatrix:
    """`ids`: int64 (n,), entity ids ascending; `names`: the k feature names in column order;
    `values`: float64 (n, k), never NaN or infinite (checked when made)."""

    ids: NDArray[np.int64]
    names: tuple[str, ...]
    values: NDArray[np.float64]

    def __post_init__(self) -> None:
        if self.values.shape != (self.ids.size, len(self.names)):
            raise ValueError(
                f"values shape {self.values.shape} is not ({self.ids.size}, {len(self.names)})"
            )
        if not np.isfinite(self.values).all():
            bad = sorted({self.names[j] for j in np.argwhere(~np.isfinite(self.values))[:, 1]})
            raise ValueError(f"features without a finite value: {', '.join(bad)}")

    @property
    def lead_ids(self) -> NDArray[np.int64]:
        """The ids, under the name the lead feature set's users know them by."""
        return self.ids

    def row(self, entity_id: int) -> dict[str, float]:
        """One entity's values by name; KeyError when it is not in the matrix."""
        pos = int(np.searchsorted(self.ids, entity_id))
        if pos >= self.ids.size or int(self.ids[pos]) != entity_id:
            raise KeyError(entity_id)
        return dict(zip(self.names, (float(v) for v in self.values[pos]), strict=True))
