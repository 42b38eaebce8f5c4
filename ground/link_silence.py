"""Flight silent on a live link: heartbeats arrive but no packets, for longer than flight ever pauses.

Flight streams telemetry packets all the time (10 Hz while working, 1 Hz at the quietest), and sends only what
its spool has committed. When the spool cannot commit (flight's disk full), flight keeps heartbeating, so the
link stays *acquired*, yet nothing else arrives — not even the ``spool_degraded`` event that says why. The only
trace on ground is the heartbeat's ``spool_depth`` growing. This watch turns that silence into an alarm: no new
packet or status for :data:`SILENT_S` while the link is acquired.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from base.clock import Clock

_LOGGER = logging.getLogger(__name__)

#: No new packet or status for this long (clock s) on an acquired link is flight gone silent: flight's quietest
#: telemetry rate is 1 Hz, so 30 s is thirty missed packets, well past any pause of a healthy flight.
SILENT_S = 30.0


class EventBoard(Protocol):
    """Where the alarm goes: :meth:`ground.alarms.AlarmBoard.event`."""

    def event(self, event: dict[str, Any]) -> None:
        """Raise an alarm for an error or critical event."""


class SilenceWatch:
    """Judges each link status (:class:`~ground.client.LinkStatus`) ground receives for flight's silence."""

    def __init__(self, silent_s: float = SILENT_S) -> None:
        self.silent_s = silent_s
        self._progress: tuple[int, int] | None = None  # (last_seq, last_sseq) last seen to move
        self._since = 0.0  # clock time (s) the progress last moved, or the link was acquired
        self._acquired = False  # the link was acquired at the last status
        self.silent = False

    def observe(self, status: Any, now: float) -> str | None:
        """Take ``status`` at clock time ``now`` (s). Returns the alarm text when flight has just gone silent,
        ``""`` when it has just spoken again after a silence, else None."""
        progress = (int(getattr(status, "last_seq", 0)), int(getattr(status, "last_sseq", 0)))
        acquired, was_acquired = status.state == "acquired", self._acquired
        self._acquired = acquired
        if not acquired or not was_acquired or progress != self._progress:
            self._progress, self._since = progress, now
            if self.silent and status.state == "acquired":
                self.silent = False
                return ""
            return None
        if self.silent or now - self._since < self.silent_s:
            return None
        self.silent = True
        depth = getattr(status, "spool_depth", 0)
        return (
            f"flight heartbeats but has sent no packet for {now - self._since:.0f} s (last packet {progress[0]}, "
            f"{depth} unacknowledged in its spool): its spool may not be committing (flight's disk full?); see "
            "docs/operations.md, a full disk"
        )

    def judge(self, status: Any, clock: Clock, board: EventBoard) -> None:
        """:meth:`observe` ``status`` now; raise ``event:ground.flight_silent`` (an error) on ``board`` when flight
        has gone silent, and log when it speaks again."""
        verdict = self.observe(status, clock.monotonic())
        if verdict:
            _LOGGER.error("%s", verdict)
            board.event(
                {"severity": "error", "source": "ground", "name": "flight_silent", "message": verdict, "t": clock.now()}
            )
        elif verdict == "":
            _LOGGER.warning("flight sends packets again after a silence")
