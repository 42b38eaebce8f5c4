"""Byte-level faults of a simulated serial line: corruption, dropped bytes, latency and unplugging."""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field


@dataclass
class PortFaults:
    """What the line between host and device does to bytes (both directions).

    ``corrupt_rate`` and ``drop_rate`` are per-byte probabilities (0..1); ``latency_s`` delays every
    byte the device sends; ``unplugged`` makes the port fail like a pulled USB cable.
    """

    corrupt_rate: float = 0.0
    drop_rate: float = 0.0
    latency_s: float = 0.0
    unplugged: bool = False
    rng: random.Random = field(default_factory=lambda: random.Random(0))
    bytes_corrupted: int = 0
    bytes_dropped: int = 0

    @property
    def active(self) -> bool:
        """True if the line alters bytes at all."""
        return bool(self.corrupt_rate or self.drop_rate)

    def apply(self, data: bytes) -> bytes:
        """Return ``data`` as it arrives after corruption and drops."""
        if not self.active or not data:
            return data
        out = bytearray()
        rng = self.rng
        for byte in data:
            if self.drop_rate and rng.random() < self.drop_rate:
                self.bytes_dropped += 1
                continue
            if self.corrupt_rate and rng.random() < self.corrupt_rate:
                byte ^= 1 << rng.randrange(8)
                self.bytes_corrupted += 1
            out.append(byte)
        return bytes(out)

    def clear(self) -> None:
        """Back to a perfect line."""
        self.corrupt_rate = self.drop_rate = self.latency_s = 0.0
        self.unplugged = False


class DelayLine:
    """Bytes that become readable at a time: models the device→host latency."""

    def __init__(self) -> None:
        self._chunks: deque[tuple[float, bytes]] = deque()
        self._ready = bytearray()

    def push(self, t_ready: float, data: bytes) -> None:
        """Queue ``data`` to become readable at world time ``t_ready`` (s)."""
        if data:
            self._chunks.append((t_ready, data))

    def release(self, now: float) -> None:
        """Make every chunk due by ``now`` readable."""
        chunks = self._chunks
        while chunks and chunks[0][0] <= now:
            self._ready += chunks.popleft()[1]

    def available(self) -> int:
        """Readable bytes."""
        return len(self._ready)

    def take(self, size: int) -> bytes:
        """Remove and return up to ``size`` readable bytes."""
        out = bytes(self._ready[:size])
        del self._ready[:size]
        return out

    def next_due(self) -> float:
        """World time of the next queued chunk, or ``inf``."""
        return self._chunks[0][0] if self._chunks else float("inf")

    def clear(self) -> None:
        """Drop everything (a cable pulled loses bytes in flight)."""
        self._chunks.clear()
        self._ready.clear()
