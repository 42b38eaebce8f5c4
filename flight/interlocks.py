"""Interlocks and the emergency stop: the only path from flight to the actuators.

Every actuation — from the mission machine, a stored sequence or an operator — is issued through
:meth:`Interlocks.command`, which refuses it with :class:`~flight.errors.InterlockViolation`
(``interlock:<name>``) when a rule forbids it. Rules are also *enforced* every control tick
(:meth:`Interlocks.enforce`): a condition that arises while an actuator runs stops that actuator, whoever
started it; if the device ignores the stop (a heater switch failed closed, a motor that keeps running),
its power bus is switched off once the stop has had :data:`ESCALATE_S` to take effect. The emergency stop
does not go through the mission machine at all: :meth:`Interlocks.estop` switches the actuator buses off
and stops every device at once, and latches until reset.

Rules (names as they appear in failure reasons):

* ``estop`` — nothing moves or heats while the emergency stop is latched;
* ``drill_unanchored`` — drill rotation or feed only when every anchor is deployed, preloaded and not slipping;
* ``drill_stalled`` — no rotation or feed while the drill reports a stall;
* ``heater_lid_open`` — heater on only with the lid sealed, and the lid opened only with the heater off;
* ``heater_overtemp`` — heater on only below its maximum temperature (margin included) and only while
  the chamber temperature is known (a non-finite reading counts as too hot);
* ``heater_uncommanded`` — a heater that still draws power after it was switched off (a switch failed
  closed) has its bus switched off;
* ``scoop_drill_deployed`` — no scoop motion while the drill is below the surface, and no drill feed
  while the scoop moves;
* ``low_battery`` — heavy loads (drill, heater, drive) are refused and shed on a low battery, the drill
  withdrawn from the ground and the heater switched off before their buses are cut (:mod:`flight.shedding`);
* ``drive_anchored`` — no driving with anchors in the ground;
* ``hop_anchored`` — no hop (nor self-righting) with an anchor or the drill in the ground;
* ``hop_escape`` — no hop launched faster than ``max_hop_speed_m_s``, set well under the body's escape speed;
* ``scoop_unanchored`` — where ``contact_needs_anchor`` (microgravity), the scoop digs or lowers below the
  horizontal only while anchored, and a dig that finds the rover unanchored is stopped.

Every rule reads telemetry no older than ``max_age_s`` (2 s: twenty samples at 10 Hz, four at the rig's
slowest 2 Hz); stale counts as unsafe: stale anchor data is *not anchored*, a stale drill is *deployed*, a
stale chamber is *too hot*, and stale power telemetry refuses heavy loads.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flight.errors import InterlockViolation
from flight.events import EventLog
from flight.rig import Rig
from flight.shedding import LoadShedder
from flight.telemetry import ChannelSpec, TelemetryTable
from hal.errors import HalError
from hal.icd import ANCHOR_COUNT, POWER_BUSES
from hal.motion import Motion
from hal.protocol import AckResult, MsgType

_LOGGER = logging.getLogger(__name__)

#: Channel prefix of the per-rule trip counters, and their dictionary entry (rules appear as they trip).
TRIPS_PREFIX = "interlocks.trips."
TRIPS_FAMILY = ChannelSpec(TRIPS_PREFIX, "count", "commands or actions refused by the {suffix} interlock", "int")

ALL_ANCHORS = (1 << ANCHOR_COUNT) - 1
#: Common commands no interlock ever refuses: stopping, faults, self-test and link housekeeping.
_HOUSEKEEPING = frozenset(
    {"stop", "clear_fault", "self_test", "get_telemetry", "set_telemetry_period", "set_deadman"}
    | {"set_event_resend", "ack_event", "resend_events"}
)
#: Buses switched off by the emergency stop (avionics, imu and comms stay up so the rover can report).
ESTOP_BUSES = ("drill", "scoop", "extractor", "anchor", "drive")
#: Seconds a rule's stop has to take effect before the device's bus is switched off, judged on the first
#: telemetry that arrives after them (whatever the streaming period): two active-rate telemetry periods
#: (0.1 s each) for a heater or a motor, longer for the auger, which coasts down for about two seconds.
ESCALATE_S = {
    "drill_unanchored": 3.0,
    "heater_lid_open": 0.2,
    "heater_overtemp": 0.2,
    "heater_uncommanded": 0.2,
    "scoop_drill_deployed": 0.2,
}


@dataclass
class InterlockSettings:
    """Thresholds of the interlock rules (SI units)."""

    max_chamber_temp_K: float = 700.0
    heater_margin_K: float = 10.0
    min_preload_N: float = 200.0
    drill_deployed_depth_m: float = 0.02
    drill_turning_rpm: float = 1.0
    low_battery_soc: float = 0.2
    max_age_s: float = 2.0
    max_hop_speed_m_s: float = 0.5
    contact_needs_anchor: bool = False


class Interlocks:
    """Checks and enforces the interlock rules over a :class:`~flight.rig.Rig`."""

    def __init__(self, rig: Rig, table: TelemetryTable, events: EventLog, settings: InterlockSettings) -> None:
        self.rig = rig
        self.table = table
        self.events = events
        self.settings = settings
        self.estopped = False
        self.estop_reason = ""
        self.trips: dict[str, int] = {}
        self._acting: set[str] = set()
        self._cut: set[str] = set()  # buses cut for safety and not switched on since
        self._now_acting: set[str] = set()
        self._acted_at: dict[str, float] = {}
        self._escalated: set[str] = set()
        self.shedder = LoadShedder(rig, table, events, self._cut_bus, self.bus_on, lambda: self.drill_deployed)
        #: Called with (device, command) before any actuation command leaves (the rate governor goes active).
        self.before_actuation: Callable[[str, str], None] = _nothing
        #: Clock time (s) the heater was last switched off through here; None while it is demanded on.
        self._heater_off_at: float | None = None

    # -------------------------------------------------------------------------------- facts
    def _get(self, channel: str, default: Any = None) -> Any:
        return self.table.get(channel, default)

    def stale(self, device: str) -> bool:
        """``device``'s telemetry is older than ``max_age_s`` (or there is none): it counts as unsafe."""
        return self.table.age(f"{device}.mode", self.rig.clock.now()) > self.settings.max_age_s

    @property
    def anchored(self) -> bool:
        """Every anchor deployed, preloaded and holding (from anchor telemetry no older than ``max_age_s``)."""
        if "anchor" not in self.rig or self.stale("anchor"):
            return False
        if self._get("anchor.deployed_mask", 0) != ALL_ANCHORS or self._get("anchor.slip_mask", 1):
            return False
        if "slip" in str(self._get("anchor.faults", "")):
            return False
        preloads = [self._get(f"anchor.preload{i}_N", 0.0) for i in range(ANCHOR_COUNT)]
        return min(preloads) >= self.settings.min_preload_N

    @property
    def drill_deployed(self) -> bool:
        """The drill is below the surface, or its telemetry is stale (where it is is unknown)."""
        if "drill" in self.rig and self.stale("drill"):
            return True
        return self._get("drill.depth_m", 0.0) > self.settings.drill_deployed_depth_m

    def _faults(self, device: str) -> str:
        """``device``'s active faults, comma-separated: from the driver's latest snapshot (which a
        ``clear_fault`` refreshes at once), else from the telemetry table."""
        if device in self.rig:
            snapshot = self.rig.device(device).telemetry
            if snapshot is not None:
                return ",".join(snapshot.faults)
        return str(self._get(f"{device}.faults", "") or "")

    @property
    def heater_on(self) -> bool:
        """The heater draws power (from the latest extractor telemetry)."""
        return float(self._get("extractor.heater_power_W", 0.0) or 0.0) > 0.0

    def _chamber_below(self, kelvin: float) -> bool:
        """The chamber temperature is known, fresh and below ``kelvin`` (K); a missing reading counts as cold,
        a stale one as too hot."""
        if "extractor" in self.rig and self.stale("extractor"):
            return False
        temp = self._get("extractor.chamber_temp_K", 0.0)
        return temp is None or (math.isfinite(temp) and temp < kelvin)

    @property
    def low_battery(self) -> bool:
        """State of charge below the shedding threshold, or the power system reports low battery."""
        if "power" not in self.rig:
            return False
        soc = self._get("power.soc")
        return (soc is not None and soc < self.settings.low_battery_soc) or "low_battery" in str(
            self._get("power.faults", "")
        )

    # -------------------------------------------------------------------------------- check
    def check(self, device: str, name: str, args: dict[str, Any]) -> None:
        """Raise :class:`InterlockViolation` if ``device.name(args)`` is forbidden now."""
        if name in _HOUSEKEEPING:
            return
        if _switches_off(device, name, args):
            return  # switching a load off is always allowed, e-stop or not
        if self.estopped and device != "imu":
            self._refuse("estop", f"{device}.{name} refused: emergency stop latched ({self.estop_reason})")
        if device == "drill" and name == "retract":
            return  # withdrawing the drill is the safe direction
        if device == "drill" and (name == "feed" or (name == "spin" and args.get("rpm", 0) > 0)):
            if "stall" in self._faults("drill"):
                self._refuse("drill_stalled", f"drill.{name} refused: the drill reports a stall")
            if not self.anchored:
                self._refuse("drill_unanchored", f"drill.{name} refused: the rover is not anchored")
            self._refuse_heavy(device, name)
        if device == "extractor" and _heater_on(name, args):
            if self._get("extractor.lid") != 1:
                self._refuse("heater_lid_open", f"extractor.{name} refused: the lid is not sealed")
            limit = self.settings.max_chamber_temp_K - self.settings.heater_margin_K
            if not self._chamber_below(limit):
                self._refuse(
                    "heater_overtemp",
                    f"extractor.{name} refused: chamber at or above {limit:g} K or its temperature unknown",
                )
            if name == "heater_setpoint" and args["kelvin"] > limit:
                self._refuse("heater_overtemp", f"extractor setpoint {args['kelvin']:g} K is above {limit:g} K")
            self._refuse_heavy(device, name)
        if device == "extractor" and name == "lid" and args.get("sealed") == 0 and self.heater_on:
            self._refuse("heater_lid_open", "extractor.lid refused: the heater is on (switch it off first)")
        if device == "scoop" and name in ("move", "dig", "lift", "dump") and self.drill_deployed:
            self._refuse("scoop_drill_deployed", f"scoop.{name} refused: the drill is deployed")
        if device == "drill" and name == "feed" and self._get("scoop.state") == "active":
            self._refuse("scoop_drill_deployed", "drill.feed refused: the scoop is moving")
        if device == "drive" and _drive_moves(name, args):
            if self._get("anchor.deployed_mask", 0):
                self._refuse("drive_anchored", f"drive.{name} refused: anchors are in the ground")
            self._refuse_heavy(device, name)
        if device == "hopper" and name in ("hop", "upright"):
            self._check_hop(name, args)
        if (
            device == "scoop"
            and self.settings.contact_needs_anchor
            and _scoop_touches(name, args)
            and not self.anchored
        ):
            self._refuse("scoop_unanchored", f"scoop.{name} refused: microgravity and the rover is not anchored")
        if device == "anchor" and name == "retract" and self.drill_deployed:
            self._refuse("drill_unanchored", "anchor.retract refused: the drill is deployed")

    def _check_hop(self, name: str, args: dict[str, Any]) -> None:
        """A hop leaves the ground: nothing may hold the rover to it, and never near the escape speed."""
        if "anchor" in self.rig and (self.stale("anchor") or self._get("anchor.deployed_mask", 0)):
            self._refuse("hop_anchored", f"hopper.{name} refused: anchors are in the ground (or unknown)")
        if self.drill_deployed:
            self._refuse("hop_anchored", f"hopper.{name} refused: the drill is in the ground")
        speed = float(args.get("speed_m_s", 0.0))
        if speed > self.settings.max_hop_speed_m_s:
            self._refuse(
                "hop_escape",
                f"hopper.hop at {speed:g} m/s refused: above the {self.settings.max_hop_speed_m_s:g} m/s allowed "
                "(the body's escape speed is near)",
            )

    def _refuse_heavy(self, device: str, name: str) -> None:
        if "power" in self.rig and self.stale("power"):
            self._refuse("low_battery", f"{device}.{name} refused: power telemetry is stale (charge unknown)")
        if self.low_battery:
            self._refuse("low_battery", f"{device}.{name} refused: battery below the load-shedding threshold")

    def _refuse(self, rule: str, message: str) -> None:
        self.trips[rule] = self.trips.get(rule, 0) + 1
        raise InterlockViolation(rule, message)

    # ------------------------------------------------------------------------------ command
    def command(self, device: str, name: str, **args: Any) -> AckResult | Motion:
        """Issue a device command if every interlock allows it (the only path to the actuators)."""
        self.check(device, name, args)
        self.before_actuation(device, name)
        result = self.rig.device(device).command(name, **args)
        if device == "extractor" and name in ("heater_power", "heater_setpoint", "stop"):
            self._note_heater(not _heater_on(name, args))
        if (
            device == "power"
            and name == "bus"
            and args.get("on")
            and 0 <= int(args.get("index", -1)) < len(POWER_BUSES)
        ):
            self._cut.discard(POWER_BUSES[int(args["index"])])  # switched on again: no longer cut for safety
        return result

    def _note_heater(self, off: bool) -> None:
        if not off:
            self._heater_off_at = None
        elif self._heater_off_at is None:
            self._heater_off_at = self.rig.clock.monotonic()

    # ------------------------------------------------------------------------------ enforce
    def enforce(self, _now: float = 0.0) -> None:
        """Stop whatever violates a rule now (called every control tick after the rig is polled).

        Each rule acts once per episode: while its condition persists after the stop was sent (a drill
        spinning down), it is not sent again every tick.
        """
        self._now_acting = set()
        turning = self._get("drill.rpm", 0.0) > self.settings.drill_turning_rpm
        if "drill" in self.rig and turning and not self.anchored:
            self._act("drill_unanchored", "drill", "stop", "drill turning while not anchored: stopped")
        if "extractor" in self.rig and self.heater_on:
            if self._get("extractor.lid") != 1:
                self._act("heater_lid_open", "extractor", "heater_power", "heater on with the lid open: off", watts=0.0)
            elif not self._chamber_below(self.settings.max_chamber_temp_K - 0.5 * self.settings.heater_margin_K):
                self._act(
                    "heater_overtemp",
                    "extractor",
                    "heater_power",
                    "chamber near its maximum or its temperature unknown: heater off",
                    watts=0.0,
                )
                if not self._chamber_below(self.settings.max_chamber_temp_K):
                    self._cut_bus("extractor", "chamber at its maximum with the heater still on")
            off_at = self._heater_off_at
            if off_at is not None and self._reported_since("extractor", off_at + ESCALATE_S["heater_uncommanded"]):
                self._now_acting.add("heater_uncommanded")
                if "heater_uncommanded" not in self._acting:
                    self.trips["heater_uncommanded"] = self.trips.get("heater_uncommanded", 0) + 1
                    self.events.error("interlocks", "heater_uncommanded", "heater draws power although switched off")
                    self._cut_bus("extractor", "heater_uncommanded: the heater did not switch off")
        if self.settings.contact_needs_anchor and self._get("scoop.mode") == "digging" and not self.anchored:
            self._act("scoop_unanchored", "scoop", "stop", "scoop digging while not anchored: stopped")
        if "scoop" in self.rig and self._get("scoop.state") == "active" and self.drill_deployed:
            self._act("scoop_drill_deployed", "scoop", "stop", "scoop moving with the drill deployed: stopped")
        if self.low_battery:
            self.shedder.shed()
        else:
            self.shedder.clear()
        for rule in self._acting - self._now_acting:
            self._acted_at.pop(rule, None)
            self._escalated.discard(rule)
        self._acting = self._now_acting

    def _act(self, rule: str, device: str, name: str, message: str, **args: Any) -> None:
        self._now_acting.add(rule)
        if rule in self._acting:
            self._escalate(rule, device)
            return
        self.trips[rule] = self.trips.get(rule, 0) + 1
        self._acted_at[rule] = self.rig.clock.monotonic()
        if device == "extractor":
            self._note_heater(True)
        self.events.warning("interlocks", rule, message)
        try:
            self.rig.device(device).command(name, **args)
        except HalError as exc:
            self.events.error("interlocks", f"{rule}_failed", f"{device}.{name}: {exc}")
            self._cut_bus(device, f"{rule}: command failed")

    def _escalate(self, rule: str, device: str) -> None:
        """The condition outlived the stop by :data:`ESCALATE_S`: the device ignores it; cut its power."""
        if rule in self._escalated:
            return
        if not self._reported_since(device, self._acted_at.get(rule, math.inf) + ESCALATE_S.get(rule, 0.2)):
            return
        self._escalated.add(rule)
        self._cut_bus(device, f"{rule}: the device did not stop")

    def _reported_since(self, device: str, t: float) -> bool:
        """True once ``device`` has reported telemetry that arrived at or after clock time ``t`` (s): a stop
        is judged on what the device said after it had time to act, whatever its streaming period."""
        snapshot = self.rig.device(device).telemetry if device in self.rig else None
        return snapshot is not None and snapshot.t >= t

    def bus_on(self, bus: str) -> bool:
        """True if power telemetry shows bus ``bus`` switched on (or there is no power telemetry)."""
        mask = self._get("power.bus_mask")
        return True if mask is None else bool(mask >> POWER_BUSES.index(bus) & 1)

    @property
    def acting(self) -> frozenset[str]:
        """The rules enforcing themselves on the hardware now, and the buses they cut for safety and nobody
        has switched on since (a heater that did not switch off, its bus cut)."""
        return frozenset(self._acting | {f"bus:{bus}" for bus in self._cut})

    def _cut_bus(self, bus: str, reason: str) -> bool:
        if "power" not in self.rig:
            return False
        try:
            self.rig.device("power").command("bus", index=POWER_BUSES.index(bus), on=0)
        except HalError as exc:
            self.events.critical("interlocks", "bus_cut_failed", f"{bus}: {exc}")
            return False
        self.events.warning("interlocks", "bus_off", f"{bus} bus switched off: {reason}")
        self._cut.add(bus)
        return True

    # -------------------------------------------------------------------------------- e-stop
    def estop(self, reason: str) -> list[str]:
        """Switch the actuator buses off and stop every actuator now; latches until :meth:`reset_estop`.

        Does not depend on the mission machine. First every bus-off and stop frame goes out on its wire
        without waiting for any reply, so a device or a power unit that does not answer delays no other
        (a confirmed exchange with a silent line costs its timeout and retries). Then each is confirmed:
        the buses (one reachable power unit stops every actuator), then each device, those with a working
        link first; if the power unit does not answer, its buses are tried again after the devices.
        Returns what could not be confirmed stopped (``<device>`` or ``bus:<name>``).
        """
        self.estopped = True
        self.estop_reason = reason
        self._note_heater(True)
        self._send_stops_now()
        failed: list[str] = []
        pending = list(ESTOP_BUSES) if "power" in self.rig else []
        if pending and self._cut_bus(pending[0], "emergency stop"):
            for bus in pending[1:]:
                if not self._cut_bus(bus, "emergency stop"):
                    failed.append(f"bus:{bus}")
            pending = []
        devices = sorted(self.rig.devices.items(), key=lambda item: not item[1].link_up)
        for name, device in devices:
            try:
                device.stop()
            except HalError as exc:
                failed.append(name)
                self.events.critical("estop", "stop_failed", f"{name}: {exc}")
        failed += [f"bus:{bus}" for bus in pending if not self._cut_bus(bus, "emergency stop")]
        self.events.critical("estop", "estop", f"EMERGENCY STOP: {reason}", failed=failed)
        return failed

    def _send_stops_now(self) -> None:
        """Write the actuator buses' off frames and every device's stop frame, awaiting no reply."""
        frames: list[tuple[str, bytes]] = []
        if "power" in self.rig:
            bus = self.rig.device("power").spec.command("bus")
            frames += [("power", bus.pack({"index": POWER_BUSES.index(b), "on": 0})) for b in ESTOP_BUSES]
        frames += [(name, device.spec.command("stop").pack({})) for name, device in self.rig.devices.items()]
        for name, payload in frames:
            try:
                self.rig.device(name).transport.send(MsgType.COMMAND, payload)
            except HalError as exc:  # the confirmed stop that follows reports it
                _LOGGER.info("e-stop: %s: immediate stop frame not sent: %s", name, exc)

    def reset_estop(self) -> None:
        """Release the emergency stop latch and switch the actuator buses back on."""
        self.estopped = False
        self.estop_reason = ""
        if "power" in self.rig:
            for bus in ESTOP_BUSES:
                self.rig.device("power").command("bus", index=POWER_BUSES.index(bus), on=1)
                self._cut.discard(bus)  # on again: no longer cut for safety (else every later failure looks unsafe)
        self.events.warning("estop", "estop_reset", "emergency stop released; actuator buses on")

    def channels(self) -> list[ChannelSpec]:
        """Dictionary entries of :meth:`telemetry`."""
        specs = [
            ChannelSpec("interlocks.estop", "bool", "the emergency stop is latched (estop.reset releases it)", "bool"),
            ChannelSpec("interlocks.anchored", "bool", "every anchor is deployed and holding", "bool"),
            ChannelSpec("interlocks.drill_deployed", "bool", "the drill bit is below the surface", "bool"),
            ChannelSpec("interlocks.low_battery", "bool", "state of charge below the load-shed threshold", "bool"),
            ChannelSpec("interlocks.shed_buses", "text", "power buses shed for low battery, comma-separated", "str"),
            ChannelSpec(
                "interlocks.shed_withdrawing", "bool", "the drill is withdrawing before its bus is shed", "bool"
            ),
        ]
        for rule in self.trips:
            description = TRIPS_FAMILY.description.replace("{suffix}", rule)
            specs.append(dataclasses.replace(TRIPS_FAMILY, name=f"{TRIPS_PREFIX}{rule}", description=description))
        return specs

    def telemetry(self) -> dict[str, Any]:
        """Interlock state as channels."""
        values: dict[str, Any] = {
            "interlocks.estop": self.estopped,
            "interlocks.anchored": self.anchored,
            "interlocks.drill_deployed": self.drill_deployed,
            "interlocks.low_battery": self.low_battery,
            **self.shedder.telemetry(),
        }
        for rule, count in self.trips.items():
            values[f"interlocks.trips.{rule}"] = count
        return values


def _nothing(_device: str, _command: str) -> None:
    """No preparation before an actuation command."""


def _switches_off(device: str, name: str, args: dict[str, Any]) -> bool:
    """True for commands that only take energy out: bus off, heater off, auger stopped, wheels stopped."""
    if device == "power" and name == "bus":
        return args.get("on") == 0
    if device == "extractor" and name in ("heater_power", "heater_setpoint"):
        return not _heater_on(name, args)
    if device == "drill" and name in ("spin", "percussion"):
        return not any(args.values())
    if device == "drive" and name in ("wheels", "twist"):
        return not _drive_moves(name, args)
    return False


def _heater_on(name: str, args: dict[str, Any]) -> bool:
    return (name == "heater_power" and args.get("watts", 0) > 0) or (
        name == "heater_setpoint" and args.get("kelvin", 0) > 0
    )


def _drive_moves(name: str, args: dict[str, Any]) -> bool:
    if name in ("move", "turn"):
        return True
    return any(abs(v) > 0 for v in args.values())


def _scoop_touches(name: str, args: dict[str, Any]) -> bool:
    """The scoop command pushes on the ground: a dig, or a move below the horizontal."""
    return name == "dig" or (name == "move" and args.get("angle_rad", 0.0) < 0.0)
