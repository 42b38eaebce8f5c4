"""A set of packet sequence numbers kept as sorted, disjoint, inclusive ranges.

Seqs arrive almost in order, so the set stays a handful of ranges however many packets are held; a
membership test is a binary search and an insert touches at most two neighbours.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable


class SeqRanges:
    """Sorted disjoint inclusive ranges ``[(lo, hi), ...]`` of integers."""

    def __init__(self, ranges: Iterable[tuple[int, int]] = ()) -> None:
        self._lo: list[int] = []
        self._hi: list[int] = []
        for lo, hi in sorted(ranges):
            self.add_range(lo, hi)

    def __contains__(self, seq: int) -> bool:
        i = bisect.bisect_right(self._lo, seq) - 1
        return i >= 0 and seq <= self._hi[i]

    def __len__(self) -> int:
        """How many seqs are held."""
        return sum(h - lo + 1 for lo, h in zip(self._lo, self._hi, strict=True))

    def add(self, seq: int) -> None:
        """Add one seq."""
        self.add_range(seq, seq)

    def add_range(self, lo: int, hi: int) -> None:
        """Add every seq from ``lo`` to ``hi`` inclusive."""
        if hi < lo:
            return
        i = bisect.bisect_left(self._hi, lo - 1)  # first range that ends at or after lo - 1
        j = i
        while j < len(self._lo) and self._lo[j] <= hi + 1:
            lo = min(lo, self._lo[j])
            hi = max(hi, self._hi[j])
            j += 1
        self._lo[i:j] = [lo]
        self._hi[i:j] = [hi]

    def ranges(self) -> list[tuple[int, int]]:
        """The ranges held, in order."""
        return list(zip(self._lo, self._hi, strict=True))

    def first_run_end(self) -> int:
        """End of the first range (0 if empty): every seq from the first held up to it is held."""
        return self._hi[0] if self._hi else 0

    def highest(self) -> int:
        """The highest seq held (0 if empty)."""
        return self._hi[-1] if self._hi else 0

    def holes(self) -> list[tuple[int, int]]:
        """Missing inclusive ranges between the first and the last seq held."""
        return [(self._hi[k] + 1, self._lo[k + 1] - 1) for k in range(len(self._lo) - 1)]
