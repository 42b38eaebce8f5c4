"""Flight's ground-client sessions and the link state they make (``docs/link.md``, Sessions / Loss of signal).

Each session holds a cursor per stream (packets, statuses) and a *window* (credit) granted by the client:
flight never has more than ``window`` packets + statuses unacknowledged by a client. A client silent for the
loss-of-signal timeout is dropped; when the last one goes, loss of signal is declared and the failsafe
applied at once; the next message heard restores the link. Times are clock seconds (monotonic).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flight.spool import Spool
from link import wire
from link.keys import ClientIdentity

_LOGGER = logging.getLogger(__name__)

__all__ = ["MAX_WINDOW", "Session", "SessionTable"]

SOURCE = "link"
#: Largest window a client may ask for (packets + statuses outstanding).
MAX_WINDOW = 100_000


@dataclass
class Session:
    """One ground client: its identity, window and, per stream, the last number sent and acknowledged."""

    routing_id: bytes
    identity: ClientIdentity
    window: int
    prunes: bool
    sent_seq: int
    sent_sseq: int
    acked_seq: int
    acked_sseq: int
    last_heard: float
    reachable: bool = True

    @property
    def outstanding(self) -> int:
        """Packets + statuses sent and not yet acknowledged."""
        return (self.sent_seq - self.acked_seq) + (self.sent_sseq - self.acked_sseq)


class SessionTable:
    """The connected clients by routing id, the link state (``waiting`` | ``up`` | ``los``) and spool pruning."""

    def __init__(self, spool: Spool, events: Any, failsafe: Any, los_timeout_s: float, stats: dict[str, int]) -> None:
        self.spool = spool
        self.events = events
        self.failsafe = failsafe
        self.los_timeout_s = los_timeout_s
        self.stats = stats
        self.sessions: dict[bytes, Session] = {}
        self.state = "waiting"  # waiting (no ground yet) | up | los

    def get(self, routing_id: bytes) -> Session | None:
        """The session of ``routing_id`` (None if it has not said hello or was dropped)."""
        return self.sessions.get(routing_id)

    def open(self, routing_id: bytes, identity: ClientIdentity, hello: wire.Hello, now: float) -> Session:
        """(Re)start the session of ``routing_id`` from where its hello says it stands, within what the spool
        still holds; a new client is announced by an event."""
        spool = self.spool
        seq = min(max(hello.resume_after, spool.packets.acked), spool.next_seq - 1)
        sseq = min(max(hello.status_after, spool.statuses.acked), spool.next_sseq - 1)
        prunes = identity.role == "operator" and hello.archive
        session = Session(routing_id, identity, min(hello.window, MAX_WINDOW), prunes, seq, sseq, seq, sseq, now)
        fresh = routing_id not in self.sessions
        self.sessions[routing_id] = session
        if fresh:
            _LOGGER.info("link: %s (%s) connected, resuming after seq %d", identity.name, identity.role, seq)
            self.events.info(
                SOURCE,
                "client_connected",
                f"ground client {identity.name} ({identity.role}) connected; resuming after packet {seq}",
                client=identity.name,
                role=identity.role,
            )
        self.heard()
        return session

    def acknowledge(self, session: Session, ack: wire.Ack) -> None:
        """Take ``ack``: move the session's acknowledged cursors, its window, and prune the spool."""
        session.acked_seq = max(session.acked_seq, min(ack.seq, session.sent_seq))
        session.acked_sseq = max(session.acked_sseq, min(ack.sseq, session.sent_sseq))
        session.window = min(ack.window, MAX_WINDOW)
        self.prune()

    def prune(self) -> None:
        """Drop from the spool what every connected archiving client has acknowledged."""
        pruning = [s for s in self.sessions.values() if s.prunes and s.reachable]
        if pruning:
            self.spool.acknowledge(min(s.acked_seq for s in pruning), min(s.acked_sseq for s in pruning))

    def unreachable(self, routing_id: bytes, why: Exception) -> None:
        """A send to ``routing_id`` failed: stop sending to it until it says hello again."""
        session = self.sessions.get(routing_id)
        if session is not None and session.reachable:
            # kept until its silence times out: loss of signal is timed by heartbeats, not by TCP;
            # a client that comes back says hello from what it holds, so nothing is skipped
            session.reachable = False
            _LOGGER.info("link: %s unreachable (%s)", session.identity.name, why)
            self.prune()

    def heard(self) -> None:
        """Something came from ground: the link is up (restored, if it was lost)."""
        if self.state == "up":
            return
        previous, self.state = self.state, "up"
        self.events.info(SOURCE, "acquired", "ground link acquired", previous=previous)
        if previous == "los":
            self.failsafe.link_restored()

    def watch(self, now: float) -> None:
        """Drop the sessions silent for the timeout; with none left, declare loss of signal."""
        timeout = self.los_timeout_s
        dropped = False
        for routing_id, session in list(self.sessions.items()):
            if now - session.last_heard > timeout:
                del self.sessions[routing_id]
                dropped = True
                _LOGGER.info("link: %s silent for %.1f s; session dropped", session.identity.name, timeout)
        if dropped:
            self.prune()
        if self.state == "up" and not self.sessions:  # nobody heard within the timeout
            self.state = "los"
            self.stats["losses"] += 1
            self.events.warning(SOURCE, "los", f"loss of signal: no ground traffic for {timeout:.1f} s")
            self.failsafe.link_lost(f"no ground traffic for {timeout:.1f} s")
