"""Child processes of the flight benchmarks, each printing one JSON object on stdout.

``python -m bench.flight_runs loop --seconds S``
    The flight segment (``isru.config`` default, every device on ``sim://``) on a :class:`RealClock`, the
    simulated world on the same clock, a mission started, run for ``S`` wall seconds. Prints the control
    group's start lateness samples (seconds), its period, runs and slips, and the CPU seconds the process
    used during the run (``time.process_time``) against the wall seconds it took.
``python -m bench.flight_runs bare --seconds S --period P``
    The raw limit of the control loop: ``RealClock.sleep_until`` at period ``P`` with no work, lateness
    measured exactly as :class:`flight.executive.Executive` measures it. Prints the lateness samples.

Both print ``ready`` as their first line on stdout once set up (so that a parent can start the two
together), then the JSON object as the second line.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
import time
from typing import Any

from base.clock import RealClock


def run_loop(seconds: float) -> dict[str, Any]:
    """The flight loop under its full sim:// load for ``seconds`` of real time; see the module doc."""
    import sim_hw  # noqa: F401  (registers sim://)
    from flight.app import FlightApp
    from flight.mission_config import SiteConfig
    from isru.config import load_config
    from sim_hw.registry import install_world, uninstall_world
    from sim_hw.world import SimWorld

    clock = RealClock()
    config = load_config()
    world = install_world(SimWorld.from_config(config.sim, clock))
    mission = config.mission
    if not mission.sites:
        mission = dataclasses.replace(mission, sites=[SiteConfig(s.x_m, s.y_m) for s in world.sites])
    devices = {
        name: dev if dev.port.startswith("sim://") else dataclasses.replace(dev, port=f"sim://{name}")
        for name, dev in config.devices.items()
    }
    app = FlightApp(dataclasses.replace(config, devices=devices, mission=mission), clock)
    try:
        failed = app.start()
        if failed:
            raise RuntimeError(f"devices failed to connect: {failed}")
        status = app.dispatcher.submit("mission.start", {"cycles": 1}, source="bench")
        if status.stage.value == "failed":
            raise RuntimeError(f"mission.start failed: {status.reason} {status.message}")
        control = app.executive.group("control")
        _ready()
        control.lateness_s.clear()
        runs0, slips0 = control.runs, control.slips
        cpu0, wall0 = time.process_time(), time.perf_counter()
        app.executive.run(duration_s=seconds)
        cpu_s, wall_s = time.process_time() - cpu0, time.perf_counter() - wall0
        return {
            "lateness_s": list(control.lateness_s),
            "period_s": control.period_s,
            "runs": control.runs - runs0,
            "slips": control.slips - slips0,
            "cpu_s": cpu_s,
            "wall_s": wall_s,
            "mission_state": app.mission.state,
            "devices_up": sum(1 for d in app.rig.devices.values() if d.link_up),
            "telemetry_frames": sum(d.telemetry_count for d in app.rig.devices.values()),
        }
    finally:
        app.close()
        uninstall_world()


def run_bare(seconds: float, period_s: float) -> dict[str, Any]:
    """A loop that only sleeps until each deadline of period ``period_s`` on a :class:`RealClock`."""
    clock = RealClock()
    _ready()
    lateness = []
    cpu0, wall0 = time.process_time(), time.perf_counter()
    due = clock.monotonic()
    end = due + seconds
    while due < end:
        clock.sleep_until(due)
        start = clock.monotonic()
        lateness.append(max(0.0, start - due))
        due += period_s
        if due <= start:  # realign as the executive does: no burst to catch up
            due += (int((start - due) / period_s) + 1) * period_s
    return {
        "lateness_s": lateness,
        "period_s": period_s,
        "cpu_s": time.process_time() - cpu0,
        "wall_s": time.perf_counter() - wall0,
    }


def _ready() -> None:
    print("ready", flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run one child; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m bench.flight_runs", description=__doc__.splitlines()[0])
    modes = parser.add_subparsers(dest="mode", required=True)
    loop = modes.add_parser("loop", help="the flight loop under sim:// load on real time")
    loop.add_argument("--seconds", type=float, required=True, help="wall seconds to run")
    bare = modes.add_parser("bare", help="a bare sleep-until loop on real time")
    bare.add_argument("--seconds", type=float, required=True, help="wall seconds to run")
    bare.add_argument("--period", type=float, required=True, help="loop period, seconds")
    args = parser.parse_args(argv)
    if not 0 < args.seconds <= 3600:
        parser.error(f"--seconds {args.seconds} must be in (0, 3600]")
    logging.basicConfig(level=logging.ERROR)
    if args.mode == "loop":
        result = run_loop(args.seconds)
    else:
        if not 0 < args.period <= 10:
            parser.error(f"--period {args.period} must be in (0, 10]")
        result = run_bare(args.seconds, args.period)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
