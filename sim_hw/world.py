"""The simulated world: one clock, one body, the sites, the rover's physical state and its devices.

Every emulated device lives in a :class:`SimWorld`. The world advances all of them together in fixed
steps (lock-step, so coupled physics — the drill's reaction on the anchors, the loads on the battery — is
consistent), lazily: whenever a port touches the world it is first brought up to ``clock.monotonic()``.
On a :class:`~base.clock.VirtualClock` this makes a run a pure function of its inputs and seed.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from base.clock import Clock
from sim_hw.bodies import Body, body_by_name
from sim_hw.config import SimConfig
from sim_hw.device_names import DEVICE_NAMES
from sim_hw.devices import firmware_class
from sim_hw.errors import UnknownDeviceError
from sim_hw.fault_specs import check_fault_on
from sim_hw.firmware import SENSOR_FAULT_KINDS, Firmware
from sim_hw.port_faults import PortFaults
from sim_hw.rover_state import RoverState
from sim_hw.terrain import SITE_RADIUS_M, Site, generate_sites

_LOGGER = logging.getLogger(__name__)

#: Longest physics step, seconds.
DEFAULT_STEP_S = 0.05


class SimWorld:
    """All simulated hardware of one rover on one body.

    ``step_s`` bounds the physics step; devices are advanced in a fixed order each step.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        body: str | Body = "moon",
        seed: int = 0,
        site: int = 0,
        site_count: int = 5,
        step_s: float = DEFAULT_STEP_S,
        devices: tuple[str, ...] | None = None,
    ) -> None:
        self.clock = clock
        self.seed = seed
        self.body = body if isinstance(body, Body) else body_by_name(body)
        self.sites = generate_sites(self.body, seed, site_count)
        self.step_s = step_s
        self.t = clock.monotonic()
        self.rover = RoverState()
        #: Clock time (s) of the world's next step: until the clock reaches it, :meth:`sync` has nothing to
        #: do. ``-inf`` when unknown (after anything that may move a device's next output earlier).
        self.next_stop = -math.inf
        #: Bumped by every step and every change of :attr:`next_stop`'s inputs (each device counts its own
        #: output in ``Firmware.output_serial``).
        self.version = 0
        start = self.sites[min(max(site, 0), len(self.sites) - 1)]
        self.rover.x_m, self.rover.y_m = start.x_m, start.y_m
        names = devices if devices is not None else DEVICE_NAMES
        classes = {name: firmware_class(name) for name in names}
        self.devices: dict[str, Firmware] = {}
        for name in sorted(classes, key=DEVICE_NAMES.index):  # a fixed stepping order, whatever was asked
            serial_number = 0x1500_0000 + seed * 16 + DEVICE_NAMES.index(name)
            self.devices[name] = classes[name](self, serial_number=serial_number, seed=seed)
        self.port_faults: dict[str, PortFaults] = {name: PortFaults() for name in self.devices}
        self._set_stepping()
        self._scheduled: list[tuple[float, str, str, dict[str, Any]]] = []

    @classmethod
    def from_config(cls, sim: SimConfig, clock: Clock, *, devices: tuple[str, ...] | None = None) -> SimWorld:
        """The world a ``[sim]`` table describes, with its configured faults scheduled."""
        world = cls(
            clock,
            body=sim.body,
            seed=sim.seed,
            site=sim.site,
            site_count=sim.site_count,
            step_s=sim.step_s,
            devices=devices,
        )
        for fault in sim.faults:
            world.schedule(fault.at_s, fault.device, fault.kind, **fault.params)
        return world

    def add_device(self, name: str, firmware: Firmware) -> None:
        """Add (or replace) an emulator under ``name``, stepped after the built-in ones (tests use this for
        purpose-built firmware)."""
        self.devices[name] = firmware
        self.port_faults.setdefault(name, PortFaults())
        self._set_stepping()
        self.wakeups_changed()

    def _set_stepping(self) -> None:
        """The devices in stepping order, and their step-planning methods (bound once: the world plans every
        step)."""
        self._stepping = tuple(self.devices.values())
        self._max_steps = tuple(device.max_step_s for device in self._stepping)
        self._wakeups = tuple(device.next_wakeup for device in self._stepping)

    # ------------------------------------------------------------------------------------- lookup
    def device(self, name: str) -> Firmware:
        """The emulator of device ``name``; raises :class:`UnknownDeviceError` naming the world's devices."""
        try:
            return self.devices[name]
        except KeyError:
            raise UnknownDeviceError(f"no simulated device {name!r}; this world has {sorted(self.devices)}") from None

    @property
    def site(self) -> Site | None:
        """The site the rover stands on, or None between sites."""
        best, best_d = None, SITE_RADIUS_M
        for site in self.sites:
            d = math.hypot(site.x_m - self.rover.x_m, site.y_m - self.rover.y_m)
            if d <= best_d:
                best, best_d = site, d
        return best

    # --------------------------------------------------------------------------------------- time
    def sync(self) -> None:
        """Bring the world up to the clock's present (at the cost of one comparison while no step is due:
        every port calls this whenever it is polled)."""
        t = self.clock.monotonic()
        if t >= self.next_stop:
            self.advance_to(t)

    def now(self) -> float:
        """The present on the clock, seconds, never before :attr:`t`."""
        now = self.clock.monotonic()
        return now if now > self.t else self.t

    def wakeups_changed(self) -> None:
        """Say that a device's next output time (:meth:`Firmware.next_wakeup`) or the fault schedule changed
        outside a step, so that the next :meth:`sync` looks again instead of trusting :attr:`next_stop`."""
        self.next_stop = -math.inf
        self.version += 1

    def advance_to(self, t: float) -> None:
        """Step every device towards world time ``t`` seconds.

        The world moves in whole physics steps of ``step_s``, and exactly to any time a device has output
        due (telemetry) or a fault is scheduled; a remainder shorter than a step waits for the next call.
        So the world lags the clock by less than one step, and polling it faster than its step costs
        nothing.
        """
        if t <= self.t:
            if self.next_stop == -math.inf:
                target = self._next_target()
                self.next_stop = target - 1e-12 if target > self.t else self.t
            return
        devices = self._stepping
        while True:
            target = self._next_target()
            if target > t + 1e-12:
                self.next_stop = target - 1e-12
                return
            dt = target - self.t
            self.t = target
            self.version += 1
            for device in devices:
                device.tick(dt)
            if self._scheduled:
                self._run_scheduled()

    def _next_target(self) -> float:
        """World time (s) of the next step: one step on, or earlier when output or a fault falls due.

        The step is the shortest any device allows now (:meth:`Firmware.max_step_s`): ``step_s`` while
        something moves or an actuator is powered, longer while every device rests (docs/sim.md, step
        control)."""
        fine = self.step_s
        if self._stepping:
            target = self.t + min([max_step(fine) for max_step in self._max_steps])
            wake = min([wakeup() for wakeup in self._wakeups])
        else:
            target, wake = self.t + fine, math.inf
        if self._scheduled:
            wake = min(wake, self._scheduled[0][0])
        if wake < target:
            target = max(wake, self.t)
        return target

    def next_event_time(self) -> float:
        """The earliest time any device will produce output on its own (telemetry), or ``inf``."""
        return min((d.next_wakeup() for d in self.devices.values()), default=math.inf)

    # ------------------------------------------------------------------------------------- faults
    def inject(self, device: str, kind: str, **params: Any) -> None:
        """Inject fault ``kind`` into ``device`` now.

        Line faults: ``corrupt`` (rate), ``drop`` (rate), ``latency`` (seconds), ``disconnect``,
        ``reconnect``, ``clear_line``. Sensor symptoms: ``dropout``/``stuck``/``nan``/``noise``
        (field, duration_s, sigma). Anything else calls the emulator's ``inject_<kind>(**params)``. Every
        parameter is checked against its declaration first (:mod:`sim_hw.fault_params`):
        ``UnknownFaultError`` or ``FaultParameterError`` names what was wrong.
        """
        firmware = self.device(device)
        check_fault_on(type(firmware), device, kind, params)
        line = self.port_faults[device]
        if kind == "corrupt":
            line.corrupt_rate = float(params.get("rate", 0.01))
        elif kind == "drop":
            line.drop_rate = float(params.get("rate", 0.01))
        elif kind == "latency":
            line.latency_s = float(params.get("seconds", 0.05))
        elif kind == "disconnect":
            line.unplugged = True
        elif kind == "reconnect":
            line.unplugged = False
        elif kind == "clear_line":
            line.clear()
        elif kind in SENSOR_FAULT_KINDS:
            firmware.inject_sensor(
                params["field"], kind, float(params.get("duration_s", math.inf)), float(params.get("sigma", 1.0))
            )
        else:
            getattr(firmware, f"inject_{kind}")(**params)  # a kind the check found among the hooks
        self.wakeups_changed()
        _LOGGER.info("t=%.3f injected %s.%s %s", self.t, device, kind, params)

    def schedule(self, at_s: float, device: str, kind: str, **params: Any) -> None:
        """Inject a fault when world time reaches ``at_s`` seconds. The device, kind and parameters are checked
        now (as :meth:`inject` would), so a bad fault is refused when scheduled, not when it falls due."""
        check_fault_on(type(self.device(device)), device, kind, params)
        self._scheduled.append((at_s, device, kind, params))
        self._scheduled.sort(key=lambda item: item[0])
        self.wakeups_changed()

    def _run_scheduled(self) -> None:
        while self._scheduled and self._scheduled[0][0] <= self.t:
            _, device, kind, params = self._scheduled.pop(0)
            self.inject(device, kind, **params)
