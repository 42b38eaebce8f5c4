"""Flight's ground-client sessions and the link state they make (``docs/link.md``, Sessions / Loss of signal).

Each session holds a cursor per stream (packets, statuses) and a *window* (credit) granted by the client:
flight never has more than ``window`` packets + statuses unacknowledged by a client. A client silent for the
loss-of-signal timeout is dropped; when the last one goes, loss of signal is declared and the failsafe
applied at once; the next message heard restores the link. Times are clock seconds (monotonic).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flight.link_quota import LinkLimits, Quotas, Sent
from flight.spool import Spool
from link import wire
from link.errors import LinkError
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
    #: What was sent and not acknowledged (charged to the client's byte cap).
    sent: Sent = field(default_factory=Sent)
    #: When the dictionary this session asked for is due (clock monotonic s), None if none is pending.
    dictionary_at: float | None = None
    #: The highest packet and status numbers ever sent in this session: a re-sent hello rewinds the cursors to
    #: what the client holds, but an acknowledgement of what was sent before the rewind still counts.
    sent_high_seq: int = 0
    sent_high_sseq: int = 0

    @property
    def outstanding(self) -> int:
        """Packets + statuses sent and not yet acknowledged."""
        return (self.sent_seq - self.acked_seq) + (self.sent_sseq - self.acked_sseq)


class SessionTable:
    """The connected clients by routing id, the link state (``waiting`` | ``up`` | ``los``) and spool pruning."""

    def __init__(
        self,
        spool: Spool,
        events: Any,
        failsafe: Any,
        los_timeout_s: float,
        stats: dict[str, int],
        quotas: Quotas | None = None,
    ) -> None:
        self.quotas = quotas if quotas is not None else Quotas(LinkLimits())
        #: Reports a kind of refused traffic with a message (the server's rate-limited reports).
        self.report: Callable[[str, str], None] = lambda _kind, _message: None
        #: One-way light time, clock seconds: a key's byte cap then bounds what it receives per round trip.
        self.light_time_s = 0.0
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

    def resent(self, routing_id: bytes, identity: ClientIdentity) -> bool:
        """A hello from ``routing_id`` now would be one re-sent by a session already open with ``identity`` (a
        ground that said hello again before flight's welcome reached it)."""
        session = self.sessions.get(routing_id)
        return session is not None and session.identity == identity

    def open(self, routing_id: bytes, identity: ClientIdentity, hello: wire.Hello, now: float) -> Session:
        """(Re)start the session of ``routing_id`` from where its hello says it stands, within what the spool
        still holds. A re-sent hello reuses the session (what it was sent stays charged to the client); a new
        client is announced by an event, and a key over its session cap loses its longest silent session."""
        spool = self.spool
        seq = min(max(hello.resume_after, spool.packets.acked), spool.next_seq - 1)
        sseq = min(max(hello.status_after, spool.statuses.acked), spool.next_sseq - 1)
        prunes = identity.role == "archive" and hello.archive  # only the archiving station's acks prune
        window = min(hello.window, MAX_WINDOW)
        session = self.sessions.get(routing_id)
        if session is not None and session.identity == identity:
            session.window, session.prunes, session.last_heard, session.reachable = window, prunes, now, True
            session.sent_seq = session.acked_seq = max(seq, min(session.acked_seq, session.sent_seq))
            session.sent_sseq = session.acked_sseq = max(sseq, min(session.acked_sseq, session.sent_sseq))
            # What the hello says the client holds is acknowledged: its charge is freed (a client far away re-sends
            # its hello every heartbeat while the welcome is still on its way).
            self.quotas.free(identity.name, session.sent.settle(session.acked_seq, session.acked_sseq))
            self.heard()
            return session
        if session is not None:  # the same routing id with another key: a new session
            self.drop(routing_id, now, "its key changed")
        self._make_room(identity, now)
        session = Session(routing_id, identity, window, prunes, seq, sseq, seq, sseq, now)
        self.sessions[routing_id] = session
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

    def _make_room(self, identity: ClientIdentity, now: float) -> None:
        """Drop the longest silent sessions of ``identity``'s key until one more fits under its cap."""
        limit = self.quotas.limits.max_sessions
        mine = sorted((s for s in self.sessions.values() if s.identity.name == identity.name), key=_heard)
        for session in mine[: max(0, len(mine) - limit + 1)]:
            self.drop(session.routing_id, now, f"{identity.name} is over its cap of {limit} sessions")
            self.stats["over_cap"] = self.stats.get("over_cap", 0) + 1
            self.report("over_cap", f"session of {identity.name} dropped: over its cap of {limit} sessions")

    def drop(self, routing_id: bytes, now: float, why: str) -> None:
        """End the session of ``routing_id`` (its unacknowledged bytes stay charged to its key for a while)."""
        session = self.sessions.pop(routing_id, None)
        if session is None:
            return
        self.quotas.orphan(session.identity.name, session.sent.bytes, now)
        _LOGGER.info("link: session of %s dropped: %s", session.identity.name, why)
        self.prune()

    def acknowledge(self, session: Session, ack: wire.Ack) -> None:
        """Take ``ack``: move the session's acknowledged cursors, its window, and prune the spool."""
        # Up to what this session was ever sent (a re-sent hello may have rewound the cursors since); what the
        # client acknowledges beyond a rewound cursor it holds, and is not sent again.
        session.acked_seq = max(session.acked_seq, min(ack.seq, max(session.sent_seq, session.sent_high_seq)))
        session.acked_sseq = max(session.acked_sseq, min(ack.sseq, max(session.sent_sseq, session.sent_high_sseq)))
        session.sent_seq = max(session.sent_seq, session.acked_seq)
        session.sent_sseq = max(session.sent_sseq, session.acked_sseq)
        session.window = min(ack.window, MAX_WINDOW)
        self.quotas.free(session.identity.name, session.sent.settle(session.acked_seq, session.acked_sseq))
        self.prune()

    def prune(self) -> None:
        """Drop from the spool what every connected archiving client has acknowledged."""
        pruning = [s for s in self.sessions.values() if s.prunes and s.reachable]
        if pruning:
            try:
                self.spool.acknowledge(min(s.acked_seq for s in pruning), min(s.acked_sseq for s in pruning))
            except LinkError as exc:  # a full disk: pruned by a later acknowledgement
                _LOGGER.warning("link: spool not pruned yet: %s", exc)

    def unreachable(self, routing_id: bytes, why: Exception) -> None:
        """A send to ``routing_id`` failed: stop sending to it until it says hello again."""
        session = self.sessions.get(routing_id)
        if session is not None and session.reachable:
            # kept until its silence times out: loss of signal is timed by heartbeats, not by TCP;
            # a client that comes back says hello from what it holds, so nothing is skipped
            session.reachable = False
            _LOGGER.info("link: %s unreachable (%s)", session.identity.name, why)
            self.prune()

    def revalidate(self, current: Callable[[ClientIdentity], ClientIdentity | None], now: float) -> None:
        """The allowed keys changed: end every session whose key is no longer allowed (``client_revoked``) or
        now has another name or role (``client_changed``: its next message is answered ``hello_required``, and
        its new hello gets the new role)."""
        for routing_id, session in list(self.sessions.items()):
            identity = session.identity
            now_is = current(identity)
            if now_is == identity:
                continue
            self.drop(routing_id, now, "its key was removed" if now_is is None else "its role changed")
            if now_is is None:
                self.events.warning(
                    SOURCE, "client_revoked", f"key of {identity.name} removed: session ended", client=identity.name
                )
            else:
                self.events.info(
                    SOURCE,
                    "client_changed",
                    f"{identity.name} is now {now_is.name} ({now_is.role}): session ended, new role at its next hello",
                    client=identity.name,
                    role=now_is.role,
                )

    def throttled(self, session: Session, cap: int) -> None:
        """``session``'s key reached its byte cap: nothing more goes to it until acks free room (reported)."""
        self.stats["throttled"] = self.stats.get("throttled", 0) + 1
        message = (
            f"{session.identity.name} holds {cap} unacknowledged bytes, its cap: sending paused until it acknowledges"
        )
        if self.light_time_s > 0.0:
            carried = cap / (2.0 * self.light_time_s) / 1024.0
            message += (
                f"; with {self.light_time_s:g} s light time each way the cap carries at most {carried:.1f} KiB/s to it "
                "(raise [link] client_max_mb, or send less)"
            )
        else:
            message += (
                "; it acknowledges more slowly than flight sends (a busy or slow ground station, or a clock warp "
                "faster than it archives): lower the warp, raise [link] client_max_mb, or send less"
            )
        self.report("throttled", message)

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
        for routing_id, session in list(self.sessions.items()):
            if now - session.last_heard > timeout:
                self.drop(routing_id, now, f"silent for {timeout:.1f} s")
        if self.state == "up" and not self.sessions:  # nobody heard within the timeout
            self.state = "los"
            self.stats["losses"] += 1
            self.events.warning(SOURCE, "los", f"loss of signal: no ground traffic for {timeout:.1f} s")
            self.failsafe.link_lost(f"no ground traffic for {timeout:.1f} s")


def _heard(session: Session) -> float:
    return session.last_heard
