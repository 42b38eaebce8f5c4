"""Simulation speed: all seven emulated devices stepping their physics and streaming 10 Hz telemetry
through the real byte path (``sim://`` ports, the hal transport and its frame decoder), in-process on a
virtual clock."""

from __future__ import annotations

import sim_hw  # noqa: F401  (registers sim://)
from base.clock import RealClock, VirtualClock
from bench.registry import Result, RunOptions, metric
from bench.stats import median
from hal.icd import DEVICES
from hal.protocol import MsgType
from hal.transport import Transport
from sim_hw.registry import install_world, uninstall_world
from sim_hw.world import SimWorld

#: Telemetry period of every device, seconds (10 Hz).
TELEMETRY_PERIOD_S = 0.1
#: How often the host polls every port, simulated seconds (what a 10 Hz reader would do).
POLL_PERIOD_S = 0.1


def _run_once(sim_seconds: float) -> tuple[float, int]:
    clock = VirtualClock()
    install_world(SimWorld(clock, seed=7, site=0), "bench-sim")
    frames = [0]
    transports = []
    try:
        for name, spec in DEVICES.items():
            transport = Transport(f"sim://{name}?world=bench-sim", clock=clock, address=spec.address, name=name)
            transport.open()
            transport.subscribe(lambda _frame: frames.__setitem__(0, frames[0] + 1), {MsgType.TELEMETRY})
            period = spec.command("set_telemetry_period").pack({"period_ms": round(TELEMETRY_PERIOD_S * 1000)})
            transport.request(MsgType.COMMAND, period)
            transports.append(transport)
        wall = RealClock()
        start = wall.monotonic()
        end = clock.monotonic() + sim_seconds
        while clock.monotonic() < end:
            clock.advance(POLL_PERIOD_S)
            for transport in transports:
                transport.poll()
        elapsed = wall.monotonic() - start
    finally:
        for transport in transports:
            transport.close()
        uninstall_world("bench-sim")
    expected = len(DEVICES) * sim_seconds / TELEMETRY_PERIOD_S
    if frames[0] < 0.95 * expected:
        raise RuntimeError(f"only {frames[0]} telemetry frames arrived; expected about {expected:.0f}")
    return elapsed, frames[0]


@metric("sim_speedup_x", unit="x", target=">= 500")
def sim_speedup_x(options: RunOptions) -> Result:
    """Simulated seconds per wall second for the seven-device world streaming 10 Hz telemetry each through
    sim:// ports and the hal transport (raw limit: real time, 1 simulated second per wall second)."""
    sim_seconds = options.pick(full=600.0, quick=120.0)
    repeats = options.pick(full=5, quick=3)
    speedups = []
    frames = 0
    for _ in range(repeats):
        elapsed, frames = _run_once(sim_seconds)
        speedups.append(sim_seconds / elapsed)
    value = median(speedups)
    return Result(
        value,
        raw=1.0,
        ratio=value,
        raw_unit="x (real time)",
        extra={"sim_seconds": sim_seconds, "frames_per_run": frames, "best_x": max(speedups)},
    )
