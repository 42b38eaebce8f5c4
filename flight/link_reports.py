"""Events reporting refused or malformed link traffic, rate-limited so a flood cannot flood the event log:
at most one per kind every :data:`REPORT_INTERVAL_S` clock seconds, naming how many were suppressed (the
link's counters keep every one). A lasting condition (:data:`CONDITION_INTERVAL_S`) is a reminder for the
people watching, so its interval holds in wall seconds too: on a clock warped 200 times it is not repeated
several times a second."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from base.clock import Clock, work_seconds
from flight.telemetry import ChannelSpec

__all__ = ["LINK_CHANNELS", "REPORT_INTERVAL_S", "TrafficReports"]

SOURCE = "link"
#: Seconds between two events reporting malformed or refused traffic (the counts keep every one).
REPORT_INTERVAL_S = 1.0
#: Kinds that report a lasting condition rather than traffic, and their own interval (s): a ground station
#: that cannot keep up holds its byte cap for as long as it is behind, and one reminder every half minute
#: says so without filling the terminal (``link.throttled`` counts every paused send).
CONDITION_INTERVAL_S = {"throttled": 30.0}


class TrafficReports:
    """Warning events for kinds of refused traffic (``malformed``, ``unauthenticated``, ``replay``, ``forbidden``)
    and lasting conditions (``throttled``), and info events for deferred dictionaries, each carrying its count
    from ``stats``."""

    def __init__(
        self, clock: Clock, events: Any, stats: dict[str, int], wall: Callable[[], float] = work_seconds
    ) -> None:
        self.clock = clock
        self.events = events
        self.stats = stats
        self._wall = wall
        self._reported: dict[str, tuple[float, float, int]] = {}  # kind -> (clock s, wall s, suppressed)

    def report(self, kind: str, message: str, *, warning: bool = True) -> None:
        """An event for ``kind`` (a warning, else info), at most one per REPORT_INTERVAL_S
        (:data:`CONDITION_INTERVAL_S` for a lasting condition, in clock and in wall seconds), with the count since
        the last one."""
        now, wall = self.clock.monotonic(), self._wall()
        last, last_wall, suppressed = self._reported.get(kind, (-math.inf, -math.inf, 0))
        condition = CONDITION_INTERVAL_S.get(kind)
        interval = REPORT_INTERVAL_S if condition is None else condition
        if now - last < interval or (condition is not None and wall - last_wall < condition):
            self._reported[kind] = (last, last_wall, suppressed + 1)
            return
        self._reported[kind] = (now, wall, 0)
        suffix = f" ({suppressed} more since the last report)" if suppressed else ""
        emit = self.events.warning if warning else self.events.info
        emit(SOURCE, kind, message + suffix, count=self.stats.get(kind + "s", self.stats.get(kind, 0)))

    def dictionary_deferred(self, client: str) -> None:
        """``client``'s dictionary request waits for its key's interval: an operator's tools asking twice within
        it is normal use, so an info event of its own kind (sharing ``throttled`` held back the byte-cap
        reminder for half a minute). Its count is the deferrals since start."""
        self.stats["dictionary_deferred"] = self.stats.get("dictionary_deferred", 0) + 1
        self.report("dictionary_deferred", f"dictionary for {client} deferred: one per key per interval", warning=False)


#: Dictionary entries of the link server's telemetry (:meth:`flight.link_server.LinkServer.telemetry`).
LINK_CHANNELS: tuple[ChannelSpec, ...] = (
    ChannelSpec("link.state", unit="enum", description="ground link: waiting, up or los", type="str"),
    ChannelSpec("link.clients", unit="count", description="ground clients connected", type="int"),
    ChannelSpec("link.spool_depth", unit="count", description="packets + statuses not yet acknowledged", type="int"),
    ChannelSpec("link.malformed", unit="count", description="malformed messages dropped since start", type="int"),
    ChannelSpec("link.replays", unit="count", description="commands refused for a stale counter", type="int"),
    ChannelSpec("link.forbidden", unit="count", description="commands refused from observers", type="int"),
    ChannelSpec("link.service_us", unit="us", description="wall time of the last receive pass", type="int"),
    ChannelSpec(
        "link.throttled", unit="count", description="sends paused or sessions dropped by per-key caps", type="int"
    ),
    ChannelSpec(
        "link.spool_ok",
        unit="bool",
        description="1 while the spool commits, 0 (alarm) while it cannot",
        type="int",
        alarm_low=1,
    ),
    ChannelSpec("link.spool_buffered", unit="B", description="bytes waiting in memory for the spool", type="int"),
    ChannelSpec(
        "link.samples_dropped", unit="count", description="samples dropped while the memory buffer was full", type="int"
    ),
)
