"""Wall-clock steps, detected and reported (``docs/link.md``, Time).

Flight stamps telemetry, events and statuses with ``clock.now()`` (UTC epoch s) and schedules with
``clock.monotonic()``. Between two checks both advance by the same amount unless the wall clock was *stepped*
(NTP correcting a bad start, an operator setting the date): then ``now - monotonic`` jumps. :class:`ClockWatch`
compares that offset at every check; a jump larger than :data:`STEP_TOLERANCE_S` is reported by an error event
``clock``/``clock_step`` (ground raises an alarm for it) with the step in seconds (negative: backwards), and the
channel ``clock.step_s`` holds the last step (alarm limits ±:data:`STEP_TOLERANCE_S`) for
:data:`ALARM_HOLD_S`, then returns to 0.
"""

from __future__ import annotations

import logging
from typing import Any

from base.clock import Clock
from flight.telemetry import ChannelSpec

_LOGGER = logging.getLogger(__name__)

__all__ = ["ALARM_HOLD_S", "STEP_TOLERANCE_S", "ClockWatch"]

SOURCE = "clock"
#: A change of ``now - monotonic`` above this between two checks is a step (s); slewing (NTP's gradual
#: correction, at most 0.5 ms/s) never comes near it.
STEP_TOLERANCE_S = 1.0
#: How long ``clock.step_s`` shows a step (monotonic s).
ALARM_HOLD_S = 60.0


class ClockWatch:
    """Checks the wall clock against the monotonic one at every :meth:`tick`."""

    def __init__(self, clock: Clock, events: Any) -> None:
        self.clock = clock
        self.events = events
        self.steps = 0
        self.last_step_s = 0.0
        self._offset = clock.now() - clock.monotonic()
        self._shown_until = -1.0

    def tick(self, _now: float = 0.0) -> None:
        """The executive's task: :meth:`check`."""
        self.check()

    def check(self) -> float:
        """Compare the clocks; returns the step found (s; 0.0 if none)."""
        monotonic = self.clock.monotonic()
        offset = self.clock.now() - monotonic
        step = offset - self._offset
        self._offset = offset
        if abs(step) <= STEP_TOLERANCE_S:
            return 0.0
        self.steps += 1
        self.last_step_s = step
        self._shown_until = monotonic + ALARM_HOLD_S
        direction = "backwards" if step < 0 else "forwards"
        _LOGGER.error("wall clock stepped %s by %.3f s", direction, abs(step))
        self.events.error(
            SOURCE,
            "clock_step",
            f"wall clock stepped {direction} by {abs(step):.3f} s; timestamps jump with it "
            "(ground keeps its archive's time axis monotonic)",
            step_s=step,
        )
        return step

    def telemetry(self) -> dict[str, Any]:
        """``clock.step_s`` (the last step while it is shown, else 0) and ``clock.steps`` (since start)."""
        shown = self.clock.monotonic() < self._shown_until
        return {"clock.step_s": self.last_step_s if shown else 0.0, "clock.steps": self.steps}

    def channels(self) -> list[ChannelSpec]:
        """Dictionary entries of :meth:`telemetry`."""
        return [
            ChannelSpec(
                "clock.step_s",
                unit="s",
                description="the last wall-clock step (negative: backwards), shown for a minute",
                alarm_low=-STEP_TOLERANCE_S,
                alarm_high=STEP_TOLERANCE_S,
            ),
            ChannelSpec("clock.steps", unit="count", description="wall-clock steps detected since start", type="int"),
        ]
