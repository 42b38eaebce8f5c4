"""The archive's time axis, kept monotonic across flight's wall-clock steps (``docs/link.md``, Time).

Flight stamps samples with its wall clock; stepped backwards (NTP, an operator setting the date), the stamps
run backwards and a plot of the archive would fold over itself. :class:`Timeline` sees a telemetry packet
whose earliest sample is more than :data:`STEP_TOLERANCE_S` before the latest sample already archived from
flight, takes that as a step of the source's clock, and from then on adds the step to every sample time, so
the archived axis of the source keeps going forward; the step itself is returned for the caller to record
(ground raises an alarm, journaled in the archive). Forward steps keep the axis monotonic and are left as
they are (flight reports them itself). Times are epoch seconds.
"""

from __future__ import annotations

from typing import Any

__all__ = ["STEP_TOLERANCE_S", "Timeline"]

#: Samples up to this far before the latest one are ordinary reordering (devices polled at different
#: moments), not a step (s).
STEP_TOLERANCE_S = 1.0

Samples = list[tuple[str, float, Any]]


class Timeline:
    """Per source (one flight), the correction added to its sample times and the latest corrected time."""

    def __init__(self, correction_s: float = 0.0) -> None:
        self.correction_s = correction_s
        self.latest = -float("inf")
        #: Every step found: (packet seq, step s — negative: backwards, corrected time it happened at).
        self.steps: list[tuple[int, float, float]] = []

    def correct(self, seq: int, samples: Samples) -> tuple[Samples, float]:
        """``samples`` with their times corrected, and the step found in this packet (s; 0.0 if none)."""
        if not samples:
            return samples, 0.0
        correction = self.correction_s
        earliest = min(t for _, t, _ in samples) + correction
        step = 0.0
        if earliest < self.latest - STEP_TOLERANCE_S:
            step = earliest - self.latest  # negative: the source's clock went back by about this much
            self.correction_s = correction = correction - step
            self.steps.append((seq, step, self.latest))
        if correction:
            samples = [(name, t + correction, value) for name, t, value in samples]
        self.latest = max(self.latest, max(t for _, t, _ in samples))
        return samples, step
