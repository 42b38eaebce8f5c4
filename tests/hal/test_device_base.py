"""The driver base (hal.device) over real bytes: a small drill firmware written here, on the sim:// line.

The firmware below is deliberately simple (a feed axis that moves at the commanded rate) so that these
tests pin the host-side mechanics — identify, self-test, configuration, validation, NACKs, motions,
events, heartbeats, link loss and recovery — independently of the physics of the real emulators, which
tests/test_drivers_sim.py exercises.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from typing import Any

import pytest

import sim_hw
from base.clock import VirtualClock
from base.config_loader import ConfigError
from hal.device import Device
from hal.device_events import DeviceEvent
from hal.devices import DRIVER_CLASSES, Drill, Drive, Power, driver_class, open_device
from hal.devices.anchor import ALL_ANCHORS, Anchor, anchor_mask
from hal.devices.extractor import ExtractorTelemetry
from hal.devices.imu import ImuTelemetry
from hal.devices.power import PowerTelemetry, bus_index
from hal.errors import CommandError, DeviceFault, DeviceMismatch, DeviceNack, PortError, ResponseTimeout
from hal.icd import DEFAULT_DEADMAN_MS, DEVICES, DRILL, IMU, POWER_BUSES, Completion, DeviceState, EventId
from hal.motion import RESEND_GRACE_S, Motion
from hal.protocol import AckResult, NackCode
from hal.telemetry import TELEMETRY_BASE_FIELDS, telemetry_field_names
from hal.transport import Transport
from isru.config import load_config
from sim_hw.firmware import Firmware, Nack
from sim_hw.registry import install_world, uninstall_world
from sim_hw.world import SimWorld

assert sim_hw  # importing it registers sim://

MODE_IDLE, MODE_SPINNING, MODE_FEEDING, MODE_RETRACTING, MODE_STALLED = range(5)


class SimpleDrill(Firmware):
    """A drill that feeds at exactly the commanded rate; just enough to exercise the host side."""

    spec = DRILL

    def __init__(self, world: SimWorld, *, serial_number: int, seed: int = 0) -> None:
        self.rpm = 0.0
        self.depth_m = 0.0
        self.target_m = 0.0
        self.rate_m_s = 0.0
        self.percussion_on = 0
        self.torque_Nm = 5.0
        super().__init__(world, serial_number=serial_number, seed=seed)

    def cmd_spin(self, rpm: float) -> None:
        if not self.bus_powered:
            raise Nack(NackCode.BAD_STATE)
        self.rpm = rpm
        if self.mode in (MODE_IDLE, MODE_SPINNING):
            self.set_mode(MODE_SPINNING if rpm else MODE_IDLE)

    def cmd_feed(self, depth_m: float, rate_m_s: float) -> AckResult:
        if self.rpm == 0:
            raise Nack(NackCode.BAD_STATE)
        result = self.begin_motion("feed", MODE_FEEDING)
        self.target_m, self.rate_m_s = depth_m, rate_m_s
        if abs(depth_m - self.depth_m) < 1e-9:  # already there: the motion ends at once
            self.end_motion(Completion.OK)
            self.set_mode(MODE_SPINNING)
        return result

    def cmd_retract(self, rate_m_s: float) -> AckResult:
        result = self.begin_motion("retract", MODE_RETRACTING)
        self.target_m, self.rate_m_s = 0.0, rate_m_s
        return result

    def cmd_percussion(self, on: int) -> None:
        self.percussion_on = on

    def step(self, dt: float) -> None:
        if self.mode in (MODE_FEEDING, MODE_RETRACTING):
            gap = self.target_m - self.depth_m
            move = math.copysign(min(abs(gap), self.rate_m_s * dt), gap)
            self.depth_m += move
            if abs(self.target_m - self.depth_m) < 1e-9:
                self.end_motion(Completion.OK)
                self.set_mode(MODE_SPINNING if self.rpm else MODE_IDLE)

    def stop_actuators(self) -> None:
        self.rpm = 0.0
        self.percussion_on = 0

    def is_actuating(self) -> bool:
        return self.rpm > 0 or self.mode in (MODE_FEEDING, MODE_RETRACTING)

    def telemetry_values(self) -> dict[str, float]:
        feeding = self.mode in (MODE_FEEDING, MODE_RETRACTING)
        return {
            "rpm": self.rpm,
            "depth_m": self.depth_m,
            "feed_rate_m_s": self.rate_m_s if feeding else 0.0,
            "torque_Nm": self.torque_Nm if self.rpm else 0.0,
            "current_A": 0.1 * self.rpm / 60,
            "power_W": 0.5 * self.rpm,
            "bit_temp_K": 250.0,
            "wob_N": 0.0,
            "cuttings_kg": 0.0,
            "volatiles_ice_fraction": 0.0,
            "percussion": self.percussion_on,
        }

    def inject_stall(self) -> None:
        self.end_motion(Completion.BLOCKED)
        self.set_mode(MODE_STALLED)
        self.raise_fault("stall", 42.0)

    def inject_reboot(self) -> None:
        """Lose the host's settings and say so, as a watchdog reset would."""
        self.deadman_ms = DEFAULT_DEADMAN_MS
        self.cmd_set_telemetry_period(0)
        self.stop_actuators()
        self.set_mode(MODE_IDLE)
        self.emit_event(EventId.BOOT, 0, 0, 0.0)


class SilentImu(Firmware):
    """An IMU: plugged into the drill's port it must be reported as a mismatch."""

    spec = IMU

    def telemetry_values(self) -> dict[str, float]:
        return {"ax": 0.0, "ay": 0.0, "az": 1.62, "gx": 0.0, "gy": 0.0, "gz": 0.0, "temp_K": 290.0}


# ------------------------------------------------------------------------------------------ fixtures
def attach(world: SimWorld, name: str, firmware: Firmware) -> None:
    """Put a firmware written here into ``world`` under ``name`` and have the world step it."""
    world.add_device(name, firmware)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def world(clock: VirtualClock) -> Iterator[SimWorld]:
    sim = SimWorld(clock, seed=3, devices=())
    attach(sim, "drill", SimpleDrill(sim, serial_number=0x15000042))
    install_world(sim)
    try:
        yield sim
    finally:
        uninstall_world()


@pytest.fixture
def firmware(world: SimWorld) -> SimpleDrill:
    return world.devices["drill"]  # type: ignore[return-value]


def make_drill(clock: VirtualClock, *, retries: int = 2, **kwargs: Any) -> Drill:
    transport = Transport("sim://drill", clock=clock, address=DRILL.address, name="drill", retries=retries)
    return Drill(transport, clock, **kwargs)


@pytest.fixture
def drill(world: SimWorld, clock: VirtualClock) -> Iterator[Drill]:
    device = make_drill(clock, limits={"max_rpm": 300.0, "max_depth_m": 1.0, "max_torque_Nm": 40.0})
    device.connect()
    try:
        yield device
    finally:
        device.close()


def run_for(device: Device, clock: VirtualClock, seconds: float, step_s: float = 0.02) -> None:
    """Advance the clock, polling like the executive does every tick."""
    for _ in range(round(seconds / step_s)):
        clock.advance(step_s)
        device.poll()


# ------------------------------------------------------------------------------------- connect
def test_connect_identifies_self_tests_and_configures(world: SimWorld, clock: VirtualClock, firmware: SimpleDrill):
    device = make_drill(clock, telemetry_period_s=0.05, deadman_s=0.4)
    assert device.state == DeviceState.OFF
    identity = device.connect()
    assert (identity.device_type, identity.firmware, identity.serial_number, identity.protocol_version) == (
        DRILL.device_type,
        "1.0.0",
        0x15000042,
        1,
    )
    assert device.identity == identity
    firmware.assert_received("self_test", "ack")
    firmware.assert_received("set_deadman", "ack", timeout_ms=400)
    firmware.assert_received("set_telemetry_period", "ack", period_ms=50)
    assert (firmware.deadman_ms, firmware.telemetry_period_ms) == (400, 50)
    assert device.link_up and device.state == DeviceState.IDLE
    assert device.telemetry is not None and device.telemetry.state == DeviceState.IDLE
    device.close()
    assert device.state == DeviceState.OFF


def test_connect_rejects_another_device_type(world: SimWorld, clock: VirtualClock):
    attach(world, "drill", SilentImu(world, serial_number=7))
    device = make_drill(clock)
    with pytest.raises(DeviceMismatch, match=r"expected device type 0x01 \(drill\), found 0x04 \(imu\)"):
        device.connect()
    assert device.state == DeviceState.FAULT
    assert "connect failed" in device.fault_reason
    device.close()


def test_connect_fails_on_a_failed_self_test_naming_the_checks(
    world: SimWorld, clock: VirtualClock, firmware: SimpleDrill
):
    firmware.inject_fault("overtemp")
    device = make_drill(clock)
    with pytest.raises(DeviceFault, match=r"self-test failed: active_fault; active faults: overtemp"):
        device.connect()
    firmware.assert_not_received("set_deadman")
    device.close()


def test_connect_to_a_missing_port_raises_link_error_and_retries_from_poll(tmp_path, clock: VirtualClock):
    path = tmp_path / "ttyUSB-not-plugged"
    device = Drill(Transport(str(path), clock=clock, address=DRILL.address), clock)
    with pytest.raises(PortError, match="ttyUSB-not-plugged"):
        device.connect()
    assert device.state == DeviceState.FAULT and "connect failed" in device.fault_reason
    run_for(device, clock, 0.5)  # poll keeps trying to open the port
    assert device.state == DeviceState.FAULT
    assert "No such file" in device.transport.last_error
    device.close()


def test_open_device_builds_from_the_configuration(world: SimWorld, clock: VirtualClock, firmware: SimpleDrill):
    config = load_config()
    device = open_device("drill", config.devices["drill"], config.transport, clock)
    assert isinstance(device, Drill) and not device.transport.connected
    assert device.limits == {"max_rpm": 300.0, "max_depth_m": 2.5, "max_feed_rate_m_s": 0.005, "max_torque_Nm": 40.0}
    assert device.transport.timeout_s == config.transport.timeout_s
    device.connect()
    assert device.link_up
    with pytest.raises(CommandError, match="max_rpm = 300 rpm"):
        device.spin(301)
    device.close()
    with pytest.raises(KeyError, match="expected one of"):
        driver_class("laser")


# ---------------------------------------------------------------------------------- validation
def test_unknown_limit_names_the_valid_ones(clock: VirtualClock):
    transport = Transport("sim://drill", clock=clock, address=DRILL.address)
    with pytest.raises(ConfigError, match=r"limits\.max_rmp.*max_depth_m.*max_rpm"):
        Drill(transport, clock, limits={"max_rmp": 100.0})
    with pytest.raises(ConfigError, match=r"limits\.max_rpm: expected a finite number"):
        Drill(transport, clock, limits={"max_rpm": math.inf})
    with pytest.raises(ConfigError, match="deadman_s"):
        Drill(transport, clock, deadman_s=0.01)
    with pytest.raises(ConfigError, match="telemetry_period_s"):
        Drill(transport, clock, telemetry_period_s=-1)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda d: d.command("drill_harder"), r"has no command 'drill_harder'; expected one of .*'spin'"),
        (lambda d: d.command("feed", depth_m=0.1), r"missing \['rate_m_s'\]"),
        (lambda d: d.command("spin", rpm=10, torque=3), r"unexpected \['torque'\]"),
        (lambda d: d.spin("fast"), r"rpm must be a number in rpm, got 'fast'"),
        (lambda d: d.spin(math.nan), r"rpm must be finite"),
        (lambda d: d.command("percussion", on=0.5), r"on must be an integer, got 0.5"),
        (lambda d: d.spin(700), r"rpm = 700 rpm is outside the ICD range 0..600 rpm"),
        (lambda d: d.spin(-1), r"rpm = -1 rpm is outside the ICD range"),
        (lambda d: d.spin(301), r"rpm = 301 rpm exceeds the configured limit max_rpm = 300 rpm"),
        (lambda d: d.feed(1.2, 0.001), r"depth_m = 1.2 m exceeds the configured limit max_depth_m = 1 m"),
        (lambda d: d.act("feed", depth_m=0.1, rate_m_s=0.001), r"is a motion command"),
        (lambda d: d.start("spin", rpm=10), r"is not a motion command"),
    ],
)
def test_bad_commands_are_refused_before_sending(drill: Drill, firmware: SimpleDrill, call: Any, message: str):
    before = len(firmware.history)
    sent_before = drill.transport.stats.bytes_out
    with pytest.raises(CommandError, match=message):
        call(drill)
    assert len(firmware.history) == before
    assert drill.transport.stats.bytes_out == sent_before


def test_limits_bound_signed_arguments_by_magnitude_for_every_target(clock: VirtualClock):
    # Validation happens before the port is touched: this transport is never opened.
    drive = Drive(
        Transport("sim://drive", clock=clock, address=DEVICES["drive"].address),
        clock,
        limits={"max_speed_m_s": 0.2, "max_turn_rate_rad_s": 0.5},
    )
    for call, arg in [
        (lambda: drive.wheels(0.1, -0.25), "right_m_s = -0.25"),
        (lambda: drive.wheels(0.21, 0.0), "left_m_s = 0.21"),
        (lambda: drive.twist(-0.3, 0.0), "v_m_s = -0.3"),
        (lambda: drive.twist(0.1, -0.6), "omega_rad_s = -0.6"),
        (lambda: drive.move(5.0, 0.25), "speed_m_s = 0.25"),
        (lambda: drive.turn(1.0, 0.9), "rate_rad_s = 0.9"),
    ]:
        with pytest.raises(CommandError, match=arg):
            call()
    # Within the limits the command gets as far as the (unopened) link.
    with pytest.raises(PortError, match="link is down"):
        drive.move(-5.0, 0.2)


def test_power_buses_by_name_and_anchor_masks_by_index():
    assert [bus_index(name) for name in POWER_BUSES] == list(range(len(POWER_BUSES)))
    assert bus_index(3) == 3
    with pytest.raises(CommandError, match=r"unknown bus 'heater'; expected one of \['avionics'"):
        bus_index("heater")
    with pytest.raises(CommandError, match="expected a name among"):
        bus_index(len(POWER_BUSES))
    assert anchor_mask([0, 2]) == 0b0101
    assert anchor_mask(ALL_ANCHORS) == 0b1111
    with pytest.raises(CommandError, match=r"anchor index 4; expected an integer in 0..3"):
        anchor_mask([4])


# ----------------------------------------------------------------------------- typed telemetry
@pytest.mark.parametrize("name", sorted(DRIVER_CLASSES))
def test_telemetry_dataclass_fields_equal_the_icd(name: str):
    cls = DRIVER_CLASSES[name]
    spec = DEVICES[name]
    assert cls.spec is spec
    assert telemetry_field_names(cls.telemetry_class) == tuple(f.name for f in spec.telemetry)
    names = tuple(f.name for f in dataclasses.fields(cls.telemetry_class))
    assert names[: len(TELEMETRY_BASE_FIELDS)] == ("t", "state", "mode", "faults", "uptime_s")
    assert cls.telemetry_class.__dataclass_params__.frozen  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", sorted(DRIVER_CLASSES))
def test_every_limit_names_a_real_argument_or_telemetry_value(name: str):
    cls = DRIVER_CLASSES[name]
    fields = {f.name for f in dataclasses.fields(cls.telemetry_class)}
    for limit in cls.LIMITS:
        assert limit.args or limit.telemetry, limit
        for command_name, arg in limit.args:
            assert arg in [a.name for a in cls.spec.command(command_name).args], (limit.name, command_name, arg)
        if limit.telemetry is not None:
            assert limit.telemetry in fields or isinstance(
                getattr(cls.telemetry_class, limit.telemetry, None), property
            ), limit


def test_telemetry_streams_into_typed_snapshots(drill: Drill, clock: VirtualClock, firmware: SimpleDrill):
    count = drill.telemetry_count
    drill.spin(120)
    run_for(drill, clock, 1.0)
    assert drill.telemetry_count - count == pytest.approx(10, abs=1)
    snapshot = drill.telemetry
    assert snapshot is not None
    assert (snapshot.state, snapshot.mode, snapshot.faults) == (DeviceState.ACTIVE, "spinning", ())
    assert snapshot.rpm == 120.0 and snapshot.percussion is False
    assert snapshot.uptime_s == pytest.approx(world_time(firmware), abs=0.11)
    assert 0 <= drill.telemetry_age_s <= 0.1  # type: ignore[operator]
    assert drill.mode == "spinning" and drill.state == DeviceState.ACTIVE
    drill.percussion(True)
    assert drill.refresh().percussion is True


def world_time(firmware: Firmware) -> float:
    return firmware.world.t


def test_derived_values():
    imu = ImuTelemetry(
        0.0, DeviceState.IDLE, "idle", (), 1.0, 0.0, 1.62 * math.sin(0.2), 1.62 * math.cos(0.2), 0, 0, 0, 290
    )
    assert imu.tilt_rad == pytest.approx(0.2) and imu.roll_rad == pytest.approx(0.2)
    assert imu.accel_norm_m_s2 == pytest.approx(1.62)
    extractor = ExtractorTelemetry(
        0.0, DeviceState.ACTIVE, "heating", (), 1.0, 400, 100, 200, 1.0, 150, 0.05, 0, 2.0e5, 1, 0
    )
    assert extractor.energy_per_kg_water_J_kg == pytest.approx(4.0e6)
    assert extractor.lid_state == "sealed"
    loads = [float(i) for i in range(len(POWER_BUSES))]
    power = PowerTelemetry(0.0, DeviceState.IDLE, "idle", (), 1.0, 28.0, 2.0, 0.8, 50.0, 28.0, *loads, 0b101)
    assert power.bus_loads_W == dict(zip(POWER_BUSES, loads, strict=True))
    assert power.bus_on["avionics"] and not power.bus_on["drill"] and power.bus_on["scoop"]


def test_limit_violations_from_telemetry(drill: Drill, firmware: SimpleDrill):
    drill.spin(100)
    drill.refresh()
    assert drill.limit_violations() == []
    firmware.torque_Nm = 55.0
    drill.refresh()
    (violation,) = drill.limit_violations()
    assert (violation.limit, violation.value, violation.bound) == ("max_torque_Nm", 55.0, 40.0)
    assert "torque_Nm = 55 N*m is above the limit max_torque_Nm = 40 N*m" in violation.text


# ------------------------------------------------------------------------------ NACK and motion
def test_device_nack_surfaces_with_its_code_name(drill: Drill, world: SimWorld, firmware: SimpleDrill):
    world.rover.bus_on["drill"] = False
    with pytest.raises(DeviceNack) as info:
        drill.spin(100)
    assert info.value.code_name == "BAD_STATE" and info.value.command == "spin"
    firmware.assert_received("spin", "BAD_STATE")
    world.rover.bus_on["drill"] = True
    with pytest.raises(DeviceNack, match=r"feed.*BAD_STATE"):
        drill.feed(0.1, 0.001)  # not spinning


def test_motion_completes_and_is_tracked(drill: Drill, clock: VirtualClock):
    drill.spin(100)
    motion = drill.feed(0.05, 0.005)
    assert isinstance(motion, Motion) and not motion.done and drill.motions == (motion,)
    assert motion.wait(30.0) == Completion.OK
    assert motion.t_end is not None and motion.t_end - motion.t_start == pytest.approx(10.0, abs=0.2)
    assert drill.telemetry.depth_m == pytest.approx(0.05, abs=1e-6)
    assert drill.motions == ()
    back = drill.retract(0.01)
    assert back.wait(30.0) == Completion.OK
    assert drill.refresh().depth_m == pytest.approx(0.0, abs=1e-6)


def test_motion_that_ends_inside_its_own_request(drill: Drill):
    drill.spin(100)
    motion = drill.feed(0.0, 0.001)  # already at the depth: COMMAND_COMPLETE comes with the ACK
    assert motion.done and motion.completion == Completion.OK
    assert drill.motions == ()


def test_a_new_motion_ends_the_previous_one_as_stopped(drill: Drill):
    drill.spin(100)
    first = drill.feed(0.5, 0.001)
    second = drill.feed(0.01, 0.005)
    assert first.completion == Completion.STOPPED
    assert not second.done
    assert second.wait(10.0) == Completion.OK


def test_motion_wait_times_out_on_the_clock_then_stop_ends_it(drill: Drill, clock: VirtualClock):
    drill.spin(100)
    motion = drill.feed(0.5, 0.0001)
    t0 = clock.monotonic()
    with pytest.raises(ResponseTimeout, match="feed did not complete within 2 s"):
        motion.wait(2.0)
    # the time-out, then the grace after asking the device to resend its unacknowledged events
    assert clock.monotonic() - t0 == pytest.approx(2.0 + RESEND_GRACE_S, abs=0.05)
    drill.stop()
    assert motion.wait(1.0) == Completion.STOPPED


def test_stall_blocks_the_motion_and_faults_the_device(drill: Drill, world: SimWorld):
    seen: list[DeviceEvent] = []
    drill.on_event(seen.append)
    drill.spin(100)
    motion = drill.feed(0.5, 0.001)
    world.inject("drill", "stall")
    assert motion.wait(1.0) == Completion.BLOCKED
    assert drill.state == DeviceState.FAULT and drill.faults == ("stall",)
    assert "stall" in drill.fault_reason
    fault_events = [e for e in seen if e.name == "FAULT_SET"]
    assert fault_events and fault_events[0].text == "fault stall set (value 42)" and fault_events[0].device == "drill"
    assert drill.clear_fault() == ()
    assert drill.state != DeviceState.FAULT


# ---------------------------------------------------------------------------------------- events
def test_events_reach_listeners_from_poll_only(drill: Drill, clock: VirtualClock):
    seen: list[DeviceEvent] = []
    drill.on_event(seen.append)
    drill.poll()
    seen.clear()
    drill.spin(100)  # MODE_CHANGE arrives during the request
    assert seen == []
    assert drill.events[-1].name == "MODE_CHANGE" and drill.events[-1].text == "mode spinning"
    drill.poll()
    assert [(e.name, e.code) for e in seen] == [("MODE_CHANGE", 1)]


def test_a_listener_may_command_the_device_and_a_failing_one_is_contained(drill: Drill, firmware: SimpleDrill):
    def stop_on_spin(event: DeviceEvent) -> None:
        if event.name == "MODE_CHANGE" and event.text == "mode spinning":
            drill.stop()

    def broken(event: DeviceEvent) -> None:
        raise RuntimeError("listener bug")

    drill.on_event(broken)
    drill.on_event(stop_on_spin)
    drill.spin(100)
    drill.poll()
    firmware.assert_received("stop", "ack")
    assert firmware.rpm == 0.0


def test_event_history_is_bounded(world: SimWorld, clock: VirtualClock):
    device = make_drill(clock, event_history=4)
    device.connect()
    for rpm in (10, 0, 10, 0, 10, 0):
        device.spin(rpm)
    assert len(device.events) == 4
    assert all(e.name == "MODE_CHANGE" for e in device.events)
    device.close()


# ------------------------------------------------------------------------------------- dead-man
def test_heartbeats_keep_an_idle_host_from_tripping_the_deadman(
    world: SimWorld, clock: VirtualClock, firmware: SimpleDrill
):
    device = make_drill(clock, deadman_s=0.2)
    device.connect()
    device.spin(100)
    requests = device.transport.stats.requests
    run_for(device, clock, 2.0)  # ten dead-man timeouts with no command sent
    assert device.transport.stats.requests - requests >= 2.0 / (0.2 / 4) * 0.8  # heartbeats, every 50 ms
    assert firmware.rpm == 100.0
    assert all(e["event"] != EventId.DEADMAN_STOP for e in firmware.events_sent)
    assert device.heartbeat() >= 0.0
    # A host that stops polling is stopped by the device.
    clock.advance(0.5)
    world.sync()
    assert firmware.rpm == 0.0
    assert any(e["event"] == EventId.DEADMAN_STOP for e in firmware.events_sent)
    device.poll()
    assert "deadman" in device.faults
    device.close()


# --------------------------------------------------------------------------------- lossy line
def test_lossy_line_executes_each_command_exactly_once(world: SimWorld, clock: VirtualClock, firmware: SimpleDrill):
    device = make_drill(clock, retries=8)
    device.connect()
    world.inject("drill", "drop", rate=0.02)
    sequence = [i % 2 for i in range(30)]
    for on in sequence:
        assert device.percussion(bool(on)) == AckResult.DONE
    world.inject("drill", "clear_line")
    assert device.transport.stats.retries > 0  # the line really lost frames
    got = [r.args["on"] for r in firmware.received("percussion")]
    assert got == sequence
    device.close()


# ------------------------------------------------------------------------------ link loss
def test_disconnect_faults_the_device_and_reconnect_reidentifies(
    world: SimWorld, clock: VirtualClock, firmware: SimpleDrill
):
    device = make_drill(clock)
    device.connect()
    seen: list[DeviceEvent] = []
    device.on_event(seen.append)
    device.spin(50)
    motion = device.feed(0.5, 0.001)
    world.inject("drill", "disconnect")
    run_for(device, clock, 0.1)
    assert device.state == DeviceState.FAULT and not device.link_up
    assert "Input/output error" in device.fault_reason
    assert any(e.name == "LINK_DOWN" for e in seen)
    with pytest.raises(PortError, match="outcome unknown: link down"):
        motion.wait(1.0)
    with pytest.raises(PortError, match="link is down"):
        device.spin(10)
    run_for(device, clock, 1.0)
    assert not device.link_up
    world.inject("drill", "reconnect")
    for _ in range(500):
        run_for(device, clock, 0.05)
        if device.link_up:
            break
    assert device.link_up and device.setups == 2
    assert len(firmware.received("set_deadman")) == 2 and len(firmware.received("self_test")) == 1
    assert any(e.name == "LINK_UP" and "re-identified drill s/n 0x15000042" in e.text for e in seen)
    # The device stopped itself while it could not hear the host; the driver shows why.
    assert device.faults == ("deadman",) and device.state == DeviceState.FAULT
    device.clear_fault()
    assert device.state == DeviceState.IDLE
    device.close()


def test_unanswered_heartbeats_take_the_link_down_and_back(world: SimWorld, clock: VirtualClock):
    device = make_drill(clock, deadman_s=0.4)
    device.connect()
    seen: list[DeviceEvent] = []
    device.on_event(seen.append)
    world.inject("drill", "drop", rate=1.0)  # the device falls silent (and deaf)
    run_for(device, clock, 1.5)
    assert any(e.name == "LINK_DOWN" and "heartbeats unanswered" in e.text for e in seen)
    assert device.state == DeviceState.FAULT
    world.inject("drill", "clear_line")
    for _ in range(200):
        run_for(device, clock, 0.05)
        if device.link_up:
            break
    assert device.link_up
    assert [e.name for e in seen if e.name.startswith("LINK")][-1] == "LINK_UP"
    device.close()


def test_a_device_reboot_is_reconfigured(drill: Drill, world: SimWorld, clock: VirtualClock, firmware: SimpleDrill):
    world.inject("drill", "reboot")
    assert firmware.telemetry_period_ms == 0
    run_for(drill, clock, 0.1)
    assert firmware.telemetry_period_ms == 100 and firmware.deadman_ms == 1000
    assert drill.setups == 2
    count = drill.telemetry_count
    run_for(drill, clock, 0.5)
    assert drill.telemetry_count > count


def test_anchor_and_power_drivers_refuse_out_of_range_before_the_link(clock: VirtualClock):
    anchor = Anchor(Transport("sim://anchor", clock=clock, address=0x05), clock, limits={"max_preload_N": 1500.0})
    with pytest.raises(CommandError, match="force_N = 1600 N exceeds the configured limit max_preload_N = 1500 N"):
        anchor.preload(1600.0)
    with pytest.raises(CommandError, match=r"mask = 0 is outside the ICD range 1\.\.15"):
        anchor.deploy(0.2, anchors=0)
    power = Power(Transport("sim://power", clock=clock, address=0x07), clock)
    with pytest.raises(PortError):
        power.bus("drill", False)
