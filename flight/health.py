"""Health and safety: is every flight component still answering? (after NASA cFS Health & Safety).

Components register a ``ping() -> bool`` and a deadline. The monitor, ticked by the housekeeping rate
group (1 Hz), pings each component at its own period and times the answer on the clock:

* ``ok`` — it answered True within ``deadline_s``;
* ``late`` — it answered True, but took longer than ``deadline_s``;
* ``failed`` — it answered False or raised.

Leaving ``ok`` raises one warning event per episode (late and failed belong to the same episode);
answering in time again raises a ``recovered`` event. A ping must not block: it reports what the
component already knows (a loop counter that advanced, a port that is open); :func:`progress_ping`
builds one from a counter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from base.clock import Clock
from flight.events import EventLog
from flight.telemetry import ChannelSpec

SOURCE = "health"
Ping = Callable[[], bool]
_UNHEALTHY = ("late", "failed")


@dataclass
class Watched:
    """One monitored component. Times in seconds (``next_due`` and ``episode_start`` are monotonic)."""

    name: str
    ping: Ping
    deadline_s: float
    period_s: float
    state: str = "unknown"
    next_due: float | None = None
    pings: int = 0
    failures: int = 0
    lates: int = 0
    episodes: int = 0
    latency_s: float = 0.0
    episode_start: float = 0.0
    detail: str = ""


def progress_ping(counter: Callable[[], int]) -> Ping:
    """A ping that is True when ``counter()`` changed since the previous ping (e.g. a loop's run count)."""
    last: list[int | None] = [None]

    def ping() -> bool:
        value = counter()
        moved = value != last[0]
        last[0] = value
        return moved

    return ping


class HealthMonitor:
    """Pings registered components and reports late or failed answers."""

    def __init__(self, clock: Clock, events: EventLog) -> None:
        self.clock = clock
        self.events = events
        self.components: dict[str, Watched] = {}

    def register(self, name: str, ping: Ping, deadline_s: float, period_s: float = 1.0) -> None:
        """Monitor ``name``: call ``ping()`` every ``period_s``; an answer slower than ``deadline_s`` is late."""
        if name in self.components:
            raise ValueError(f"health: component {name!r} is already registered")
        if not deadline_s > 0 or not period_s > 0:
            raise ValueError(
                f"health: {name}: deadline_s and period_s must be > 0 s, found {deadline_s!r} and {period_s!r}"
            )
        self.components[name] = Watched(name, ping, float(deadline_s), float(period_s))

    def tick(self, now: float) -> None:
        """Ping every component that is due; ``now`` is monotonic seconds (the executive's scheduled time)."""
        for watched in self.components.values():
            if watched.next_due is not None and now < watched.next_due - 1e-9:
                continue
            self._ping(watched)
            due = now if watched.next_due is None else watched.next_due
            # Realign rather than burst when ticks were missed.
            watched.next_due = due + watched.period_s if due + watched.period_s > now else now + watched.period_s

    def _ping(self, watched: Watched) -> None:
        start = self.clock.monotonic()
        try:
            answer = bool(watched.ping())
            error = ""
        except Exception as exc:  # a broken component must not stop the monitor
            answer = False
            error = f"raised {exc!r}"
        end = self.clock.monotonic()
        watched.pings += 1
        watched.latency_s = end - start
        if not answer:
            watched.failures += 1
            self._set(watched, "failed", error or "answered False", end)
        elif watched.latency_s > watched.deadline_s:
            watched.lates += 1
            detail = f"answered after {watched.latency_s:.3f} s (deadline {watched.deadline_s:g} s)"
            self._set(watched, "late", detail, end)
        else:
            self._set(watched, "ok", "", end)

    def _set(self, watched: Watched, state: str, detail: str, now: float) -> None:
        previous = watched.state
        watched.state = state
        watched.detail = detail
        if state in _UNHEALTHY and previous not in _UNHEALTHY:
            watched.episodes += 1
            watched.episode_start = now
            self.events.warning(
                SOURCE, f"component_{state}", f"{watched.name} {state}: {detail}", component=watched.name
            )
        elif state == "ok" and previous in _UNHEALTHY:
            self.events.info(
                SOURCE,
                "component_recovered",
                f"{watched.name} recovered after {now - watched.episode_start:.1f} s",
                component=watched.name,
            )

    def telemetry(self) -> dict[str, Any]:
        """Per component: ``health.<name>.state`` and counters; ``health.unhealthy`` in total."""
        values: dict[str, Any] = {
            "health.unhealthy": sum(w.state in _UNHEALTHY for w in self.components.values()),
        }
        for name, w in self.components.items():
            values[f"health.{name}.state"] = w.state
            values[f"health.{name}.latency_ms"] = w.latency_s * 1000.0
            values[f"health.{name}.pings"] = w.pings
            values[f"health.{name}.failures"] = w.failures
            values[f"health.{name}.lates"] = w.lates
            values[f"health.{name}.episodes"] = w.episodes
        return values

    def channels(self) -> list[ChannelSpec]:
        """Dictionary entries of :meth:`telemetry`."""
        specs = [ChannelSpec("health.unhealthy", unit="count", description="components now late or failed", type="int")]
        for name, w in self.components.items():
            specs += [
                ChannelSpec(
                    f"health.{name}.state", unit="enum", description=f"{name}: unknown/ok/late/failed", type="str"
                ),
                ChannelSpec(
                    f"health.{name}.latency_ms",
                    unit="ms",
                    description=f"{name}: time to answer the last ping",
                    warn_high=w.deadline_s * 1000.0,
                ),
                ChannelSpec(f"health.{name}.pings", unit="count", description=f"{name}: pings sent", type="int"),
                ChannelSpec(f"health.{name}.failures", unit="count", description=f"{name}: failed answers", type="int"),
                ChannelSpec(f"health.{name}.lates", unit="count", description=f"{name}: late answers", type="int"),
                ChannelSpec(
                    f"health.{name}.episodes", unit="count", description=f"{name}: unhealthy episodes", type="int"
                ),
            ]
        return specs
