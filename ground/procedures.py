"""The procedures API: write mission tests and operations procedures in a few lines of Python.

In the manner of F Prime's integration-test API, over a *source* of ground data: the hub's own
:class:`ground.core.GroundCore` (inside the hub process, or a test's whole stack), or the ground hub seen
from outside through a :class:`ground.hub_client.HubClient` (a partner tool or a test run elsewhere: no
session on flight; commands go out as the client's account, role-checked and audited by the hub)::

    proc = Procedures(core)                                  # inside the hub
    proc = Procedures(HubClient(url, "ada", password))       # anywhere else
    proc.send("mission.start", cycles=1).wait_completed(timeout_s=60)
    proc.await_telemetry("mission.state", lambda s: s == "anchor", timeout_s=120)
    proc.await_event(name="state_change", timeout_s=30)

Every wait has a deadline on the clock's monotonic seconds; a wait that runs out raises
:class:`ProcedureTimeout` naming what it waited for and the last thing it saw. Searches only match data
that arrived *after* the search window opened: by default the moment the last command was sent (so a
stale value from before the command never satisfies a check), or an explicit :meth:`Procedures.mark`.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from base.clock import Clock, RealClock
from ground.errors import GroundError, WaitTimeout
from ground.hub_client import HubClient
from ground.hub_source import HubSource
from ground.waiting import wait_until
from link.schema import Stage

#: Arrivals kept for searches (per kind); older ones fall off.
KEEP = 100_000


class ProcedureError(GroundError):
    """A procedure step did not go as expected."""


class ProcedureTimeout(ProcedureError, WaitTimeout):
    """A wait ran out before its condition held."""


class CommandFailed(ProcedureError):
    """A command ended in ``failed``; ``reason`` is flight's (or ground's) reason code."""

    def __init__(self, name: str, command_id: str, reason: str, message: str) -> None:
        super().__init__(f"command {name} ({command_id}) failed: {reason}: {message}")
        self.name = name
        self.command_id = command_id
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Arrival:
    """Something ground received: ``n`` is its arrival order, ``t`` the flight time it carries (epoch s)."""

    n: int
    kind: str
    t: float
    data: Any


class CommandHandle:
    """A sent command: wait for its verification stages."""

    def __init__(self, record: Any) -> None:
        self.record = record
        self.name: str = record.name
        self.id: str = record.id

    @property
    def stages(self) -> list[str]:
        """The stages reported so far, in order."""
        return [s["stage"] for s in self.record.statuses()]

    def wait_stage(self, stage: str, timeout_s: float = 10.0) -> dict[str, Any]:
        """Wait until ``stage`` is reported; returns that status. Raises :class:`CommandFailed` if the
        command fails first, :class:`ProcedureTimeout` if ``timeout_s`` clock seconds pass."""
        try:
            self.record.wait_for(stage, timeout_s)
        except WaitTimeout as exc:
            if self.record.terminal == Stage.FAILED:
                raise CommandFailed(self.name, self.id, self.record.reason, self.record.message) from None
            raise ProcedureTimeout(str(exc)) from None
        return next(s for s in self.record.statuses() if s["stage"] == stage)

    def wait_accepted(self, timeout_s: float = 10.0) -> dict[str, Any]:
        """Wait for ``accepted``; raises :class:`CommandFailed` if the command was refused."""
        return self.wait_stage(Stage.ACCEPTED, timeout_s)

    def wait_completed(self, timeout_s: float = 60.0) -> dict[str, Any]:
        """Wait for ``completed``; raises :class:`CommandFailed` with flight's reason if it failed."""
        return self.wait_stage(Stage.COMPLETED, timeout_s)

    def wait_failed(self, timeout_s: float = 10.0) -> dict[str, Any]:
        """Wait for ``failed`` (tests of refusals); returns the failed status with its reason."""
        try:
            end = self.record.wait_terminal(timeout_s)
        except WaitTimeout as exc:
            raise ProcedureTimeout(str(exc)) from None
        if end != Stage.FAILED:
            raise ProcedureError(f"command {self.name} ({self.id}) {end}; a failure was expected")
        return next(s for s in self.record.statuses() if s["stage"] == Stage.FAILED)


class ProcedureSource(Protocol):
    """What the procedures API needs of its source (a :class:`ground.core.GroundCore` or a
    :class:`ground.hub_source.HubSource`)."""

    def subscribe(self, kind: str, cb: Callable[..., None]) -> Callable[[], None]:
        """Call ``cb`` on every ``telemetry`` (samples) or ``event`` (event dict); returns an unsubscribe."""
        ...

    def send(self, name: str, args: dict[str, Any] | None = None, *, confirmed: bool = False) -> Any:
        """Send a command; returns a record with ``statuses()``, ``terminal``, ``reason``, ``message``,
        ``wait_for(stage, timeout_s)`` and ``wait_terminal(timeout_s)``."""
        ...


class Procedures:
    """Send commands and wait for telemetry and events through a source: a :class:`ground.core.GroundCore`,
    or the hub through a :class:`~ground.hub_client.HubClient` (followed by a
    :class:`~ground.hub_source.HubSource` that :meth:`close` stops)."""

    def __init__(self, source: ProcedureSource | HubClient, clock: Clock | None = None) -> None:
        self.clock = clock or RealClock()
        self._owned: HubSource | None = None
        if isinstance(source, HubClient):
            source = self._owned = HubSource(source, self.clock)
        self.core: ProcedureSource = source
        core = source
        self._cond = threading.Condition()
        self._arrivals: deque[Arrival] = deque(maxlen=KEEP)
        self._n = 0
        self._window_start = 0
        self._unsubscribe = [
            core.subscribe("telemetry", self._on_telemetry),
            core.subscribe("event", self._on_event),
        ]

    def close(self) -> None:
        """Stop listening to the source (and stop following the hub's feed when this made the follower)."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        if self._owned is not None:
            self._owned.close()
            self._owned = None

    # ------------------------------------------------------------------------------ listeners
    def _push(self, kind: str, t: float, data: Any) -> None:
        with self._cond:
            self._n += 1
            self._arrivals.append(Arrival(self._n, kind, t, data))
            self._cond.notify_all()

    def _on_telemetry(self, samples: list[tuple[str, float, Any]]) -> None:
        with self._cond:
            for channel, t, value in samples:
                self._n += 1
                self._arrivals.append(Arrival(self._n, "telemetry", t, (channel, value)))
            self._cond.notify_all()

    def _on_event(self, event: dict[str, Any]) -> None:
        self._push("event", float(event.get("t", 0.0)), event)

    # ---------------------------------------------------------------------------------- waiting
    def _wait(self, found: Callable[[], Any], timeout_s: float, what: str) -> Any:
        return wait_until(self._cond, self.clock, found, timeout_s, what, ProcedureTimeout)

    def mark(self) -> int:
        """Open a new search window: later searches match only what arrives from now on."""
        with self._cond:
            self._window_start = self._n
            return self._n

    # ------------------------------------------------------------------------------------ API
    def send(self, command: str, *, confirmed: bool = True, **args: Any) -> CommandHandle:
        """Send ``command`` with ``args`` (checked against the dictionary first); opens a new search window.

        Procedures are deliberate, so a hazardous command is confirmed unless ``confirmed=False`` (then
        :class:`~ground.errors.NeedsConfirmation` is raised and nothing is sent).
        """
        self.mark()
        return CommandHandle(self.core.send(command, args, confirmed=confirmed))

    def await_telemetry(
        self, channel: str, predicate: Callable[[Any], bool] | None = None, timeout_s: float = 10.0
    ) -> tuple[Any, float]:
        """Wait for a sample of ``channel`` newer than the window for which ``predicate(value)`` holds.

        Returns ``(value, t)``.
        """
        seen: list[Any] = []

        def found() -> tuple[Any, float] | None:
            for arrival in self._since("telemetry"):
                name, value = arrival.data
                if name == channel:
                    seen[:] = [value]
                    if predicate is None or predicate(value):
                        return value, arrival.t
            return None

        try:
            return self._wait(found, timeout_s, f"telemetry {channel}")
        except ProcedureTimeout as exc:
            last = f"; last value {seen[0]!r}" if seen else "; no sample arrived"
            raise ProcedureTimeout(f"{exc}{last}") from None

    def await_event(
        self,
        name: str | None = None,
        *,
        source: str | None = None,
        severity: str | None = None,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        timeout_s: float = 10.0,
    ) -> dict[str, Any]:
        """Wait for an event newer than the window matching every given criterion; returns it."""

        def matches(event: dict[str, Any]) -> bool:
            return (
                (name is None or event.get("name") == name)
                and (source is None or event.get("source") == source)
                and (severity is None or event.get("severity") == severity)
                and (predicate is None or predicate(event))
            )

        def found() -> dict[str, Any] | None:
            for arrival in self._since("event"):
                if matches(arrival.data):
                    return arrival.data
            return None

        what = ", ".join(f"{k}={v}" for k, v in (("name", name), ("source", source), ("severity", severity)) if v)
        return self._wait(found, timeout_s, f"event {what or '(any)'}")

    def _since(self, kind: str) -> list[Arrival]:
        """Arrivals of ``kind`` in the search window, oldest first (scans back only as far as the window)."""
        start = self._window_start
        found = []
        for arrival in reversed(self._arrivals):
            if arrival.n <= start:
                break
            if arrival.kind == kind:
                found.append(arrival)
        found.reverse()
        return found
