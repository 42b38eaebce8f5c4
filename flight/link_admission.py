"""Admission of ground commands: roles, the per-client counter check (replay rejection) and the counter's
durability before the command runs (``docs/link.md``, Security).

Commands need a role that may send them (``operator`` and ``archive``: any; ``safety``: estop and
mission.hold) and a counter strictly above the last one accepted from their key; others are refused as
``forbidden``, stale or repeated counters as ``replay``. An accepted counter is made durable before
the command's handler runs: written to the counter store at once, or — when the spool keeps the counters —
committed with the command's first status in one spool transaction (the server does that commit).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from flight.errors import AdmissionRefused, FlightError
from link import wire
from link.keys import ClientIdentity

__all__ = ["Admission", "Admitted", "CounterStore", "Refusal"]


class CounterStore(Protocol):
    """Where the last accepted command counter of each client lives (FlightStore or the spool)."""

    def last_counter(self, client: str) -> int:
        """The last counter accepted from ``client`` (0 if none)."""
        ...

    def set_counter(self, client: str, n: int) -> None:
        """Record ``n`` as accepted from ``client``, durably, before returning."""
        ...


@dataclass(frozen=True)
class Refusal:
    """Why a command is refused: the reject's reason, text, and counter to carry back."""

    reason: str
    message: str
    counter: int


@dataclass(frozen=True)
class Admitted:
    """A submitted command's counter; ``spooled``: it is recorded by the next spool commit."""

    client: str
    counter: int
    spooled: bool

    @property
    def spool_record(self) -> tuple[str, int] | None:
        """``(client, counter)`` for the spool commit, or None when another store already holds it."""
        return (self.client, self.counter) if self.spooled else None


class Admission:
    """Checks commands against roles and counters; keeps each client's last counter (read once, then cached:
    only this flight writes it)."""

    def __init__(self, counters: CounterStore, *, spool_keeps_counters: bool, stats: dict[str, int]) -> None:
        self.counters = counters
        self.spool_keeps_counters = spool_keeps_counters
        self.stats = stats
        self._cache: dict[str, int] = {}
        # The command being submitted until its counter is durable (see begin / settle).
        self._admitting: tuple[str, int] | None = None

    def last_counter(self, client: str) -> int:
        """The last counter accepted from ``client``."""
        last = self._cache.get(client)
        if last is None:
            last = self._cache[client] = self.counters.last_counter(client)
        return last

    def refusal(self, identity: ClientIdentity, command: wire.Command) -> Refusal | None:
        """Why ``command`` from ``identity`` may not run (None: it may; counted as a command)."""
        if not identity.may_send(command.name):
            self.stats["forbidden"] += 1
            what = "only estop and mission.hold" if identity.role == "safety" else "no command"
            message = f"{identity.name} has the role {identity.role}: may send {what}, not {command.name}"
            return Refusal("forbidden", message, command.counter)
        last = self.last_counter(identity.name)
        if command.counter <= last:
            self.stats["replays"] += 1
            # The reject carries the last accepted counter, so a legitimate client sharing this key with another
            # process can re-send its (never executed) command above it; the command id still runs only once.
            return Refusal("replay", f"counter {command.counter} is not above {last}, the last one accepted", last)
        self.stats["commands"] += 1
        return None

    def begin(self, client: str, counter: int) -> None:
        """``counter`` from ``client`` passed the check and its command is about to be submitted; a counter store
        other than the spool records it now, durably. :class:`AdmissionRefused` (reason ``persistence``) when
        that store cannot (a full disk): the command must not run, and its counter stays unused."""
        if not self.spool_keeps_counters:
            try:
                self.counters.set_counter(client, counter)  # durable before the command runs
            except FlightError as exc:
                raise AdmissionRefused("persistence", f"the command counter could not be recorded: {exc}") from exc
            self._cache[client] = counter
        self._admitting = (client, counter)

    @property
    def admitting(self) -> bool:
        """A submitted command's counter still waits for its commit."""
        return self._admitting is not None

    def settle(self) -> Admitted:
        """The counter waiting for its commit (see :attr:`admitting`); replays of it are refused from now on in
        this run, even if that commit fails."""
        assert self._admitting is not None
        client, counter = self._admitting
        self._admitting = None
        self._cache[client] = counter
        return Admitted(client, counter, self.spool_keeps_counters)
