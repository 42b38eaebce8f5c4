"""The ``sim://`` pyserial URL scheme: a serial port with an emulated device behind it.

``serial.serial_for_url("sim://drill?seed=7&site=2")`` returns a port whose far end is the drill
emulator of a :class:`~sim_hw.world.SimWorld`. Importing :mod:`sim_hw` registers the scheme. URL
parameters:

* ``world`` — name of a world installed with :func:`sim_hw.registry.install_world` (default
  ``default``). If none is installed under that name, one is created on a real-time clock.
* ``seed``, ``site``, ``body`` — used when the world is created; if the world exists they must agree.

Reads that wait (a timeout > 0 and no bytes) let the world's clock run until the device produces output
or the timeout expires: on a :class:`~base.clock.VirtualClock` that is a jump in simulated time, on a
real clock a real wait.
"""

from __future__ import annotations

import math
import urllib.parse

import serial
from serial.serialutil import PortNotOpenError, SerialBase, SerialException

from sim_hw.errors import SimError
from sim_hw.port_faults import DelayLine
from sim_hw.registry import world_for_url
from sim_hw.world import SimWorld


class Serial(SerialBase):
    """A serial port connected to one emulated device."""

    #: Declared for the type checker: pyserial is untyped, and ``SerialBase.__init__`` sets it to False.
    is_open: bool

    def open(self) -> None:
        """Attach to the emulator named by the URL; raises ``SerialException`` if it is unplugged."""
        if self._port is None:
            raise SerialException("Port must be configured before it can be used.")
        if self.is_open:
            raise SerialException("Port is already open.")
        self._device_name, self._world = self.from_url(self._port)
        self._firmware = self._world.device(self._device_name)
        self._line_faults = self._world.port_faults[self._device_name]
        if self._line_faults.unplugged:
            raise SerialException(f"could not open port {self._port}: device unplugged")
        self._rx = DelayLine()
        # World version, device output serial and clock time up to which idle() is known to be True.
        self._quiet_version = self._quiet_output = -1
        self._quiet_until = -math.inf
        self._world.sync()
        self._firmware.read_output()  # bytes sent while nothing was attached are lost, as on a real line
        self.is_open = True

    def from_url(self, url: str) -> tuple[str, SimWorld]:
        """Parse ``sim://DEVICE?params`` into the device name and its world."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "sim":
            raise SerialException(f"expected a URL of the form sim://DEVICE[?params], got {url!r}")
        device = parts.netloc or parts.path.strip("/")
        try:
            params = {k: v[-1] for k, v in urllib.parse.parse_qs(parts.query, strict_parsing=bool(parts.query)).items()}
            world = world_for_url(params)
            world.device(device)
        except (SimError, ValueError) as exc:  # ValueError: a query string parse_qs cannot read
            raise SerialException(f"{url}: {exc}") from exc
        return device, world

    def close(self) -> None:
        """Detach from the emulator."""
        self.is_open = False

    def _reconfigure_port(self) -> None:
        """Baud rate and framing have no effect on an emulated line."""

    # ---------------------------------------------------------------------------------------- I/O
    def _check(self) -> None:
        if not self.is_open:
            raise PortNotOpenError()
        if self._line_faults.unplugged:
            self._rx.clear()
            raise SerialException("device disconnected (sim: unplugged)")

    def _pump(self) -> None:
        world = self._world
        world.sync()
        firmware = self._firmware
        if firmware.output_pending:
            faults = self._line_faults
            self._rx.push(world.t + faults.latency_s, faults.apply(firmware.read_output()))
        # The world lags the clock by less than a physics step; delayed bytes fall due on the clock.
        rx = self._rx
        if rx.next_due() < math.inf:
            rx.release(max(world.t, world.clock.monotonic()))

    @property
    def in_waiting(self) -> int:
        """Bytes readable now (``OSError`` when unplugged, as pyserial's posix port does)."""
        if self.is_open and self._line_faults.unplugged:
            raise OSError(5, "Input/output error (sim: unplugged)")
        self._check()
        self._pump()
        return self._rx.available()

    def read_now(self, limit: int) -> bytes:
        """Up to ``limit`` bytes readable now, never waiting: what ``in_waiting`` followed by ``read`` of that
        many bytes return, with one look at the world instead of two (``OSError`` when unplugged, as
        ``in_waiting`` raises)."""
        if self.is_open and self._line_faults.unplugged:
            raise OSError(5, "Input/output error (sim: unplugged)")
        self._check()
        self._pump()
        return self._rx.take(limit)

    def idle(self) -> bool:
        """True if reading now would find no byte and have no effect: the port is open and plugged in,
        nothing is readable or in flight, the device has written nothing, and the world has no physics
        step due (a step may make the device write). A cheap test for the host's polling loop; when it
        is False, ``in_waiting`` tells how much there is."""
        world = self._world
        now = world.clock.monotonic()
        if (
            now < self._quiet_until
            and self._quiet_version == world.version
            and self._quiet_output == self._firmware.output_serial
        ):
            return self.is_open and not self._line_faults.unplugged
        rx = self._rx
        quiet = (
            now < world.next_stop
            and self.is_open
            and not self._firmware.output_pending
            and not rx.available()
            and rx.next_due() > now
            and not self._line_faults.unplugged
        )
        if quiet:
            # Until the world changes (a step, a byte written, a new wake-up) or the clock reaches its next
            # step or delayed byte, the answer stays the same.
            self._quiet_version = world.version
            self._quiet_output = self._firmware.output_serial
            self._quiet_until = min(world.next_stop, rx.next_due())
        return quiet

    def read(self, size: int = 1) -> bytes:
        """Read up to ``size`` bytes, waiting up to ``timeout`` seconds of the world's clock."""
        self._check()
        self._pump()
        out = bytearray(self._rx.take(size))
        if len(out) >= size or not self._timeout:
            return bytes(out)
        clock = self._world.clock
        deadline = clock.monotonic() + (self._timeout if self._timeout is not None else math.inf)
        while len(out) < size:
            now = clock.monotonic()
            if now >= deadline:
                break
            wake = min(self._world.next_event_time(), self._rx.next_due(), deadline)
            if math.isinf(wake):
                break  # nothing will ever arrive: do not block forever
            clock.sleep(max(wake - now, 1e-6))
            self._check()
            self._pump()
            out += self._rx.take(size - len(out))
        return bytes(out)

    def write(self, data: bytes) -> int:
        """Deliver ``data`` to the device (through the line's faults); returns its length."""
        self._check()
        self._world.sync()
        self._firmware.receive(self._line_faults.apply(bytes(data)))
        self._pump()
        return len(data)

    def reset_input_buffer(self) -> None:
        """Discard unread bytes."""
        self._check()
        self._pump()
        self._rx.take(self._rx.available())

    def reset_output_buffer(self) -> None:
        """Nothing is buffered on the way out."""
        self._check()

    def _update_break_state(self) -> None:
        """Breaks are not modelled."""

    def _update_rts_state(self) -> None:
        """Modem lines are not modelled."""

    def _update_dtr_state(self) -> None:
        """Modem lines are not modelled."""

    @property
    def cts(self) -> bool:
        """Always asserted."""
        return True

    @property
    def dsr(self) -> bool:
        """Always asserted."""
        return True

    @property
    def ri(self) -> bool:
        """Never ringing."""
        return False

    @property
    def cd(self) -> bool:
        """Always asserted."""
        return True


__all__ = ["Serial", "serial"]
