"""The anchor emulator over real bytes on sim:// with a virtual clock: ICD behaviour, deploy / preload /
retract motions, holding force, dead-man, slip (injected and physical), determinism and garbage."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import pytest
import serial
from hypothesis import given, settings

from base.clock import VirtualClock
from hal.icd import ANCHOR, Completion, EventId
from hal.protocol import AckResult, NackCode
from sim_hw.devices.anchor import MODE_DEPLOYING, MODE_HOLDING, MODE_IDLE, AnchorFirmware
from sim_hw.registry import install_world, uninstall_world
from sim_hw.terrain import Layer, Site
from sim_hw.world import SimWorld
from tests.support.sim_link import SimLink, junk, nack_of, run, survives

#: Dry lunar-like column: cohesion rising with depth (UCS 2.5 -> 19 kPa), as the Lunar Sourcebook gives.
DRY = (
    Layer(0.0, 0.15, 1500.0, 2.5, 0.0, 100.0),
    Layer(0.15, 0.3, 1650.0, 8.0, 0.0, 100.0),
    Layer(0.3, 3.0, 1750.0, 19.0, 0.0, 100.0),
)
#: Ice-cemented ground below 0.12 m: anchors seat at refusal.
ICY = (Layer(0.0, 0.12, 1500.0, 2.5, 0.0, 60.0), Layer(0.12, 3.0, 1900.0, 9000.0, 0.06, 60.0))
ALL = 0b1111


@pytest.fixture
def make_world() -> Iterator[Callable[..., SimWorld]]:
    """Build and install a world on a virtual clock with a level site of the given column."""

    def make(
        layers: tuple[Layer, ...] = DRY, seed: int = 3, devices: tuple[str, ...] = ("anchor",), body: str = "moon"
    ) -> SimWorld:
        world = SimWorld(VirtualClock(), seed=seed, devices=devices, body=body)
        world.sites = [Site(0, 0.0, 0.0, 0.0, 0.0, layers)]
        world.rover.x_m = world.rover.y_m = 0.0
        return install_world(world)

    yield make
    uninstall_world()


@pytest.fixture
def link(make_world: Callable[..., SimWorld]) -> Iterator[SimLink]:
    """A line to the anchors of a fresh world over dry ground, streaming telemetry at 10 Hz."""
    link = SimLink(make_world(), "anchor")
    link.ack("set_telemetry_period", period_ms=100)
    yield link
    link.close()


def deploy(link: SimLink, depth_m: float = 0.3, mask: int = ALL, seconds: float = 30.0) -> None:
    assert link.ack("deploy", mask=mask, depth_m=depth_m) == AckResult.STARTED
    run([link], seconds)


# ------------------------------------------------------------------------------------------ ICD rules
@pytest.mark.parametrize(
    ("name", "args", "detail"),
    [
        ("deploy", {"mask": 0, "depth_m": 0.3}, 1),
        ("deploy", {"mask": 16, "depth_m": 0.3}, 1),
        ("deploy", {"mask": 15, "depth_m": 0.6}, 2),
        ("deploy", {"mask": 15, "depth_m": 0.001}, 2),
        ("deploy", {"mask": 15, "depth_m": math.inf}, 2),
        ("retract", {"mask": 0}, 1),
        ("preload", {"mask": 15, "force_N": 2500.0}, 2),
        ("preload", {"mask": 15, "force_N": -1.0}, 2),
        ("preload", {"mask": 255, "force_N": 100.0}, 1),
    ],
)
def test_out_of_range_arguments_are_nacked_with_their_index(link: SimLink, name: str, args: dict, detail: int) -> None:
    assert link.nack(name, **args) == (NackCode.OUT_OF_RANGE, detail)


def test_unknown_command_bad_length_and_missing_prerequisites(link: SimLink) -> None:
    assert nack_of(link.raw(bytes([0x20])))[0] == NackCode.UNKNOWN_COMMAND
    assert nack_of(link.raw(bytes([0x10, 0x0F])))[0] == NackCode.BAD_LENGTH
    assert link.nack("preload", mask=ALL, force_N=100.0) == (NackCode.BAD_STATE, 0)  # nothing in the ground
    link.world.rover.bus_on["anchor"] = False
    assert link.nack("deploy", mask=ALL, depth_m=0.2) == (NackCode.BAD_STATE, 0)
    link.world.rover.bus_on["anchor"] = True
    assert link.ack("deploy", mask=ALL, depth_m=0.2) == AckResult.STARTED


# ------------------------------------------------------------------------------------ motions, holding
def test_deploy_preload_anchored_then_retract(link: SimLink) -> None:
    rover = link.world.rover
    assert link.ack("deploy", mask=ALL, depth_m=0.3) == AckResult.STARTED
    run([link], 2.0)
    assert link.telemetry()[-1]["mode"] == MODE_DEPLOYING
    run([link], 28.0)
    assert link.completions("deploy") == [Completion.OK]
    snap = link.snapshot()
    assert snap["deployed_mask"] == ALL and snap["mode"] == MODE_IDLE
    assert all(snap[f"depth{i}_m"] == pytest.approx(0.3, abs=1e-4) for i in range(4))
    assert snap["holding_N"] == pytest.approx(rover.anchor_holding_N) and snap["holding_N"] > 1600.0
    assert not rover.anchored
    link.ack("preload", mask=ALL, force_N=300.0)
    run([link], 3.0)
    assert link.completions("preload") == [Completion.OK]
    snap = link.snapshot()
    assert all(snap[f"preload{i}_N"] == pytest.approx(300.0, abs=3.0) for i in range(4))
    assert snap["slip_mask"] == 0 and snap["faults"] == 0 and rover.anchored
    assert snap["mode"] == MODE_HOLDING
    run([link], 3.0, keepalive=False)  # a passive mode: the dead-man leaves it alone
    assert link.snapshot()["mode"] == MODE_HOLDING
    assert not [e for e in link.events() if e["event"] == EventId.DEADMAN_STOP]
    link.ack("retract", mask=ALL)
    run([link], 20.0)
    assert link.completions("retract") == [Completion.OK]
    snap = link.snapshot()
    assert snap["deployed_mask"] == 0 and snap["holding_N"] == 0.0 and not rover.anchored
    assert all(snap[f"depth{i}_m"] == 0.0 and snap[f"preload{i}_N"] == 0.0 for i in range(4))


def test_deploying_shallower_backs_the_anchors_out(link: SimLink) -> None:
    deploy(link, 0.3)
    holding_deep = link.snapshot()["holding_N"]
    deploy(link, 0.15, mask=0b0011, seconds=15.0)
    assert link.completions("deploy") == [Completion.OK, Completion.OK]
    snap = link.snapshot()
    assert [snap[f"depth{i}_m"] for i in range(4)] == pytest.approx([0.15, 0.15, 0.3, 0.3], abs=1e-4)
    assert snap["deployed_mask"] == ALL and snap["holding_N"] < holding_deep


def test_deploy_speed_follows_the_ground_strength(make_world: Callable[..., SimWorld]) -> None:
    times = {}
    for name, scale in (("weak", 1.0), ("strong", 3.0)):
        layers = tuple(
            Layer(la.top_m, la.bottom_m, la.bulk_density_kg_m3, la.strength_kPa * scale, 0.0, 100.0) for la in DRY
        )
        link = SimLink(make_world(layers), "anchor")
        link.ack("deploy", mask=0b0001, depth_m=0.4)
        t0 = link.world.t
        while not link.completions("deploy"):
            run([link], 0.5)
        times[name] = link.world.t - t0
        assert link.completions("deploy") == [Completion.OK]
        link.close()
        uninstall_world()
    assert times["strong"] > 1.2 * times["weak"]


def test_anchors_seat_at_refusal_in_ice_cemented_ground(make_world: Callable[..., SimWorld]) -> None:
    link = SimLink(make_world(ICY), "anchor")
    deploy(link, 0.4)
    assert link.completions("deploy") == [Completion.OK]
    snap = link.snapshot()
    assert snap["deployed_mask"] == ALL
    assert all(0.12 < snap[f"depth{i}_m"] < 0.13 for i in range(4))  # stopped in the icy layer's top
    assert snap["holding_N"] > 4000.0
    link.close()


def test_preload_beyond_the_capacity_slips(link: SimLink) -> None:
    deploy(link, 0.1)
    capacity = link.snapshot()["holding_N"] / 4
    link.ack("preload", mask=ALL, force_N=min(2000.0, 3.0 * capacity))
    run([link], 20.0)
    assert link.completions("preload") == [Completion.BLOCKED]
    snap = link.snapshot()
    assert "slip" in link.fault_names(snap) and snap["slip_mask"] == ALL
    assert max(snap[f"preload{i}_N"] for i in range(4)) < 1.2 * capacity
    assert not link.world.rover.anchored
    code = link.spec.faults.index("slip")  # the event carries the measured tension it slipped at (ICD)
    [slip] = [e for e in link.events() if e["event"] == EventId.FAULT_SET and e["code"] == code]
    assert 0.8 * capacity < slip["value"] < 1.2 * capacity


def test_telemetry_streams_at_the_commanded_period(link: SimLink) -> None:
    link.ack("set_telemetry_period", period_ms=50)
    link.clear()
    run([link], 4.0, slice_s=0.5)
    assert abs(len(link.telemetry()) - 80) <= 1


def test_dead_man_stops_a_deploy_when_the_host_falls_silent(link: SimLink) -> None:
    link.ack("set_deadman", timeout_ms=200)
    link.ack("deploy", mask=ALL, depth_m=0.5)
    run([link], 1.0)
    run([link], 1.0, keepalive=False)
    assert [e for e in link.events() if e["event"] == EventId.DEADMAN_STOP]
    assert link.completions("deploy") == [Completion.DEADMAN]
    depths = [link.snapshot()[f"depth{i}_m"] for i in range(4)]
    run([link], 2.0)
    assert [link.snapshot()[f"depth{i}_m"] for i in range(4)] == depths  # the drives stopped
    assert 0.0 < max(depths) < 0.5


def test_unpowered_bus_ends_a_deploy_with_a_fault(link: SimLink) -> None:
    link.ack("deploy", mask=ALL, depth_m=0.5)
    run([link], 1.0)
    link.world.rover.bus_on["anchor"] = False
    run([link], 0.5)
    assert link.completions("deploy") == [Completion.FAULT]


# ------------------------------------------------------------------------------------------------- slip
def test_injected_slip_shows_flags_fault_and_lost_holding(link: SimLink) -> None:
    deploy(link, 0.3)
    link.ack("preload", mask=ALL, force_N=200.0)
    run([link], 3.0)
    assert link.world.rover.anchored
    link.world.inject("anchor", "slip")
    run([link], 0.5)
    last = link.telemetry()[-1]
    assert last["slip_mask"] == ALL and "slip" in link.fault_names(last) and last["holding_N"] == 0.0
    assert not link.world.rover.anchored
    link.ack("clear_fault")
    assert "slip" in link.fault_names(link.snapshot())  # the cause is still there
    link.world.inject("anchor", "slip", active=False)
    link.ack("clear_fault")
    run([link], 0.2)
    snap = link.snapshot()
    assert snap["faults"] == 0 and snap["slip_mask"] == 0 and link.world.rover.anchored


def test_thrust_beyond_weight_and_holding_lifts_the_body_and_pulls_the_anchors(link: SimLink) -> None:
    deploy(link, 0.1)
    rover = link.world.rover
    holding = rover.anchor_holding_N
    weight = rover.mass_kg * link.world.body.gravity_m_s2
    rover.drill_thrust_N = 0.9 * (holding + weight)
    run([link], 1.0)
    assert rover.body_lift_m == 0.0 and link.snapshot()["slip_mask"] == 0
    rover.drill_thrust_N = 1.5 * (holding + weight)  # a 0.1 s shove
    run([link], 0.1, slice_s=0.05)
    snap = link.snapshot()
    assert rover.body_lift_m > 0.005 and rover.body_velocity_m_s > 0.0
    assert snap["slip_mask"] == ALL and "slip" in link.fault_names(snap)
    assert snap["holding_N"] < holding  # the anchors came out with the body
    rover.drill_thrust_N = 0.0
    run([link], 3.0)
    assert rover.body_lift_m == 0.0 and rover.body_velocity_m_s == 0.0  # fell back under lunar gravity


# ----------------------------------------------------------------------------------- determinism, garbage
def _session(seed: int) -> list[tuple[int, int, bytes]]:
    world = SimWorld(VirtualClock(), seed=seed, devices=("anchor",))
    install_world(world)
    link = SimLink(world, "anchor")
    link.ack("set_telemetry_period", period_ms=100)
    link.ack("deploy", mask=ALL, depth_m=0.3)
    run([link], 25.0, slice_s=0.5)
    link.ack("preload", mask=ALL, force_N=250.0)
    run([link], 5.0, slice_s=0.5)
    link.close()
    uninstall_world()
    return [(f.msg_type, f.seq, f.payload) for f in link.frames]


def test_same_seed_gives_identical_telemetry_bytes() -> None:
    first, second, other = _session(21), _session(21), _session(22)
    assert len(first) > 250
    assert first == second
    assert first != other


def test_garbage_never_crashes_the_anchors(make_world: Callable[..., SimWorld]) -> None:
    world = make_world()
    device = world.device("anchor")
    assert isinstance(device, AnchorFirmware)
    port = serial.serial_for_url("sim://anchor", timeout=0)

    @settings(max_examples=2000, deadline=None)
    @given(data=junk("anchor"))
    def check(data: bytes) -> None:
        assert survives(port, ANCHOR.address, data)

    check()
    port.close()


def test_a_percussive_pilot_seats_the_anchors_where_ice_cements_the_ground_near_the_surface(
    make_world: Callable[..., SimWorld],
) -> None:
    times = {}
    for ucs_kPa in (10_000.0, 40_000.0):
        shallow_ice = (Layer(0.0, 0.02, 1500.0, 2.5, 0.0, 60.0), Layer(0.02, 3.0, 1900.0, ucs_kPa, 0.06, 60.0))
        link = SimLink(make_world(shallow_ice, devices=("anchor", "power")), "anchor")
        link.ack("set_telemetry_period", period_ms=500)
        assert link.ack("deploy", mask=ALL, depth_m=0.3) == AckResult.STARTED
        t0 = link.world.t
        while not link.completions("deploy") and link.world.t - t0 < 1800.0:
            run([link], 5.0)
        times[ucs_kPa] = link.world.t - t0
        assert link.completions("deploy") == [Completion.OK]
        snap = link.snapshot()
        # seated on the torque criterion once 30 % of the commanded depth is in (the helix alone refused at 2 cm)
        assert all(0.085 < snap[f"depth{i}_m"] < 0.1 for i in range(4))
        assert snap["holding_N"] > 4000.0
        assert link.world.rover.bus_on.get("anchor", True)  # four pilots hammering stay within the bus fuse
        link.close()
        uninstall_world()
    # the pilot advances at the rate its hammer breaks the ground: stronger ground, slower
    assert times[40_000.0] > 2.5 * times[10_000.0]
