"""Operator commands for every device command of the ICD, and the emergency stop.

``drill.spin``, ``extractor.heater_setpoint`` … are generated from :mod:`hal.icd` (one definition: the
ICD's argument names, units and ranges), handled by issuing the device command through the interlocks
and, for a motion, waiting for its completion while reporting progress. ``estop`` and ``estop.reset``
act on the interlocks directly, never through the mission machine.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

from flight.commands import ArgSpec, CommandRegistry, CommandSpec, Job, command
from flight.errors import CommandRejected
from flight.interlocks import Interlocks
from hal.icd import DEVICES, Command, DeviceSpec
from hal.icd import Field as IcdField
from hal.motion import Motion

#: Device commands that are hazardous, with what can go wrong.
HAZARDS: dict[str, str] = {
    "drill.spin": "The auger turns; it must not turn unanchored or near people.",
    "drill.feed": "The auger advances into the ground; it can stall or push the rover off an unanchored site.",
    "drill.percussion": "The hammer vibrates the rover.",
    "scoop.move": "The arm swings through its workspace.",
    "scoop.dig": "The bucket digs into the regolith.",
    "scoop.lift": "The arm lifts a loaded bucket.",
    "scoop.dump": "The bucket tips its load.",
    "extractor.heater_power": "The heater runs open-loop; the chamber can overheat.",
    "extractor.heater_setpoint": "The chamber is heated to the set point.",
    "extractor.lid": "The lid moves; opening it under pressure vents the chamber.",
    "extractor.vent": "Vapour is released from the chamber.",
    "extractor.dump": "Tailings are dumped out of the chamber.",
    "anchor.deploy": "Anchors are driven into the ground.",
    "anchor.retract": "Anchors are withdrawn; the rover is no longer held.",
    "anchor.preload": "Anchors are tensioned.",
    "drive.wheels": "The rover drives.",
    "drive.twist": "The rover drives.",
    "drive.move": "The rover drives.",
    "drive.turn": "The rover turns in place.",
    "power.bus": "A power bus is switched; the devices on it lose or gain power.",
}
#: Link housekeeping the driver does itself (configuration, polling, event acknowledgement).
_SKIPPED = ("get_telemetry", "set_telemetry_period", "set_deadman", "set_event_resend", "ack_event", "resend_events")


def _arg(field: IcdField) -> ArgSpec:
    kind = "float" if field.fmt == "f" else "int"
    return ArgSpec(field.name, kind, field.unit, field.lo, field.hi, description=field.doc)


def _handler(io: Interlocks, device: str, cmd: Command) -> Callable[..., Job | None]:
    def handle(**args: Any) -> Job | None:
        result = io.command(device, cmd.name, **args)
        if isinstance(result, Motion) and not result.done:
            return _follow(result)
        if isinstance(result, Motion) and result.completion is not None and result.completion.name != "OK":
            raise CommandRejected(f"device:{result.completion.name.lower()}", f"{device}.{cmd.name} ended early")
        return None

    return handle


def _follow(motion: Motion) -> Generator[float | None, None, None]:
    while not motion.done:
        if motion.lost_reason is not None:
            raise CommandRejected("device:link_lost", f"{motion.device.name}.{motion.name}: {motion.lost_reason}")
        yield None
    assert motion.completion is not None
    if motion.completion.name != "OK":
        raise CommandRejected(
            f"device:{motion.completion.name.lower()}", f"{motion.device.name}.{motion.name} did not complete"
        )


def device_command_specs(io: Interlocks, devices: dict[str, DeviceSpec] | None = None) -> list[CommandSpec]:
    """A dictionary entry and handler for each command of each device on the rig."""
    specs = []
    for name, spec in (devices or DEVICES).items():
        if name not in io.rig:
            continue
        for cmd in spec.all_commands:
            if cmd.name in _SKIPPED:
                continue
            full = f"{name}.{cmd.name}"
            hazard = HAZARDS.get(full, "")
            specs.append(
                CommandSpec(
                    full,
                    cmd.doc,
                    tuple(_arg(f) for f in cmd.args),
                    hazardous=bool(hazard),
                    hazard=hazard,
                    resource=name if cmd.motion else "",
                    handler=_handler(io, name, cmd),
                )
            )
    return specs


class SafetyCommands:
    """The emergency stop, reachable whatever the mission machine is doing."""

    def __init__(self, io: Interlocks, on_estop: Callable[[str], None]) -> None:
        self.io = io
        self._on_estop = on_estop

    @command("estop", "EMERGENCY STOP: stop every actuator and switch the actuator buses off now.")
    def cmd_estop(self) -> None:
        """E-stop: interlocks first, then tell the mission."""
        self.io.estop("operator emergency stop")
        self._on_estop("emergency stop")

    @command(
        "estop.reset",
        "Release the emergency stop latch and switch the actuator buses back on.",
        hazardous=True,
        hazard="Actuators can be commanded again.",
    )
    def cmd_reset(self) -> None:
        """Release the latch."""
        if not self.io.estopped:
            raise CommandRejected("bad_state", "the emergency stop is not latched")
        self.io.reset_estop()


def register_device_commands(registry: CommandRegistry, io: Interlocks) -> None:
    """Add every device command of the rig to ``registry``."""
    for spec in device_command_specs(io):
        registry.add(spec)
