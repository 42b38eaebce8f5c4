"""A small fake device on the master end of a real pty, for tests of the host side of the serial link.

The host opens ``PtyPair.path`` exactly as it would open a USB serial device; the fake device speaks the
ICD on the master file descriptor from a thread. The thread only ever waits in ``select`` with a short
timeout and checks its stop event, because closing a pty master fd while another thread is blocked in
``os.read`` on it does not hang the pty up.

Behaviour is a handler ``handler(device, frame)`` called for every frame the device decodes; the handler
answers with :meth:`FakeDevice.reply`, :meth:`FakeDevice.emit` or :meth:`FakeDevice.write_raw` (each can be
delayed). :func:`answer_like_a_device` is the default: ACK DONE, IDENTIFY and HEARTBEAT replies.
"""

from __future__ import annotations

import contextlib
import fcntl
import heapq
import itertools
import os
import select
import threading
import tty
from collections.abc import Callable

from base.clock import RealClock
from hal.icd import (
    ACK_LAYOUT,
    DEFAULT_DEADMAN_MS,
    DEVICE_BY_ADDRESS,
    HEARTBEAT_REPLY_LAYOUT,
    HEARTBEAT_REQUEST_LAYOUT,
    IDENTIFY_LAYOUT,
)
from hal.protocol import PROTOCOL_VERSION, AckResult, Flags, Frame, FrameDecoder, MsgType, encode_frame

Handler = Callable[["FakeDevice", Frame], None]

#: Wall seconds the device thread waits in one ``select``; bounds how late a stop or a delayed write is.
POLL_S = 0.005
SERIAL_NUMBER = 0x00C0FFEE


class PtyPair:
    """A pseudo-terminal whose slave end is in raw mode (no echo, no line editing).

    The slave fd stays open until :meth:`close` so that the master does not read EIO while the host has
    the port closed (between an unplug and a reconnect, for instance).
    """

    def __init__(self) -> None:
        self.master_fd, self.slave_fd = os.openpty()
        tty.setraw(self.slave_fd)
        self.path = os.ttyname(self.slave_fd)
        self._closed: set[str] = set()

    def close_master(self) -> None:
        """Close the master end: the host sees the device unplugged (hang-up)."""
        self._close("master")

    def close(self) -> None:
        """Close both ends (idempotent)."""
        self._close("master")
        self._close("slave")

    def _close(self, end: str) -> None:
        if end in self._closed:
            return
        self._closed.add(end)
        with contextlib.suppress(OSError):
            os.close(self.master_fd if end == "master" else self.slave_fd)


class FakeDevice:
    """An ICD device on ``master_fd``: decodes host frames, records them, answers through ``handler``.

    ``address`` is the device address it answers from. Delays are wall seconds.
    """

    def __init__(self, master_fd: int, *, address: int = 0x01, handler: Handler | None = None) -> None:
        self.fd = master_fd
        self.address = address
        self.handler = handler or answer_like_a_device
        self.clock = RealClock()
        self.decoder = FrameDecoder()
        self._received: list[Frame] = []
        self.errors: list[Exception] = []
        self._cond = threading.Condition()
        self._schedule: list[tuple[float, int, bytes]] = []
        self._order = itertools.count()
        self._out = bytearray()
        self._seq = 0
        self._stop = threading.Event()
        self._stream: tuple[float, Callable[[], bytes]] | None = None
        self._next_stream = float("inf")
        self._thread = threading.Thread(target=self._run, name="fake-device", daemon=True)
        flags = fcntl.fcntl(master_fd, fcntl.F_GETFL)
        fcntl.fcntl(master_fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)

    # --------------------------------------------------------------------------------------- life
    def start(self) -> FakeDevice:
        """Start the device thread; returns self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the device thread (within a few ms); the fd stays open."""
        self._stop.set()
        self._thread.join(timeout=2.0)
        if self._thread.is_alive():
            raise RuntimeError("fake device thread did not stop within 2 s")

    # ------------------------------------------------------------------------------ what it got
    @property
    def received(self) -> list[Frame]:
        """Every frame decoded so far, in order (a copy)."""
        with self._cond:
            return list(self._received)

    def wait_received(self, count: int, timeout_s: float = 2.0) -> list[Frame]:
        """Wait until at least ``count`` frames have arrived; raises ``AssertionError`` on timeout."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._received) >= count, timeout=timeout_s):
                raise AssertionError(f"fake device got {len(self._received)} frames, expected {count}")
            return list(self._received)

    def flush(self, timeout_s: float = 2.0) -> None:
        """Wait until every scheduled and buffered byte has been written to the pty."""
        with self._cond:
            if not self._cond.wait_for(lambda: not self._schedule and not self._out, timeout=timeout_s):
                raise AssertionError("fake device could not write its output in time")

    # --------------------------------------------------------------------------------- output
    def write_raw(self, data: bytes, delay_s: float = 0.0) -> None:
        """Write ``data`` as is, ``delay_s`` from now."""
        with self._cond:
            heapq.heappush(self._schedule, (self.clock.monotonic() + delay_s, next(self._order), bytes(data)))
            self._cond.notify_all()

    def reply(self, request: Frame, msg_type: int, payload: bytes = b"", delay_s: float = 0.0) -> bytes:
        """Answer ``request`` (its seq, RESPONSE flag); returns the wire bytes."""
        wire = encode_frame(Frame(self.address, msg_type, request.seq, payload, Flags.RESPONSE))
        self.write_raw(wire, delay_s)
        return wire

    def emit(self, msg_type: int, payload: bytes = b"", delay_s: float = 0.0) -> Frame:
        """Send an unsolicited frame (TELEMETRY, EVENT) with the device's own counter; returns it."""
        with self._cond:
            self._seq = (self._seq + 1) & 0xFFFF
            frame = Frame(self.address, msg_type, self._seq, payload)
        self.write_raw(encode_frame(frame), delay_s)
        return frame

    def stream(self, period_s: float, payload: Callable[[], bytes]) -> None:
        """Emit TELEMETRY with ``payload()`` every ``period_s`` from now on."""
        with self._cond:
            self._stream = (period_s, payload)
            self._next_stream = self.clock.monotonic() + period_s

    # ----------------------------------------------------------------------------------- thread
    def _run(self) -> None:
        while not self._stop.is_set():
            now = self.clock.monotonic()
            with self._cond:
                while self._schedule and self._schedule[0][0] <= now:
                    self._out += heapq.heappop(self._schedule)[2]
                wake = min(self._schedule[0][0] if self._schedule else now + POLL_S, self._next_stream)
                pending_out = bool(self._out)
            if now >= self._next_stream:
                self._stream_once(now)
                continue
            timeout = max(0.0, min(POLL_S, wake - now))
            try:
                readable, writable, _ = select.select([self.fd], [self.fd] if pending_out else [], [], timeout)
            except (OSError, ValueError):
                return  # the fd was closed under us: the device is unplugged
            if readable and not self._read():
                return
            if writable:
                self._write()

    def _stream_once(self, now: float) -> None:
        with self._cond:
            if self._stream is None:
                return
            period, payload = self._stream
            self._next_stream = max(self._next_stream + period, now)
        self.emit(MsgType.TELEMETRY, payload())

    def _read(self) -> bool:
        try:
            data = os.read(self.fd, 4096)
        except BlockingIOError:
            return True
        except OSError:
            # EIO: no process has the slave open. Wait a little instead of spinning on select.
            self._stop.wait(POLL_S)
            return True
        for frame in self.decoder.feed(data):
            with self._cond:
                self._received.append(frame)
                self._cond.notify_all()
            try:
                self.handler(self, frame)
            except Exception as exc:  # reported by the test through .errors, not lost with the thread
                self.errors.append(exc)
        return True

    def _write(self) -> None:
        with self._cond:
            data = bytes(self._out)
        try:
            written = os.write(self.fd, data)
        except BlockingIOError:
            return
        except OSError:
            self._stop.set()
            return
        with self._cond:
            del self._out[:written]
            self._cond.notify_all()


def answer_like_a_device(device: FakeDevice, frame: Frame) -> None:
    """The ordinary device answers: ACK DONE to any command, IDENTIFY and HEARTBEAT replies."""
    if frame.msg_type == MsgType.COMMAND:
        command_id = frame.payload[0] if frame.payload else 0
        device.reply(frame, MsgType.ACK, ACK_LAYOUT.pack(command_id, AckResult.DONE))
    elif frame.msg_type == MsgType.IDENTIFY:
        device.reply(frame, MsgType.IDENTIFY, identify_payload(device.address))
    elif frame.msg_type == MsgType.HEARTBEAT:
        (host_ms,) = HEARTBEAT_REQUEST_LAYOUT.struct.unpack(frame.payload)
        device.reply(frame, MsgType.HEARTBEAT, HEARTBEAT_REPLY_LAYOUT.pack(host_ms, 1, 0, 0))


def identify_payload(address: int, telemetry_period_ms: int = 0) -> bytes:
    """The IDENTIFY response of the device at ``address`` (firmware 0.1.0)."""
    spec = DEVICE_BY_ADDRESS[address]
    return IDENTIFY_LAYOUT.pack(
        spec.device_type,
        PROTOCOL_VERSION,
        0,
        1,
        0,
        0,
        SERIAL_NUMBER,
        DEFAULT_DEADMAN_MS,
        telemetry_period_ms,
        spec.icd_hash,
    )


def silent(device: FakeDevice, frame: Frame) -> None:
    """A handler that never answers (the device records what it got)."""
