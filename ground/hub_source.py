"""The ground hub as the source of a tool's data: the procedures API over :class:`ground.hub_client.HubClient`.

It offers what a :class:`ground.core.GroundCore` offers the procedures API — ``subscribe`` to telemetry,
events and command stages, ``send`` a command and get a record whose stages arrive later — but over the hub's
HTTP API: a thread follows the hub's feed (``GET /api/feed``, a long poll) from the moment the source is made
and hands each item to the subscribers; commands go through ``POST /api/commands`` as the client's account.
The tool has no session on flight.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from base.clock import Clock, RealClock
from ground.errors import HubError
from ground.hub_client import HubClient
from ground.subscribers import Subscribers
from ground.verifier import CommandHistory, CommandRecord

_LOGGER = logging.getLogger(__name__)

#: Longest one feed request waits at the hub for news (s); also how long :meth:`HubSource.close` may take.
POLL_WAIT_S = 1.0
#: Pause after the hub did not answer before asking again (clock s).
RETRY_S = 0.5
KINDS = ("telemetry", "event", "command")


class HubSource:
    """A hub's feed and commanding for one account (see the module docstring). Raises :class:`HubError` at
    once if the hub refuses the login or does not answer."""

    def __init__(self, client: HubClient, clock: Clock | None = None) -> None:
        self.client = client
        self.clock = clock or RealClock()
        self.commands = CommandHistory(self.clock)
        self._subscribers = Subscribers(KINDS)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        first = client.feed()
        self.rover = str(first.get("rover", ""))
        self._run, self._cursor = first["run"], int(first["cursor"])
        self._thread = threading.Thread(target=self._follow, name=f"hub-feed-{client.user}", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------------------- interface
    def subscribe(self, kind: str, cb: Callable[..., None]) -> Callable[[], None]:
        """Call ``cb`` for every ``kind`` of arrival: ``telemetry`` → ``cb(samples)`` (``(channel, t, value)``
        tuples), ``event`` → ``cb(event)``, ``command`` → ``cb(record)``; returns an unsubscribe function."""
        return self._subscribers.subscribe(kind, cb)

    def send(self, name: str, args: dict[str, Any] | None = None, *, confirmed: bool = False) -> CommandRecord:
        """Send ``name`` through the hub as this account; returns its record (stages arrive from the feed).
        Raises :class:`HubError` (403 observer, 400 invalid, 409 hazardous not confirmed, 503 no link)."""
        command_id = self.client.send(name, args or {}, confirmed=confirmed)
        return self.commands.expect(command_id, name, args, self.client.user)

    def close(self) -> None:
        """Stop following the feed."""
        self._stop.set()
        self._thread.join(timeout=POLL_WAIT_S + 15.0)

    # --------------------------------------------------------------------------------- following
    def _follow(self) -> None:
        while not self._stop.is_set():
            try:
                answer = self.client.feed(self._cursor, wait_s=POLL_WAIT_S)
            except HubError as exc:
                if exc.status == 400:  # the hub restarted: its numbers start again
                    _LOGGER.warning("hub feed: %s; following from the hub's newest item", exc.reason)
                    self._restart()
                else:
                    _LOGGER.warning("hub feed: %s", exc)
                    self.clock.sleep(RETRY_S)
                continue
            if answer["run"] != self._run:
                self._restart()
                continue
            if answer.get("missed"):
                _LOGGER.warning("hub feed: items after %d had already left the hub's buffer", self._cursor)
            for item in answer["items"]:
                self._deliver(item)
            self._cursor = int(answer["cursor"])

    def _restart(self) -> None:
        try:
            first = self.client.feed()
        except HubError as exc:
            _LOGGER.warning("hub feed: %s", exc)
            self.clock.sleep(RETRY_S)
            return
        self._run, self._cursor = first["run"], int(first["cursor"])

    def _deliver(self, item: dict[str, Any]) -> None:
        kind = item.get("kind")
        if kind == "telemetry":
            payload: Any = [(str(c), float(t), v) for c, t, v in item["samples"]]
        elif kind == "event":
            payload = item["event"]
        elif kind == "command":
            payload = self.commands.update(item["status"])
        else:
            return
        self._subscribers.emit(str(kind), payload)
