"""A raw client of one device for the conformance suite: frames with any seq, flags and payload, and
every frame the device sends, with its arrival time on the clock.

Unlike :class:`~hal.transport.Transport` it never retries, re-identifies or filters anything: the suite
must see exactly what the device does.
"""

from __future__ import annotations

from dataclasses import dataclass

import serial

from base.clock import Clock
from hal.errors import PortError
from hal.protocol import Flags, Frame, FrameDecoder, MsgType, encode_frame

#: Seconds a single port read waits at most.
READ_SLICE_S = 0.005
_RESPONSE = int(Flags.RESPONSE)


@dataclass(frozen=True)
class Received:
    """A frame from the device and the clock time (s) it was read."""

    t: float
    frame: Frame


class RawLink:
    """Frames to and from the device at ``address`` on an open pyserial ``port``; times on ``clock``."""

    def __init__(self, port: serial.SerialBase, clock: Clock, address: int) -> None:
        self.port = port
        self.clock = clock
        self.address = address
        self.decoder = FrameDecoder()
        #: Unsolicited frames (EVENT, TELEMETRY) received and not yet taken.
        self.unsolicited: list[Received] = []
        self.last_tx = clock.monotonic()
        self._seq = 0x4000

    @classmethod
    def open(cls, url: str, clock: Clock, address: int, baud: int = 921_600) -> RawLink:
        """Open the port ``url`` (a device path or pyserial URL); :class:`PortError` when it cannot be."""
        try:
            port = serial.serial_for_url(url, baudrate=baud, timeout=READ_SLICE_S)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise PortError(f"cannot open {url}: {exc}") from exc
        return cls(port, clock, address)

    def close(self) -> None:
        """Close the port."""
        try:
            self.port.close()
        except (serial.SerialException, OSError) as exc:
            raise PortError(f"closing the port failed: {exc}") from exc

    def next_seq(self) -> int:
        """A fresh request seq."""
        self._seq = (self._seq + 1) & 0xFFFF
        return self._seq

    def send(self, msg_type: int, payload: bytes, *, seq: int, flags: int = 0, address: int | None = None) -> None:
        """Write one frame."""
        frame = Frame(self.address if address is None else address, msg_type, seq, payload, flags)
        try:
            self.port.write(encode_frame(frame))
            self.port.flush()
        except (serial.SerialException, OSError) as exc:
            raise PortError(f"writing to the port failed: {exc}") from exc
        self.last_tx = self.clock.monotonic()

    def _read(self) -> list[Received]:
        try:
            data = self.port.read(4096)
        except (serial.SerialException, OSError) as exc:
            raise PortError(f"reading the port failed: {exc}") from exc
        t = self.clock.monotonic()
        return [Received(t, f) for f in self.decoder.feed(data)] if data else []

    def request(
        self,
        msg_type: int,
        payload: bytes,
        *,
        seq: int | None = None,
        flags: int = 0,
        address: int | None = None,
        timeout_s: float = 0.5,
    ) -> Frame | None:
        """Send a request and return the response with its seq (None after ``timeout_s``); everything
        else that arrives meanwhile goes to :attr:`unsolicited`."""
        seq = self.next_seq() if seq is None else seq
        self.send(msg_type, payload, seq=seq, flags=flags, address=address)
        deadline = self.clock.monotonic() + timeout_s
        response: Frame | None = None
        while response is None and self.clock.monotonic() < deadline:
            for item in self._read():  # every frame of the batch is kept, not only the response
                frame = item.frame
                if frame.flags & _RESPONSE:
                    if frame.seq == seq and response is None:
                        response = frame
                else:
                    self.unsolicited.append(item)
        return response

    def listen(self, duration_s: float) -> None:
        """Read for ``duration_s`` seconds without sending anything."""
        deadline = self.clock.monotonic() + duration_s
        while self.clock.monotonic() < deadline:
            self.unsolicited += [r for r in self._read() if not r.frame.flags & _RESPONSE]

    def take_events(self) -> list[Received]:
        """The EVENT frames received so far (removed from :attr:`unsolicited`; telemetry is discarded)."""
        events = [r for r in self.unsolicited if r.frame.msg_type == MsgType.EVENT]
        self.unsolicited.clear()
        return events
