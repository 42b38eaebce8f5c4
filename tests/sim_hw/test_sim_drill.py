"""The drill emulator over real bytes on sim:// with a virtual clock: ICD behaviour, motions, dead-man,
injected faults with their driver-visible symptoms, physics through telemetry, determinism, garbage."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator

import pytest
import serial
from hypothesis import given, settings

from base.clock import VirtualClock
from hal.icd import DRILL, Completion, EventId
from hal.protocol import AckResult, Flags, Frame, FrameDecoder, MsgType, NackCode, encode_frame
from sim_hw.devices.drill import MODE_FEEDING, MODE_IDLE, MODE_SPINNING, MODE_STALLED, DrillFirmware
from sim_hw.physics.drilling import DEFAULT_DESIGN
from sim_hw.registry import install_world, uninstall_world
from sim_hw.terrain import Layer, Site
from sim_hw.world import SimWorld
from tests.support.sim_link import SimLink, junk, mean, nack_of, run, survives

DRY = (Layer(0.0, 3.0, 1700.0, 20.0, 0.0, 100.0),)
ICY = (Layer(0.0, 0.1, 1500.0, 3.0, 0.0, 60.0), Layer(0.1, 3.0, 1900.0, 8000.0, 0.06, 60.0))


def flat_site(layers: tuple[Layer, ...]) -> Site:
    """A level site at the origin with this column."""
    return Site(0, 0.0, 0.0, 0.0, 0.0, layers)


@pytest.fixture
def make_world() -> Iterator[Callable[..., SimWorld]]:
    """Build and install a world on a virtual clock (the drill alone unless told); uninstalled after."""

    def make(layers: tuple[Layer, ...] | None = DRY, seed: int = 5, anchored: bool = True, **kw: object) -> SimWorld:
        world = SimWorld(VirtualClock(), seed=seed, devices=kw.pop("devices", ("drill",)), **kw)
        if layers is not None:
            world.sites = [flat_site(layers)]
            world.rover.x_m = world.rover.y_m = 0.0
        if anchored:
            world.rover.anchor_holding_N = 1.0e5  # the rover is held down (no anchor emulator in these tests)
        return install_world(world)

    yield make
    uninstall_world()


@pytest.fixture
def link(make_world: Callable[..., SimWorld]) -> Iterator[SimLink]:
    """A line to the drill of a fresh world over dry ground, streaming telemetry at 10 Hz."""
    world = make_world()
    link = SimLink(world, "drill")
    link.ack("set_telemetry_period", period_ms=100)
    yield link
    link.close()


def firmware(link: SimLink) -> DrillFirmware:
    device = link.world.device("drill")
    assert isinstance(device, DrillFirmware)
    return device


# ------------------------------------------------------------------------------------------ ICD rules
@pytest.mark.parametrize(
    ("name", "args", "detail"),
    [
        ("spin", {"rpm": 601.0}, 1),
        ("spin", {"rpm": -1.0}, 1),
        ("spin", {"rpm": math.nan}, 1),
        ("feed", {"depth_m": 3.5, "rate_m_s": 0.001}, 1),
        ("feed", {"depth_m": 0.5, "rate_m_s": 0.02}, 2),
        ("feed", {"depth_m": 0.5, "rate_m_s": 0.0}, 2),
        ("retract", {"rate_m_s": 0.06}, 1),
        ("percussion", {"on": 2}, 1),
        ("set_telemetry_period", {"period_ms": 60001}, 1),
        ("set_deadman", {"timeout_ms": 10}, 1),
    ],
)
def test_out_of_range_arguments_are_nacked_with_their_index(link: SimLink, name: str, args: dict, detail: int) -> None:
    assert link.nack(name, **args) == (NackCode.OUT_OF_RANGE, detail)
    assert firmware(link).mechanics.rpm_cmd == 0.0


def test_unknown_command_and_bad_length_are_nacked(link: SimLink) -> None:
    assert nack_of(link.raw(bytes([0x7E]))) == (NackCode.UNKNOWN_COMMAND, 0)
    assert nack_of(link.raw(bytes([0x10, 0x00, 0x00])))[0] == NackCode.BAD_LENGTH  # spin takes 4 bytes
    assert nack_of(link.raw(b""))[0] == NackCode.BAD_LENGTH
    assert link.ack("spin", rpm=60.0) == AckResult.DONE  # and the device still works


def test_feed_needs_rotation_power_and_no_latched_fault(link: SimLink) -> None:
    assert link.nack("feed", depth_m=0.1, rate_m_s=0.001) == (NackCode.BAD_STATE, 0)
    link.ack("spin", rpm=100.0)
    link.world.rover.bus_on["drill"] = False
    assert link.nack("feed", depth_m=0.1, rate_m_s=0.001) == (NackCode.BAD_STATE, 0)
    assert link.nack("spin", rpm=100.0) == (NackCode.BAD_STATE, 0)
    assert link.nack("percussion", on=1) == (NackCode.BAD_STATE, 0)
    link.world.rover.bus_on["drill"] = True
    assert link.ack("feed", depth_m=0.5, rate_m_s=0.001) == AckResult.STARTED


def test_feed_while_retracting_is_busy_and_retract_aborts_a_feed(link: SimLink) -> None:
    link.ack("spin", rpm=120.0)
    link.ack("feed", depth_m=0.5, rate_m_s=0.005)
    run([link], 2.0)
    assert link.ack("retract", rate_m_s=0.04) == AckResult.STARTED
    assert link.completions("feed") == [Completion.STOPPED]
    assert link.nack("feed", depth_m=0.5, rate_m_s=0.005) == (NackCode.BUSY, 0)
    run([link], 2.0)
    assert link.completions("retract") == [Completion.OK]


def test_unpowered_bus_stops_a_feed_with_a_fault_completion(link: SimLink) -> None:
    link.ack("spin", rpm=120.0)
    link.ack("feed", depth_m=0.5, rate_m_s=0.005)
    run([link], 1.0)
    link.world.rover.bus_on["drill"] = False
    run([link], 2.0)
    assert link.completions("feed") == [Completion.FAULT]
    last = link.telemetry()[-1]
    assert last["rpm"] < 1.0 and last["power_W"] == 0.0


# ------------------------------------------------------------------------------------ motions, streaming
def test_feed_reaches_its_depth_then_retract_returns_and_drops_the_cuttings(link: SimLink) -> None:
    link.ack("spin", rpm=120.0)
    assert link.telemetry() == [] or link.telemetry()[-1]["mode"] in (MODE_IDLE, MODE_SPINNING)
    assert link.ack("feed", depth_m=0.2, rate_m_s=0.005) == AckResult.STARTED
    run([link], 1.0)
    assert link.telemetry()[-1]["mode"] == MODE_FEEDING
    run([link], 45.0)
    assert link.completions("feed") == [Completion.OK]
    snap = link.snapshot()
    assert snap["depth_m"] == pytest.approx(0.2, abs=0.002)
    assert snap["mode"] == MODE_SPINNING
    expected_kg = DRY[0].bulk_density_kg_m3 * DEFAULT_DESIGN.face_area_m2 * 0.2
    assert snap["cuttings_kg"] == pytest.approx(expected_kg, rel=0.05)
    feeding = [t for t in link.telemetry() if t["mode"] == MODE_FEEDING and t["depth_m"] > 0.05]
    assert mean(t["feed_rate_m_s"] for t in feeding) == pytest.approx(0.005, rel=0.05)
    assert min(t["torque_Nm"] for t in feeding) > 0.0
    link.ack("retract", rate_m_s=0.04)
    run([link], 6.0)
    assert link.completions("retract") == [Completion.OK]
    snap = link.snapshot()
    assert snap["depth_m"] == 0.0 and snap["cuttings_kg"] == 0.0


@pytest.mark.parametrize("period_ms", [20, 100, 250])
def test_telemetry_streams_at_the_commanded_period(link: SimLink, period_ms: int) -> None:
    link.ack("set_telemetry_period", period_ms=period_ms)
    link.clear()
    run([link], 5.0, slice_s=0.5)
    frames = [f for f in link.frames if f.msg_type == MsgType.TELEMETRY]
    assert abs(len(frames) - 5000 / period_ms) <= 1
    uptimes = [t["uptime_ms"] for t in link.telemetry()]
    gaps = {b - a for a, b in itertools.pairwise(uptimes)}
    assert gaps <= {period_ms - 1, period_ms, period_ms + 1}
    link.ack("set_telemetry_period", period_ms=0)
    link.clear()
    run([link], 2.0)
    assert link.telemetry() == []


def test_dead_man_stops_a_silent_hosts_feed(link: SimLink) -> None:
    link.ack("set_deadman", timeout_ms=300)
    link.ack("spin", rpm=150.0)
    link.ack("percussion", on=1)
    link.ack("feed", depth_m=1.0, rate_m_s=0.002)
    run([link], 1.0)
    run([link], 1.5, keepalive=False)
    events = link.events()
    stops = [e for e in events if e["event"] == EventId.DEADMAN_STOP]
    assert len(stops) == 1 and stops[0]["value"] == pytest.approx(300.0, abs=60.0)
    assert link.completions("feed") == [Completion.DEADMAN]
    last = link.telemetry()[-1]
    assert last["rpm"] < 1.0 and last["feed_rate_m_s"] == 0.0 and last["percussion"] == 0
    assert "deadman" in link.fault_names(last)


def test_a_spindle_coasting_after_stop_does_not_trip_the_dead_man(link: SimLink) -> None:
    link.ack("set_deadman", timeout_ms=200)
    link.ack("spin", rpm=300.0)
    run([link], 1.0, slice_s=0.05)
    assert firmware(link).mechanics.rpm > 250.0
    link.ack("stop")  # the auger coasts down for a while: nothing is powered
    link.clear()
    run([link], 1.0, keepalive=False)
    assert [e for e in link.events() if e["event"] == EventId.DEADMAN_STOP] == []
    assert link.snapshot()["faults"] == 0


def test_stop_reports_the_return_to_idle(link: SimLink) -> None:
    link.ack("spin", rpm=150.0)
    link.clear()
    link.ack("stop")
    changes = [e for e in link.events() if e["event"] == EventId.MODE_CHANGE]
    assert [e["code"] for e in changes] == [MODE_IDLE]


def test_retract_is_the_way_out_of_a_stall_but_not_of_a_lost_link(link: SimLink) -> None:
    link.ack("spin", rpm=200.0)
    link.ack("feed", depth_m=1.0, rate_m_s=0.002)
    run([link], 2.0)
    link.world.inject("drill", "stall")
    run([link], 1.0)
    assert "stall" in link.fault_names(link.snapshot())
    assert link.ack("retract", rate_m_s=0.01) == AckResult.STARTED  # documented: accepts stall
    link.world.inject("drill", "stall", active=False)
    run([link], 0.5)
    link.ack("clear_fault")
    link.ack("set_deadman", timeout_ms=200)
    link.ack("spin", rpm=100.0)
    run([link], 0.5, keepalive=False)  # the host falls silent while the auger turns
    assert "deadman" in link.fault_names(link.snapshot())
    assert link.nack("retract", rate_m_s=0.01) == (NackCode.DEVICE_FAULT, 0)


def test_a_retry_with_another_payload_is_a_new_request(link: SimLink) -> None:
    drill = firmware(link)

    def exchange(name: str, flags: int) -> Frame:
        drill.read_output()
        drill.receive(encode_frame(Frame(DRILL.address, MsgType.COMMAND, 900, DRILL.command(name).pack({}), flags)))
        (reply,) = [f for f in FrameDecoder().feed(drill.read_output()) if f.flags & Flags.RESPONSE]
        return reply

    first = exchange("get_telemetry", 0)
    again = exchange("self_test", Flags.RETRY)  # same seq, another payload: answered afresh
    assert first.payload[0] == 0x06 and again.payload[0] == 0x04
    assert exchange("self_test", Flags.RETRY).payload == again.payload  # same payload: from the cache
    assert len(drill.received("self_test")) == 1


# ---------------------------------------------------------------------------------------- injected faults
def test_injected_stall_blocks_the_feed_collapses_rpm_and_latches_until_cleared(link: SimLink) -> None:
    link.ack("spin", rpm=200.0)
    link.ack("feed", depth_m=1.0, rate_m_s=0.002)
    run([link], 2.0)
    link.world.inject("drill", "stall")
    run([link], 1.0)
    assert link.completions("feed") == [Completion.BLOCKED]
    last = link.telemetry()[-1]
    assert last["mode"] == MODE_STALLED and "stall" in link.fault_names(last) and last["rpm"] < 1.0
    assert link.nack("spin", rpm=100.0) == (NackCode.DEVICE_FAULT, 0)
    assert link.nack("feed", depth_m=1.0, rate_m_s=0.001) == (NackCode.DEVICE_FAULT, 0)
    link.world.inject("drill", "stall", active=False)
    link.ack("clear_fault")
    snap = link.snapshot()
    assert snap["faults"] == 0 and snap["mode"] == MODE_IDLE
    assert link.ack("spin", rpm=100.0) == AckResult.DONE


def test_injected_jam_spikes_the_current_and_cannot_be_withdrawn(link: SimLink) -> None:
    link.ack("set_telemetry_period", period_ms=50)
    link.world.inject("drill", "jam")
    link.ack("spin", rpm=200.0)
    run([link], 1.0)
    samples = link.telemetry()
    assert max(t["current_A"] for t in samples) >= 40.0
    assert max(t["rpm"] for t in samples) < 1.0
    names = link.fault_names(samples[-1])
    assert "stall" in names and "overcurrent" in names
    link.ack("retract", rate_m_s=0.01)
    run([link], 0.5)
    assert link.completions("retract") == [Completion.BLOCKED]
    link.ack("clear_fault")
    assert "stall" in link.fault_names(link.snapshot())  # still seized
    link.world.inject("drill", "jam", active=False)
    link.ack("clear_fault")
    assert link.snapshot()["faults"] == 0


def test_injected_overtemp_stops_the_drill_and_stays_while_the_bit_is_hot(link: SimLink) -> None:
    link.ack("spin", rpm=120.0)
    link.ack("feed", depth_m=1.0, rate_m_s=0.002)
    run([link], 1.0)
    link.world.inject("drill", "overtemp")
    run([link], 0.5)
    last = link.telemetry()[-1]
    assert "overtemp" in link.fault_names(last) and last["bit_temp_K"] > 353.0
    assert link.completions("feed") == [Completion.FAULT]
    assert last["rpm"] < 120.0
    link.ack("clear_fault")
    assert "overtemp" in link.fault_names(link.snapshot())
    assert link.nack("spin", rpm=100.0) == (NackCode.DEVICE_FAULT, 0)
    firmware(link).mechanics.bit_temp_K = 200.0  # the bit has cooled
    link.ack("clear_fault")
    assert link.snapshot()["faults"] == 0


@pytest.mark.parametrize("kind", ["dropout", "stuck", "nan"])
def test_sensor_faults_from_the_base_show_in_telemetry(link: SimLink, kind: str) -> None:
    link.ack("spin", rpm=120.0)
    link.ack("feed", depth_m=0.5, rate_m_s=0.005)
    run([link], 2.0)
    before = link.snapshot()["depth_m"]
    link.world.inject("drill", kind, field="depth_m", duration_s=3.0)
    link.clear()
    run([link], 2.0)
    seen = [t["depth_m"] for t in link.telemetry()]
    if kind == "dropout":
        assert set(seen) == {0.0}
    elif kind == "stuck":
        assert len(set(seen)) == 1 and seen[0] == pytest.approx(before, abs=0.011)
    else:
        assert all(math.isnan(v) for v in seen)
    run([link], 2.0)
    assert not math.isnan(link.snapshot()["depth_m"])


# -------------------------------------------------------------------------------- physics through telemetry
def test_icy_ground_costs_more_torque_and_the_volatiles_sensor_sees_its_ice(
    make_world: Callable[..., SimWorld],
) -> None:
    results = {}
    for name, layers in (("dry", DRY), ("icy", ICY)):
        world = make_world(layers)
        link = SimLink(world, "drill")
        link.ack("set_telemetry_period", period_ms=200)
        link.ack("spin", rpm=120.0)
        link.ack("feed", depth_m=0.4, rate_m_s=0.002)
        run([link], 230.0, slice_s=0.5)
        assert link.completions("feed") == [Completion.OK]
        deep = [t for t in link.telemetry() if t["depth_m"] > 0.2 and t["mode"] == MODE_FEEDING]
        results[name] = (
            mean(t["torque_Nm"] for t in deep),
            mean(t["volatiles_ice_fraction"] for t in deep),
            mean(t["wob_N"] for t in deep),
        )
        link.close()
        uninstall_world()
    assert results["icy"][0] > 3.0 * results["dry"][0]
    assert results["icy"][2] > 5.0 * results["dry"][2]
    assert results["icy"][1] == pytest.approx(0.06, abs=0.01)
    assert results["dry"][1] < 0.01


def test_strong_ground_stalls_a_choked_auger(make_world: Callable[..., SimWorld]) -> None:
    world = make_world((Layer(0.0, 3.0, 2000.0, 3000.0, 0.0, 100.0),))
    link = SimLink(world, "drill")
    link.ack("set_telemetry_period", period_ms=50)
    link.ack("spin", rpm=60.0)
    link.ack("feed", depth_m=0.3, rate_m_s=0.005)
    run([link], 3.0)
    assert link.completions("feed") == [Completion.BLOCKED]
    samples = link.telemetry()
    assert "stall" in link.fault_names(samples[-1]) and samples[-1]["rpm"] < 1.0
    assert max(t["torque_Nm"] for t in samples) == pytest.approx(40.0, abs=0.5)
    link.close()


# ----------------------------------------------------------------------------------- determinism, garbage
def _session(seed: int) -> list[tuple[int, int, bytes]]:
    world = install_world(SimWorld(VirtualClock(), seed=seed, devices=("drill",)))
    world.rover.anchor_holding_N = 1.0e5
    link = SimLink(world, "drill")
    link.ack("set_telemetry_period", period_ms=100)
    link.ack("spin", rpm=90.0)
    link.ack("percussion", on=1)
    link.ack("feed", depth_m=0.15, rate_m_s=0.004)
    run([link], 45.0, slice_s=0.5)
    link.ack("retract", rate_m_s=0.02)
    run([link], 10.0, slice_s=0.5)
    link.close()
    uninstall_world()
    return [(f.msg_type, f.seq, f.payload) for f in link.frames]


def test_same_seed_gives_identical_telemetry_bytes() -> None:
    first, second, other = _session(11), _session(11), _session(12)
    assert len(first) > 500
    assert first == second
    assert first != other


def test_garbage_never_crashes_the_drill(make_world: Callable[..., SimWorld]) -> None:
    world = make_world()
    world.device("drill").deadman_ms = 60000
    port = serial.serial_for_url("sim://drill", timeout=0)

    @settings(max_examples=2000, deadline=None)
    @given(data=junk("drill"))
    def check(data: bytes) -> None:
        assert survives(port, DRILL.address, data)

    check()
    port.close()


def test_a_frame_of_another_protocol_version_is_answered_with_the_version_only_when_addressed_to_the_drill(
    make_world: Callable[..., SimWorld],
) -> None:
    world = make_world()
    port = serial.serial_for_url("sim://drill", timeout=0)
    for address, seq, answered in ((DRILL.address, 1, True), (0xFF, 2, True), (DRILL.address + 1, 3, False)):
        stop = DRILL.command("stop").pack({})
        port.write(encode_frame(Frame(address, MsgType.COMMAND, seq, stop, version=2)))
        world.clock.sleep(0.05)
        frames = [f for f in FrameDecoder().feed(port.read(4096)) if f.msg_type != MsgType.TELEMETRY]
        if not answered:
            assert frames == [], f"a version-2 frame to address {address:#x} was answered: {frames}"
            continue
        assert [(f.address, f.seq, f.flags & Flags.RESPONSE) for f in frames] == [(DRILL.address, seq, Flags.RESPONSE)]
        assert nack_of(frames[0]) == (NackCode.UNSUPPORTED_VERSION, 1)  # detail: the version the drill speaks
    assert world.device("drill").history == []  # nothing was acted on
    port.close()
