"""The machinery of the fault-injection matrices (tests/flight/test_inject_phases.py on the Moon,
tests/flight/test_asteroid_inject_phases.py on the asteroid): what injections a fault kind means, reaching a
leaf and injecting as it is entered, and what "decided" means.

A fault injected in a phase is *decided* within :data:`DECIDED_S` simulated seconds when the mission has left
the phase (recovered: the cycle goes on) or is in HOLD or SAFE with a reason in its transition — never a
silent stall. An over-temperature may take longer, up to the ladder's :data:`COOL_MAX_S` more, when the mission
said it waits for the part to cool (its ``settle_cooling`` event).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from base.clock import VirtualClock
from flight.app import FlightApp
from flight.dispatcher import Stage
from flight.events import Event
from flight.mission.ladder import COOL_MAX_S
from sim_hw.fault_specs import LINE_FAULTS
from sim_hw.firmware import SENSOR_FAULT_KINDS
from sim_hw.world import SimWorld

#: The floor: decided within this long after the fault, simulated seconds.
DECIDED_S = 600.0
#: Longest a run may take to reach the leaf under test, simulated seconds.
REACH_S = 900.0
#: Line restorations, injected after the fault they end: restoring kind → (fault kind, its parameters).
RESTORES: dict[str, tuple[str, dict[str, Any]]] = {
    "reconnect": ("disconnect", {}),
    "clear_line": ("corrupt", {"rate": 0.3}),
}
#: How long after the fault a restoration comes, simulated seconds.
RESTORE_AFTER_S = 30.0
#: Parameters for kinds that need them.
PARAMS: dict[str, dict[str, Any]] = {
    "corrupt": {"rate": 0.3},
    "drop": {"rate": 0.5},
    "latency": {"seconds": 0.05},
}
#: The kinds every device has: line faults and sensor symptoms.
GENERIC = (*LINE_FAULTS, *SENSOR_FAULT_KINDS)

Injection = tuple[float, str, str, dict[str, Any]]  # (delay s, device, kind, params)


def injections(device: str, kind: str, field_name: str = "") -> list[Injection]:
    """The injections for ``device.kind``; a sensor symptom acts on ``field_name``."""
    if kind in RESTORES:
        fault, params = RESTORES[kind]
        return [(0.0, device, fault, params), (RESTORE_AFTER_S, device, kind, {})]
    if kind in SENSOR_FAULT_KINDS:
        return [(0.0, device, kind, {"field": field_name})]
    return [(0.0, device, kind, PARAMS.get(kind, {}))]


@dataclass
class Run:
    """A flight app driven to a leaf with faults injected: its events from the injection on."""

    app: FlightApp
    world: SimWorld
    clock: VirtualClock
    injected: float = 0.0  # clock time of the injection (monotonic), s
    injected_world: float = 0.0  # world time of the injection (the emulators' command history), s
    injected_epoch: float = 0.0  # clock time of the injection since the epoch (event times), s
    events: list[Event] = field(default_factory=list)

    def moves(self) -> list[str]:
        """The mission's transitions since the injection, as messages."""
        return [e.message for e in self.events if e.source == "mission" and e.name == "transition"]

    def reason(self) -> str:
        """The reason of the last transition ("" when none)."""
        moves = self.moves()
        return moves[-1].split(": ", 1)[1] if moves and ": " in moves[-1] else ""

    def cooling(self) -> bool:
        """The mission said it waits for a part to cool (``settle_cooling``) since the injection."""
        return any(e.source == "mission" and e.name == "settle_cooling" for e in self.events)

    def run_until(self, done: Callable[[], bool], limit_s: float) -> None:
        """Run until ``done()`` or ``limit_s`` simulated seconds after the injection."""
        end = self.injected + limit_s
        self.app.executive.run(until=lambda: done() or self.clock.monotonic() > end)

    def took(self) -> float:
        """Simulated seconds since the injection."""
        return self.clock.monotonic() - self.injected


def start_and_inject(
    app: FlightApp,
    world: SimWorld,
    clock: VirtualClock,
    leaf: str,
    faults: list[Injection],
    ready: Callable[[], bool] = lambda: True,
    cycles: int = 1,
) -> Run:
    """Start a campaign of ``cycles``, run it until it is in ``leaf`` (and ``ready()``), inject ``faults``."""
    status = app.dispatcher.submit("mission.start", {"cycles": cycles}, source="test")
    assert status.stage == Stage.COMPLETED, status
    reach = clock.monotonic() + REACH_S
    app.executive.run(until=lambda: (app.mission.state == leaf and ready()) or clock.monotonic() > reach)
    assert app.mission.state == leaf, f"never reached {leaf} (in {app.mission.state})"
    run = Run(app, world, clock, clock.monotonic(), world.t, clock.now())
    app.events.subscribe(run.events.append)
    for delay_s, device, kind, params in faults:
        world.schedule(world.t + delay_s, device, kind, **params)
    return run


def left_or_stopped(app: FlightApp, phase: str) -> bool:
    """The mission has left ``phase`` (a top-level state, ``extract``, or a leaf, ``prospect_drive``) or is in
    HOLD, SAFE or IDLE."""
    state = app.mission.state
    left = state != phase if "_" in phase else state.split("_", 1)[0] != phase
    return state in ("hold", "safe", "idle") or left


def assert_decided(run: Run, phase: str, label: str, limit_s: float = DECIDED_S) -> None:
    """Run until the fault ``label`` injected in ``phase`` is decided; fail if it is not within ``limit_s``,
    or if the mission holds or is in SAFE without a reason."""
    run.run_until(lambda: left_or_stopped(run.app, phase), limit_s)
    if not left_or_stopped(run.app, phase) and run.cooling():
        run.run_until(lambda: left_or_stopped(run.app, phase), limit_s + COOL_MAX_S)
    state = run.app.mission.state
    assert left_or_stopped(run.app, phase), (
        f"{label} in {phase}: still in {state} after {run.took():.0f} s: {run.moves()}"
    )
    if state in ("hold", "safe"):
        assert run.reason().strip(), f"{label} in {phase}: {state} without a reason: {run.moves()}"
