"""``isru demo``: the main job on the embedded default — simulated hardware and flight on this machine.

``isru demo --headless --cycles N --json`` runs N mining cycles on a virtual clock (as fast as the machine
allows, the same way for the same seed) and prints one JSON summary. Without ``--headless`` it runs
cycles continuously on a scaled clock, printing mission events, until interrupted; with ``--pty`` the
simulated devices run in a separate ``isru sim --pty`` process and flight talks to them over
pseudo-terminals, exactly as it would over USB serial.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

from hal.config_loader import ConfigError

FAULT_HELP = (
    "inject a fault: DEVICE.KIND[@SECONDS][:key=value,...], e.g. drill.stall@900, "
    "extractor.heater_runaway@3000, anchor.slip@1200, drill.corrupt:rate=0.01 (repeatable)"
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``demo`` subcommand."""
    parser = subparsers.add_parser(
        "demo",
        help="run simulated hardware and flight: whole mining cycles",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", help="configuration file (default: the embedded configs/sim.toml)")
    parser.add_argument("--headless", action="store_true", help="run N cycles on a virtual clock and exit")
    parser.add_argument("--cycles", type=int, default=1, help="cycles to run (headless; default 1)")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    parser.add_argument("--seed", type=int, help="simulation seed (default: sim.seed of the config)")
    parser.add_argument(
        "--warp", type=float, help="simulated seconds per wall second when not headless (default: sim.warp)"
    )
    parser.add_argument("--inject", action="append", default=[], metavar="FAULT", help=FAULT_HELP)
    parser.add_argument("--pty", action="store_true", help="run the simulated devices in a separate process")
    parser.add_argument(
        "--max-sim-hours", type=float, default=48.0, help="give up after this much simulated time (headless)"
    )
    parser.set_defaults(func=run)


def parse_fault(text: str) -> tuple[float, str, str, dict[str, Any]]:
    """``drill.stall@900:rate=0.1`` → (900.0, "drill", "stall", {"rate": 0.1}); raises ValueError."""
    spec, _, params_text = text.partition(":")
    target, _, at_text = spec.partition("@")
    device, dot, kind = target.partition(".")
    if not dot or not device or not kind:
        raise ValueError(f"fault {text!r}: expected DEVICE.KIND[@SECONDS][:key=value,...]")
    try:
        at_s = float(at_text) if at_text else 0.0
    except ValueError:
        raise ValueError(f"fault {text!r}: time {at_text!r} is not a number of seconds") from None
    params: dict[str, Any] = {}
    for item in filter(None, params_text.split(",")):
        key, eq, value = item.partition("=")
        if not eq:
            raise ValueError(f"fault {text!r}: parameter {item!r} is not key=value")
        try:
            params[key] = float(value)
        except ValueError:
            params[key] = value
    return at_s, device, kind, params


def run(args: argparse.Namespace) -> int:
    """Run the demo; returns the exit code."""
    from isru.config import load_config

    try:
        config = load_config(args.config)
        faults = [parse_fault(text) for text in args.inject]
    except (ConfigError, ValueError) as exc:
        print(f"isru demo: {exc}", file=sys.stderr)
        return 2
    if args.seed is not None:
        config = dataclasses.replace(config, sim=dataclasses.replace(config.sim, seed=args.seed))
    if args.headless:
        return _headless(config, args, faults)
    return _live(config, args, faults)


# ---------------------------------------------------------------------------------------- headless
def _headless(config: Any, args: argparse.Namespace, faults: list[tuple[float, str, str, dict[str, Any]]]) -> int:
    import sim_hw  # noqa: F401  (registers sim://)
    from flight.app import FlightApp
    from hal.clock import RealClock, VirtualClock
    from sim_hw.registry import install_world, uninstall_world
    from sim_hw.world import SimWorld

    if args.cycles < 1:
        print("isru demo: --cycles must be >= 1", file=sys.stderr)
        return 2
    clock = VirtualClock()
    try:
        world = SimWorld.from_config(config.sim, clock)
        for at_s, device, kind, params in faults:
            world.device(device)
            world.schedule(at_s, device, kind, **params)
    except KeyError as exc:
        print(f"isru demo: {exc.args[0]}", file=sys.stderr)
        return 2
    install_world(world)
    wall = RealClock()
    wall0 = wall.monotonic()
    app = FlightApp(_sim_ports(config, world), clock)
    try:
        app.start()
        sim0 = clock.monotonic()
        status = app.dispatcher.submit("mission.start", {"cycles": args.cycles}, source="demo")
        if status.stage.value == "failed":
            print(f"isru demo: mission.start failed: {status.reason} {status.message}", file=sys.stderr)
            return 1
        limit = sim0 + args.max_sim_hours * 3600.0
        app.executive.run(until=lambda: app.mission.state in ("idle", "safe") or clock.monotonic() > limit)
        summary = _summary(app, world, clock.monotonic() - sim0, wall.monotonic() - wall0, args)
    finally:
        app.close()
        uninstall_world()
    _print_summary(summary, args.json)
    return 0 if summary["cycles_completed"] >= args.cycles else 1


def _sim_ports(config: Any, world: Any) -> Any:
    """The configuration with every device on a ``sim://`` port and, unless the configuration lists
    candidate sites, the simulated terrain's sites as candidates."""
    from flight.mission_config import SiteConfig

    devices = {
        name: dev if dev.port.startswith("sim://") else dataclasses.replace(dev, port=f"sim://{name}")
        for name, dev in config.devices.items()
    }
    mission = config.mission
    if not mission.sites:
        mission = dataclasses.replace(mission, sites=[SiteConfig(site.x_m, site.y_m) for site in world.sites])
    return dataclasses.replace(config, devices=devices, mission=mission)


def _summary(app: Any, world: Any, sim_s: float, wall_s: float, args: argparse.Namespace) -> dict[str, Any]:
    progress = app.mission.progress
    fault_events = [
        f"{e.source}.{e.name}: {e.message}" for e in app.events.recent if e.severity >= 3 or e.name == "fault_set"
    ]
    return {
        "cycles_completed": progress.cycle,
        "water_kg": round(progress.water_kg, 6),
        "regolith_kg": round(progress.regolith_kg, 6),
        "energy_Wh": round(progress.energy_Wh, 3),
        "states": list(progress.visited),
        "final_state": app.mission.state,
        "events": dict(sorted(app.events.counts.items())),
        "faults": fault_events,
        "ledger": [
            {k: (round(v, 6) if isinstance(v, float) else v) for k, v in e.items() if k != "t"} for e in app.ledger
        ],
        "site": progress.site,
        "seed": world.seed,
        "body": world.body.name,
        "injected": args.inject,
        "sim_seconds": round(sim_s, 3),
        "wall_seconds": round(wall_s, 3),
    }


def _print_summary(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(summary, sort_keys=True))
        return
    print(
        f"{summary['cycles_completed']} cycle(s): {summary['water_kg']:.3f} kg water from "
        f"{summary['regolith_kg']:.2f} kg regolith, {summary['energy_Wh']:.0f} Wh; "
        f"{summary['sim_seconds']:.0f} s simulated in {summary['wall_seconds']:.1f} s; "
        f"final state {summary['final_state']}"
    )
    print("states: " + " → ".join(summary["states"]))


# -------------------------------------------------------------------------------------------- live
def _live(config: Any, args: argparse.Namespace, faults: list[tuple[float, str, str, dict[str, Any]]]) -> int:
    from flight.app import FlightApp
    from hal.clock import ScaledClock

    warp = args.warp if args.warp is not None else config.sim.warp
    if not warp > 0:
        print("isru demo: --warp must be > 0", file=sys.stderr)
        return 2
    sim_process = None
    uninstall = None
    clock = ScaledClock(warp)
    if args.pty:
        sim_process, ports = _start_pty_sim(args, warp)
        devices = {name: dataclasses.replace(dev, port=ports[name]) for name, dev in config.devices.items()}
        config = dataclasses.replace(config, devices=devices)
        what = f"simulated devices in a separate process (pid {sim_process.pid}) on ptys"
    else:
        import sim_hw  # noqa: F401  (registers sim://)
        from sim_hw.registry import install_world, uninstall_world
        from sim_hw.world import SimWorld

        world = SimWorld.from_config(config.sim, clock)
        for at_s, device, kind, params in faults:
            world.device(device)
            world.schedule(at_s, device, kind, **params)
        install_world(world)
        uninstall = uninstall_world
        config = _sim_ports(config, world)
        what = "simulated devices in this process (sim:// ports)"
    print(f"isru demo: {what}; flight segment on a clock {warp:g}x real time; Ctrl-C to stop", flush=True)
    app = FlightApp(config, clock)
    app.events.subscribe(_print_event)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: (stopping.append(1), app.executive.stop()))
    try:
        app.start()
        while not stopping:
            if app.mission.state == "idle":
                app.dispatcher.submit("mission.start", {"cycles": 1}, source="demo")
            if app.mission.state == "safe":
                print("isru demo: the mission is in SAFE; stopping", flush=True)
                break
            app.executive.run(duration_s=60.0)
    except KeyboardInterrupt:
        pass
    finally:
        progress = app.mission.progress
        print(
            f"isru demo: {progress.cycle} cycle(s), {progress.water_kg:.3f} kg water, "
            f"{progress.regolith_kg:.2f} kg regolith, {progress.energy_Wh:.0f} Wh",
            flush=True,
        )
        app.close()
        if uninstall is not None:
            uninstall()
        if sim_process is not None:
            sim_process.terminate()
            sim_process.wait(timeout=10)
    return 0


def _print_event(event: Any) -> None:
    if event.source in ("mission", "interlocks", "estop", "dispatcher") or event.severity >= 3:
        stamp = datetime.fromtimestamp(event.t, UTC).strftime("%H:%M:%S")
        print(f"{stamp} {event.severity.name:<8} {event.source}: {event.message}", flush=True)


def _start_pty_sim(args: argparse.Namespace, warp: float) -> tuple[subprocess.Popen[str], dict[str, str]]:
    command = [sys.executable, "-m", "isru.cli", "sim", "--pty", "--warp", str(warp)]
    if args.config:
        command += ["--config", args.config]
    if args.seed is not None:
        command += ["--seed", str(args.seed)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    ports: dict[str, str] = {}
    assert process.stdout is not None
    for line in process.stdout:
        line = line.strip()
        if line == "ready":
            return process, ports
        name, _, path = line.partition(" ")
        ports[name] = path
    process.wait()
    raise SystemExit(f"isru demo: the simulator exited ({process.returncode}) before it was ready")
