"""A device's stream starts one period after ``set_telemetry_period`` arrives (docs/icd.md section 10), also
while the emulated world lags the clock between its physics steps (real bytes through ``sim://`` and the hal
transport, on a virtual clock)."""

from __future__ import annotations

import itertools

import pytest

import sim_hw  # noqa: F401  (registers sim://)
from base.clock import VirtualClock
from hal.icd import DEVICES
from hal.protocol import MsgType
from hal.transport import Transport
from sim_hw.registry import install_world, uninstall_world
from sim_hw.world import SimWorld


@pytest.mark.parametrize("device", ["imu", "drill", "power"])
def test_the_first_frame_comes_one_period_after_the_command_arrived(device: str) -> None:
    clock = VirtualClock()
    world = install_world(SimWorld(clock, seed=7, site=0), "telemetry-start")
    spec = DEVICES[device]
    transport = Transport(f"sim://{device}?world=telemetry-start", clock=clock, address=spec.address, name=device)
    arrivals: list[float] = []
    try:
        transport.open()
        transport.subscribe(lambda _frame: arrivals.append(clock.monotonic()), {MsgType.TELEMETRY})
        clock.advance(0.2)  # the world rests and steps every 0.25 s: it is still at 0 s when the command comes
        sent = clock.monotonic()
        transport.request(MsgType.COMMAND, spec.command("set_telemetry_period").pack({"period_ms": 100}))
        assert world.t < sent  # the command arrived between two of the world's steps
        while clock.monotonic() < sent + 0.55:
            clock.advance(0.005)
            transport.poll()
    finally:
        transport.close()
        uninstall_world("telemetry-start")
    assert arrivals, "no telemetry"
    assert arrivals[0] >= sent + 0.1 - 1e-6, arrivals[:3]  # never before one period
    assert arrivals[0] <= sent + 0.1 + 0.01, arrivals[:3]
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert all(gap >= 0.1 - 0.006 for gap in gaps), gaps  # and no burst after it
