"""Ground's outbox: commands queued for flight, their counters, and the rule for re-sending one flight refused
as a replay (``docs/link.md``, Security).

Each command carries a counter above the last one flight accepted from this key (flight says which in its
welcome). A command refused for a stale counter — another process using the same key went above ours — is
re-sent above the counter the reject names, at most :data:`MAX_RESENDS` times; flight never executed it and
its id still runs at most once. Commands may be queued from any thread; they leave on the link's thread.
"""

from __future__ import annotations

import collections
import itertools
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from link import wire

_LOGGER = logging.getLogger(__name__)

__all__ = ["MAX_PENDING", "MAX_RESENDS", "Outbox"]

#: Re-sends of a command refused for a stale counter (another process using the same client key).
MAX_RESENDS = 3
#: Unanswered commands remembered for re-sending.
MAX_PENDING = 10_000
#: Command names remembered by id (to name a refused command's failed status).
MAX_NAMED = 10_000


@dataclass(frozen=True)
class _Pending:
    """A command sent and not yet answered by a status."""

    name: str
    args: dict[str, Any]
    resends: int = 0


class Outbox:
    """Commands of client ``identity`` waiting to leave, and those sent but not answered yet."""

    def __init__(self, identity: str, send: Callable[[wire.Message, float], None]) -> None:
        self.identity = identity
        self._send = send
        self.counter = 0
        # Command ids: 64 random bits per client, then a number (unique without a random draw per command).
        self._id_prefix = uuid.uuid4().hex[:16] + "-"
        self._id_numbers = itertools.count(1)
        self._queued: collections.deque[tuple[str, str, dict[str, Any]]] = collections.deque()
        self._names: dict[str, str] = {}
        self._pending: dict[str, _Pending] = {}

    def queue(self, name: str, args: dict[str, Any] | None = None, *, command_id: str | None = None) -> str:
        """Queue command ``name`` (any thread); returns its id (``command_id`` or a new one)."""
        command_id = command_id or f"{self.identity}-{self._id_prefix}{next(self._id_numbers):x}"
        self._queued.append((command_id, name, dict(args or {})))
        return command_id

    @property
    def has_queued(self) -> bool:
        """Commands wait to be sent."""
        return bool(self._queued)

    def flush(self, now: float) -> None:
        """Send every queued command, each with the next counter."""
        while self._queued:
            command_id, name, args = self._queued.popleft()
            self._names[command_id] = name
            if len(self._names) > MAX_NAMED:
                self._names.pop(next(iter(self._names)))
            self._pending[command_id] = _Pending(name, args)
            if len(self._pending) > MAX_PENDING:
                self._pending.pop(next(iter(self._pending)))
            self._send_command(command_id, name, args, now)

    def _send_command(self, command_id: str, name: str, args: dict[str, Any], now: float) -> None:
        self.counter += 1
        self._send(wire.Command(command_id, self.counter, name, args), now)

    def counter_at_least(self, counter: int) -> None:
        """Flight accepted ``counter`` from this key: number the next commands above it."""
        self.counter = max(self.counter, counter)

    def answered(self, command_id: str) -> None:
        """A status for ``command_id`` arrived: it will not be re-sent."""
        self._pending.pop(command_id, None)

    def name_of(self, command_id: str) -> str:
        """The name of the command sent as ``command_id`` ('' if not remembered)."""
        return self._names.get(command_id, "")

    def resend_above(self, reject: wire.Reject, now: float) -> bool:
        """Re-send the command ``reject`` refused as a replay above the counter it names, if it may be re-sent
        again; returns True if it was."""
        pending = self._pending.get(reject.command_id)
        if pending is None or pending.resends >= MAX_RESENDS:
            return False
        self._pending[reject.command_id] = _Pending(pending.name, pending.args, pending.resends + 1)
        self.counter_at_least(reject.counter)
        _LOGGER.info(
            "link: counter %d was stale (another client with key %s); re-sending %s above it",
            reject.counter,
            self.identity,
            reject.command_id,
        )
        self._send_command(reject.command_id, pending.name, pending.args, now)
        return True
