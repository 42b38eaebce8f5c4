"""Flight's packets and statuses: numbered, encoded and committed to the spool before they are sent
(``docs/link.md``, Sequences).

Per telemetry tick the samples published since the previous tick become one telemetry packet (split when
too large); every event becomes an event packet; both share one sequence. Command verification reports go
the same way in their own sequence. Times are clock seconds (``t`` epoch).
"""

from __future__ import annotations

import logging
from typing import Any

from base.clock import Clock
from flight.spool import Spool
from link import wire
from link.errors import EncodeError, LinkError

_LOGGER = logging.getLogger(__name__)

__all__ = ["MAX_PACKET_SAMPLES", "PacketWriter", "SpooledIds", "encode"]

SOURCE = "link"
#: Samples per telemetry packet at most (a tick with more is split into several packets).
MAX_PACKET_SAMPLES = 20_000

#: While the spool cannot take commits (a full disk), frames wait in memory up to this many bytes; past it the
#: telemetry of a tick is dropped (counted, reported), events and statuses are always kept.
MAX_BUFFER_BYTES = 16 * 1024 * 1024

#: How often the spool's size is checked against its cap (clock s).
TRIM_PERIOD_S = 10.0

#: Event sources whose events are committed with a sync to the disk (a power cut loses none, whatever the
#: spool's own durability): the ledger's signed extraction records, which partners audit.
SYNCED_SOURCES = frozenset({"ledger"})

#: Numbered frames: (seq or sseq, encoded message).
Numbered = list[tuple[int, bytes]]


class _Collector:
    """Table batch listener collecting samples since the last packet (columns kept apart for the encoder)."""

    __slots__ = ("names", "times", "values")

    def __init__(self) -> None:
        self.names: list[str] = []
        self.times: list[float] = []
        self.values: list[Any] = []

    def extend(self, values: dict[str, Any], t: float) -> None:
        """Take a whole table update: ``values`` (channel → value) taken at ``t`` (epoch s)."""
        self.names.extend(values)
        self.times.extend([t] * len(values))
        self.values.extend(values.values())

    def take(self) -> tuple[list[str], list[float], list[Any]]:
        columns = (self.names, self.times, self.values)
        self.names, self.times, self.values = [], [], []
        return columns


def encode(message: wire.Message) -> bytes:
    """``message`` as one frame; an event whose data cannot be encoded goes with the error in its place."""
    try:
        return wire.encode(message)[0]
    except EncodeError as exc:
        _LOGGER.error("link: cannot encode %s: %s", type(message).__name__, exc)
        replacement = {"error": f"unencodable {type(message).__name__}: {exc}"}
        if isinstance(message, wire.EventPacket):
            return wire.encode(wire.EventPacket(message.seq, {**message.event, "data": replacement}))[0]
        raise


class SpooledIds:
    """The dispatcher's id store kept in the spool, for flight without a flight store: an executed command's id
    goes into the next spool commit — for a ground command the one that makes its counter and ``accepted``
    durable before its handler runs — so a command id never runs twice, across restarts too."""

    def __init__(self, spool: Spool) -> None:
        self.spool = spool
        #: Ids added and not yet committed (:meth:`PacketWriter.commit` takes them).
        self.pending: list[str] = []

    def seen(self, command_id: str) -> bool:
        """True if ``command_id`` was executed (committed, or waiting for the next commit)."""
        return command_id in self.pending or self.spool.command_seen(command_id)

    def add(self, command_id: str) -> None:
        """Remember ``command_id``: on disk with the next commit."""
        self.pending.append(command_id)

    def discard(self, command_id: str) -> None:
        """Forget ``command_id`` (its acceptance was not committed, so it is still pending here)."""
        while command_id in self.pending:
            self.pending.remove(command_id)


class PacketWriter:
    """Collects samples, events and statuses, and commits them to the spool as numbered frames (with the
    executed command ids of :attr:`ids`, when the spool keeps them)."""

    def __init__(self, spool: Spool, clock: Clock, events: Any, *, spool_max_bytes: int = 0) -> None:
        self.spool_max_bytes = spool_max_bytes
        self._trim_due = 0.0
        self.spool = spool
        self.clock = clock
        self.events = events
        self.collector = _Collector()
        self._pending_events: list[dict[str, Any]] = []
        self._pending_statuses: list[dict[str, Any]] = []
        # Packets and statuses a failed spool append left, numbered, for the next commit.
        self._unspooled: tuple[Numbered, Numbered] = ([], [])
        self._unspooled_sync = False  # they hold an event of SYNCED_SOURCES
        self.buffered_bytes = 0
        self.dropped_samples = 0
        #: The dispatcher's id store when the spool keeps the command ids (None: another store does).
        self.ids: SpooledIds | None = None
        #: The spool error while commits fail (flight runs on, buffering in memory), None while they succeed.
        self.degraded: str | None = None

    def add_event(self, event: dict[str, Any]) -> None:
        """Queue an event (``Event.as_dict()``) for the next commit."""
        self._pending_events.append(event)

    def add_status(self, status: dict[str, Any]) -> None:
        """Queue a command status (``CommandStatus.as_dict()``) for the next commit."""
        self._pending_statuses.append(status)

    @property
    def pending(self) -> bool:
        """Events or statuses wait for a commit."""
        return bool(self._pending_events or self._pending_statuses)

    def commit(self, *, with_telemetry: bool, counter: tuple[str, int] | None = None) -> None:
        """Number, encode and spool what is pending, and ``counter`` (client, last accepted command counter)
        if given, in one transaction, oldest first; raises :class:`~link.errors.LinkError` (keeping it all for
        the next commit) if the spool cannot take it."""
        spool = self.spool
        # What a failed append left (numbered from the spool's next numbers) goes first, so nothing is lost.
        packets, statuses = self._unspooled
        self._unspooled = ([], [])
        seq = spool.next_seq + len(packets)
        sync = self._unspooled_sync
        if self._pending_events:
            events, self._pending_events = self._pending_events, []
            for event in events:
                sync = sync or event.get("source") in SYNCED_SOURCES
                packets.append((seq, encode(wire.EventPacket(seq, event))))
                seq += 1
        if with_telemetry and self.collector.names and self.buffered_bytes > MAX_BUFFER_BYTES:
            self.dropped_samples += len(self.collector.take()[0])  # the memory buffer is full: telemetry goes
        if with_telemetry and self.collector.names:
            t = self.clock.now()
            names, times, values = self.collector.take()
            for start in range(0, len(names), MAX_PACKET_SAMPLES):
                end = start + MAX_PACKET_SAMPLES
                for frame in self._telemetry_frames(seq, t, names[start:end], times[start:end], values[start:end]):
                    packets.append((seq, frame))
                    seq += 1
        if self._pending_statuses:
            pending, self._pending_statuses = self._pending_statuses, []
            sseq = spool.next_sseq + len(statuses)
            for status in pending:
                statuses.append((sseq, wire.pack([wire.Kind.STATUS, sseq, status], "status message")))
                sseq += 1
        ids = self.ids.pending if self.ids is not None else []
        try:
            spool.append(packets, statuses, counter=counter, command_ids=ids, sync=sync)
        except LinkError:
            self._unspooled = (packets, statuses)  # retried by the next commit
            self._unspooled_sync = sync
            self.buffered_bytes = sum(len(f) for _, f in packets) + sum(len(f) for _, f in statuses)
            raise  # the ids stay pending for the next commit as well
        if ids:
            ids.clear()
        self._unspooled_sync = False
        self.buffered_bytes = 0

    def commit_or_buffer(self, *, with_telemetry: bool) -> bool:
        """:meth:`commit`, and if the spool cannot take it (a full disk), keep it in memory (bounded by
        :data:`MAX_BUFFER_BYTES`) for the next commit and go on: an error event when that starts, an info event
        when a commit succeeds again. Returns whether the commit succeeded."""
        try:
            self.commit(with_telemetry=with_telemetry)
        except LinkError as exc:
            if self.degraded is None:
                self.degraded = str(exc)
                _LOGGER.error("link: spool degraded, buffering in memory: %s", exc)
                self.events.error(
                    SOURCE,
                    "spool_degraded",
                    f"spool cannot commit ({exc}); buffering up to {MAX_BUFFER_BYTES} bytes in memory, "
                    "sending resumes from the spool when it can commit again",
                )
            return False
        self._trim()
        if self.degraded is not None:
            self.degraded = None
            _LOGGER.info("link: spool recovered")
            self.events.info(
                SOURCE, "spool_recovered", f"spool commits again; {self.dropped_samples} samples dropped so far"
            )
            self.commit(with_telemetry=False)  # the recovery event itself
        return True

    def _trim(self) -> None:
        """At most every :data:`TRIM_PERIOD_S`: hold the spool under its size cap (a never-acknowledging or
        absent archive must not fill the disk), dropping the oldest packets with a warning event."""
        now = self.clock.monotonic()
        if not self.spool_max_bytes or now < self._trim_due:
            return
        self._trim_due = now + TRIM_PERIOD_S
        try:
            dropped = self.spool.trim(self.spool_max_bytes)
        except LinkError as exc:
            _LOGGER.warning("link: spool not trimmed: %s", exc)
            return
        if dropped:
            self.events.warning(
                SOURCE,
                "spool_overflow",
                f"spool over its {self.spool_max_bytes}-byte cap: the {dropped} oldest unacknowledged packets dropped "
                "(no archiving station acknowledged them); ground counts them lost",
                dropped=dropped,
            )

    def _telemetry_frames(
        self, seq: int, t: float, names: list[str], times: list[float], values: list[Any]
    ) -> list[bytes]:
        """One frame, or several if the samples do not fit the size limit (each split numbered on)."""
        try:
            return [wire.encode_telemetry(seq, t, names, times, values)]
        except EncodeError:
            if len(names) <= 1:
                _LOGGER.error("link: dropping a sample too large for a packet: %s", names[:1])
                self.events.error(SOURCE, "sample_too_large", f"sample of {names[:1]} exceeds the packet size limit")
                return []
            half = len(names) // 2
            first = self._telemetry_frames(seq, t, names[:half], times[:half], values[:half])
            rest = self._telemetry_frames(seq + len(first), t, names[half:], times[half:], values[half:])
            return first + rest
