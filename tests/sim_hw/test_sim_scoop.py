"""The scoop emulator through real bytes over ``sim://`` on a virtual clock (arm motion, digging, load cell,
dumping into the extractor, faults, power, dead-man), and the excavation model behind it."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
import serial
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from base.clock import VirtualClock
from hal.icd import NACK_LAYOUT, SCOOP, Completion, EventId
from hal.protocol import AckResult, Frame, MsgType, NackCode, encode_frame
from sim_hw.devices.scoop import (
    ARM_LENGTH_M,
    BLADE,
    BUCKET_VOLUME_M3,
    BUS_V,
    CARRY_ANGLE_RAD,
    DUMP_ANGLE_RAD,
    PIVOT_HEIGHT_M,
    STROKE_M,
    ScoopFirmware,
    lip_angle_for_depth,
)
from sim_hw.physics.excavation import (
    Blade,
    CutResistance,
    CutSoil,
    friction_angle_rad,
    soil_between,
)
from sim_hw.physics.icy_ground import cohesion_from_ucs
from sim_hw.registry import install_world, uninstall_world
from sim_hw.terrain import Layer, Site
from sim_hw.world import SimWorld
from tests.support.sim_link import SimLink, run

SPEC = SCOOP


def uniform_site(
    density: float = 1500.0,
    ucs_kPa: float = 2.0,
    ice: float = 0.0,
    temp_K: float = 90.0,
    *,
    icy_below_m: float | None = None,
    icy_fraction: float = 0.0,
) -> Site:
    """A test site: one uniform soil, optionally with an icy layer (same strength) below ``icy_below_m``."""
    if icy_below_m is None:
        layers = (Layer(0.0, 3.0, density, ucs_kPa, ice, temp_K),)
    else:
        layers = (
            Layer(0.0, icy_below_m, density, ucs_kPa, ice, temp_K),
            Layer(icy_below_m, 3.0, density, ucs_kPa, icy_fraction, temp_K),
        )
    return Site(index=0, x_m=0.0, y_m=0.0, slope_rad=0.0, slope_azimuth_rad=0.0, layers=layers)


class Host(SimLink):
    """The scoop (and the extractor, if present) in a world of its own, spoken to over the shared
    :class:`SimLink`."""

    def __init__(
        self, *, body: str = "moon", seed: int = 5, site: Site | None = None, devices: tuple[str, ...] = ("scoop",)
    ) -> None:
        self.clock = VirtualClock()
        world = install_world(SimWorld(self.clock, body=body, seed=seed, devices=devices))
        if site is not None:
            world.sites = [site]
            world.rover.x_m, world.rover.y_m = site.x_m, site.y_m
        self.firmware: ScoopFirmware = world.device("scoop")  # type: ignore[assignment]
        super().__init__(world, "scoop", retries=2)

    def run(self, seconds: float, *, beat_s: float = 0.2) -> None:
        """Let ``seconds`` of clock time pass, sending a heartbeat every ``beat_s`` and reading everything."""
        run([self], seconds, slice_s=beat_s)

    def finish(self, command: str, timeout_s: float = 120.0, seen: int | None = None) -> Completion:
        """Run until ``command``'s next COMMAND_COMPLETE arrives (after the first ``seen``, by default those
        already here); return it."""
        seen = len(self.completions(command)) if seen is None else seen
        waited = 0.0
        while len(self.completions(command)) == seen and waited < timeout_s:
            self.run(0.5)
            waited += 0.5
        done = self.completions(command)
        assert len(done) > seen, f"{command} did not complete within {timeout_s} s"
        return done[-1]

    def faults(self) -> list[str]:
        """Names of the fault bits set now (asked for with ``get_telemetry``)."""
        return self.fault_names(self.snapshot())

    def close(self) -> None:
        """Close the line and forget the world."""
        super().close()
        uninstall_world()


@pytest.fixture
def host() -> Iterator[Host]:
    rig = Host(site=uniform_site())
    try:
        yield rig
    finally:
        rig.close()


def _dig(rig: Host, depth_m: float) -> Completion:
    seen = len(rig.completions("dig"))  # a dig blocked at once may complete in the same exchange as its ACK
    assert rig.ack("dig", depth_m=depth_m) == AckResult.STARTED
    return rig.finish("dig", 300.0, seen)


# ------------------------------------------------------------------------------------------ motion
def test_move_slews_at_the_commanded_speed_and_shows_in_telemetry(host: Host) -> None:
    host.ack("set_telemetry_period", period_ms=100)
    start = host.snapshot()["arm_angle_rad"]
    assert start == pytest.approx(CARRY_ANGLE_RAD)
    assert host.ack("move", angle_rad=2.0, speed_rad_s=0.1) == AckResult.STARTED
    host.run(5.0)
    mid = host.telemetry()[-1]
    assert SPEC.mode_name(mid["mode"]) == "moving"
    assert mid["arm_angle_rad"] == pytest.approx(start + 0.5, abs=0.02)
    assert mid["current_A"] > 0.0 and mid["power_W"] == pytest.approx(BUS_V * mid["current_A"], rel=1e-5)
    assert host.finish("move", 10.0) == Completion.OK
    done = host.snapshot()
    assert done["arm_angle_rad"] == pytest.approx(2.0, abs=1e-6)
    assert SPEC.mode_name(done["mode"]) == "idle" and done["current_A"] == 0.0
    angles = [f["arm_angle_rad"] for f in host.telemetry()]
    assert angles == sorted(angles)


def test_move_into_the_ground_stops_blocked_at_contact(host: Host) -> None:
    host.ack("move", angle_rad=-0.59, speed_rad_s=0.5)
    assert host.finish("move", 20.0) == Completion.BLOCKED
    contact = math.asin(-PIVOT_HEIGHT_M / ARM_LENGTH_M)
    assert host.snapshot()["arm_angle_rad"] == pytest.approx(contact, abs=1e-6)
    assert lip_angle_for_depth(0.0) == pytest.approx(contact)


def test_a_new_motion_replaces_the_running_one(host: Host) -> None:
    host.ack("move", angle_rad=2.1, speed_rad_s=0.05)
    host.run(1.0)
    host.ack("lift")
    assert host.completions("move") == [Completion.STOPPED]
    assert host.finish("lift", 10.0) == Completion.OK
    assert host.snapshot()["arm_angle_rad"] == pytest.approx(CARRY_ANGLE_RAD)


def test_arguments_outside_the_icd_are_refused(host: Host) -> None:
    assert host.nack("move", angle_rad=2.5, speed_rad_s=0.1) == (NackCode.OUT_OF_RANGE, 1)
    assert host.nack("move", angle_rad=1.0, speed_rad_s=0.0) == (NackCode.OUT_OF_RANGE, 2)
    assert host.nack("move", angle_rad=math.inf, speed_rad_s=0.1) == (NackCode.OUT_OF_RANGE, 1)
    assert host.nack("dig", depth_m=0.2) == (NackCode.OUT_OF_RANGE, 1)
    assert host.nack("dig", depth_m=0.001) == (NackCode.OUT_OF_RANGE, 1)
    short = host.transport.request(MsgType.COMMAND, bytes([SPEC.command("dig").id, 1]))
    assert NACK_LAYOUT.unpack(short.payload)["code"] == NackCode.BAD_LENGTH
    assert host.snapshot()["arm_angle_rad"] == pytest.approx(CARRY_ANGLE_RAD)


def test_telemetry_streams_at_the_commanded_rate(host: Host) -> None:
    host.ack("set_telemetry_period", period_ms=50)
    start = len(host.telemetry())
    host.run(5.0)
    assert len(host.telemetry()) - start == pytest.approx(100, abs=1)


# ------------------------------------------------------------------------------------------ digging
@pytest.mark.parametrize(("density", "depth"), [(1500.0, 0.02), (1800.0, 0.02), (1500.0, 0.03)])
def test_fill_is_density_times_swept_volume(density: float, depth: float) -> None:
    rig = Host(site=uniform_site(density=density))
    try:
        rig.ack("set_telemetry_period", period_ms=500)
        assert _dig(rig, depth) == Completion.OK
        assert "digging" in {SPEC.mode_name(f["mode"]) for f in rig.telemetry()}
        expected = density * min(BLADE.width_m * depth * STROKE_M, BUCKET_VOLUME_M3)
        assert rig.snapshot()["bucket_load_kg"] == pytest.approx(expected, abs=0.002)  # 1 g load cell
        assert rig.firmware.trench_m[0] == pytest.approx(
            depth * min(1.0, BUCKET_VOLUME_M3 / (BLADE.width_m * depth * STROKE_M))
        )
    finally:
        rig.close()


def test_a_deep_cut_is_capped_by_the_bucket_volume() -> None:
    rig = Host(site=uniform_site(density=1600.0))
    try:
        assert _dig(rig, 0.099) == Completion.OK
        assert rig.snapshot()["bucket_load_kg"] == pytest.approx(1600.0 * BUCKET_VOLUME_M3, abs=0.002)
        assert _dig(rig, 0.05) == Completion.OK  # a full bucket takes nothing more
        assert rig.snapshot()["bucket_load_kg"] == pytest.approx(1600.0 * BUCKET_VOLUME_M3, abs=0.002)
    finally:
        rig.close()


def _peak_force(site: Site, depth: float, body: str = "moon") -> float:
    rig = Host(site=site, body=body)
    try:
        rig.ack("set_telemetry_period", period_ms=50)
        assert _dig(rig, depth) == Completion.OK
        return max(f["dig_force_N"] for f in rig.telemetry())
    finally:
        rig.close()


def test_denser_stronger_soil_needs_more_force() -> None:
    loose = _peak_force(uniform_site(density=1400.0, ucs_kPa=1.5), 0.04)
    dense = _peak_force(uniform_site(density=1750.0, ucs_kPa=1.5), 0.04)
    strong = _peak_force(uniform_site(density=1400.0, ucs_kPa=8.0), 0.04)
    assert 0.0 < loose < dense and loose < strong
    assert _peak_force(uniform_site(density=1400.0, ucs_kPa=1.5), 0.06) > loose  # deeper cut, more force


def test_repeated_digs_deepen_the_trench_into_the_ice() -> None:
    site = uniform_site(density=1600.0, ucs_kPa=3.0, icy_below_m=0.05, icy_fraction=0.04)
    rig = Host(site=site, devices=("scoop", "extractor"))
    try:
        ice = []
        for _ in range(4):
            assert _dig(rig, 0.03) == Completion.OK
            ice.append(rig.firmware.bucket_ice_kg / rig.firmware.bucket_kg)
            assert rig.ack("lift") == AckResult.STARTED
            rig.finish("lift")
            assert rig.ack("dump") == AckResult.STARTED
            rig.finish("dump")
        assert ice[0] == 0.0 and ice[-1] == pytest.approx(0.04)
        assert rig.firmware.trench_m[0] == pytest.approx(4 * 0.03)
    finally:
        rig.close()


def test_dig_beyond_the_reach_is_blocked() -> None:
    rig = Host(site=uniform_site(density=1400.0, ucs_kPa=0.5))
    try:
        reach = -(PIVOT_HEIGHT_M + ARM_LENGTH_M * math.sin(SPEC.command("move").args[0].lo))
        rig.firmware.trench_m[0] = reach - 0.02  # the trench is nearly as deep as the arm reaches
        assert _dig(rig, 0.05) == Completion.BLOCKED  # only 2 cm of the 5 cm cut can be made
        partial = rig.firmware.bucket_kg
        assert partial == pytest.approx(1400.0 * BLADE.width_m * 0.02 * STROKE_M, rel=0.01)
        rig.firmware.trench_m[0] = reach + 0.01
        assert _dig(rig, 0.05) == Completion.BLOCKED  # floor out of reach: nothing dug
        assert rig.firmware.bucket_kg == partial
    finally:
        rig.close()


# ----------------------------------------------------------------------------- dumping, load cell
def test_scoop_to_extractor_transfer_conserves_mass() -> None:
    site = uniform_site(density=1650.0, ucs_kPa=2.0, ice=0.03, temp_K=80.0)
    rig = Host(site=site, devices=("scoop", "extractor"))
    try:
        extractor = rig.world.device("extractor")
        assert _dig(rig, 0.03) == Completion.OK
        load = rig.snapshot()["bucket_load_kg"]
        bucket, bucket_ice = rig.firmware.bucket_kg, rig.firmware.bucket_ice_kg
        rig.ack("lift")
        assert rig.finish("lift") == Completion.OK
        assert rig.ack("dump") == AckResult.STARTED
        rig.run(2.0)
        assert SPEC.mode_name(rig.snapshot()["mode"]) == "dumping"
        assert rig.finish("dump") == Completion.OK
        after = rig.snapshot()
        assert after["arm_angle_rad"] == pytest.approx(DUMP_ANGLE_RAD)
        assert after["bucket_load_kg"] == 0.0 and after["dumped_kg"] == pytest.approx(load, abs=0.002)
        chamber = extractor.chamber
        left = chamber.vapour_kg + chamber.vented_kg + chamber.trap_kg  # a trace sublimates in the open hopper
        assert chamber.loaded_kg + left == pytest.approx(bucket, rel=1e-12)
        assert chamber.water_loaded_kg == pytest.approx(bucket_ice, rel=1e-12)
        assert chamber.water_loaded_kg == pytest.approx(0.03 * bucket, rel=1e-9)
        assert rig.firmware.spilled_kg == 0.0
    finally:
        rig.close()


def test_dumping_on_a_sealed_lid_spills_the_load() -> None:
    rig = Host(site=uniform_site(), devices=("scoop", "extractor"))
    try:
        extractor = rig.world.device("extractor")
        extractor.cmd_lid(1)  # the extractor's host sealed it
        rig.run(6.0)
        assert _dig(rig, 0.02) == Completion.OK
        bucket = rig.firmware.bucket_kg
        rig.ack("dump")
        assert rig.finish("dump") == Completion.OK  # the bucket tipped; the scoop cannot see where it went
        assert rig.snapshot()["dumped_kg"] == pytest.approx(bucket, abs=0.002)
        assert extractor.chamber.loaded_kg == 0.0
        assert rig.firmware.spilled_kg == pytest.approx(bucket) == pytest.approx(extractor.refused_kg)
    finally:
        rig.close()


def test_load_cell_reads_force_over_its_calibration_gravity(host: Host) -> None:
    assert _dig(host, 0.02) == Completion.OK
    mass = host.firmware.bucket_kg
    assert host.snapshot()["bucket_load_kg"] == pytest.approx(mass, abs=0.001)
    host.firmware.g_calibration_m_s2 = 9.80665  # a cell left with its Earth calibration
    assert host.snapshot()["bucket_load_kg"] == pytest.approx(mass * 1.62 / 9.80665, abs=0.001)


def test_in_microgravity_the_load_cell_reports_the_volume_estimate() -> None:
    rig = Host(body="asteroid", site=uniform_site(density=650.0, ucs_kPa=0.01, temp_K=250.0))
    try:
        assert _dig(rig, 0.03) == Completion.OK
        fw = rig.firmware
        reading = rig.snapshot()["bucket_load_kg"]
        assert reading == pytest.approx(fw.fill_density_kg_m3 * fw.fill_volume_m3, rel=1e-6)
        assert reading != pytest.approx(fw.bucket_kg, rel=0.05)  # an estimate, not a weighing
        assert fw.bucket_kg == pytest.approx(650.0 * fw.fill_volume_m3)
    finally:
        rig.close()


# ------------------------------------------------------------------------------------------ faults
def test_overload_during_a_dig_blocks_it_and_latches(host: Host) -> None:
    host.ack("dig", depth_m=0.03)
    for _ in range(200):
        host.run(0.2)
        if host.firmware.dig_force_N > 0.0:
            break
    host.world.inject("scoop", "overload")
    host.run(0.2)
    assert host.completions("dig") == [Completion.BLOCKED]
    assert host.faults() == ["overload"]
    assert host.nack("lift") == (NackCode.DEVICE_FAULT, 0)
    host.ack("clear_fault")
    assert host.faults() == []
    host.ack("lift")
    assert host.finish("lift") == Completion.OK


def test_an_armed_obstruction_stops_the_next_dig(host: Host) -> None:
    host.world.inject("scoop", "overload")
    assert _dig(host, 0.03) == Completion.BLOCKED
    assert "overload" in host.faults()
    assert host.firmware.peak_force_N > 600.0


def test_soil_too_strong_for_the_drive_overloads() -> None:
    rig = Host(site=uniform_site(density=1900.0, ucs_kPa=5000.0))  # ice-cemented: concrete-like
    try:
        assert _dig(rig, 0.05) == Completion.BLOCKED
        assert rig.faults() == ["overload"]
        assert rig.firmware.bucket_kg < 0.1
    finally:
        rig.close()


def test_overcurrent_ends_the_motion_with_fault(host: Host) -> None:
    host.world.inject("scoop", "overcurrent", duration_s=3.0)
    host.ack("move", angle_rad=1.5, speed_rad_s=0.1)
    assert host.finish("move", 5.0) == Completion.FAULT
    assert host.faults() == ["overcurrent"]
    assert host.snapshot()["current_A"] == 0.0
    host.run(3.0)
    host.ack("clear_fault")
    host.ack("move", angle_rad=1.5, speed_rad_s=0.1)
    assert host.finish("move", 10.0) == Completion.OK


def test_load_cell_sensor_fault_shows_and_latches(host: Host) -> None:
    host.world.inject("scoop", "nan", field="bucket_load_kg", duration_s=2.0)
    host.run(0.5)
    state = host.snapshot()
    assert math.isnan(state["bucket_load_kg"]) and "load_cell" in SPEC.fault_names(state["faults"])
    host.ack("clear_fault")
    assert "load_cell" in host.faults()  # the reading is still invalid
    host.run(2.0)
    host.ack("clear_fault")
    assert host.faults() == []


def test_power_loss_stops_the_arm_and_refuses_motion(host: Host) -> None:
    host.ack("move", angle_rad=2.0, speed_rad_s=0.1)
    host.run(2.0)
    host.world.rover.bus_on["scoop"] = False
    host.run(1.0)
    assert host.completions("move") == [Completion.BLOCKED]
    stopped = host.snapshot()
    assert stopped["power_W"] == 0.0
    host.run(2.0)
    assert host.snapshot()["arm_angle_rad"] == stopped["arm_angle_rad"]
    assert host.nack("move", angle_rad=1.0, speed_rad_s=0.1) == (NackCode.BAD_STATE, 0)
    host.world.rover.bus_on["scoop"] = True
    host.ack("move", angle_rad=1.0, speed_rad_s=0.5)
    assert host.finish("move", 10.0) == Completion.OK


def test_a_silent_host_trips_the_deadman_mid_motion(host: Host) -> None:
    host.ack("move", angle_rad=2.1, speed_rad_s=0.05)
    host.run(1.0)
    host.clock.advance(1.5)
    host.transport.poll()
    assert host.completions("move") == [Completion.DEADMAN]
    assert any(e["event"] == EventId.DEADMAN_STOP for e in host.events())
    angle = host.snapshot()["arm_angle_rad"]
    assert angle < 2.1 and "deadman" in host.faults()
    host.run(1.0)
    assert host.snapshot()["arm_angle_rad"] == angle


# ------------------------------------------------------------------------------------- robustness
@pytest.fixture(scope="module")
def garbage_rig() -> Iterator[tuple[Host, serial.SerialBase]]:
    rig = Host(seed=9, site=uniform_site(), devices=("scoop", "extractor"))
    port = serial.serial_for_url("sim://scoop", timeout=0)
    try:
        yield rig, port
    finally:
        port.close()
        rig.close()


def _garbage_frame(data: bytes) -> bytes:
    """A valid-CRC frame from random bytes: any message type (mostly COMMAND), mostly this device's command
    ids, payloads often of the exact argument size."""
    kind, pick, sized = data[0], data[1], data[2]
    body = data[3:]
    if kind >= 160:
        return encode_frame(Frame(SPEC.address if kind % 2 else 0xFF, kind % 10, kind, body))
    command = SPEC.all_commands[pick % len(SPEC.all_commands)]
    if sized < 200:
        body = (body + bytes(16))[: command.args_layout.size]
    return encode_frame(Frame(SPEC.address, MsgType.COMMAND, pick, bytes([command.id if pick < 240 else pick]) + body))


@settings(max_examples=2000, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(min_size=3, max_size=160))
def test_garbage_never_stops_the_firmware(garbage_rig: tuple[Host, serial.SerialBase], data: bytes) -> None:
    """Random bytes, then a valid-CRC frame of random content: the device still answers a valid request."""
    rig, port = garbage_rig
    split = data[0] % len(data)
    port.write(data[:split])
    port.write(b"\x00")
    port.write(_garbage_frame(data[split:] + data[:3]))
    port.read(port.in_waiting)
    rig.clock.advance(0.05)
    reply = rig.transport.request(MsgType.IDENTIFY)
    assert reply.msg_type == MsgType.IDENTIFY
    assert rig.firmware.frames_rejected == 0
    assert ANGLE_RANGE[0] - 1e-9 <= rig.firmware.angle_rad <= ANGLE_RANGE[1] + 1e-9


ANGLE_RANGE = (SPEC.command("move").args[0].lo, SPEC.command("move").args[0].hi)


def test_same_seed_same_telemetry_bytes() -> None:
    def session() -> list[bytes]:
        rig = Host(seed=13, devices=("scoop", "extractor"))
        try:
            rig.ack("set_telemetry_period", period_ms=50)
            rig.world.inject("scoop", "noise", field="bucket_load_kg", sigma=0.01)
            rig.ack("dig", depth_m=0.04)
            rig.finish("dig", 300.0)
            rig.ack("lift")
            rig.finish("lift")
            rig.ack("dump")
            rig.finish("dump")
            return rig.wire_log()
        finally:
            rig.close()

    first, second = session(), session()
    assert len(first) > 200 and first == second


# ------------------------------------------------------------------------------------------ model
def test_friction_angle_follows_the_lunar_sourcebook_values() -> None:
    assert math.degrees(friction_angle_rad(1500.0)) == pytest.approx(42.0)
    assert math.degrees(friction_angle_rad(1580.0)) == pytest.approx(46.0)
    assert math.degrees(friction_angle_rad(1740.0)) == pytest.approx(54.0)
    assert math.degrees(friction_angle_rad(1200.0)) == pytest.approx(42.0)  # clamped
    assert math.degrees(friction_angle_rad(2000.0, "asteroid")) == pytest.approx(35.0)


def test_cohesion_inverts_the_mohr_coulomb_strength() -> None:
    c, phi = 520.0, math.radians(42.0)
    ucs = 2.0 * c * math.tan(math.pi / 4 + phi / 2)  # unconfined compressive strength
    assert cohesion_from_ucs(ucs, phi) == pytest.approx(c)


def test_soil_between_weighs_layers_and_water_forms() -> None:
    site = Site(
        0,
        0.0,
        0.0,
        0.0,
        0.0,
        (
            Layer(0.0, 0.1, 1500.0, 2.0, 0.0, 80.0),
            Layer(0.1, 0.3, 1700.0, 4.0, 0.05, 100.0, "hydrated"),
        ),
    )
    soil = soil_between(site, 0.05, 0.15)
    m1, m2 = 0.05 * 1500.0, 0.05 * 1700.0
    assert soil.density_kg_m3 == pytest.approx((m1 + m2) / 0.1)
    assert soil.ice_fraction == 0.0
    assert soil.hydrated_fraction == pytest.approx(0.05 * m2 / (m1 + m2))
    assert soil.temperature_K == pytest.approx((80.0 * m1 + 100.0 * m2) / (m1 + m2))
    below = soil_between(site, 3.5, 3.6)
    assert below.density_kg_m3 == pytest.approx(1700.0)
    with pytest.raises(ValueError, match="soil interval"):
        soil_between(site, 0.2, 0.1)


def test_cutting_force_grows_with_depth_cohesion_density_and_gravity() -> None:
    def force(depth: float = 0.05, cohesion: float = 800.0, density: float = 1500.0, g: float = 1.62) -> float:
        soil = CutSoil(density, cohesion, friction_angle_rad(density), 0.0, 100.0)
        return CutResistance(soil, Blade(), g, depth).force_N(depth)

    base = force()
    assert force(depth=0.08) > base and force(cohesion=2000.0) > base
    assert force(density=1700.0) > base and force(g=9.81) > base
    # without gravity only the cohesion term is left: F = w c d N_c
    cohesive = CutResistance(CutSoil(1500.0, 800.0, math.radians(42.0), 0.0, 100.0), Blade(), 0.0, 0.05)
    assert cohesive.force_N(0.05) == pytest.approx(Blade().width_m * 800.0 * 0.05 * cohesive.factors.n_c)
    assert 1.0 < cohesive.factors.n_c < 5.0 and cohesive.force_N(0.0) == 0.0
