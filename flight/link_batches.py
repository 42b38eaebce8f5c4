"""Flight's outgoing frames batched per client: what one service pass sends to a client leaves as one *batch*
frame, the messages back to back (one ZeroMQ send and one wake-up of the I/O thread instead of one per
message). With a light time, frames first wait in the outbound delay line (clock seconds, monotonic)."""

from __future__ import annotations

from collections.abc import Callable

from base.clock import Clock
from flight.link_socket import PeerUnreachable, RouterSocket
from link.lighttime import DelayLine

__all__ = ["BATCH_BYTES", "MAX_BATCH_MESSAGES", "Batcher"]

#: Link messages per batch frame at most, and the batch's size in bytes (a larger message goes alone).
MAX_BATCH_MESSAGES = 256
BATCH_BYTES = 1024 * 1024


class Batcher:
    """Queues frames per routing id and sends each client's queue as one frame on :meth:`flush`;
    ``unreachable(routing_id, error)`` hears of a client a send could not reach."""

    def __init__(
        self,
        socket: RouterSocket,
        clock: Clock,
        light_time_s: float,
        stats: dict[str, int],
        unreachable: Callable[[bytes, PeerUnreachable], None],
    ) -> None:
        self.socket = socket
        self.clock = clock
        self.light_time_s = light_time_s
        self.stats = stats
        self._unreachable = unreachable
        self.outbound: DelayLine[tuple[bytes, bytes]] = DelayLine(light_time_s)
        self._batches: dict[bytes, list[bytes]] = {}
        self._batch_bytes: dict[bytes, int] = {}

    def send(self, routing_id: bytes, frame: bytes) -> None:
        """Queue ``frame`` for ``routing_id``: through the light-time delay line, else into this pass's batch."""
        if self.light_time_s > 0:
            self.outbound.push((routing_id, frame), self.clock.monotonic())
            return
        self._queue(routing_id, frame)

    def release(self, now: float) -> None:
        """Move the frames whose light time has passed into this pass's batches."""
        for routing_id, frame in self.outbound.due(now):
            self._queue(routing_id, frame)

    def _queue(self, routing_id: bytes, frame: bytes) -> None:
        batch = self._batches.get(routing_id)
        if batch is None:
            batch = self._batches[routing_id] = []
            self._batch_bytes[routing_id] = 0
        elif self._batch_bytes[routing_id] + len(frame) > BATCH_BYTES or len(batch) >= MAX_BATCH_MESSAGES:
            self._flush_batch(routing_id)
            self._queue(routing_id, frame)
            return
        batch.append(frame)
        self._batch_bytes[routing_id] += len(frame)

    def flush(self) -> None:
        """Send every queued batch: per client, its messages of this pass back to back in one frame."""
        for routing_id in list(self._batches):
            self._flush_batch(routing_id)

    def _flush_batch(self, routing_id: bytes) -> None:
        batch = self._batches.pop(routing_id)
        del self._batch_bytes[routing_id]
        try:
            self.socket.send(routing_id, b"".join(batch))
        except PeerUnreachable as exc:
            self._unreachable(routing_id, exc)
            return
        self.stats["messages_out"] += len(batch)
