"""H3 cells for a point, as the 64-bit integers the database stores."""

from __future__ import annotations

import h3

STORED_RESOLUTIONS = (7, 8, 9)
PREVIEW_RESOLUTION = 8  # about 0.7 km²: what an agent sees of a lead before buying it


def cells_for(lat: float, lon: float) -> tuple[int, int, int]:
    """The cells containing the point at resolutions 7, 8 and 9.

    Each is indexed directly: H3 cells do not nest exactly, so the parent of the resolution-9
    cell is not always the resolution-7 cell that contains the point.
    """
    r7, r8, r9 = (h3.str_to_int(h3.latlng_to_cell(lat, lon, res)) for res in STORED_RESOLUTIONS)
    return int(r7), int(r8), int(r9)


def cell_hex(cell: int) -> str:
    return str(h3.int_to_str(cell))


def cell_center(cell: int) -> tuple[float, float]:
    lat, lon = h3.cell_to_latlng(h3.int_to_str(cell))
    return float(lat), float(lon)
