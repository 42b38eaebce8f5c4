"""The two recovery paths that used to lead straight back into SAFE, and what they do now.

* An e-stop while the probe has the drill and the anchors in the ground, then ``estop.reset`` and
  ``mission.recover``: recovery stows the hardware through the interlocks (STOW) before IDLE, so the next
  cycle's first drive can move and the cycle completes with water.
* ``kill -9`` of flight mid-drill and a restart with the devices restarted (anchors up): the mission holds in
  ``extract_drill``, and ``mission.resume`` re-anchors at the present position before drilling on; the cycle
  completes with its water booked once.

The real flight segment over the emulators behind ``sim://`` on a virtual clock, on a purpose-built world: loose
dry regolith where the rover lands, ice-cemented regolith 8 m away (:mod:`tests.flight.test_mission_yield`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

import sim_hw  # noqa: F401  (registers sim://)
from base.clock import VirtualClock
from flight.app import FlightApp
from flight.dispatcher import Stage
from flight.mission_config import SiteConfig
from isru.config import load_config
from sim_hw.registry import install_world, uninstall_world
from sim_hw.terrain import Site
from sim_hw.world import SimWorld
from tests.flight.test_fault_each_state import Case
from tests.flight.test_fault_each_state import build as build_short
from tests.flight.test_mission_yield import DRY, ICY

pytestmark = pytest.mark.timeout(600)

#: Longest a cycle may take on the virtual clock, s (a prospected cycle with a 15-minute heat is ~1500 s).
CYCLE_S = 4 * 3600.0


def icy_world(clock: VirtualClock, x_m: float = 0.0) -> SimWorld:
    """The dry site at the origin, the icy one 8 m east; the rover at (``x_m``, 0), heading east."""
    world = SimWorld(clock, seed=5, site=0)
    world.sites = [Site(0, 0.0, 0.0, 0.0, 0.0, DRY, kind="dry"), Site(1, 8.0, 0.0, 0.0, 0.0, ICY, kind="icy")]
    world.rover.x_m, world.rover.y_m, world.rover.heading_rad = x_m, 0.0, 0.0
    return install_world(world)


def flight(clock: VirtualClock, tmp_path: Path | None = None, **mission: Any) -> FlightApp:
    """A started flight segment over the installed world; with ``tmp_path``, its store and parameters on disk
    there (what a restart picks up)."""
    config = load_config()
    drill = config.devices["drill"]
    drill = dataclasses.replace(drill, limits={**drill.limits, "max_depth_m": 0.3})
    settings: dict[str, Any] = dict(
        sites=[SiteConfig(0.0, 0.0), SiteConfig(8.0, 0.0)],
        cycles=1,
        probe_depth_m=0.1,
        bite_m=0.15,
        hopper_target_kg=0.5,
        heat_min_s=60.0,
        heat_max_s=900.0,  # a quarter of an hour gives up a good part of a small batch's water
        vent_s=10.0,
    )
    settings.update(mission)
    config = dataclasses.replace(
        config, mission=dataclasses.replace(config.mission, **settings), devices={**config.devices, "drill": drill}
    )
    if tmp_path is not None:
        files = dataclasses.replace(
            config.flight, store=str(tmp_path / "flight.sqlite"), params=str(tmp_path / "params.json")
        )
        config = dataclasses.replace(config, flight=files)
    app = FlightApp(config, clock)
    assert app.start() == []
    return app


def submit(app: FlightApp, name: str, args: dict[str, Any] | None = None) -> Any:
    """Submit ``name`` as the operator would; returns its status."""
    return app.dispatcher.submit(name, args or {}, source="test")


def run_until(app: FlightApp, clock: VirtualClock, done: Any, limit_s: float) -> None:
    """Run flight until ``done()`` or ``limit_s`` simulated seconds have passed."""
    end = clock.monotonic() + limit_s
    app.executive.run(until=lambda: done() or clock.monotonic() > end)


def transitions(app: FlightApp) -> list[str]:
    """The mission's transitions so far, as messages."""
    return [e.message for e in app.events.recent if e.source == "mission" and e.name == "transition"]


def drilling(app: FlightApp, world: SimWorld, leaf: str) -> bool:
    """The mission is in ``leaf`` with the auger turning 3 cm or more below the surface."""
    return (
        app.mission.state == leaf
        and world.device("drill").is_actuating()
        and float(app.table.get("drill.depth_m", 0.0) or 0.0) > 0.03
    )


def test_estop_mid_probe_then_reset_and_recover_stows_first_and_the_next_cycle_completes_with_water() -> None:
    clock = VirtualClock()
    world = icy_world(clock)
    app = flight(clock)
    try:
        assert submit(app, "mission.start", {"cycles": 1}).stage == Stage.COMPLETED
        run_until(app, clock, lambda: drilling(app, world, "prospect_probe"), 900.0)
        assert drilling(app, world, "prospect_probe"), app.mission.state
        assert submit(app, "estop").stage == Stage.COMPLETED
        app.executive.run(duration_s=2.0)
        assert app.mission.state == "safe"
        assert submit(app, "estop.reset").stage == Stage.COMPLETED
        app.executive.run(duration_s=2.0)

        recovered = submit(app, "mission.recover")
        assert recovered.stage == Stage.COMPLETED, recovered
        # SAFE → STOW naming what is out and the commands that bring it in; IDLE only once it is all in
        moved = transitions(app)[-1]
        assert moved.startswith("safe → stow: operator recovery: stowing first: drill "), moved
        assert "drill.retract rate_m_s=0.01" in moved and "anchor.retract mask=15" in moved, moved
        run_until(app, clock, lambda: app.mission.state != "stow", 600.0)
        assert app.mission.state == "idle" and transitions(app)[-1] == "stow → idle: stowed"
        # the hardware itself is stowed: the bit at the surface, no anchor in the ground
        assert world.device("drill").mechanics.depth_m <= 0.001  # type: ignore[attr-defined]
        assert world.device("anchor").deployed_mask == 0  # type: ignore[attr-defined]

        assert submit(app, "mission.start", {"cycles": 1}).stage == Stage.COMPLETED
        after = len(transitions(app))
        run_until(app, clock, lambda: app.mission.state in ("idle", "safe", "hold"), CYCLE_S)
        moves = transitions(app)[after - 1 :]
        assert app.mission.state == "idle", moves
        assert not [m for m in moves if "→ safe" in m or "→ hold" in m], moves
        # the interrupted probe of the dry site was done again (nothing scored it), then the icy site won
        assert "prospect_drive → prospect_probe: at candidate site 0" in moves, moves
        assert app.mission.progress.site == 1 and sorted(app.mission.progress.scores) == [0, 1]
        assert app.mission.progress.cycle == 1 and len(app.ledger) == 1
        assert app.ledger[0]["water_kg"] > 0.0, app.ledger
    finally:
        app.close()
        uninstall_world()


def test_a_recovery_whose_stow_cannot_finish_is_not_idle_and_names_what_is_still_out() -> None:
    """The anchors' line is cut while recovery stows: the anchors cannot come up, so the mission holds (after
    the step's retry) naming the anchors still in the ground and the command that withdraws them — never IDLE
    with the next drive refused; ``mission.resume`` is refused while the line is down, and once it is back the
    stow finishes and the mission is IDLE with everything in."""
    app, world, clock = build_short(Case("prospect_probe", [], "hold", (), prospect=True))
    try:
        assert submit(app, "mission.start", {"cycles": 1}).stage == Stage.COMPLETED
        run_until(app, clock, lambda: drilling(app, world, "prospect_probe"), 900.0)
        submit(app, "estop")
        app.executive.run(duration_s=2.0)
        submit(app, "estop.reset")
        app.executive.run(duration_s=2.0)
        # the buses the e-stop cut are on again: no interlock counts as acting (a failure is not "unsafe")
        assert app.interlocks.acting == frozenset()
        assert submit(app, "mission.recover").stage == Stage.COMPLETED
        assert app.mission.state == "stow"
        world.inject("anchor", "disconnect")
        run_until(app, clock, lambda: app.mission.state != "stow", 900.0)
        last = transitions(app)[-1]
        assert app.mission.state == "hold", last
        assert last.startswith("stow → hold: stow failed (anchor: cannot send retract: link is down"), last
        assert last.endswith("and anchor: link down after 90 s: hold for the ground"), last  # waited for the line
        assert "still deployed: anchors in the ground" in last and "(anchor.retract mask=15)" in last, last
        refused = submit(app, "mission.resume")
        assert refused.stage == Stage.FAILED and "anchor: link down" in refused.message, refused

        world.inject("anchor", "reconnect")
        run_until(app, clock, lambda: app.rig.device("anchor").link_up, 120.0)
        app.executive.run(duration_s=3.0)
        assert submit(app, "mission.resume").stage == Stage.COMPLETED
        run_until(app, clock, lambda: app.mission.state != "stow", 600.0)
        assert app.mission.state == "idle", transitions(app)[-2:]
        assert world.device("anchor").deployed_mask == 0  # type: ignore[attr-defined]
    finally:
        app.close()
        uninstall_world()


def test_kill_mid_drill_then_restart_with_anchors_up_resume_reanchors_and_books_the_water_once(tmp_path: Path) -> None:
    clock = VirtualClock()
    world = icy_world(clock, x_m=8.0)  # on the icy ground; no prospecting: anchor and drill where it stands
    app = flight(clock, tmp_path, prospect=False, sites=[SiteConfig(8.0, 0.0)])
    try:
        assert submit(app, "mission.start", {"cycles": 1}).stage == Stage.COMPLETED
        run_until(app, clock, lambda: drilling(app, world, "extract_drill"), 900.0)
        assert drilling(app, world, "extract_drill"), app.mission.state
    finally:  # kill -9: nothing is made safe; in the simulation the devices restart with flight
        app.close()
        uninstall_world()

    world = icy_world(clock, x_m=8.0)
    app = flight(clock, tmp_path, prospect=False, sites=[SiteConfig(8.0, 0.0)])
    try:
        restored = [e.message for e in app.events.recent if e.name == "restored"][-1]
        assert app.mission.state == "hold" and app.mission.progress.held == "extract_drill", restored
        assert restored.startswith("restart: hardware made safe, holding in extract_drill"), restored
        assert "mission.resume re-anchors first: extract_drill needs the rover anchored" in restored, restored
        app.executive.run(duration_s=2.0)

        resumed = submit(app, "mission.resume")
        assert resumed.stage == Stage.COMPLETED, resumed
        moved = transitions(app)[-1]
        assert moved.startswith("hold → anchor_deploy: operator resume: extract_drill needs the rover anchored"), moved
        after = len(transitions(app))
        run_until(app, clock, lambda: app.mission.state in ("idle", "safe", "hold"), CYCLE_S)
        moves = transitions(app)[after - 1 :]
        assert app.mission.state == "idle", moves
        assert not [m for m in moves if "→ safe" in m or "→ hold" in m], moves
        # anchored again at the present position, then drilling went on
        assert [m.split(":")[0] for m in moves[1:4]] == [
            "anchor_deploy → anchor_preload",
            "anchor_preload → anchor_verify",
            "anchor_verify → extract_drill",
        ], moves
        # the water is booked once: one cycle, one ledger entry (in the store as in memory)
        assert app.mission.progress.cycle == 1
        assert len(app.ledger) == 1 and app.ledger[0]["water_kg"] > 0.0, app.ledger
        assert app.store is not None and len(app.store.ledger()) == 1
    finally:
        app.close()
        uninstall_world()


def test_kill_mid_heat_then_restart_resume_seals_the_lid_first_and_books_the_cycle_once(tmp_path: Path) -> None:
    clock = VirtualClock()
    icy_world(clock, x_m=8.0)
    app = flight(clock, tmp_path, prospect=False, sites=[SiteConfig(8.0, 0.0)])
    try:
        assert submit(app, "mission.start", {"cycles": 1}).stage == Stage.COMPLETED
        run_until(app, clock, lambda: app.mission.state == "process_heat", CYCLE_S)
        app.executive.run(duration_s=60.0)
        assert app.mission.state == "process_heat", app.mission.state
    finally:  # kill -9: nothing is made safe; in the simulation the devices restart with flight (lid open)
        app.close()
        uninstall_world()

    icy_world(clock, x_m=8.0)
    app = flight(clock, tmp_path, prospect=False, sites=[SiteConfig(8.0, 0.0)])
    try:
        restored = [e.message for e in app.events.recent if e.name == "restored"][-1]
        assert app.mission.state == "hold" and app.mission.progress.held == "process_heat", restored
        assert "mission.resume seals the lid first: process_heat needs the lid sealed" in restored, restored
        app.executive.run(duration_s=2.0)
        assert submit(app, "mission.resume").stage == Stage.COMPLETED
        moved = transitions(app)[-1]
        assert moved.startswith("hold → process_seal: operator resume: process_heat needs the lid sealed"), moved
        after = len(transitions(app))
        run_until(app, clock, lambda: app.mission.state in ("idle", "safe", "hold"), CYCLE_S)
        moves = transitions(app)[after - 1 :]
        assert app.mission.state == "idle", moves  # not SAFE on a heater refused for the open lid
        assert moves[1].startswith("process_seal → process_heat"), moves
        assert app.mission.progress.cycle == 1 and app.store is not None and len(app.store.ledger()) == 1
    finally:
        app.close()
        uninstall_world()


def test_kill_between_dump_and_transfer_books_the_batch_it_processed_once(tmp_path: Path) -> None:
    clock = VirtualClock()
    icy_world(clock, x_m=8.0)
    app = flight(clock, tmp_path, prospect=False, sites=[SiteConfig(8.0, 0.0)])
    try:
        assert submit(app, "mission.start", {"cycles": 1}).stage == Stage.COMPLETED
        run_until(app, clock, lambda: app.mission.state == "process_transfer", CYCLE_S)
        assert app.mission.state == "process_transfer", app.mission.state
        dumped = app.mission.progress.batch_regolith_kg, app.mission.progress.batch_energy_Wh
        assert dumped[0] > 0.1 and dumped[1] > 1.0, dumped
    finally:  # kill -9 as the transfer starts
        app.close()
        uninstall_world()

    icy_world(clock, x_m=8.0)
    app = flight(clock, tmp_path, prospect=False, sites=[SiteConfig(8.0, 0.0)])
    try:
        assert app.mission.state == "hold" and app.mission.progress.held == "process_transfer"
        app.executive.run(duration_s=2.0)
        assert submit(app, "mission.resume").stage == Stage.COMPLETED
        run_until(app, clock, lambda: app.mission.state in ("idle", "safe", "hold"), CYCLE_S)
        assert app.mission.state == "idle", transitions(app)[-3:]
        assert app.store is not None and len(app.store.ledger()) == 1  # booked once
        entry = app.store.ledger()[0]
        assert (entry.regolith_kg, entry.energy_Wh) == pytest.approx(dumped)  # the batch processed, not nothing
        assert app.mission.progress.batch_regolith_kg == 0.0  # and not carried into the next cycle
    finally:
        app.close()
        uninstall_world()


def test_an_operator_resume_into_a_drive_with_the_anchors_down_withdraws_them_first() -> None:
    """Defence in depth: the first move of a drive checks the anchors are up and the drill is out, and stows
    them first if not (an operator deployed the anchors while the drive was held)."""
    clock = VirtualClock()
    icy_world(clock)
    app = flight(clock)
    try:
        assert submit(app, "mission.start", {"cycles": 1}).stage == Stage.COMPLETED
        run_until(app, clock, lambda: app.mission.state == "prospect_drive" and app.mission.progress.scores, 900.0)
        assert app.mission.state == "prospect_drive"
        assert submit(app, "mission.hold").stage == Stage.COMPLETED
        again = submit(app, "mission.hold")
        assert (again.stage, again.reason, again.message) == (Stage.FAILED, "bad_state", "the mission already holds")
        app.executive.run(duration_s=3.0)
        deployed = submit(app, "anchor.deploy", {"mask": 15, "depth_m": 0.1})
        assert deployed.stage != Stage.FAILED, deployed
        run_until(app, clock, lambda: app.table.get("anchor.deployed_mask") == 15, 300.0)
        app.executive.run(duration_s=2.0)
        assert app.table.get("anchor.deployed_mask") == 15
        assert submit(app, "mission.resume").stage == Stage.COMPLETED
        run_until(app, clock, lambda: app.mission.state != "prospect_drive", 900.0)
        assert app.mission.state == "prospect_probe", transitions(app)[-3:]
        stowed = [e.message for e in app.events.recent if e.name == "stow_before_travel"]
        assert stowed == ["before moving: the anchors still in the ground; withdrawing first"], stowed
    finally:
        app.close()
        uninstall_world()


ASTEROID = Path(__file__).parents[2] / "configs" / "asteroid.toml"


def test_on_the_asteroid_kill_mid_drill_then_resume_reanchors_and_completes_the_cycle(tmp_path: Path) -> None:
    """The same crash in microgravity: the restarted anchors are up, so drilling on would push the rover off the
    surface; the resume anchors first, then drills, and the cycle completes with one ledger entry."""
    clock = VirtualClock()

    def start() -> tuple[FlightApp, SimWorld]:
        config = load_config(ASTEROID)
        world = install_world(SimWorld(clock, body="asteroid", seed=7, site=0, step_s=config.sim.step_s))
        here = SiteConfig(world.rover.x_m, world.rover.y_m)
        mission = dataclasses.replace(
            config.mission, cycles=1, prospect=False, sites=[here], hopper_target_kg=0.3, heat_max_s=300.0, vent_s=5.0
        )
        files = dataclasses.replace(
            config.flight, store=str(tmp_path / "flight.sqlite"), params=str(tmp_path / "params.json")
        )
        app = FlightApp(dataclasses.replace(config, mission=mission, flight=files), clock)
        assert app.start() == []
        return app, world

    app, world = start()
    try:
        assert submit(app, "mission.start", {"cycles": 1}).stage == Stage.COMPLETED
        run_until(app, clock, lambda: drilling(app, world, "extract_drill"), 20_000.0)
        assert drilling(app, world, "extract_drill"), app.mission.state
    finally:  # kill -9: nothing is made safe; the devices restart with flight
        app.close()
        uninstall_world()

    app, world = start()
    try:
        assert app.mission.state == "hold" and app.mission.progress.held == "extract_drill"
        app.executive.run(duration_s=2.0)
        assert submit(app, "mission.resume").stage == Stage.COMPLETED
        after = len(transitions(app))
        run_until(app, clock, lambda: app.mission.state in ("idle", "safe", "hold"), 200_000.0)
        moves = transitions(app)[after - 1 :]
        assert app.mission.state == "idle", moves
        assert [m.split(":")[0] for m in moves[:4]] == [
            "hold → anchor_deploy",
            "anchor_deploy → anchor_preload",
            "anchor_preload → anchor_verify",
            "anchor_verify → extract_drill",
        ], moves
        assert len(app.ledger) == 1 and app.ledger[0]["water_kg"] > 0.0, app.ledger
    finally:
        app.close()
        uninstall_world()
