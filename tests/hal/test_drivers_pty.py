"""Every driver across processes: ``isru sim --pty`` in a subprocess, the drivers on its pty paths.

This is the rig's path with the hardware replaced by the simulator in another process: real ptys, a real
clock, the drivers opening ``/dev/pts/N`` exactly as they would open a USB serial adapter.
"""

from __future__ import annotations

import math
import os
import selectors
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from base.clock import RealClock
from hal.config import DeviceConfig, TransportConfig
from hal.device import Device
from hal.devices import DRIVER_CLASSES, open_device
from hal.icd import DEVICES, DeviceState
from hal.protocol import AckResult
from hal.telemetry import telemetry_field_names
from sim_hw.devices import DEVICE_NAMES

#: Wall-second bounds of the waits below.
START_TIMEOUT_S = 15.0
EXIT_TIMEOUT_S = 10.0
TELEMETRY_TIMEOUT_S = 3.0


@dataclass
class SimProcess:
    """The ``isru sim --pty`` subprocess and the pty path of each device."""

    process: subprocess.Popen[bytes]
    paths: dict[str, str]


def _read_banner(process: subprocess.Popen[bytes], timeout_s: float) -> dict[str, str]:
    """Read ``<device> <path>`` lines up to ``ready``; bounded by ``timeout_s`` wall seconds."""
    assert process.stdout is not None
    clock = RealClock()
    deadline = clock.monotonic() + timeout_s
    paths: dict[str, str] = {}
    buffer = b""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while True:
            remaining = deadline - clock.monotonic()
            if remaining <= 0:
                raise AssertionError(f"isru sim --pty printed no 'ready' within {timeout_s} s; got {buffer!r}")
            if not selector.select(remaining):
                continue
            chunk = os.read(process.stdout.fileno(), 4096)
            if not chunk:
                code = process.wait(timeout=EXIT_TIMEOUT_S)
                stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
                raise AssertionError(
                    f"isru sim --pty exited with {code} before 'ready'; stdout {buffer!r}; stderr:\n{stderr[-2000:]}"
                )
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                text = line.decode().strip()
                if text == "ready":
                    return paths
                name, path = text.split(" ", 1)
                paths[name] = path


@pytest.fixture(scope="module")
def sim() -> Iterator[SimProcess]:
    command = [sys.executable, "-m", "isru.cli", "sim", "--pty", "--warp", "1"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        paths = _read_banner(process, START_TIMEOUT_S)
        yield SimProcess(process, paths)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=EXIT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=EXIT_TIMEOUT_S)
            raise AssertionError("isru sim --pty ignored SIGTERM") from None
        finally:
            stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
            for stream in (process.stdout, process.stderr):
                if stream is not None:
                    stream.close()
    assert code == 0, f"isru sim --pty exited with {code}; stderr:\n{stderr}"


def _wait_until(device: Device, predicate: Callable[[], bool], timeout_s: float) -> bool:
    """Poll ``device`` on its real clock until ``predicate()`` holds or ``timeout_s`` passes."""
    clock = device.clock
    deadline = clock.monotonic() + timeout_s
    while clock.monotonic() < deadline:
        device.poll()
        if predicate():
            return True
        clock.sleep(0.01)
    return predicate()


def _act(name: str, device: Device) -> Callable[[], bool]:
    """Run one command on ``device``; returns the check that its effect shows in telemetry."""
    if name == "drill":
        assert device.percussion(True) == AckResult.DONE
        return lambda: device.telemetry.percussion is True
    if name == "scoop":
        motion = device.move(0.3, 0.5)
        assert motion.wait(5.0).name == "OK"
        return lambda: abs(device.telemetry.arm_angle_rad - 0.3) < 0.02
    if name == "extractor":
        assert device.vent(True) == AckResult.DONE
        return lambda: device.telemetry.vent is True
    if name == "imu":
        motion = device.calibrate(0.5)
        assert motion.wait(5.0).name == "OK"
        return lambda: device.telemetry.mode == "idle"
    if name == "anchor":
        motion = device.deploy(0.02, anchors=[0])
        motion.wait(10.0)
        return lambda: device.telemetry.depth0_m > 0.0
    if name == "drive":
        assert device.twist(0.1, 0.0) == AckResult.DONE
        return lambda: device.telemetry.v_m_s > 0.05
    if name == "hopper":
        motion = device.hop(0.0, 0.05, 0.7)
        assert motion.wait(10.0).name == "OK"
        return lambda: device.telemetry.hops == 1 and device.telemetry.settled
    if name == "power":
        assert device.bus("comms", False) == AckResult.DONE
        return lambda: device.telemetry.bus_on["comms"] is False
    raise AssertionError(f"no command chosen for {name}")


@pytest.mark.parametrize("name", DEVICE_NAMES)
def test_driver_over_a_pty(sim: SimProcess, name: str):
    clock = RealClock()
    config = DeviceConfig(port=sim.paths[name], telemetry_period_s=0.05, deadman_s=1.0)
    device = open_device(name, config, TransportConfig(timeout_s=0.2), clock)
    assert isinstance(device, DRIVER_CLASSES[name])
    try:
        identity = device.connect()
        assert identity.device_type == DEVICES[name].device_type and identity.firmware == "1.0.0"
        assert device.link_up and device.state != DeviceState.FAULT
        count = device.telemetry_count
        check = _act(name, device)
        assert _wait_until(device, lambda: device.telemetry_count >= count + 5, TELEMETRY_TIMEOUT_S), (
            f"{name}: {device.telemetry_count - count} telemetry frames in {TELEMETRY_TIMEOUT_S} s"
        )
        assert _wait_until(device, check, TELEMETRY_TIMEOUT_S), f"{name}: command had no effect: {device.telemetry}"
        snapshot = device.telemetry
        assert snapshot is not None and device.telemetry_age_s < 0.5
        for field in telemetry_field_names(type(snapshot)):
            value = getattr(snapshot, field)
            assert not isinstance(value, float) or math.isfinite(value), (name, field, value)
        assert device.heartbeat() < 0.2
        device.stop()
    finally:
        device.close()
