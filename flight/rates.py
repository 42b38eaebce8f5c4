"""Rates that follow the work: fast while something moves, quiet while the rover heats, charges or waits.

Two profiles, set in ``[flight.rates]``:

* **active** — the configured rates: the control group at ``control_hz`` (50 Hz), mission and telemetry at
  ``mission_hz`` and ``telemetry_hz`` (10 Hz), every device streaming at its own ``telemetry_period_s``
  (0.1 s) with its own ``deadman_s`` (1 s);
* **quiet** — ``quiet_control_hz`` (2 Hz), ``quiet_mission_hz`` and ``quiet_telemetry_hz`` (1 Hz), every
  device streaming every ``quiet_device_period_s`` (1 s) with its dead-man re-armed to ``quiet_deadman_s``
  (5 s, at least four quiet control periods so the host's keep-alives always arrive in time).

The rover is *working* while any device has a motion in progress, or a motor device (drill, drive, scoop)
reports itself active. Heating is not work: the chamber changes over minutes and the quiet rates watch it
well within its dead-man (an anchor that merely holds, or a power unit with buses on, is not working
either). Work switches to the active profile **before** the command that starts it leaves the host
(:meth:`RateGovernor.before_actuation`, called by :class:`~flight.interlocks.Interlocks`, the only path to
the actuators), so no motion ever runs on quiet rates: the working device and the safety sensors
(:data:`WATCHED`) stream at their own periods, the others at the quiet period. The quiet profile returns
after ``quiet_after_s`` of stillness. Every switch goes to the devices over the serial protocol
(``set_telemetry_period``, ``set_deadman``) through :meth:`hal.device.Device.retime`.

On a virtual clock the executive sleeps until the next due group, so quiet rates are also what lets
simulated time jump: half a second per control tick instead of twenty milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from base.clock import Clock
from flight.config import RatesConfig
from flight.events import EventLog
from flight.executive import Executive
from flight.rig import Rig
from flight.telemetry import ChannelSpec
from hal.errors import HalError
from hal.icd import DeviceState

#: Commands that never make the rover *work* (beyond :data:`STOPPING_COMMANDS`): the heater's (its chamber
#: changes over minutes) and the power unit's bus switches (not actuators under the dead-man rule).
QUIET_COMMANDS = frozenset(
    {("extractor", "heater_power"), ("extractor", "heater_setpoint"), ("extractor", "vent"), ("power", "bus")}
)
#: Devices whose ACTIVE state means a motor turns (an anchor is ACTIVE while it merely holds).
MOTOR_DEVICES = frozenset({"drill", "drive", "scoop"})
#: Safety sensors that stream at their active period whenever anything works: the anchors carry the drill's
#: thrust, the IMU sees the rover tilt, the power unit feeds every load.
WATCHED = frozenset({"anchor", "imu", "power"})
#: Commands that end work rather than start it (they never need the active rates first).
STOPPING_COMMANDS = frozenset({"stop", "clear_fault", "self_test", "get_telemetry"})
ACTIVE, QUIET = "active", "quiet"


class RateGovernor:
    """Chooses the active or quiet profile for ``executive``'s groups and ``rig``'s devices."""

    def __init__(self, executive: Executive, rig: Rig, events: EventLog, clock: Clock, rates: RatesConfig) -> None:
        rates.check("[flight.rates]", prefix="")
        self.executive = executive
        self.rig = rig
        self.events = events
        self.clock = clock
        self.rates = rates
        self.enabled = rates.adaptive
        self.profile = ACTIVE
        self.switches = 0
        #: Told ``(device, period_s)`` after each device is retimed (fault protection's staleness limits).
        self.retimed: Callable[[str, float], None] | None = None
        #: Devices streaming at their own (active) period.
        self._fast: set[str] = set(rig.devices)
        self._still_since: float | None = None
        #: Each device's own (active) streaming period and dead-man, seconds.
        self._active = {name: (dev.telemetry_period_s, dev.deadman_s) for name, dev in rig.devices.items()}
        self._groups = {
            ACTIVE: {
                "control": 1.0 / rates.control_hz,
                "mission": 1.0 / rates.mission_hz,
                "telemetry": 1.0 / rates.telemetry_hz,
            },
            QUIET: {
                "control": 1.0 / rates.quiet_control_hz,
                "mission": 1.0 / max(rates.quiet_mission_hz, 1e-9),
                "telemetry": 1.0 / rates.quiet_telemetry_hz,
            },
        }

    # ------------------------------------------------------------------------------------ decisions
    def workers(self) -> set[str]:
        """The devices working now: a motion in progress, or a motor device reporting itself active."""
        busy = set()
        for name, device in self.rig.devices.items():
            if device.motions or (
                name in MOTOR_DEVICES and device.telemetry is not None and device.state == DeviceState.ACTIVE
            ):
                busy.add(name)
        return busy

    def before_actuation(self, device: str, command: str) -> None:
        """A command is about to go to ``device``: make the rates active first unless it cannot start work."""
        if not self.enabled or command in STOPPING_COMMANDS or (device, command) in QUIET_COMMANDS:
            return
        self._still_since = None
        if self.profile != ACTIVE or device not in self._fast:
            self._apply(ACTIVE, f"{device}.{command} starts work", {device})

    def tick(self, _now: float = 0.0) -> None:
        """Go quiet after ``quiet_after_s`` of stillness; active again as soon as something works."""
        if not self.enabled:
            return
        now = self.clock.monotonic()
        workers = self.workers()
        if workers:
            self._still_since = None
            if self.profile != ACTIVE or not workers <= self._fast:
                self._apply(ACTIVE, "a device is working", workers)
            return
        if self._still_since is None:
            self._still_since = now
        if self.profile != QUIET and now - self._still_since >= self.rates.quiet_after_s:
            self._apply(QUIET, f"nothing has moved for {now - self._still_since:.1f} s")

    def set_enabled(self, enabled: bool) -> None:
        """Adapt the rates (True) or hold the active profile (False, e.g. for a test campaign on a rig)."""
        self.enabled = enabled
        if not enabled and self.profile != ACTIVE:
            self._apply(ACTIVE, "adaptive rates disabled")

    # -------------------------------------------------------------------------------------- switching
    def _apply(self, profile: str, reason: str, workers: set[str] | None = None) -> None:
        """Switch to ``profile``; in the active one, ``workers`` (added to those already fast) and the
        :data:`WATCHED` sensors stream at their own periods, every other device at the quiet period."""
        changed = profile != self.profile
        self.profile = profile
        if profile == QUIET:
            fast: set[str] = set()
        elif changed:
            fast = (workers or set()) | WATCHED
        else:
            fast = self._fast | (workers or set())
        for group, period in self._groups[profile].items():
            self.executive.set_period(group, period)
        failed = []
        for name, device in self.rig.devices.items():
            if (name in fast) == (name in self._fast):
                continue
            period, deadman = self._active[name]
            if name not in fast:
                period = self.rates.quiet_device_period_s if period else 0.0
                deadman = max(deadman, self.rates.quiet_deadman_s)
            try:
                device.retime(period, deadman)
            except HalError as exc:  # the device keeps its old rates; its link supervision reports the cause
                failed.append(f"{name}: {exc}")
                continue
            if self.retimed is not None:
                self.retimed(name, period)
        self._fast = fast
        if failed:
            self.events.warning("rates", "retime_failed", "; ".join(failed))
        if changed:
            self.switches += 1
            self.events.info("rates", profile, f"{profile} rates: {reason}", profile=profile)

    def channels(self) -> list[ChannelSpec]:
        """Dictionary entries of :meth:`telemetry`."""
        return [
            ChannelSpec("rates.profile", "enum", "rate profile in force: active (something moves) or quiet", "str"),
            ChannelSpec("rates.switches", "count", "rate profile changes since start", "int"),
        ]

    def telemetry(self) -> dict[str, Any]:
        """The profile in force and how often it changed."""
        return {"rates.profile": self.profile, "rates.switches": self.switches}
