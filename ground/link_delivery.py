"""Ground's delivery and acknowledgement state machine (no sockets; ``docs/link.md``, Sequences).

Every telemetry/event packet (one sequence) and command status (another) is delivered to the listeners at
most once and in order. A gap (packets lost when a connection was re-made) makes the client say hello again
from the last number it holds, and flight goes back and sends the rest (a *backfill*; further gaps are
ignored until flight welcomes it). Delivered numbers are acknowledged cumulatively — after the ack gate (e.g.
an archive commit) — at least every :data:`ACK_INTERVAL_S` or a quarter window, so flight can prune its spool
and send more (credit). Messages go out through ``send(message, now)``. Times are clock seconds (monotonic).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from base.clock import Clock
from ground.link_listeners import Listeners
from link import wire

_LOGGER = logging.getLogger(__name__)

__all__ = ["ACK_INTERVAL_S", "Delivery"]

#: Acknowledge at least this often while something is unacknowledged (clock s).
ACK_INTERVAL_S = 0.5

#: Sends a message to flight: (message, now clock s).
Send = Callable[[wire.Message, float], None]


class Delivery:
    """Where ground stands in both sequences, what it has acknowledged, and the hello that resumes them.

    ``last_seq``/``last_sseq``: the last packet/status delivered; ``gaps``: gaps detected (each answered by a
    backfill); ``lost``: packets flight no longer had when asked; ``duplicates``: numbers received twice."""

    def __init__(
        self,
        clock: Clock,
        listeners: Listeners,
        send: Send,
        *,
        window: int,
        archive: bool,
        resume_after: int = 0,
        answered: Callable[[str], None] = lambda _command_id: None,
    ) -> None:
        self.clock = clock
        self.listeners = listeners
        self._send = send
        self._answered = answered
        self.window = window
        self.archive = archive
        self.last_seq = resume_after
        self.last_sseq = 0
        self.acked = (resume_after, 0)
        self.gaps = 0
        self.lost = 0
        self.duplicates = 0
        self.backfilling = False
        self.boot_id = ""  # of the flight boot that last welcomed us
        self.hello_t: float | None = None
        self.ack_gate: Callable[[int], None] | None = None
        self._last_ack_t = -1e18

    def hello(self, now: float, *, want_dictionary: bool) -> None:
        """Ask flight to (re)send from what is delivered; backfilling until it welcomes us."""
        self.hello_t = now
        self.backfilling = True
        self._send(
            wire.Hello(
                wire.PROTOCOL_VERSION, self.last_seq, self.last_sseq, self.window, want_dictionary, self.archive
            ),
            now,
        )

    def hello_required(self, now: float, *, want_dictionary: bool) -> None:
        """Flight has no session for us (it restarted or dropped us): say hello unless already waiting."""
        if not self.backfilling:
            self.hello(now, want_dictionary=want_dictionary)

    def welcome(self, message: wire.Welcome) -> None:
        """Resume where flight says it resumes (following a replaced spool); counts packets it no longer had.

        A welcome below what ground holds from the boot that already welcomed us answers an earlier hello (flight
        was slow to start and ground said hello again meanwhile), not a replaced spool: ground keeps what it
        holds and says hello again from there, so nothing is delivered twice or renumbered."""
        if message.resume_seq < self.last_seq and self.boot_id and message.boot_id == self.boot_id:
            _LOGGER.info(
                "link: a welcome from packet %d answers an earlier hello; resuming after %d",
                message.resume_seq,
                self.last_seq,
            )
            self.hello(self.clock.monotonic(), want_dictionary=False)
            return
        self.boot_id = message.boot_id
        if message.resume_seq < self.last_seq:
            # flight's spool numbers below what ground holds: its spool was replaced; follow flight
            _LOGGER.error(
                "link: flight %s resumes after packet %d but ground holds up to %d: flight's spool was replaced; "
                "packets numbered again from %d",
                message.flight,
                message.resume_seq,
                self.last_seq,
                message.resume_seq + 1,
            )
            self.last_seq = message.resume_seq
            self.acked = (message.resume_seq, self.acked[1])
        if message.resume_seq > self.last_seq:
            if self.last_seq > 0:
                self.lost += message.resume_seq - self.last_seq
                _LOGGER.warning("link: flight no longer holds packets %d..%d", self.last_seq + 1, message.resume_seq)
            self.last_seq = message.resume_seq
        self.last_sseq = message.resume_sseq  # flight resumes statuses here (above an old spool's if replaced)
        self.acked = (max(self.acked[0], self.last_seq), self.last_sseq)
        self.backfilling = False

    def packet(self, message: wire.TelemetryPacket | wire.EventPacket) -> None:
        """Deliver the packet if it is the next one; count a duplicate, or answer a gap with a hello."""
        seq = message.seq
        last = self.last_seq
        if seq <= last:
            self.duplicates += 1
            return
        if seq > last + 1:
            self._gap("packet", last, seq)
            return
        self.last_seq = seq
        if type(message) is wire.TelemetryPacket:
            self.listeners.telemetry(seq, message.samples)
        elif type(message) is wire.EventPacket:
            self.listeners.event(seq, message.event)
        self.ack_if_due(self.clock.monotonic(), force=False)

    def status(self, message: wire.StatusPacket) -> None:
        """Deliver the command status if it is the next one (its command is answered); else as :meth:`packet`."""
        last = self.last_sseq
        if message.sseq <= last:
            self.duplicates += 1
            return
        if message.sseq > last + 1:
            self._gap("status", last, message.sseq)
            return
        self.last_sseq = message.sseq
        self._answered(message.status.get("id", ""))
        self.listeners.status(message.status)

    def _gap(self, stream: str, last: int, got: int) -> None:
        if self.backfilling:
            return
        _LOGGER.info("link: %s gap after %d (got %d): asking flight to resend", stream, last, got)
        self.gaps += 1
        self.hello(self.clock.monotonic(), want_dictionary=False)

    def ack_if_due(self, now: float, *, force: bool) -> None:
        """Acknowledge what is delivered if ``force``, a quarter window is unacknowledged or the interval has
        passed; the ack gate runs first (if it raises, nothing is acknowledged)."""
        seq, sseq = self.last_seq, self.last_sseq
        acked_seq, acked_sseq = self.acked
        new = (seq - acked_seq) + (sseq - acked_sseq)
        if new <= 0:
            return
        if not force and new < self.window // 4 and now - self._last_ack_t < ACK_INTERVAL_S:
            return
        if self.ack_gate is not None and seq > acked_seq:
            self.ack_gate(seq)
        self.acked = (seq, sseq)
        self._last_ack_t = now
        self._send(wire.Ack(seq, sseq, self.window), now)
