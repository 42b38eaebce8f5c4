"""Every fault kind ``isru demo --inject`` accepts, injected in each mission phase, is decided within 10
simulated minutes: the run recovers (the mission leaves the phase: the cycle goes on) or ends in HOLD or SAFE
with a reason — never a silent stall.

The real flight segment over emulators behind ``sim://`` on a virtual clock, with the short mission of
``test_fault_each_state`` (one cycle, a shallow hole, a small batch, a minute of heating), so a phase lasts
a few simulated minutes when nothing goes wrong. Each fault is injected as the phase is entered.

The kinds come from :func:`sim_hw.fault_specs.fault_kinds`, the list ``--inject`` validates against, so a new
kind is in the matrix the day it is added. A device's own faults (``drill.stall``, ``power.low_battery``)
are injected in every phase; the line faults and sensor symptoms every device has are injected in the phases
that command that device, and the power unit's in every phase (energy planning reads it throughout). A
sensor symptom acts on the field the phase's decisions read (:data:`FIELDS`). ``reconnect`` and
``clear_line`` restore a line: they follow a ``disconnect`` and a ``corrupt`` 30 s later.

The full matrix is ``slow``; :data:`FAST` is a representative handful for the default suite.
"""

from __future__ import annotations

from typing import Any

import pytest

from flight.dispatcher import Stage
from flight.events import Event
from flight.mission.readiness import needed_by
from hal.icd import DEVICES
from sim_hw.fault_specs import LINE_FAULTS, fault_kinds
from sim_hw.firmware import SENSOR_FAULT_KINDS
from sim_hw.registry import uninstall_world
from tests.flight.test_fault_each_state import Case, build

pytestmark = pytest.mark.timeout(600)  # wall: a case is a few simulated minutes, slow on a loaded machine

#: The floor: decided within this long after the fault, simulated seconds.
DECIDED_S = 600.0
#: Phase → (the leaf it starts in, prospecting on?).
PHASES: dict[str, tuple[str, bool]] = {
    "prospect": ("prospect_drive", True),
    "anchor": ("anchor_deploy", False),
    "extract": ("extract_drill", False),
    "process": ("process_seal", False),
    "stow": ("stow", False),
}
#: The telemetry field a sensor symptom acts on, per device: the one the mission's decisions read.
FIELDS = {
    "drill": "depth_m",
    "scoop": "arm_angle_rad",
    "extractor": "chamber_temp_K",
    "imu": "gz",
    "anchor": "holding_N",
    "drive": "x_m",
    "power": "soc",
}
#: Line restorations, injected after the fault they end: restoring kind → (fault kind, its parameters).
RESTORES = {"reconnect": ("disconnect", {}), "clear_line": ("corrupt", {"rate": 0.3})}
#: Parameters for kinds that need them.
PARAMS: dict[str, dict[str, Any]] = {
    "corrupt": {"rate": 0.3},
    "drop": {"rate": 0.5},
    "latency": {"seconds": 0.05},
}
GENERIC = (*LINE_FAULTS, *SENSOR_FAULT_KINDS)


def _faults(device: str, kind: str) -> list[tuple[float, str, str, dict[str, Any]]]:
    """The injections (delay s, device, kind, params) for ``device.kind``."""
    if kind in RESTORES:
        fault, params = RESTORES[kind]
        return [(0.0, device, fault, params), (30.0, device, kind, {})]
    if kind in SENSOR_FAULT_KINDS:
        return [(0.0, device, kind, {"field": FIELDS[device]})]
    return [(0.0, device, kind, PARAMS.get(kind, {}))]


#: The lunar rover's devices (the embedded default); the hopper's faults are tests/flight/test_asteroid.py's.
ROVER_DEVICES = tuple(name for name in DEVICES if name != "hopper")


def matrix() -> list[tuple[str, str, str]]:
    """(phase, device, kind) for every kind each device accepts, in the phases it can act in."""
    cases = []
    for phase, (leaf, _) in PHASES.items():
        commanded = {*needed_by(leaf), "power"}
        for device in ROVER_DEVICES:
            for kind in fault_kinds(device):
                if kind not in GENERIC or device in commanded:
                    cases.append((phase, device, kind))
    return cases


#: Representative cases for the default suite: a line lost and restored while driving, a dropped sensor
#: while anchoring, the auger seized while drilling, a stale chamber sensor while processing.
FAST = [
    ("prospect", "drive", "reconnect"),
    ("anchor", "anchor", "dropout"),
    ("extract", "drill", "jam"),
    ("process", "extractor", "stuck"),
]


def run_case(phase: str, device: str, kind: str) -> None:
    """Reach ``phase``, inject ``device.kind``, and check it is decided within :data:`DECIDED_S`."""
    leaf, prospect = PHASES[phase]
    app, world, clock = build(Case(leaf, [], "", (), prospect=prospect))
    events: list[Event] = []
    try:
        status = app.dispatcher.submit("mission.start", {"cycles": 1}, source="test")
        assert status.stage == Stage.COMPLETED, status
        reach = clock.monotonic() + 600.0
        app.executive.run(until=lambda: app.mission.state == leaf or clock.monotonic() > reach)
        assert app.mission.state == leaf, f"never reached {leaf} (in {app.mission.state})"
        app.events.subscribe(events.append)
        injected = clock.monotonic()
        for delay_s, dev, what, params in _faults(device, kind):
            world.schedule(world.t + delay_s, dev, what, **params)

        def decided() -> bool:
            state = app.mission.state
            return state in ("hold", "safe", "idle") or state.split("_", 1)[0] != phase

        app.executive.run(until=lambda: decided() or clock.monotonic() > injected + DECIDED_S)
        took = clock.monotonic() - injected
        moves = [e.message for e in events if e.source == "mission" and e.name == "transition"]
        assert decided(), f"{device}.{kind} in {phase}: still in {app.mission.state} after {took:.0f} s: {moves}"
        if app.mission.state in ("hold", "safe"):
            reason = moves[-1].split(": ", 1)[1] if moves and ": " in moves[-1] else ""
            assert reason.strip(), f"{device}.{kind} in {phase}: {app.mission.state} without a reason: {moves}"
    finally:
        app.close()
        uninstall_world()


def test_the_matrix_covers_every_kind_inject_accepts() -> None:
    covered = {(device, kind) for _, device, kind in matrix()}
    assert covered == {(device, kind) for device in ROVER_DEVICES for kind in fault_kinds(device)}
    assert {phase for phase, _, _ in matrix()} == set(PHASES)


@pytest.mark.parametrize(("phase", "device", "kind"), FAST)
def test_a_fault_in_a_phase_is_decided_within_ten_minutes(phase: str, device: str, kind: str) -> None:
    run_case(phase, device, kind)


@pytest.mark.slow
@pytest.mark.parametrize(("phase", "device", "kind"), [c for c in matrix() if c not in FAST])
def test_every_fault_kind_in_every_phase_is_decided_within_ten_minutes(phase: str, device: str, kind: str) -> None:
    run_case(phase, device, kind)
