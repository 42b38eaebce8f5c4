"""The per-pass socket work of flight's link server: receive what arrived (authenticated, through the
light-time delay line), send each session what its window allows from the spool, and the executive's idle
wait that keeps doing so until a deadline. Times are clock seconds (monotonic)."""

from __future__ import annotations

import math
from collections.abc import Callable

from base.clock import Clock, VirtualClock, work_seconds
from flight.link_batches import Batcher
from flight.link_quota import LinkLimits
from flight.link_sessions import Session, SessionTable
from flight.link_socket import RouterSocket
from flight.spool import Spool
from link.keys import ClientIdentity
from link.lighttime import DelayLine

__all__ = ["MAX_MESSAGES_PER_SERVICE", "Pump"]

#: Messages handled per service call at most (a backstop: the time budget, :attr:`LinkLimits.budget_us`, is
#: what bounds a pass; it is measured in wall µs even under a virtual clock).
MAX_MESSAGES_PER_SERVICE = 2_000
#: Frames read from the spool per query while filling a window.
READ_CHUNK = 256

#: Handles one payload: (routing id, identity, payload, now).
Handler = Callable[[bytes, ClientIdentity, bytes, float], None]


class Pump:
    """Moves messages between the socket and the server: in to ``handle``, out from the spool."""

    def __init__(
        self,
        socket: RouterSocket,
        clock: Clock,
        light_time_s: float,
        stats: dict[str, int],
        *,
        handle: Handler,
        unauthenticated: Callable[[], None],
        malformed: Callable[[bytes, str], None],
        limits: LinkLimits | None = None,
    ) -> None:
        self.limits = limits if limits is not None else LinkLimits()
        self.socket = socket
        self.clock = clock
        self.light_time_s = light_time_s
        self.stats = stats
        self._handle = handle
        self._unauthenticated = unauthenticated
        self._malformed = malformed
        self.inbound: DelayLine[tuple[bytes, ClientIdentity, bytes]] = DelayLine(light_time_s)

    def receive(self, now: float) -> int:
        """Take what arrived until the pass's time budget is spent (or :data:`MAX_MESSAGES_PER_SERVICE`), then
        what the delay line releases; returns the messages taken off the socket. What is left waits in libzmq's
        queue (bounded by its receive high-water mark) for the next pass."""
        socket = self.socket
        count = 0
        start = work_seconds()
        budget_s = self.limits.budget_us * 1e-6
        while count < MAX_MESSAGES_PER_SERVICE:
            if count and work_seconds() - start > budget_s:
                self.stats["budget_spent"] += 1
                break
            frames = socket.receive()
            if frames is None:
                break
            count += 1
            self.stats["messages_in"] += 1
            identity = socket.identify(frames[-1])
            if identity is None:
                self._unauthenticated()
                continue
            routing_id = frames[0].bytes
            if len(frames) != 2:
                self._malformed(routing_id, f"expected 1 payload frame, got {len(frames) - 1}")
                continue
            payload = frames[1].bytes
            if self.light_time_s > 0:
                self.inbound.push((routing_id, identity, payload), now)
            else:
                self._handle(routing_id, identity, payload, now)
        for routing_id, identity, payload in self.inbound.due(now):
            self._handle(routing_id, identity, payload, now)
        self.stats["service_us"] = round((work_seconds() - start) * 1e6)
        return count

    @staticmethod
    def send_windows(sessions: SessionTable, spool: Spool, batcher: Batcher, now: float = 0.0) -> None:
        """Send spooled statuses then packets to every session, as far as its window and its key's byte cap
        allow (the first frame to a session with nothing outstanding always goes)."""
        quotas = sessions.quotas
        for session in list(sessions.sessions.values()):
            room = session.window - session.outstanding
            if room <= 0 or not session.reachable:
                continue
            client = session.identity.name
            budget = quotas.room(client, now)
            start_bytes = session.sent.bytes
            for stream in (1, 0):
                room, budget = _fill(session, spool, batcher, stream, room, budget)
            quotas.charge(client, session.sent.bytes - start_bytes)
            if budget <= 0 and room > 0 and _behind(session, spool):
                sessions.throttled(session, quotas.limits.max_bytes)

    def wait_until(self, deadline: float, service: Callable[[], object], outbound: DelayLine) -> None:
        """Call ``service`` until clock ``deadline`` (monotonic s), sleeping on the socket in between (and
        waking for what a delay line releases)."""
        clock = self.clock
        if isinstance(clock, VirtualClock):
            service()
            clock.sleep_until(deadline)
            return
        while True:
            service()
            now = clock.monotonic()
            if now >= deadline:
                return
            wake = deadline
            for due in (self.inbound.next_due(), outbound.next_due()):
                if due is not None:
                    wake = min(wake, due)
            if math.floor(clock.wall_timeout(wake - now) * 1000.0) <= 0:
                clock.sleep_until(wake)
                continue
            clock.wait_io(wake - now, self._wait_socket)

    def _wait_socket(self, wall_s: float) -> None:
        """Block on the socket for up to ``wall_s`` wall seconds (less when a message arrives)."""
        self.socket.wait(max(math.floor(wall_s * 1000.0), 1))


def _behind(session: Session, spool: Spool) -> bool:
    """``session`` has not been sent everything the spool holds."""
    return session.sent_seq < spool.next_seq - 1 or session.sent_sseq < spool.next_sseq - 1


def _fill(session: Session, spool: Spool, batcher: Batcher, stream: int, room: int, budget: int) -> tuple[int, int]:
    """Send ``session`` frames of ``stream`` (1 statuses, 0 packets) while ``room`` (messages) and ``budget``
    (bytes) last — one frame at least when nothing is outstanding; returns what is left of both."""
    while room > 0 and (budget > 0 or not session.sent.bytes):
        after = session.sent_sseq if stream else session.sent_seq
        frames = (spool.read_statuses if stream else spool.read_packets)(after, min(room, READ_CHUNK))
        if not frames:
            break
        for number, frame in frames:
            batcher.send(session.routing_id, frame)
            session.sent.charge(stream, number, len(frame))
            if stream:
                session.sent_sseq = number
                session.sent_high_sseq = max(session.sent_high_sseq, number)
            else:
                session.sent_seq = number
                session.sent_high_seq = max(session.sent_high_seq, number)
            room -= 1
            budget -= len(frame)
            if budget <= 0:
                break
    return room, budget
