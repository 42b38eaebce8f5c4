"""Order statistics for timing samples. Medians, not means: a shared machine adds rare long stalls
that would drag a mean around."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def median(samples: Sequence[float]) -> float:
    """Median of ``samples`` (same unit as the samples); raises ``ValueError`` when empty."""
    if not samples:
        raise ValueError("median of no samples; expected at least one")
    return float(statistics.median(samples))


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least ``fraction`` (0..1] of the samples at or
    below it. Same unit as the samples; raises ``ValueError`` when empty or ``fraction`` is out of range."""
    if not samples:
        raise ValueError("percentile of no samples; expected at least one")
    if not 0 < fraction <= 1:
        raise ValueError(f"percentile fraction {fraction!r}; expected 0 < fraction <= 1")
    ordered = sorted(samples)
    return float(ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)])
