"""``isru sim --pty``: run the simulated hardware, every device on its own pseudo-terminal."""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys

from base.clock import ScaledClock
from base.config_loader import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``sim`` subcommand."""
    parser = subparsers.add_parser(
        "sim",
        help="run the simulated devices on pseudo-terminals",
        description=(
            "Start every configured device emulator on its own pseudo-terminal. Prints one line "
            "'<device> <path>' per device, then 'ready', and runs until SIGINT/SIGTERM. Open the paths "
            "as serial ports (isru serial-monitor PATH, or device port URLs in a config)."
        ),
    )
    parser.add_argument("--pty", action="store_true", required=True, help="serve the devices on ptys")
    parser.add_argument("--config", help="configuration file (default: the embedded configs/sim.toml)")
    parser.add_argument("--warp", type=float, help="simulated seconds per wall second (overrides sim.warp)")
    parser.add_argument("--seed", type=int, help="random seed (overrides sim.seed)")
    parser.add_argument("--site", type=int, help="starting site (overrides sim.site)")
    parser.add_argument("--body", help="moon, asteroid or earth (overrides sim.body)")
    parser.add_argument("--devices", help="comma-separated device names (default: all)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Serve until a signal; returns the exit code."""
    from isru.config import load_config
    from sim_hw.pty_server import PtyServer
    from sim_hw.world import SimWorld

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"isru sim: {exc}", file=sys.stderr)
        return 2
    sim = config.sim
    warp = args.warp if args.warp is not None else sim.warp
    if not warp > 0:
        print(f"isru sim: --warp must be > 0, got {warp}", file=sys.stderr)
        return 2
    devices = tuple(d.strip() for d in args.devices.split(",")) if args.devices else None
    for index, fault in enumerate(sim.faults):
        if devices is not None and fault.device not in devices:
            print(
                f"isru sim: sim.faults[{index}] ({fault.device}.{fault.kind}) is for a device --devices leaves out; "
                f"expected one of {sorted(devices)} (add {fault.device} to --devices or drop the fault)",
                file=sys.stderr,
            )
            return 2
    sim = dataclasses.replace(
        sim,
        body=args.body or sim.body,
        seed=sim.seed if args.seed is None else args.seed,
        site=sim.site if args.site is None else args.site,
    )
    try:
        world = SimWorld.from_config(sim, ScaledClock(warp), devices=devices)
    except KeyError as exc:
        print(f"isru sim: {exc.args[0]}", file=sys.stderr)
        return 2
    if warp != 1.0:  # every device timer then runs that much faster than a host on wall time expects
        print(
            f"isru sim: device time runs at {warp:g} times wall time (--warp, else [sim] warp): dead-man timeouts, "
            f"telemetry periods and event resends pass {warp:g} times faster for a host on wall time; "
            "--warp 1 serves the ICD's timers as a board has them",
            file=sys.stderr,
        )
    server = PtyServer(world)
    signal.signal(signal.SIGTERM, lambda *_: server.stop())
    signal.signal(signal.SIGINT, lambda *_: server.stop())
    for name, path in server.paths.items():
        print(f"{name} {path}")
    print("ready", flush=True)
    try:
        server.serve_forever()
    finally:
        server.close()
    return 0
