"""Every simulated device on its own pseudo-terminal, for drivers running in another process.

The host opens the printed ``/dev/pts/N`` path exactly as it would open a USB serial adapter. One
thread serves every device: it waits on all pty masters with ``select``, hands received bytes to the
emulators and writes their output back, keeping the world on its (scaled) clock.

Line faults behave as on the in-process ``sim://`` port, except ``disconnect``: a pty cannot be
unplugged and come back under the same path, so an "unplugged" device here swallows bytes both ways
(the host sees a silent device and times out).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import select
import threading
import tty
from dataclasses import dataclass

from sim_hw.errors import PtyError
from sim_hw.port_faults import DelayLine, PortFaults
from sim_hw.world import SimWorld

_LOGGER = logging.getLogger(__name__)

#: Longest select() wait, in clock seconds, so stop requests and clock warps are honoured promptly.
MAX_WAIT_S = 0.05


@dataclass
class _Pty:
    name: str
    master: int
    slave: int
    path: str
    line: DelayLine
    faults: PortFaults
    #: The rest of a frame the host has only part of (a write was cut short); written before anything else.
    carry: bytes = b""


def _open_pty(name: str, faults: PortFaults) -> _Pty:
    """A raw, non-blocking pseudo-terminal for device ``name``; raises :class:`PtyError` if the system has none."""
    try:
        master, slave = os.openpty()
    except OSError as exc:
        raise PtyError(f"{name}: cannot open a pseudo-terminal: {exc}") from exc
    try:
        tty.setraw(slave)
        flags = fcntl.fcntl(master, fcntl.F_GETFL)
        fcntl.fcntl(master, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        path = os.ttyname(slave)
    except OSError as exc:
        for fd in (master, slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        raise PtyError(f"{name}: cannot set up a pseudo-terminal: {exc}") from exc
    return _Pty(name, master, slave, path, DelayLine(), faults)


class PtyServer:
    """Serve ``world``'s devices on pseudo-terminals until :meth:`stop` is called (raises :class:`PtyError`
    when the operating system refuses a pseudo-terminal)."""

    def __init__(self, world: SimWorld, devices: tuple[str, ...] | None = None) -> None:
        self.world = world
        self._stop = threading.Event()
        self._ptys: list[_Pty] = []
        #: Whole device frames dropped because the host did not read them, by device name.
        self.frames_dropped: dict[str, int] = {}
        for name in devices or tuple(world.devices):
            world.device(name)  # raises for an unknown name
            self._ptys.append(_open_pty(name, world.port_faults[name]))

    @property
    def paths(self) -> dict[str, str]:
        """Device name → pty path the host opens."""
        return {p.name: p.path for p in self._ptys}

    def stop(self) -> None:
        """Ask :meth:`serve_forever` to return (thread- and signal-safe)."""
        self._stop.set()

    def close(self) -> None:
        """Close every pty."""
        for pty in self._ptys:
            for fd in (pty.master, pty.slave):
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._ptys.clear()

    def serve_forever(self) -> None:
        """Move bytes between the ptys and the emulators until stopped."""
        world = self.world
        clock = world.clock
        masters = {p.master: p for p in self._ptys}
        while not self._stop.is_set():
            world.sync()
            self._flush_output()
            now = clock.monotonic()
            wake = min(world.next_event_time(), *(p.line.next_due() for p in self._ptys), now + MAX_WAIT_S)
            timeout = clock.wall_timeout(max(wake - now, 0.0))
            try:
                readable, _, _ = select.select(list(masters), [], [], timeout)
            except InterruptedError:
                continue
            except OSError as exc:
                raise PtyError(f"waiting on the device ptys failed: {exc}") from exc
            if readable:
                world.sync()
            for fd in readable:
                pty = masters[fd]
                try:
                    data = os.read(fd, 4096)
                except OSError as exc:
                    if exc.errno in (errno.EAGAIN, errno.EIO):
                        continue  # EIO: no process has the slave open at the moment
                    raise PtyError(f"{pty.name}: reading {pty.path} failed: {exc}") from exc
                if pty.faults.unplugged:
                    continue
                world.device(pty.name).receive(pty.faults.apply(data))

    def _flush_output(self) -> None:
        t = self.world.t
        for pty in self._ptys:
            data = self.world.device(pty.name).read_output()
            if data and not pty.faults.unplugged:
                pty.line.push(t + pty.faults.latency_s, pty.faults.apply(data))
            pty.line.release(t)
            data = pty.carry + pty.line.take(pty.line.available())
            if not data:
                continue
            try:
                written = os.write(pty.master, data)
            except BlockingIOError:
                written = 0
            except OSError as exc:
                _LOGGER.debug("%s: write to pty failed: %s", pty.name, exc)
                written = 0
            self._overflow(pty, data, written)

    def _overflow(self, pty: _Pty, data: bytes, written: int) -> None:
        """After writing ``written`` of ``data``: a frame cut by a full pty is finished later (kept in
        ``carry``), and whole frames after it are dropped, never truncated (a host not reading loses frames,
        as a device with a full transmit buffer drops them)."""
        if written >= len(data):
            pty.carry = b""
            return
        rest = data[written:]
        cut = data[written - 1] != 0 if written else bool(pty.carry)
        delimiter = rest.find(b"\x00")
        end = (len(rest) if delimiter < 0 else delimiter + 1) if cut else 0
        pty.carry = rest[:end]
        dropped = rest[end:]
        if dropped:
            self.frames_dropped[pty.name] = self.frames_dropped.get(pty.name, 0) + dropped.count(b"\x00")
            _LOGGER.debug("%s: host not reading; %d whole frames dropped", pty.name, dropped.count(b"\x00"))
