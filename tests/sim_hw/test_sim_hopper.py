"""The hopper emulator over real bytes on sim:// with a virtual clock, on the asteroid: a hop's ballistic arc
against the closed-form range and time of flight, bounces and settling, landing dispersion, the escape speed
(a rover lost off the surface is reported), and the faults (failed hop, bad landing, stuck flywheel, found at
rest by the built-in test)."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator

import pytest

from base.clock import VirtualClock
from hal.icd import ACK_LAYOUT, POWER_BUSES, Completion, EventId
from hal.protocol import AckResult, MsgType, NackCode
from sim_hw.devices.hopper import MODE_LOST, MODE_SETTLED, HopperFirmware
from sim_hw.physics.hopping import (
    Hop,
    hop_range_m,
    impact,
    launch,
    launch_speed_for_m,
    step,
    time_of_flight_s,
)
from sim_hw.registry import install_world, uninstall_world
from sim_hw.world import SimWorld
from tests.support.sim_link import SimLink, describe, run

G = 6.0e-5  # the asteroid body's gravity, m/s^2
ELEVATION = math.pi / 4


@pytest.fixture
def link() -> Iterator[SimLink]:
    world = install_world(SimWorld(VirtualClock(), body="asteroid", seed=5, devices=("hopper", "anchor", "power")))
    line = SimLink(world, "hopper")
    line.ack("set_telemetry_period", period_ms=1000)
    yield line
    line.close()
    uninstall_world()


def firmware(link: SimLink) -> HopperFirmware:
    device = link.world.device("hopper")
    assert isinstance(device, HopperFirmware)
    return device


def hop_until_done(link: SimLink, speed: float, heading: float = 0.0, limit_s: float = 20_000.0) -> Completion:
    assert link.ack("hop", heading_rad=heading, speed_m_s=speed, elevation_rad=ELEVATION) == AckResult.STARTED
    for _ in range(int(limit_s / 10)):
        run([link], 10.0, slice_s=0.5)
        if firmware(link).motion is None:
            break
    completes = link.completions("hop")
    assert completes, "the hop never completed"
    return completes[-1]


# ------------------------------------------------------------------------------- physics alone
def test_arc_matches_the_closed_form_range_and_time_of_flight() -> None:
    """Without bounces (restitution forced to 0) the first arc lands at R = v^2 sin 2theta / g after T."""
    v = 0.03
    hop = Hop(0.0, 0.0, v * math.cos(ELEVATION), 0.0, v * math.sin(ELEVATION))
    rng = random.Random(1)
    t, dt = 0.0, 0.05
    while True:
        t += dt
        if step(hop, dt, G, rng):
            break
    assert t == pytest.approx(time_of_flight_s(v, ELEVATION, G), abs=dt)
    assert hop.bounces == 1
    landing_x = hop_range_m(v, ELEVATION, G)
    assert landing_x == pytest.approx(15.0, rel=1e-9)  # 0.03^2 / 6e-5
    assert hop.start == (0.0, 0.0)


def test_bounce_follows_restitution_and_coulomb_friction() -> None:
    rng = random.Random(2)
    hop = Hop(0.0, 0.0, 0.02, 0.0, 0.0, z_m=0.0)
    impact(hop, 0.02, rng)
    assert 0.2 * 0.02 <= hop.vz <= 0.4 * 0.02  # e in 0.2..0.4
    e = hop.vz / 0.02
    assert hop.ground_speed_m_s == pytest.approx(max(0.0, 0.02 - 0.6 * (1 + e) * 0.02))
    slow = Hop(0.0, 0.0, 0.0005, 0.0, 0.0)
    impact(slow, 0.002, rng)  # rebound under 1 mm/s: stops bouncing
    assert slow.phase in ("settling", "settled") and slow.vz == 0.0


def test_launch_speed_for_a_distance_inverts_the_range() -> None:
    v = launch_speed_for_m(12.0, ELEVATION, G)
    assert hop_range_m(v, ELEVATION, G) == pytest.approx(12.0)


def test_launch_at_escape_speed_is_lost() -> None:
    rng = random.Random(3)
    escape = math.sqrt(2 * 4.892 / 245.0)
    assert launch(0, 0, 0.0, 1.2 * escape, ELEVATION, escape, rng).phase == "lost"
    assert launch(0, 0, 0.0, 0.1 * escape, ELEVATION, escape, rng).phase == "ballistic"


# --------------------------------------------------------------------------------- over bytes
def test_hop_flies_bounces_settles_and_moves_the_rover(link: SimLink) -> None:
    world = link.world
    x0, y0 = world.rover.x_m, world.rover.y_m
    speed = launch_speed_for_m(10.0, ELEVATION, G)
    assert hop_until_done(link, speed) == Completion.OK
    fw = firmware(link)
    travelled = math.hypot(world.rover.x_m - x0, world.rover.y_m - y0)
    assert 8.0 < travelled < 20.0  # the arc plus the bounces' slide, with launch dispersion
    assert fw.mode == MODE_SETTLED and fw.hops == 1 and fw.upright
    t = link.snapshot()
    assert t["hops"] == 1 and t["height_m"] == 0.0 and t["hop_m"] == pytest.approx(travelled, rel=1e-3)
    assert math.hypot(t["x_m"] - world.rover.x_m, t["y_m"] - world.rover.y_m) < 0.2 * travelled
    modes = [e["code"] for e in link.events() if e["event"] == EventId.MODE_CHANGE]
    assert modes[:2] == [1, 2]  # spinning up, then ballistic
    assert 3 in modes or 4 in modes  # bounced or slid to rest


def test_landing_dispersion_over_seeds() -> None:
    """The same command lands in different places: dispersion of the order of the hop's length / 10."""
    ends = []
    for seed in range(6):
        world = install_world(SimWorld(VirtualClock(), body="asteroid", seed=seed, devices=("hopper",)))
        line = SimLink(world, "hopper")
        x0, y0 = world.rover.x_m, world.rover.y_m
        assert hop_until_done(line, launch_speed_for_m(10.0, ELEVATION, G)) == Completion.OK
        ends.append((world.rover.x_m - x0, world.rover.y_m - y0))
        line.close()
        uninstall_world()
    xs = [e[0] for e in ends]
    ys = [e[1] for e in ends]
    spread = math.hypot(max(xs) - min(xs), max(ys) - min(ys))
    assert 0.5 < spread < 15.0


def test_hop_faster_than_escape_is_reported_lost(link: SimLink) -> None:
    assert hop_until_done(link, 0.3, limit_s=30_000.0) == Completion.FAULT
    fw = firmware(link)
    assert fw.mode == MODE_LOST
    assert "lost" in fw.spec.fault_names(fw.all_faults)
    link.ack("clear_fault")
    assert "lost" in fw.spec.fault_names(fw.all_faults)  # never cleared: the rover is gone
    assert link.nack("hop", heading_rad=0.0, speed_m_s=0.01, elevation_rad=ELEVATION)[0] in (
        NackCode.DEVICE_FAULT,  # a latched fault (lost, a seized flywheel) refuses first (ICD NACK precedence)
        NackCode.BAD_STATE,
    )


def test_failed_hop_blocks_and_clears(link: SimLink) -> None:
    link.world.inject("hopper", "failed_hop")
    x0 = link.world.rover.x_m
    assert hop_until_done(link, 0.02) == Completion.BLOCKED
    fw = firmware(link)
    assert fw.spec.fault_names(fw.all_faults) == ["failed_hop"] and link.world.rover.x_m == x0
    link.ack("clear_fault")
    assert fw.all_faults == 0
    assert hop_until_done(link, 0.02) == Completion.OK


def test_anchored_rover_does_not_launch(link: SimLink) -> None:
    anchors = SimLink(link.world, "anchor")
    assert anchors.ack("deploy", mask=0b1111, depth_m=0.2) == AckResult.STARTED
    run([link, anchors], 60.0)
    assert link.world.rover.anchor_depth_m > 0.1
    assert hop_until_done(link, 0.02) == Completion.BLOCKED
    assert firmware(link).hops == 0 and link.fault_was_set("failed_hop")
    anchors.close()


def test_bad_landing_tumbles_until_righted(link: SimLink) -> None:
    link.world.inject("hopper", "bad_landing")
    assert hop_until_done(link, 0.02) == Completion.FAULT
    fw = firmware(link)
    assert not fw.upright and "tumbled" in fw.spec.fault_names(fw.all_faults)
    link.ack("clear_fault")
    assert "tumbled" in fw.spec.fault_names(fw.all_faults)  # stays until righted
    assert link.nack("hop", heading_rad=0.0, speed_m_s=0.01, elevation_rad=ELEVATION)[0] in (
        NackCode.DEVICE_FAULT,  # a latched fault (lost, a seized flywheel) refuses first (ICD NACK precedence)
        NackCode.BAD_STATE,
    )
    assert link.ack("upright") == AckResult.STARTED
    run([link], 40.0)
    assert fw.upright and fw.all_faults == 0
    assert link.completions("upright") == [Completion.OK]


def test_stuck_flywheel_blocks_the_hop(link: SimLink) -> None:
    link.world.inject("hopper", "stuck_flywheel")
    assert hop_until_done(link, 0.02) == Completion.BLOCKED
    fw = firmware(link)
    assert "flywheel_stuck" in fw.spec.fault_names(fw.all_faults) and fw.rpm == 0.0
    link.ack("clear_fault")
    assert "flywheel_stuck" in fw.spec.fault_names(fw.all_faults)
    link.world.inject("hopper", "stuck_flywheel", stuck=False)
    link.ack("clear_fault")
    assert fw.all_faults == 0


def self_test(link: SimLink) -> int:
    """Run the built-in test over the line; its failed-checks bits."""
    frame = link.command("self_test")
    assert frame.msg_type == MsgType.ACK, describe(frame)
    (bits,) = link.spec.command("self_test").reply_layout.struct.unpack(frame.payload[ACK_LAYOUT.size :])
    return int(bits)


def test_self_test_finds_a_seized_flywheel_at_rest(link: SimLink) -> None:
    fw = firmware(link)
    assert self_test(link) == 0 and fw.all_faults == 0  # a free flywheel passes
    link.world.inject("hopper", "stuck_flywheel")
    assert fw.rpm == 0.0 and fw.all_faults == 0  # at rest, a seized rotor shows nowhere...
    assert self_test(link) == 1  # ...until the test pulses the motor: active_fault
    assert "flywheel_stuck" in fw.spec.fault_names(fw.all_faults) and link.fault_was_set("flywheel_stuck")
    link.world.inject("hopper", "stuck_flywheel", stuck=False)
    link.ack("clear_fault")
    assert self_test(link) == 0 and fw.all_faults == 0


def test_flight_is_not_stopped_by_stop_or_deadman(link: SimLink) -> None:
    assert link.ack("hop", heading_rad=0.0, speed_m_s=0.02, elevation_rad=ELEVATION) == AckResult.STARTED
    run([link], 30.0)
    fw = firmware(link)
    assert fw.hop is not None  # airborne
    link.ack("stop")
    run([link], 5.0, keepalive=False)
    assert fw.hop is not None and fw.motion == "hop"
    run([link], 2000.0, slice_s=1.0)
    assert fw.motion is None and fw.hops == 1


def test_drive_bus_off_ends_a_spin_up_and_refuses_hops(link: SimLink) -> None:
    power = SimLink(link.world, "power")
    assert link.ack("hop", heading_rad=0.0, speed_m_s=0.4, elevation_rad=ELEVATION) == AckResult.STARTED
    run([link, power], 1.0)
    assert firmware(link).rpm > 0.0
    assert power.ack("bus", index=POWER_BUSES.index("drive"), on=0) == AckResult.DONE
    run([link, power], 1.0)
    assert link.completions("hop") == [Completion.STOPPED]
    assert firmware(link).hop is None and firmware(link).mode == MODE_SETTLED
    assert link.nack("hop", heading_rad=0.0, speed_m_s=0.01, elevation_rad=ELEVATION)[0] in (
        NackCode.DEVICE_FAULT,  # a latched fault (lost, a seized flywheel) refuses first (ICD NACK precedence)
        NackCode.BAD_STATE,
    )
    power.close()
