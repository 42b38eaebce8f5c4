"""The per-pass socket work of flight's link server: receive what arrived (authenticated, through the
light-time delay line), send each session what its window allows from the spool, and the executive's idle
wait that keeps doing so until a deadline. Times are clock seconds (monotonic)."""

from __future__ import annotations

import math
from collections.abc import Callable

from base.clock import Clock, VirtualClock
from flight.link_batches import Batcher
from flight.link_sessions import SessionTable
from flight.link_socket import RouterSocket
from flight.spool import Spool
from link.keys import ClientIdentity
from link.lighttime import DelayLine

__all__ = ["MAX_MESSAGES_PER_SERVICE", "Pump"]

#: Messages handled per service call at most, so a flood cannot starve the control loop.
MAX_MESSAGES_PER_SERVICE = 2_000

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
    ) -> None:
        self.socket = socket
        self.clock = clock
        self.light_time_s = light_time_s
        self.stats = stats
        self._handle = handle
        self._unauthenticated = unauthenticated
        self._malformed = malformed
        self.inbound: DelayLine[tuple[bytes, ClientIdentity, bytes]] = DelayLine(light_time_s)

    def receive(self, now: float) -> int:
        """Take what arrived (up to :data:`MAX_MESSAGES_PER_SERVICE`), then what the delay line releases;
        returns the messages taken off the socket."""
        socket = self.socket
        count = 0
        while count < MAX_MESSAGES_PER_SERVICE:
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
        return count

    @staticmethod
    def send_windows(sessions: SessionTable, spool: Spool, batcher: Batcher) -> None:
        """Send spooled statuses then packets to every session, as far as its window allows."""
        for session in list(sessions.sessions.values()):
            room = session.window - session.outstanding
            if room <= 0 or not session.reachable:
                continue
            if session.sent_sseq < spool.next_sseq - 1:
                for sseq, frame in spool.read_statuses(session.sent_sseq, room):
                    batcher.send(session.routing_id, frame)
                    session.sent_sseq = sseq
                    room -= 1
            if room > 0 and session.sent_seq < spool.next_seq - 1:
                for seq, frame in spool.read_packets(session.sent_seq, room):
                    batcher.send(session.routing_id, frame)
                    session.sent_seq = seq

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
            timeout_ms = math.floor(clock.wall_timeout(wake - now) * 1000.0)
            if timeout_ms <= 0:
                clock.sleep_until(wake)
                continue
            self.socket.wait(timeout_ms)
