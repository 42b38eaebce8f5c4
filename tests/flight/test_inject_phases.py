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
``clear_line`` restore a line: they follow a ``disconnect`` and a ``corrupt`` 30 s later. The machinery is
shared with the asteroid's matrix (tests/support/phase_matrix.py).

The full matrix is ``slow``; :data:`FAST` is a representative handful for the default suite.
"""

from __future__ import annotations

import pytest

from flight.mission.readiness import needed_by
from hal.icd import DEVICES
from sim_hw.fault_specs import fault_kinds
from sim_hw.registry import uninstall_world
from tests.flight.test_fault_each_state import Case, build
from tests.support.phase_matrix import GENERIC, assert_decided, injections, start_and_inject

pytestmark = pytest.mark.timeout(600)  # wall: a case is a few simulated minutes, slow on a loaded machine

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


#: The lunar rover's devices (the embedded default); the hopper's are tests/flight/test_asteroid_inject_phases.py's.
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
    """Reach ``phase``, inject ``device.kind``, and check it is decided within the floor."""
    leaf, prospect = PHASES[phase]
    app, world, clock = build(Case(leaf, [], "", (), prospect=prospect))
    try:
        run = start_and_inject(app, world, clock, leaf, injections(device, kind, FIELDS.get(device, "")))
        assert_decided(run, phase, f"{device}.{kind}")
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
