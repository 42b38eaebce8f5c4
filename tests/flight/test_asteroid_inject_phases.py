"""Every fault kind of the asteroid's hopping mobility, injected as each mission phase is entered, ends
recovered or in HOLD or SAFE with a reason — never a rover lost off the surface without the mission noticing.

The real flight segment over the emulators behind ``sim://`` on the asteroid (configs/asteroid.toml), on a
virtual clock, with a short mission (a shallow hole, a small batch, a minute of heating). The kinds are every
one :func:`sim_hw.fault_specs.fault_kinds` gives the hopper: its own (``failed_hop``, ``bad_landing``,
``stuck_flywheel``, ``runaway_launch``), the line faults (``reconnect`` and ``clear_line`` follow a
``disconnect`` and a ``corrupt`` 30 s later) and the sensor symptoms, on the position estimate the mission
aims hops from (``y_m``: at the start ``x_m`` is 0, so a dropout there would read true until the rover moved).
The anchors' grip slipping (``anchor.slip``, :data:`GRIP`), the microgravity rover's other hold on the
ground, is injected in every phase too.

* ``prospect``: injected as ``prospect_drive`` is entered, the first hop about to start; decided when the
  mission has left ``prospect_drive`` (the hop made) or holds or is in SAFE with the reason.
* ``hop``: the same, injected while that hop is in flight (launched, not yet landed).
* ``anchor``, ``extract``, ``process``: the rover sits anchored, and the hopper is not used in the phase: a
  fault there bites at the *next* hop. The mission runs two cycles on a drill that reaches only the cycle's
  depth, so the second cycle finds the hole worked out and hops 3 m to a fresh one: the case goes on until
  that hop is decided (the rover anchored at the new hole, or HOLD or SAFE with the reason).
* ``stow``: the campaign's end (one cycle); no hop follows, the rover sits idle.

Besides being decided, in every case: a rover off the surface (the emulator's hopper ``lost``) is never
left unnoticed — the mission is in SAFE with ``rover lost``; a fault that shows while the rover sits still
(:data:`SHOWS_AT_REST`: a dead line, a seized flywheel the built-in test finds, a position estimate dropped,
noisy or not a number) is reported (``mission.hopper_unfit`` or the health monitor naming the hopper) within
:data:`~tests.support.phase_matrix.DECIDED_S` and before any hop is sent; and while one that lasts
(:data:`BLOCKS_HOPS`) is in place, no hop is launched.

The full matrix is ``slow``; :data:`FAST` is a representative handful for the default suite. The outcome of
each case is in docs/operations.md, "A fault in each mission state".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from base.clock import VirtualClock
from flight.app import FlightApp
from flight.events import Event
from flight.mission_config import SiteConfig
from isru.config import load_config
from sim_hw.devices.hopper import MODE_LOST
from sim_hw.fault_specs import fault_kinds
from sim_hw.registry import install_world, uninstall_world
from sim_hw.world import SimWorld
from tests.flight.test_asteroid import CONFIG_PATH
from tests.support.phase_matrix import DECIDED_S, Run, assert_decided, injections, start_and_inject

pytestmark = pytest.mark.timeout(600)  # wall: a case is a few simulated minutes, slow on a loaded machine

#: Phase → the leaf it is injected in as it is entered (``hop``: in ``prospect_drive`` with the hop in flight).
PHASES = {
    "prospect": "prospect_drive",
    "hop": "prospect_drive",
    "anchor": "anchor_deploy",
    "extract": "extract_drill",
    "process": "process_seal",
    "stow": "stow",
}
#: The hopper telemetry field the sensor symptoms act on (the position estimate hops are aimed from).
FIELD = "y_m"
#: Kinds that show while the rover sits still: reported before any hop is sent.
SHOWS_AT_REST = frozenset({"disconnect", "reconnect", "stuck_flywheel", "dropout", "nan", "noise"})
#: Kinds that last through the case and show before a launch: no hop may be launched while they are in place.
BLOCKS_HOPS = frozenset({"disconnect", "stuck_flywheel", "dropout", "nan", "noise"})
#: How long after the injection the next hop (anchored phases) must be decided, simulated seconds: the
#: rest of the cycle, the second cycle's start, a 3 m hop of about five minutes and anchoring again.
NEXT_HOP_S = 2400.0
#: The hole's depth, m: the drill reaches only this deep, so the second cycle moves to a fresh hole.
HOLE_M = 0.05
#: Between holes, m: more than the arrival tolerance (2 m), so moving to the next hole is a hop.
HOLE_SPACING_M = 3.0


#: Besides the hopper's: the anchors' grip slipping (the microgravity rover's other hold on the ground).
GRIP = ("anchor", "slip")


def matrix() -> list[tuple[str, str, str]]:
    """(phase, device, kind) for every kind the hopper accepts, and the anchors' slip, in every phase."""
    return [(phase, device, kind) for phase in PHASES for device, kind in [*HOPPER_KINDS, GRIP]]


HOPPER_KINDS = [("hopper", kind) for kind in fault_kinds("hopper")]


#: Representative cases for the default suite: a seized flywheel found by the built-in test while anchored
#: (the next hop refused, HOLD), the line lost while drilling and the next hop refused, a runaway launch armed
#: while processing (the next hop: SAFE, rover lost), a bad landing as the first hop starts (righted), a
#: position estimate gone NaN as the first hop starts (refused), a slipping launch armed at stow.
FAST = [
    ("anchor", "hopper", "stuck_flywheel"),
    ("extract", "hopper", "disconnect"),
    ("process", "hopper", "runaway_launch"),
    ("prospect", "hopper", "bad_landing"),
    ("prospect", "hopper", "nan"),
    ("stow", "hopper", "failed_hop"),
]


def build(phase: str) -> tuple[FlightApp, SimWorld, VirtualClock]:
    """The asteroid flight app with a short mission for ``phase`` (see the module's docstring)."""
    config = load_config(CONFIG_PATH)
    clock = VirtualClock()
    world = install_world(SimWorld(clock, body="asteroid", seed=7, site=0, step_s=config.sim.step_s))
    x, y = world.rover.x_m, world.rover.y_m
    prospect = phase in ("prospect", "hop")
    # prospecting: two candidates 3 m and 6 m off (a hop of about five minutes each); else the rover works
    # where it starts, and the next hole is HOLE_SPACING_M to the side
    sites = [SiteConfig(x + 3.0, y), SiteConfig(x + 6.0, y)] if prospect else [SiteConfig(x, y), SiteConfig(x + 6, y)]
    mission = dataclasses.replace(
        config.mission,
        prospect=prospect,
        cycles=2 if phase in ("anchor", "extract", "process") else 1,
        sites=sites,
        probe_depth_m=HOLE_M,
        drill_depth_m=HOLE_M,
        hole_spacing_m=HOLE_SPACING_M,
        hopper_target_kg=0.2,
        heat_min_s=0.0,
        heat_max_s=60.0,
        vent_s=5.0,
    )
    drill = config.devices["drill"]
    devices = {
        **config.devices,
        "drill": dataclasses.replace(drill, limits={**drill.limits, "max_depth_m": HOLE_M}),
    }
    app = FlightApp(dataclasses.replace(config, mission=mission, devices=devices), clock)
    assert app.start() == []
    return app, world, clock


def _noticed(event: Event) -> bool:
    """A report naming the hopper: the mission's watch, or the health monitor's link check."""
    return (event.source == "mission" and event.name == "hopper_unfit") or (
        event.source == "health" and "hopper" in event.message
    )


def _next_hop_decided(run: Run, entered_travel: list[bool]) -> Callable[[], bool]:
    """After an anchored phase: the next hop has been made (anchored at the new hole) or the mission stopped."""

    def done() -> bool:
        state = run.app.mission.state
        if state == "prospect_travel":
            entered_travel[0] = True
        return state in ("hold", "safe", "idle") or (entered_travel[0] and state.startswith(("anchor", "extract")))

    return done


def run_case(phase: str, device: str, kind: str) -> tuple[str, str, str]:
    """Reach ``phase``, inject ``device.kind``, check the case (module docstring); returns the state the case
    ended in, the reason of its last transition and the first report naming the hopper ("" if none)."""
    leaf = PHASES[phase]
    app, world, clock = build(phase)
    hopper = world.device("hopper")
    label = f"{device}.{kind}"
    if device != "hopper":
        kind = f"{device}.{kind}"  # none of the hopper's kinds: only decided, and no rover lost unnoticed
    try:
        cycles = app.mission.config.cycles
        faults = injections(device, label.split(".", 1)[1], FIELD)
        flying = (lambda: hopper.hop is not None) if phase == "hop" else (lambda: True)
        run = start_and_inject(app, world, clock, leaf, faults, ready=flying, cycles=cycles)
        assert_decided(run, leaf if leaf == "prospect_drive" else phase, label)
        if phase in ("anchor", "extract", "process"):
            entered_travel = [False]
            run.run_until(_next_hop_decided(run, entered_travel), NEXT_HOP_S)
            assert _next_hop_decided(run, entered_travel)(), (
                f"{label} in {phase}: next hop undecided after {run.took():.0f} s: {run.moves()}"
            )
        noticed = [e for e in run.events if _noticed(e)]
        if kind in SHOWS_AT_REST and not noticed:
            run.run_until(lambda: any(_noticed(e) for e in run.events), DECIDED_S)
            noticed = [e for e in run.events if _noticed(e)]
        state, reason = app.mission.state, run.reason()
        if state in ("hold", "safe"):
            assert reason.strip(), f"{label} in {phase}: {state} without a reason: {run.moves()}"
        sent = [r.t - run.injected_world for r in hopper.received("hop") if r.t >= run.injected_world]
        launches = [r for r in hopper.received("hop") if r.t >= run.injected_world and r.outcome == "started"]
        if hopper.mode == MODE_LOST:
            assert state == "safe" and "rover lost" in reason, f"{label} in {phase}: rover lost, mission {state}"
        if kind in SHOWS_AT_REST:
            assert noticed, f"{label} in {phase}: never reported; {run.moves()}"
            first = noticed[0].t - run.injected_epoch  # s after the injection
            assert first <= DECIDED_S, f"{label} in {phase}: reported only {first:.0f} s after the fault"
            assert not sent or first <= sent[0], (
                f"{label} in {phase}: a hop sent {sent[0]:.0f} s on, reported {first:.0f} s on"
            )
        reports = [e.message for e in run.events if e.source == "mission" and e.name == "hopper_unfit"]
        assert len(reports) <= 3, f"{label} in {phase}: reported {len(reports)} times: {reports[:4]}"
        if kind in BLOCKS_HOPS:
            assert not launches, f"{label} in {phase}: a hop was launched: {launches}"
        return state, reason, noticed[0].message if noticed else ""
    finally:
        app.close()
        uninstall_world()


def test_the_matrix_covers_every_hopper_fault_kind_in_every_phase() -> None:
    assert {kind for _, device, kind in matrix() if device == "hopper"} == set(fault_kinds("hopper"))
    assert {phase for phase, _, _ in matrix()} == set(PHASES)
    assert {(phase, *GRIP) for phase in PHASES} <= set(matrix())
    assert {"failed_hop", "bad_landing", "stuck_flywheel", "runaway_launch"} <= set(fault_kinds("hopper"))


@pytest.mark.parametrize(("phase", "device", "kind"), FAST)
def test_a_hop_fault_in_a_phase_is_decided_and_noticed_before_the_next_hop(phase: str, device: str, kind: str) -> None:
    run_case(phase, device, kind)


@pytest.mark.slow
@pytest.mark.parametrize(("phase", "device", "kind"), [c for c in matrix() if c not in FAST])
def test_every_hop_fault_kind_in_every_phase_is_decided_and_noticed(phase: str, device: str, kind: str) -> None:
    run_case(phase, device, kind)
