"""Where the holes of a site go: a compact square grid around the probed position, nearest holes first.

The probe measured the water at the site's position; the ground is known to be icy there and for some
metres around it, and the rover's dead-reckoned pose drifts by a metre or so over a campaign's drives. A
hole pattern that keeps every hole close to the probed position leaves room for that drift: the first five
holes lie within ``spacing_m`` of it, the next four within ``sqrt(2) * spacing_m``, the next four within
``2 * spacing_m``. (A row of holes alternating sides reached ``2 * spacing_m`` by the fourth hole; with the
pose error on top, those holes were drilled beside the icy ground.)
"""

from __future__ import annotations

import functools
import math

#: Grid rings generated (holes within this many spacings in x and y): 81 positions, more than any
#: ``holes_per_site`` allows.
RINGS = 4


@functools.cache
def _grid() -> tuple[tuple[int, int], ...]:
    """Grid points (i, j) ordered by distance from the centre, then counter-clockwise from +x."""
    points = [(i, j) for i in range(-RINGS, RINGS + 1) for j in range(-RINGS, RINGS + 1)]
    return tuple(sorted(points, key=lambda p: (p[0] ** 2 + p[1] ** 2, math.atan2(p[1], p[0]) % math.tau)))


def hole_offset_m(index: int, spacing_m: float) -> tuple[float, float]:
    """The ``index``-th hole's offset (east m, north m) from the site's position, ``spacing_m`` (m) apart
    on a square grid: 0 is the position itself, 1..4 the four neighbours, 5..8 the diagonals, and so on.
    Raises ``ValueError`` for an index outside the grid."""
    grid = _grid()
    if not 0 <= index < len(grid):
        raise ValueError(f"hole index {index} outside 0..{len(grid) - 1}")
    i, j = grid[index]
    return i * spacing_m, j * spacing_m
