"""One transport per serial port: frames in and out, requests matched to responses, reconnects.

The port is opened with :func:`serial.serial_for_url`, so the same code runs against a real device path,
``loop://``, ``socket://``, ``spy://`` or the simulator's ``sim://``; nothing here knows which it got.

The transport has no thread of its own. Whoever owns it calls :meth:`Transport.poll` regularly (the
flight executive does, every control tick); :meth:`Transport.request` reads the port itself while it
waits for its response. Frames that are not the awaited response (telemetry, events) go to subscribers
as they are decoded. This keeps in-process simulation on a virtual clock deterministic: every byte is
read at a well-defined point of the owner's loop.

Unplugging is detected at the next read or write: pyserial raises ``SerialException`` from
``read``/``write`` but a plain ``OSError`` from ``in_waiting``; both mark the link down, fail the
request in flight at once with :class:`~hal.errors.PortError`, and start a reconnect loop with
exponential backoff driven by later :meth:`poll` calls.
"""

from __future__ import annotations

import logging
import select
import threading
from collections.abc import Callable
from dataclasses import dataclass, fields

import serial

from base.clock import Clock
from hal.errors import FrameError, PortError, ResponseTimeout
from hal.protocol import (
    SEQ_MODULO,
    Flags,
    Frame,
    FrameDecoder,
    MsgType,
    encode_fields,
)

_LOGGER = logging.getLogger(__name__)

#: Address that any device answers to (IDENTIFY and HEARTBEAT on a port whose device is unknown).
BROADCAST_ADDRESS = 0xFF
#: Wall seconds one blocking read may take; bounds how long a request overshoots its deadline.
READ_SLICE_S = 0.01
_MAX_READ = 4096

#: ``Flags.RESPONSE`` as a plain int (``int & IntFlag`` runs the enum's Python-level operator).
_RESPONSE = int(Flags.RESPONSE)
_RETRY = int(Flags.RETRY)

FrameHandler = Callable[[Frame], None]
LinkHandler = Callable[[bool, str], None]


@dataclass
class TransportStats:
    """Counters of one transport since it was created (available as telemetry)."""

    frames_ok: int = 0
    crc_errors: int = 0
    framing_errors: int = 0
    timeouts: int = 0
    retries: int = 0
    requests: int = 0
    stale_responses: int = 0
    disconnects: int = 0
    reconnects: int = 0
    bytes_in: int = 0
    bytes_out: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counters by name."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


class Transport:
    """Framed, checksummed request/response and streaming over one serial port.

    ``address`` is the device address written into outgoing frames. Durations are seconds of ``clock``.
    """

    def __init__(
        self,
        url: str,
        *,
        clock: Clock,
        address: int = BROADCAST_ADDRESS,
        name: str | None = None,
        baud: int = 921_600,
        timeout_s: float = 0.1,
        retries: int = 2,
        reconnect_min_s: float = 0.1,
        reconnect_max_s: float = 5.0,
    ) -> None:
        self.url = url
        self.name = name or url
        self.address = address
        self.clock = clock
        self.baud = baud
        self.timeout_s = timeout_s
        self.retries = retries
        self.reconnect_min_s = reconnect_min_s
        self.reconnect_max_s = reconnect_max_s
        self.stats = TransportStats()
        self.last_error = ""
        self.last_rx = float("-inf")
        self._port: serial.SerialBase | None = None
        #: The port's own cheap "nothing to read now" test, if it has one (``sim://`` does); see :meth:`idle`.
        self._port_idle: Callable[[], bool] | None = None
        #: The port's own "read what is there, never wait" (``sim://`` has one), else None.
        self._port_read_now: Callable[[int], bytes] | None = None
        self.idle = _never_idle  # type: ignore[method-assign]
        self._decoder = FrameDecoder()
        self._seq = 0
        self._awaiting: int | None = None
        self._response: Frame | None = None
        self._subscribers: list[tuple[frozenset[int] | None, FrameHandler]] = []
        self._handlers: dict[int, list[FrameHandler]] = {}  # by message type, built from _subscribers
        self._link_handlers: list[LinkHandler] = []
        self._lock = threading.RLock()
        self._backoff_s = reconnect_min_s
        self._next_attempt = float("-inf")
        self._closed = False

    # ----------------------------------------------------------------------------------------- life
    @property
    def connected(self) -> bool:
        """True while the port is open and has not failed."""
        return self._port is not None

    def open(self) -> None:
        """Open the port now; raises :class:`PortError` naming the URL and the cause."""
        with self._lock:
            self._closed = False
            if self._port is None:
                self._set_port(self._open_port())
                self._decoder.reset()

    def close(self) -> None:
        """Close the port and stop reconnecting."""
        with self._lock:
            self._closed = True
            port = self._port
            self._set_port(None)
            if port is not None:
                _close_quietly(port)

    def __enter__(self) -> Transport:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _set_port(self, port: serial.SerialBase | None) -> None:
        self._port = port
        idle = getattr(port, "idle", None) if port is not None else None
        self._port_idle = idle if callable(idle) else None
        read_now = getattr(port, "read_now", None) if port is not None else None
        self._port_read_now = read_now if callable(read_now) else None
        # idle() is the port's own test where it has one: no extra Python frame on the polling path.
        self.idle = self._port_idle or _never_idle  # type: ignore[method-assign]

    def _open_port(self) -> serial.SerialBase:
        kwargs = {"baudrate": self.baud, "timeout": READ_SLICE_S, "write_timeout": 1.0}
        if "://" not in self.url:
            kwargs["exclusive"] = True  # a second process on the same tty would corrupt both streams
        try:
            return serial.serial_for_url(self.url, **kwargs)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise PortError(f"{self.name}: cannot open {self.url}: {exc}") from exc

    # ------------------------------------------------------------------------------------ listeners
    def subscribe(self, handler: FrameHandler, msg_types: set[int] | None = None) -> None:
        """Call ``handler(frame)`` for every unsolicited frame (of ``msg_types`` if given)."""
        self._subscribers.append((frozenset(msg_types) if msg_types is not None else None, handler))
        self._handlers.clear()

    def on_link_change(self, handler: LinkHandler) -> None:
        """Call ``handler(connected, reason)`` when the link goes down or comes back."""
        self._link_handlers.append(handler)

    # ---------------------------------------------------------------------------------------- I/O
    def idle(self) -> bool:
        """True when the port can tell cheaply that a :meth:`poll` now would read nothing and change nothing
        (``sim://`` ports can; a real tty cannot, so this is False there and :meth:`poll` asks the OS)."""
        idle = self._port_idle
        return idle is not None and idle()

    def poll(self) -> int:
        """Read and dispatch whatever has arrived, without waiting; retry a reconnect when due.

        Returns the number of frames decoded. Never raises for link problems: they mark the link down.
        """
        idle = self._port_idle
        if idle is not None and idle():
            return 0
        with self._lock:
            if self._port is None:
                self._maybe_reconnect()
                if self._port is None:
                    return 0
            port = self._port
            read_now = self._port_read_now
            try:
                if read_now is not None:
                    data = read_now(_MAX_READ)
                elif waiting := port.in_waiting:
                    data = port.read(min(waiting, _MAX_READ))
                elif _hung_up(port):
                    data = port.read(1)  # raises: a hung-up tty is readable but yields no data
                else:
                    data = b""
            except (serial.SerialException, OSError) as exc:
                self._link_down(f"read failed: {exc}")
                return 0
            return self._ingest(data) if data else 0

    def send(self, msg_type: int, payload: bytes = b"", flags: int = 0) -> int:
        """Write one frame without waiting for anything; returns its sequence number."""
        with self._lock:
            seq = self._next_seq()
            self._write(msg_type, seq, payload, flags)
            return seq

    def request(
        self, msg_type: int, payload: bytes = b"", *, timeout_s: float | None = None, retries: int | None = None
    ) -> Frame:
        """Send a request and return the device's response frame (ACK, NACK, IDENTIFY or HEARTBEAT).

        Resends with the RETRY flag after each timeout, up to ``retries`` times. Raises
        :class:`ResponseTimeout` when no response came, :class:`PortError` when the link is or goes down.
        """
        timeout_s = self.timeout_s if timeout_s is None else timeout_s
        retries = self.retries if retries is None else retries
        with self._lock:
            if self._port is None:
                raise PortError(f"{self.name}: link is down ({self.last_error or 'not open'})")
            self.stats.requests += 1
            seq = self._next_seq()
            self._awaiting, self._response = seq, None
            try:
                for attempt in range(retries + 1):
                    flags = _RETRY if attempt else 0
                    if attempt:
                        self.stats.retries += 1
                    self._write(msg_type, seq, payload, flags)
                    response = self._await_response(self.clock.monotonic() + timeout_s)
                    if response is not None:
                        return response
                self.stats.timeouts += 1
                raise ResponseTimeout(
                    f"{self.name}: no response to {_type_name(msg_type)} seq {seq} after "
                    f"{retries + 1} attempts of {timeout_s:.3f} s"
                )
            finally:
                self._awaiting = None

    def _await_response(self, deadline: float) -> Frame | None:
        while True:
            port = self._port
            if port is None:
                raise PortError(f"{self.name}: link went down while waiting for a response: {self.last_error}")
            read_now = self._port_read_now
            try:
                # What has arrived already, in one read; else wait (one read slice) for the first byte.
                if read_now is not None:
                    data = read_now(_MAX_READ)
                    if not data:
                        data = port.read(1)
                        if data:
                            data += read_now(_MAX_READ)
                else:
                    waiting = port.in_waiting
                    if waiting:
                        data = port.read(min(waiting, _MAX_READ))
                    else:
                        data = port.read(1)
                        if data:
                            waiting = port.in_waiting
                            if waiting:
                                data += port.read(min(waiting, _MAX_READ))
            except (serial.SerialException, OSError) as exc:
                self._link_down(f"read failed: {exc}")
                raise PortError(f"{self.name}: link went down while waiting for a response: {self.last_error}") from exc
            if data:
                self._ingest(data)
                if self._response is not None:
                    return self._response
            if self.clock.monotonic() >= deadline:
                return None

    def _write(self, msg_type: int, seq: int, payload: bytes, flags: int) -> None:
        port = self._port
        if port is None:
            raise PortError(f"{self.name}: link is down ({self.last_error or 'not open'})")
        wire = encode_fields(self.address, msg_type, seq, payload, flags)
        try:
            port.write(wire)
        except (serial.SerialException, OSError) as exc:
            self._link_down(f"write failed: {exc}")
            raise PortError(f"{self.name}: write failed: {exc}") from exc
        self.stats.bytes_out += len(wire)

    def _ingest(self, data: bytes) -> int:
        self.stats.bytes_in += len(data)
        self.last_rx = self.clock.monotonic()
        dstats = self._decoder.stats
        crc_before = dstats.crc_errors
        errors_before = crc_before + dstats.framing_errors + dstats.cobs_errors + dstats.version_errors
        frames = self._decoder.feed(data)
        errors = dstats.crc_errors + dstats.framing_errors + dstats.cobs_errors + dstats.version_errors
        if errors != errors_before:
            self.stats.crc_errors += dstats.crc_errors - crc_before
            self.stats.framing_errors += (errors - dstats.crc_errors) - (errors_before - crc_before)
        self.stats.frames_ok += len(frames)
        for frame in frames:
            if frame.flags & _RESPONSE:
                if frame.seq == self._awaiting and self._response is None:
                    self._response = frame
                else:
                    self.stats.stale_responses += 1
                continue
            handlers = self._handlers.get(frame.msg_type)
            if handlers is None:
                handlers = self._handlers[frame.msg_type] = [
                    handler for wanted, handler in self._subscribers if wanted is None or frame.msg_type in wanted
                ]
            for handler in handlers:
                try:
                    handler(frame)
                except Exception:  # a subscriber's bug must not stop the byte stream
                    _LOGGER.exception("%s: subscriber %r failed on %r", self.name, handler, frame)
        return len(frames)

    def _next_seq(self) -> int:
        self._seq = (self._seq + 1) % SEQ_MODULO
        return self._seq

    # ---------------------------------------------------------------------------------- reconnect
    def _link_down(self, reason: str) -> None:
        port = self._port
        self._set_port(None)
        if port is None:
            return
        _close_quietly(port)
        self.last_error = reason
        self.stats.disconnects += 1
        self._backoff_s = self.reconnect_min_s
        self._next_attempt = self.clock.monotonic() + self._backoff_s
        _LOGGER.warning("%s: link down: %s", self.name, reason)
        self._notify(False, reason)

    def _maybe_reconnect(self) -> None:
        if self._closed or self.clock.monotonic() < self._next_attempt:
            return
        try:
            self._set_port(self._open_port())
        except PortError as exc:
            self.last_error = str(exc)
            self._backoff_s = min(self._backoff_s * 2, self.reconnect_max_s)
            self._next_attempt = self.clock.monotonic() + self._backoff_s
            return
        self._decoder.reset()
        self.stats.reconnects += 1
        _LOGGER.info("%s: link restored", self.name)
        self._notify(True, "reconnected")

    def _notify(self, connected: bool, reason: str) -> None:
        for handler in list(self._link_handlers):
            try:
                handler(connected, reason)
            except Exception:
                _LOGGER.exception("%s: link handler %r failed", self.name, handler)

    def mark_down(self, reason: str) -> None:
        """Declare the link down from outside (e.g. a device that stopped answering heartbeats)."""
        with self._lock:
            self._link_down(reason)


def _never_idle() -> bool:
    """:meth:`Transport.idle` of a port that cannot tell: always ask the port itself."""
    return False


def _hung_up(port: serial.SerialBase) -> bool:
    """True if a tty-backed port is readable with nothing to read: the far end hung up (a closed pty
    master, an unplugged USB adapter). ``in_waiting`` alone shows 0 there, so look with select."""
    fd = getattr(port, "fd", None)
    if not isinstance(fd, int):
        return False
    try:
        readable, _, _ = select.select([fd], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _close_quietly(port: serial.SerialBase) -> None:
    try:
        port.close()
    except (serial.SerialException, OSError) as exc:
        _LOGGER.debug("closing a failed port raised %s", exc)


def _type_name(msg_type: int) -> str:
    try:
        return MsgType(msg_type).name
    except ValueError:
        return f"type 0x{msg_type:02x}"


__all__ = ["BROADCAST_ADDRESS", "FrameError", "Transport", "TransportStats"]
