"""Rehearsal: training faults an operator can inject into the simulated rover from the console, as one
flight command, ``sim.inject``, that exists only when flight runs over a simulated world.

The command is added by whoever installs the world (``isru flight`` with ``sim://`` ports), never on real
hardware, so the console shows its rehearsal panel only when the dictionary has it. Each fault is a named
scenario (:data:`TRAINING_FAULTS`) mapped onto :meth:`sim_hw.world.SimWorld.inject`; the handler runs on
flight's own thread (the dispatcher), where flight touches the world anyway. Every injection is an event
(source ``sim``), so the archive and every console show that the fault was made, not real.
"""

from __future__ import annotations

from typing import Any

from flight.commands import ArgSpec, command
from flight.errors import CommandRejected

#: Training faults: name → (device, kind for ``SimWorld.inject``, its parameters, what the operator sees).
TRAINING_FAULTS: dict[str, tuple[str, str, dict[str, Any], str]] = {
    "battery_low": ("power", "low_battery", {"soc": 0.12}, "the battery drops to 12 % charge: load shed, then SAFE"),
    "drill_stall": ("drill", "stall", {}, "the drill stalls in hard ground: torque climbs, the bit stops"),
    "drill_overtemp": ("drill", "overtemp", {}, "the drill bit overheats: fault protection retracts it"),
    "heater_runaway": ("extractor", "heater_runaway", {}, "the chamber heater will not switch off"),
    "seal_leak": ("extractor", "seal_leak", {}, "the chamber lid seal leaks: pressure falls, water is lost"),
    "anchor_slip": ("anchor", "slip", {}, "the anchors slip: a hold while drilling"),
    "wheel_stall": ("drive", "wheel_stall", {}, "the left wheel stalls: the rover digs in"),
    "imu_saturation": ("imu", "saturation", {"duration_s": 30.0}, "the IMU saturates for 30 s"),
    "drill_link_down": ("drill", "disconnect", {}, "the drill's serial line goes dead"),
    "drill_link_up": ("drill", "reconnect", {}, "the drill's serial line comes back"),
}
#: Prefix of rehearsal commands in the dictionary (the console shows its panel when one is there).
PREFIX = "sim."


class Rehearsal:
    """The ``sim.inject`` command over simulated ``world`` (a :class:`sim_hw.world.SimWorld`)."""

    def __init__(self, world: Any, events: Any) -> None:
        self.world = world
        self.events = events
        self.injected = 0

    @command(
        "sim.inject",
        "SIMULATION ONLY: inject a training fault into the simulated rover (see docs/operations.md, Rehearsal).",
        ArgSpec("fault", "str", choices=tuple(TRAINING_FAULTS), description="the training fault"),
        hazardous=True,
        hazard="Simulation only: the simulated rover gets this fault now and the mission reacts as it would.",
    )
    def inject(self, fault: str) -> None:
        """Handler of ``sim.inject``."""
        if fault not in TRAINING_FAULTS:
            raise CommandRejected("out_of_range", f"fault: expected one of {list(TRAINING_FAULTS)}, found {fault!r}")
        device, kind, params, what = TRAINING_FAULTS[fault]
        self.world.inject(device, kind, **params)
        self.injected += 1
        self.events.warning("sim", "fault_injected", f"REHEARSAL: injected {fault}: {what}", fault=fault)


def enable_rehearsal(app: Any, world: Any) -> Rehearsal:
    """Add ``sim.inject`` over ``world`` to flight ``app``'s commands; returns the component."""
    rehearsal = Rehearsal(world, app.events)
    app.registry.register(rehearsal)
    return rehearsal
