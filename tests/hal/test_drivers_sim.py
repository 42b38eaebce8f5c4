"""Every driver against its emulator over ``sim://``, on a virtual clock.

Each test builds a fresh :class:`~sim_hw.world.SimWorld`, installs it for ``sim://`` ports, and drives
the real driver (``hal.devices``) through the real byte path: frames, CRC, COBS, the emulator's firmware
and physics. The drivers are built from the embedded configuration (``configs/sim.toml``), so its
limits are the ones refused here.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import sim_hw  # noqa: F401  (registers sim://)
from base.clock import VirtualClock
from base.errors import ConfigError
from hal.device import Device
from hal.device_events import DeviceEvent
from hal.devices import DRIVER_CLASSES, open_device
from hal.errors import CommandError, DeviceNack, PortError
from hal.icd import DEVICES, POWER_BUSES, Completion, DeviceState, EventId
from hal.motion import Motion
from hal.telemetry import telemetry_field_names
from isru.config import load_config
from sim_hw.devices import DEVICE_NAMES
from sim_hw.registry import install_world, uninstall_world
from sim_hw.world import SimWorld

CONFIG = load_config()
#: The hopper is configured on the asteroid only.
ASTEROID = load_config(Path(__file__).parents[2] / "configs" / "asteroid.toml")
DEVICE_CONFIGS = {**ASTEROID.devices, **CONFIG.devices}
SEED = 7


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


class Bench:
    """A simulated world with drivers connected to its devices."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.world: SimWorld | None = None
        self.devices: list[Device] = []

    def build(self, *names: str, **world_args: Any) -> SimWorld:
        world_args.setdefault("seed", SEED)
        self.world = install_world(SimWorld(self.clock, devices=names, **world_args))
        return self.world

    def connect(self, name: str, **overrides: Any) -> Any:
        """The driver of ``name``, from sim.toml with ``overrides`` of its [devices.<name>] table."""
        config = dataclasses.replace(DEVICE_CONFIGS[name], **overrides)
        device = open_device(name, config, CONFIG.transport, self.clock, connect=True)
        self.devices.append(device)
        return device

    def run(self, seconds: float, step_s: float = 0.05) -> None:
        """Advance the clock, polling every driver each step like the executive."""
        for _ in range(max(1, round(seconds / step_s))):
            self.clock.advance(step_s)
            for device in self.devices:
                device.poll()

    def run_until(self, predicate: Callable[[], bool], timeout_s: float, step_s: float = 0.05) -> bool:
        """:meth:`run` until ``predicate()`` holds; False after ``timeout_s`` of clock time."""
        for _ in range(max(1, round(timeout_s / step_s))):
            if predicate():
                return True
            self.run(step_s, step_s)
        return predicate()

    def close(self) -> None:
        for device in self.devices:
            device.close()
        uninstall_world()


@pytest.fixture
def bench(clock: VirtualClock) -> Iterator[Bench]:
    rig = Bench(clock)
    try:
        yield rig
    finally:
        rig.close()


def finite_fields(snapshot: Any) -> dict[str, Any]:
    """The device telemetry fields of a snapshot that are not finite (empty when all are)."""
    values = {name: getattr(snapshot, name) for name in telemetry_field_names(type(snapshot))}
    return {k: v for k, v in values.items() if isinstance(v, float) and not math.isfinite(v)}


# ------------------------------------------------------------------------------ every device
@pytest.mark.parametrize("name", DEVICE_NAMES)
def test_connect_identifies_self_tests_and_streams(bench: Bench, name: str):
    world = bench.build(name)
    device = bench.connect(name)
    firmware = world.device(name)
    assert isinstance(device, DRIVER_CLASSES[name])
    identity = device.identity
    assert identity is not None
    assert (identity.device_type, identity.firmware, identity.protocol_version) == (
        DEVICES[name].device_type,
        "1.0.0",
        1,
    )
    assert identity.serial_number == firmware.serial_number
    firmware.assert_received("self_test", "ack")
    firmware.assert_received("set_deadman", "ack", timeout_ms=1000)
    firmware.assert_received("set_telemetry_period", "ack", period_ms=100)
    assert device.link_up and device.state in (DeviceState.IDLE, DeviceState.ACTIVE), device.fault_reason
    count = device.telemetry_count
    bench.run(2.0)
    assert device.telemetry_count - count == pytest.approx(20, abs=1)
    snapshot = device.telemetry
    assert isinstance(snapshot, device.telemetry_class)
    assert finite_fields(snapshot) == {}
    assert snapshot.faults == () and snapshot.uptime_s == pytest.approx(world.t, abs=0.11)
    assert device.telemetry_age_s <= 0.1
    assert device.heartbeat() >= 0.0


#: One command per device whose argument is outside the ICD's firmware range.
ICD_REFUSALS = {
    "drill": ("spin", {"rpm": 601.0}, "rpm = 601 rpm is outside the ICD range 0..600 rpm"),
    "scoop": ("move", {"angle_rad": 2.5, "speed_rad_s": 0.1}, "angle_rad = 2.5 rad is outside the ICD range"),
    "extractor": ("heater_power", {"watts": 801.0}, "watts = 801 W is outside the ICD range 0..800 W"),
    "imu": ("calibrate", {"duration_s": 31.0}, "duration_s = 31 s is outside the ICD range 0.5..30 s"),
    "anchor": ("deploy", {"mask": 16, "depth_m": 0.1}, "mask = 16 is outside the ICD range 1..15"),
    "drive": ("move", {"distance_m": 100.5, "speed_m_s": 0.1}, "distance_m = 100.5 m is outside"),
    "power": ("bus", {"index": 8, "on": 1}, "index = 8 is outside the ICD range 0..7"),
    "hopper": ("hop", {"heading_rad": 0.0, "speed_m_s": 0.6, "elevation_rad": 0.7}, "speed_m_s = 0.6 m/s is outside"),
}


@pytest.mark.parametrize("name", DEVICE_NAMES)
def test_icd_range_refused_before_sending(bench: Bench, name: str):
    world = bench.build(name)
    device = bench.connect(name)
    command, args, message = ICD_REFUSALS[name]
    with pytest.raises(CommandError, match=message.replace(".", r"\.")):
        device.command(command, **args)
    world.device(name).assert_not_received(command)


#: One command per device beyond a configured limit: (limits, command, args, message).
LIMIT_REFUSALS = {
    "drill": ({}, "spin", {"rpm": 301.0}, "exceeds the configured limit max_rpm = 300 rpm"),
    "extractor": ({}, "heater_setpoint", {"kelvin": 750.0}, "exceeds the configured limit max_temp_K = 700 K"),
    "anchor": ({}, "preload", {"mask": 15, "force_N": 1600.0}, "exceeds the configured limit max_preload_N = 1500 N"),
    "drive": ({}, "twist", {"v_m_s": -0.25, "omega_rad_s": 0.0}, "v_m_s = -0.25 m/s exceeds the configured limit"),
    "scoop": ({"max_dig_depth_m": 0.05}, "dig", {"depth_m": 0.08}, "exceeds the configured limit max_dig_depth_m"),
    "imu": ({"max_calibration_s": 5.0}, "calibrate", {"duration_s": 10.0}, "limit max_calibration_s = 5 s"),
    "hopper": ({}, "hop", {"heading_rad": 0.0, "speed_m_s": 0.15, "elevation_rad": 0.7}, "max_hop_speed_m_s = 0.1"),
}


@pytest.mark.parametrize("name", sorted(LIMIT_REFUSALS))
def test_config_limits_refused_before_sending(bench: Bench, name: str):
    limits, command, args, message = LIMIT_REFUSALS[name]
    world = bench.build(name)
    device = bench.connect(name, limits={**DEVICE_CONFIGS[name].limits, **limits})
    with pytest.raises(CommandError, match=message):
        device.command(command, **args)
    world.device(name).assert_not_received(command)


def test_extractor_heater_power_limit_from_config(bench: Bench):
    world = bench.build("extractor")
    extractor = bench.connect("extractor")
    with pytest.raises(CommandError, match="watts = 650 W exceeds the configured limit max_heater_W = 600 W"):
        extractor.heater_power(650)
    world.device("extractor").assert_not_received("heater_power")
    assert extractor.heater_power(600) is not None
    world.device("extractor").assert_received("heater_power", "ack", watts=600.0)


@pytest.mark.parametrize("name", DEVICE_NAMES)
def test_disconnect_faults_and_reconnect_reidentifies(bench: Bench, name: str):
    world = bench.build(name)
    device = bench.connect(name)
    seen: list[DeviceEvent] = []
    device.on_event(seen.append)
    world.inject(name, "disconnect")
    bench.run(0.1)
    assert device.state == DeviceState.FAULT and not device.link_up
    assert [e.name for e in seen].count("LINK_DOWN") == 1
    with pytest.raises(PortError):
        device.stop()
    bench.run(2.0)
    assert device.state == DeviceState.FAULT
    world.inject(name, "reconnect")
    assert bench.run_until(lambda: device.link_up, 10.0), device.fault_reason
    assert device.setups == 2
    assert len(world.device(name).received("set_telemetry_period")) == 2
    assert any(e.name == "LINK_UP" for e in seen)
    count = device.telemetry_count
    bench.run(1.0)
    assert device.telemetry_count > count


#: An immediate command per device with a value to alternate (the lossy-line test checks their order).
TOGGLES: dict[str, tuple[str, Callable[[Any, int], Any]]] = {
    "drill": ("percussion", lambda d, i: d.percussion(bool(i % 2))),
    "extractor": ("vent", lambda d, i: d.vent(bool(i % 2))),
    "drive": ("wheels", lambda d, i: d.wheels(0.0, 0.0) if i % 2 == 0 else d.wheels(0.01, 0.01)),
    "power": ("bus", lambda d, i: d.bus("comms", bool(i % 2))),
    "scoop": ("set_deadman", lambda d, i: d.command("set_deadman", timeout_ms=1000 + i)),
    "imu": ("set_deadman", lambda d, i: d.command("set_deadman", timeout_ms=1000 + i)),
    "anchor": ("set_deadman", lambda d, i: d.command("set_deadman", timeout_ms=1000 + i)),
    "hopper": ("set_deadman", lambda d, i: d.command("set_deadman", timeout_ms=1000 + i)),
}


@pytest.mark.parametrize("name", DEVICE_NAMES)
def test_lossy_line_executes_each_command_exactly_once(bench: Bench, name: str):
    world = bench.build(name)
    device = bench.connect(name, limits=DEVICE_CONFIGS[name].limits)
    device.transport.retries = 8
    command, toggle = TOGGLES[name]
    before = len(world.device(name).received(command))
    world.inject(name, "drop", rate=0.02)
    count = 24
    for i in range(count):
        toggle(device, i)
    world.inject(name, "clear_line")
    assert device.transport.stats.retries > 0  # frames really were lost
    records = world.device(name).received(command)[before:]
    assert len(records) == count
    assert all(r.outcome == "ack" for r in records)


#: A way to make each device actuate (so that its dead-man applies), and a check that it still does.
ACTUATE: dict[str, Callable[[Any], Any]] = {
    "drill": lambda d: d.spin(100.0),
    "scoop": lambda d: d.move(2.0, 0.01),
    "extractor": lambda d: d.heater_power(100.0),
    "imu": lambda d: d.calibrate(30.0),
    "anchor": lambda d: d.deploy(0.5),
    "drive": lambda d: d.twist(0.02, 0.0),
}


@pytest.mark.parametrize("name", sorted(ACTUATE))
def test_heartbeats_keep_an_idle_host_from_tripping_the_deadman(bench: Bench, name: str):
    world = bench.build(name)
    device = bench.connect(name, deadman_s=0.3, limits=DEVICE_CONFIGS[name].limits)
    firmware = world.device(name)
    ACTUATE[name](device)
    bench.run(3.0)  # ten dead-man timeouts, no command: only the driver's heartbeats
    assert firmware.is_actuating()
    assert all(e["event"] != EventId.DEADMAN_STOP for e in firmware.events_sent)
    # The same silence without polling: the device stops itself.
    bench.clock.advance(1.0)
    world.sync()
    assert any(e["event"] == EventId.DEADMAN_STOP for e in firmware.events_sent)
    bench.clock.advance(5.0)  # time to coast to rest (the auger spins down)
    world.sync()
    assert not firmware.is_actuating()


@pytest.mark.parametrize("name", sorted(ACTUATE))
def test_unpowered_bus_nacks_actuation(bench: Bench, name: str):
    world = bench.build(name, "power")
    power = bench.connect("power")
    device = bench.connect(name, limits=DEVICE_CONFIGS[name].limits)
    power.bus(name, False)
    bench.run(0.5)
    assert power.telemetry.bus_on[name] is False
    with pytest.raises(DeviceNack) as info:
        ACTUATE[name](device)
    assert info.value.code_name == "BAD_STATE"
    assert world.device(name).received(ACTUATE_COMMAND[name])[-1].outcome == "BAD_STATE"
    power.bus(name, True)
    bench.run(0.5)
    ACTUATE[name](device)


ACTUATE_COMMAND = {
    "drill": "spin",
    "scoop": "move",
    "extractor": "heater_power",
    "imu": "calibrate",
    "anchor": "deploy",
    "drive": "twist",
}


# ---------------------------------------------------------------------------------- extractor
def test_extractor_lid_heater_vent_transfer_and_dump(bench: Bench):
    world = bench.build("extractor")
    extractor = bench.connect("extractor")
    firmware = world.device("extractor")
    assert extractor.telemetry.lid_state == "open"
    assert firmware.accept_regolith(1.0, 0.05, 120.0) == pytest.approx(1.0)
    motion = extractor.seal()
    assert isinstance(motion, Motion)
    assert motion.wait(30.0) == Completion.OK
    sealed = extractor.refresh()
    assert sealed.lid_state == "sealed" and sealed.loaded_mass_kg == pytest.approx(1.0, rel=1e-3)
    with pytest.raises(DeviceNack, match=r"dump.*BAD_STATE"):
        extractor.dump()  # the lid is sealed
    extractor.heater_power(500.0)
    bench.run(1.0)
    assert extractor.telemetry.heater_power_W == pytest.approx(500.0)
    assert extractor.mode == "heating"
    t0 = extractor.telemetry.chamber_temp_K
    extractor.heater_setpoint(600.0)
    bench.run(600.0, step_s=0.2)
    snapshot = extractor.telemetry
    assert snapshot.chamber_temp_K > t0 + 100.0
    assert snapshot.water_kg > 0.0 and snapshot.heater_energy_J > 0.0
    assert snapshot.energy_per_kg_water_J_kg == pytest.approx(snapshot.heater_energy_J / snapshot.water_kg)
    assert snapshot.energy_per_kg_water_J_kg == pytest.approx(firmware.energy_per_kg_J(), rel=1e-3)
    trapped = snapshot.water_kg
    assert extractor.transfer_water().wait(600.0) == Completion.OK
    assert extractor.refresh().tank_kg == pytest.approx(trapped, rel=0.01)
    extractor.heater_setpoint(0.0)
    extractor.vent(True)
    bench.run(0.5)
    assert extractor.telemetry.vent is True
    extractor.vent(False)
    assert extractor.open_lid().wait(30.0) == Completion.OK
    assert extractor.dump().wait(60.0) == Completion.OK
    assert extractor.refresh().loaded_mass_kg == pytest.approx(0.0, abs=1e-6)


def test_extractor_open_heater_faults_and_then_refuses(bench: Bench):
    world = bench.build("extractor")
    extractor = bench.connect("extractor")
    seen: list[DeviceEvent] = []
    extractor.on_event(seen.append)
    world.inject("extractor", "heater_failure")
    extractor.heater_power(200.0)  # accepted; the current monitor then finds the open circuit
    bench.run(0.2)
    assert extractor.state == DeviceState.FAULT and "heater_failure" in extractor.faults
    assert any(e.name == "FAULT_SET" and "heater_failure" in e.text for e in seen)
    with pytest.raises(DeviceNack, match=r"DEVICE_FAULT \(detail 0; fault heater_failure latched\)") as refused:
        extractor.heater_power(300.0)
    assert refused.value.latched == ("heater_failure",)  # the refusal names the bit, not only the code
    assert "heater_failure" in extractor.clear_fault()  # its cause persists
    world.device("extractor").repair()
    assert extractor.clear_fault() == ()
    assert extractor.state != DeviceState.FAULT


# -------------------------------------------------------------------------------------- scoop
def test_scoop_digs_lifts_and_dumps_into_the_extractor(bench: Bench):
    bench.build("scoop", "extractor")
    scoop = bench.connect("scoop")
    extractor = bench.connect("extractor")
    assert extractor.telemetry.lid_state == "open"
    assert scoop.move(0.6, 0.3).wait(10.0) == Completion.OK
    assert scoop.refresh().arm_angle_rad == pytest.approx(0.6, abs=1e-3)
    assert scoop.mode == "idle"
    dig = scoop.dig(0.03)
    assert bench.run_until(lambda: scoop.telemetry.mode == "digging", 5.0)
    assert dig.wait(300.0) == Completion.OK
    load = scoop.refresh().bucket_load_kg
    assert load > 0.1
    assert scoop.lift().wait(60.0) == Completion.OK
    assert scoop.dump().wait(60.0) == Completion.OK
    after = scoop.refresh()
    assert after.bucket_load_kg == 0.0 and after.dumped_kg == pytest.approx(load, rel=0.01)
    assert extractor.refresh().loaded_mass_kg == pytest.approx(after.dumped_kg, rel=0.01)


def test_scoop_overload_blocks_the_dig_and_then_refuses(bench: Bench):
    world = bench.build("scoop")
    scoop = bench.connect("scoop")
    dig = scoop.dig(0.03)
    assert bench.run_until(lambda: world.device("scoop").dig_force_N > 0.0, 120.0)
    world.inject("scoop", "overload")
    assert dig.wait(5.0) == Completion.BLOCKED
    bench.run(0.2)
    assert scoop.faults == ("overload",) and scoop.state == DeviceState.FAULT
    with pytest.raises(DeviceNack, match="DEVICE_FAULT"):
        scoop.lift()
    assert scoop.clear_fault() == ()
    assert scoop.lift().wait(60.0) == Completion.OK


# -------------------------------------------------------------------------------------- drive
def test_drive_twist_move_and_turn(bench: Bench):
    bench.build("drive")
    drive = bench.connect("drive")
    drive.twist(0.1, 0.0)
    bench.run(3.0)
    assert drive.telemetry.v_m_s == pytest.approx(0.1, rel=0.05) and drive.telemetry.moving
    assert drive.mode == "driving"
    drive.twist(0.0, 0.0)
    assert bench.run_until(lambda: not drive.telemetry.moving, 5.0)
    start = drive.refresh()
    assert drive.move(1.0, 0.1).wait(60.0) == Completion.OK
    moved = drive.refresh()
    assert moved.odometer_m - start.odometer_m == pytest.approx(1.0, abs=0.01)
    assert math.hypot(moved.x_m - start.x_m, moved.y_m - start.y_m) == pytest.approx(1.0, abs=0.01)
    assert drive.turn(0.5, 0.2).wait(60.0) == Completion.OK
    assert drive.refresh().heading_rad - moved.heading_rad == pytest.approx(0.5, abs=0.01)


def test_drive_a_new_command_stops_a_running_move(bench: Bench):
    bench.build("drive")
    drive = bench.connect("drive")
    move = drive.move(5.0, 0.1)
    bench.run(2.0)
    assert not move.done
    drive.wheels(0.0, 0.0)
    assert move.done and move.completion == Completion.STOPPED
    assert bench.run_until(lambda: not drive.telemetry.moving, 5.0)
    assert 0.05 < drive.telemetry.odometer_m < 0.3


# -------------------------------------------------------------------------------------- drill
def test_drill_spins_feeds_and_retracts_on_anchors(bench: Bench):
    bench.build("drill", "anchor", "power")
    anchor = bench.connect("anchor")
    drill = bench.connect("drill")
    power = bench.connect("power")
    assert anchor.deploy(0.2).wait(120.0) == Completion.OK
    with pytest.raises(DeviceNack, match="BAD_STATE"):
        drill.feed(0.1, 0.002)  # the auger is not turning
    drill.spin(120.0)
    assert bench.run_until(lambda: drill.telemetry.rpm == pytest.approx(120.0, rel=0.02), 10.0)
    assert drill.mode == "spinning" and drill.state == DeviceState.ACTIVE
    drill.percussion(True)
    feed = drill.feed(0.1, 0.002)
    bench.run(5.0)
    assert drill.telemetry.mode == "feeding" and drill.telemetry.feed_rate_m_s == pytest.approx(0.002, rel=0.05)
    assert drill.telemetry.rotary_energy_J_m is not None and drill.telemetry.rotary_energy_J_m > 0.0
    assert feed.wait(120.0) == Completion.OK
    fed = drill.refresh()
    assert fed.depth_m == pytest.approx(0.1, abs=1e-3) and fed.cuttings_kg > 0.0 and fed.percussion is True
    assert power.refresh().bus_loads_W["drill"] == pytest.approx(fed.power_W, rel=0.2)
    assert drill.retract(0.01).wait(60.0) == Completion.OK
    assert drill.refresh().depth_m == pytest.approx(0.0, abs=1e-3)
    drill.spin(0.0)
    drill.percussion(False)
    assert bench.run_until(lambda: drill.telemetry.rpm == 0.0, 10.0)


def test_drill_stall_blocks_the_feed_and_faults_until_cleared(bench: Bench):
    world = bench.build("drill")
    drill = bench.connect("drill")
    seen: list[DeviceEvent] = []
    drill.on_event(seen.append)
    drill.spin(100.0)
    feed = drill.feed(0.5, 0.002)
    bench.run(2.0)
    world.inject("drill", "stall")
    assert feed.wait(10.0) == Completion.BLOCKED
    assert drill.state == DeviceState.FAULT and "stall" in drill.faults
    assert any(e.name == "FAULT_SET" and e.text.startswith("fault stall set") for e in seen)
    with pytest.raises(DeviceNack, match="DEVICE_FAULT"):
        drill.feed(0.5, 0.002)
    assert drill.retract(0.01).wait(60.0) == Completion.OK  # the way out is always open
    bench.run(1.0)
    assert "stall" not in drill.clear_fault()


def test_drill_torque_limit_is_watched_in_telemetry(bench: Bench):
    bench.build("drill")
    drill = bench.connect("drill", limits={"max_torque_Nm": 0.1})
    drill.spin(120.0)
    bench.run(3.0)
    (violation,) = drill.limit_violations()
    assert violation.limit == "max_torque_Nm" and violation.value > 0.1
    assert "torque_Nm" in violation.text


# ------------------------------------------------------------------------------------- anchor
def test_anchor_deploys_preloads_slips_and_retracts(bench: Bench):
    world = bench.build("anchor")
    anchor = bench.connect("anchor")
    with pytest.raises(DeviceNack, match=r"preload.*BAD_STATE"):
        anchor.preload(100.0)  # nothing in the ground yet
    assert anchor.deploy(0.2, anchors=[0, 1]).wait(120.0) == Completion.OK
    assert anchor.refresh().deployed == (0, 1) and not anchor.telemetry.all_deployed
    assert anchor.deploy(0.2).wait(120.0) == Completion.OK
    deployed = anchor.refresh()
    assert deployed.all_deployed and deployed.depths_m == pytest.approx((0.2,) * 4, abs=1e-3)
    assert deployed.holding_N > 0.0
    assert anchor.preload(100.0).wait(60.0) == Completion.OK
    assert anchor.refresh().preloads_N == pytest.approx((100.0,) * 4, rel=0.1)
    assert world.rover.anchor_holding_N > 0.0
    # Beyond the pull-out capacity the anchors slip.
    assert anchor.preload(1400.0).wait(60.0) == Completion.BLOCKED
    bench.run(0.2)
    assert "slip" in anchor.faults
    assert anchor.retract().wait(120.0) == Completion.OK
    assert anchor.refresh().depths_m == (0.0,) * 4 and anchor.telemetry.deployed == ()


# ---------------------------------------------------------------------------------------- imu
def test_imu_feels_the_site_slope_and_calibrates(bench: Bench):
    world = bench.build("imu")
    imu = bench.connect("imu")
    bench.run(1.0)
    snapshot = imu.telemetry
    assert snapshot.accel_norm_m_s2 == pytest.approx(world.body.gravity_m_s2, rel=0.05)
    assert snapshot.tilt_rad == pytest.approx(world.site.slope_rad, abs=0.02)
    first = imu.calibrate(1.0)
    # A new motion replaces a running one (docs/icd.md section 8): the first completes STOPPED.
    calibration = imu.calibrate(1.0)
    assert first.wait(1.0) == Completion.STOPPED
    assert calibration.wait(5.0) == Completion.OK
    assert calibration.t_end - calibration.t_start == pytest.approx(1.0, abs=0.06)
    assert imu.mode == "idle"


def test_imu_tilt_limit_is_watched_in_telemetry(bench: Bench):
    world = bench.build("imu")
    imu = bench.connect("imu", limits={"max_tilt_rad": world.site.slope_rad / 2})
    bench.run(0.5)
    (violation,) = imu.limit_violations()
    assert violation.limit == "max_tilt_rad" and violation.value > violation.bound


# -------------------------------------------------------------------------------------- power
def test_power_switches_buses_and_reports_their_loads(bench: Bench):
    world = bench.build("power", "drive")
    power = bench.connect("power")
    drive = bench.connect("drive")
    bench.run(0.5)
    snapshot = power.telemetry
    assert list(snapshot.bus_loads_W) == list(POWER_BUSES)
    assert all(snapshot.bus_on.values()) and 0.0 < snapshot.soc <= 1.0
    drive.twist(0.1, 0.0)
    bench.run(2.0)
    assert power.telemetry.bus_loads_W["drive"] > 0.0
    assert power.telemetry.load_W == pytest.approx(sum(power.telemetry.bus_loads_W.values()), rel=0.05)
    power.bus("drive", False)
    bench.run(0.5)
    assert power.telemetry.bus_on["drive"] is False and power.telemetry.bus_loads_W["drive"] == 0.0
    assert world.rover.bus_on["drive"] is False
    with pytest.raises(DeviceNack, match="BAD_STATE"):
        drive.twist(0.1, 0.0)
    power.bus(5, True)  # by index: 5 is the drive bus
    bench.run(0.5)
    assert power.telemetry.bus_on["drive"] is True


def test_power_low_battery_faults_and_trips_the_soc_limit(bench: Bench):
    world = bench.build("power")
    power = bench.connect("power", limits={"min_soc": 0.3})
    bench.run(0.5)
    assert power.limit_violations() == []
    world.inject("power", "low_battery", soc=0.1)
    bench.run(1.0)
    assert "low_battery" in power.faults and power.state == DeviceState.FAULT
    (violation,) = power.limit_violations()
    assert violation.limit == "min_soc" and "below the limit min_soc = 0.3" in violation.text


def test_retime_writes_the_dead_man_and_period_in_the_safe_order(bench: Bench):
    world = bench.build("drill")
    drill = bench.connect("drill")
    firmware = world.device("drill")
    start = len(firmware.history)
    drill.retime(1.0, 5.0)  # slower: the stream first, then the longer dead-man
    assert [(r.name, r.args) for r in firmware.history[start:]] == [
        ("set_telemetry_period", {"period_ms": 1000}),
        ("set_deadman", {"timeout_ms": 5000}),
    ]
    assert (firmware.telemetry_period_ms, firmware.deadman_ms) == (1000, 5000)
    assert drill.silence_timeout_s >= 3.0
    start = len(firmware.history)
    drill.retime(0.1, 1.0)  # faster: the shorter dead-man first
    assert [r.name for r in firmware.history[start:]] == ["set_deadman", "set_telemetry_period"]
    assert drill.silence_timeout_s == CONFIG.transport.silence_timeout_s
    drill.retime(0.1, 1.0)  # unchanged: nothing is sent
    assert len(firmware.history) == start + 2
    with pytest.raises(ConfigError, match="deadman_s"):
        drill.retime(0.1, 0.0)
    # a reconnect sets the device up with the rates now in force
    drill.retime(0.5, 2.0)
    world.inject("drill", "disconnect")
    bench.run(0.5)
    world.inject("drill", "reconnect")
    assert bench.run_until(lambda: drill.link_up and firmware.deadman_ms == 2000, 5.0)
    assert firmware.telemetry_period_ms == 500


def test_the_world_steps_finely_only_while_something_works_and_trips_the_dead_man_on_time(bench: Bench):
    world = bench.build("drive", "imu")
    drive = bench.connect("drive", deadman_s=1.0)
    bench.run(1.0)
    version = world.version
    bench.clock.advance(10.0)  # nothing works, nobody polls: the world steps a second at a time (plus output)
    world.sync()
    at_rest = world.version - version
    assert at_rest <= 10 + 2 * 10 * 10  # quiet steps, plus two streams at 10 Hz
    drive.wheels(0.05, 0.05)
    firmware = world.device("drive")
    host_rx = firmware._last_host_rx
    bench.clock.advance(3.0)  # the host falls silent while the wheels turn
    world.sync()
    trip = next(e for e in firmware.events_sent if e["event"] == EventId.DEADMAN_STOP)
    assert trip["t"] - host_rx == pytest.approx(1.0, abs=1e-3)
    drive.clear_fault()
    version = world.version
    drive.wheels(0.05, 0.05)
    bench.clock.advance(0.5)
    world.sync()
    assert world.version - version >= 0.5 / world.step_s  # working: fine steps


def test_hopper_driver_hops_on_the_asteroid_and_reports_a_tumble(bench: Bench):
    """The typed hopper driver over real bytes: a hop ends settled, a bad landing ends FAULT with the
    rover on its side until ``upright``."""
    world = bench.build("hopper", body="asteroid")
    hopper = bench.connect("hopper")
    x0 = world.rover.x_m
    motion = hopper.hop(0.0, 0.02, 0.7854)
    assert bench.run_until(lambda: motion.done, 2000.0, step_s=0.5)
    assert motion.completion == Completion.OK
    bench.run(0.5)
    assert hopper.telemetry.settled and hopper.telemetry.hops == 1
    assert world.rover.x_m - x0 == pytest.approx(hopper.telemetry.hop_m, rel=0.2)
    world.inject("hopper", "bad_landing")
    motion = hopper.hop(3.1416, 0.02, 0.7854)
    assert bench.run_until(lambda: motion.done, 2000.0, step_s=0.5)
    bench.run(0.5)
    assert motion.completion == Completion.FAULT and "tumbled" in hopper.telemetry.faults
    assert not hopper.telemetry.settled
    righting = hopper.upright()
    assert bench.run_until(lambda: righting.done, 60.0) and righting.completion == Completion.OK
    bench.run(0.5)
    assert hopper.telemetry.upright == 1 and hopper.telemetry.faults == ()


# ------------------------------------------------------------------------------ completion severity
def _completions(device: Device) -> list[tuple[str, str]]:
    return [(e.severity.name, e.text) for e in device.events if e.name == "COMMAND_COMPLETE"]


def test_a_motion_this_host_stopped_or_replaced_completes_as_information(bench: Bench):
    bench.build("drive")
    drive = bench.connect("drive")
    drive.move(5.0, 0.1)
    bench.run(1.0)
    drive.stop()  # the host's own stop
    drive.move(5.0, 0.1)
    bench.run(1.0)
    drive.turn(0.5, 0.2)  # replaces the move
    bench.run(1.0)
    drive.wheels(0.0, 0.0)  # a device command that ends the turn
    assert _completions(drive) == [
        ("INFO", "move completed STOPPED, as this host asked"),
        ("INFO", "move completed STOPPED, as this host asked"),
        ("INFO", "turn completed STOPPED, as this host asked"),
    ]


def test_a_motion_the_device_ended_on_its_own_keeps_its_warning(bench: Bench):
    bench.build("drive")
    drive = bench.connect("drive", deadman_s=0.5)
    move = drive.move(5.0, 0.1)
    clock = bench.clock
    clock.advance(1.0)  # the host falls silent: the dead-man stops the move
    assert bench.run_until(lambda: move.done, 5.0)
    assert move.completion == Completion.DEADMAN
    assert _completions(drive) == [("WARNING", "move completed DEADMAN")]
