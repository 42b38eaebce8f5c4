"""``isru flight --config FILE``: run the flight segment (the Raspberry Pi service's command).

On start the hardware is made safe first (every actuator stopped, heater off), persisted state is picked
up (hold or resume per ``mission.restart_policy``), and systemd is told READY. The watchdog is fed from
the control rate group, so a stalled loop gets the service restarted. SIGTERM stops the loop, makes the
hardware safe and exits 0.
"""

from __future__ import annotations

import argparse
import signal
import sys
from typing import Any

from hal.config_loader import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``flight`` subcommand."""
    parser = subparsers.add_parser("flight", help="run the flight segment", description=__doc__)
    parser.add_argument("--config", help="configuration file (default: the embedded configs/sim.toml)")
    parser.add_argument(
        "--duration", type=float, help="stop after this many clock seconds (default: run until stopped)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run until SIGTERM/SIGINT; returns the exit code."""
    from flight.app import FlightApp
    from flight.sdnotify import Notifier, watchdog_period_s
    from hal.clock import make_clock
    from isru.config import load_config

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"isru flight: {exc}", file=sys.stderr)
        return 2
    clock = make_clock(config.clock.mode, config.clock.warp)
    world_name = _install_simulation(config, clock)
    app = FlightApp(config, clock)
    notifier = Notifier()
    signal.signal(signal.SIGTERM, lambda *_: app.executive.stop())
    failed = app.start()
    period = watchdog_period_s()
    if period:
        last = [clock.monotonic()]

        def feed_watchdog(now: float) -> None:
            if now - last[0] >= period:
                notifier.watchdog()
                last[0] = now

        app.executive.add_task("control", "watchdog", feed_watchdog)
    status = f"{len(app.rig.devices) - len(failed)} of {len(app.rig.devices)} devices up; mission {app.mission.state}"
    notifier.ready(status)
    print(f"isru flight: {status}", flush=True)
    try:
        app.executive.run(duration_s=args.duration)
    except KeyboardInterrupt:
        pass
    finally:
        notifier.send(STOPPING=1)
        app.make_safe("flight segment stopping")
        app.close()
        if world_name:
            from sim_hw.registry import uninstall_world

            uninstall_world(world_name)
    return 0


def _install_simulation(config: Any, clock: Any) -> str | None:
    """If any device is on a ``sim://`` port, run the simulated world in this process on the flight clock."""
    if not any(dev.port.startswith("sim://") for dev in config.devices.values()):
        return None
    import sim_hw  # noqa: F401  (registers sim://)
    from sim_hw.registry import install_world
    from sim_hw.world import SimWorld

    install_world(SimWorld.from_config(config.sim, clock))
    return "default"


__all__ = ["register", "run"]
