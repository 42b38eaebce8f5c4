"""``isru flight --config FILE``: run the flight segment (the Raspberry Pi service's command).

On start the hardware is made safe first (every actuator stopped, heater off), persisted state is picked
up (hold or resume per ``mission.restart_policy``), the ground link is opened (CURVE with the key
directory's allowed clients; plaintext only with ``--insecure``), and systemd is told READY. The watchdog is fed from
the control rate group, so a stalled loop gets the service restarted. SIGTERM stops the loop, makes the
hardware safe and exits 0.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from base.config_loader import ConfigError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``flight`` subcommand."""
    parser = subparsers.add_parser("flight", help="run the flight segment", description=__doc__)
    parser.add_argument("--config", help="configuration file (default: the embedded configs/sim.toml)")
    parser.add_argument(
        "--duration", type=float, help="stop after this many clock seconds (default: run until stopped)"
    )
    parser.add_argument("--endpoint", help="ZeroMQ endpoint of the ground link (default: [link] endpoint)")
    parser.add_argument(
        "--keys", metavar="DIR", help="key directory from `isru keys init` (default: [link] keys, else $ISRU_HOME/keys)"
    )
    parser.add_argument(
        "--insecure", action="store_true", help="plaintext ground link, no CURVE (logs a warning; tests only)"
    )
    parser.add_argument(
        "--light-time", type=float, metavar="S", help="one-way light time added each way, seconds ([link] light_time_s)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run until SIGTERM/SIGINT; returns the exit code."""
    import dataclasses

    from base.clock import make_clock
    from flight.app import FlightApp
    from flight.errors import FlightError
    from flight.link_server import LinkServer
    from flight.sdnotify import Notifier, watchdog_period_s
    from isru.config import load_config
    from isru.simulation import install_simulation
    from link.errors import LinkError

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"isru flight: {exc}", file=sys.stderr)
        return 2
    try:
        link = _link_config(config.link, args)
    except (ValueError, LinkError) as exc:
        print(f"isru flight: {exc}", file=sys.stderr)
        return 2
    # Flight reads the key directory it serves with (--keys included) for its ledger key as well.
    config = dataclasses.replace(config, link=link)
    raise_fd_limit()
    clock = make_clock(_served_clock_mode(config.clock.mode, config.clock.warp), config.clock.warp)
    config, world_name = install_simulation(config, clock)
    try:
        app = FlightApp(config, clock)
    except FlightError as exc:  # a damaged store, an unreadable file: named, with the way out
        print(f"isru flight: {exc}", file=sys.stderr)
        return 2
    if world_name:
        from isru.rehearsal import enable_rehearsal
        from sim_hw.registry import installed_world

        enable_rehearsal(app, installed_world(world_name))  # training faults: simulation only
    try:
        server = LinkServer.attach(app, link, keys_dir=link.keys or None)
    except LinkError as exc:
        print(f"isru flight: ground link: {exc}", file=sys.stderr)
        app.close()
        return 2
    notifier = Notifier()
    signal.signal(signal.SIGTERM, lambda *_: app.executive.stop())
    try:
        failed = app.start()
    except FlightError as exc:  # the stored mission state cannot be read: named, the hardware made safe
        print(f"isru flight: {exc}", file=sys.stderr)
        app.make_safe("flight segment not started")
        server.close()
        app.close()
        return 2
    period = watchdog_period_s()
    if period:
        last = [clock.monotonic()]

        def feed_watchdog(now: float) -> None:
            if now - last[0] >= period:
                notifier.watchdog()
                last[0] = now

        app.executive.add_task("control", "watchdog", feed_watchdog)
    status = (
        f"{len(app.rig.devices) - len(failed)} of {len(app.rig.devices)} devices up; mission {app.mission.state}; "
        f"ground link on {server.endpoint}{' (INSECURE)' if link.insecure else ''}"
    )
    notifier.ready(status)
    print(f"isru flight: {status}", flush=True)
    try:
        app.executive.run(duration_s=args.duration)
    except KeyboardInterrupt:
        pass
    finally:
        notifier.send(STOPPING=1)
        app.make_safe("flight segment stopping")
        server.close()
        app.close()
        if world_name:
            from sim_hw.registry import uninstall_world

            uninstall_world(world_name)
    return 0


def _served_clock_mode(mode: str, warp: float) -> str:
    """The clock mode ``isru flight`` runs: a virtual clock (the embedded default's, for headless runs) runs as
    fast as the CPU, far ahead of any ground station's wall-clock heartbeats, so with a ground link it is paced
    instead: lock-step simulated time at most ``warp`` times wall time (docs/link.md, one time base)."""
    if mode != "virtual":
        return mode
    print(
        f"isru flight: [clock] mode virtual runs free of wall time, which a ground link cannot follow: "
        f"paced at warp {warp:g} instead",
        file=sys.stderr,
    )
    return "paced"


def _link_config(link: Any, args: argparse.Namespace) -> Any:
    """``[link]`` with the command line's overrides; the key directory resolved and checked (unless insecure)."""
    import dataclasses

    from link.config import resolve_keys_dir, resolve_spool
    from link.errors import KeyFileError

    if args.light_time is not None and not 0.0 <= args.light_time <= 3600.0:
        raise ValueError(f"--light-time: expected 0 to 3600 s, found {args.light_time}")
    insecure = bool(args.insecure or link.insecure)
    keys = "" if insecure else str(resolve_keys_dir(args.keys or link.keys))
    if keys and not (Path(keys) / "server.key_secret").is_file():
        raise KeyFileError(f"{keys}: no server.key_secret; expected a key directory (run `isru keys init {keys}`)")
    spool = resolve_spool(link.spool)
    spool.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return dataclasses.replace(
        link,
        spool=str(spool),
        endpoint=args.endpoint or link.endpoint,
        keys=keys,
        insecure=insecure,
        light_time_s=link.light_time_s if args.light_time is None else args.light_time,
    )


def raise_fd_limit(target: int = 65_536) -> int:
    """Raise this process's soft file-descriptor limit towards ``target`` (within the hard limit, which the
    service unit sets with LimitNOFILE); returns the soft limit now in force."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = target if hard == resource.RLIM_INFINITY else min(target, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError) as exc:
            print(f"isru flight: cannot raise the file-descriptor limit to {wanted}: {exc}", file=sys.stderr)
    return soft


__all__ = ["raise_fd_limit", "register", "run"]
