"""``isru demo``: the main job on the embedded default — simulated hardware and flight on this machine.

Without ``--headless`` (what ``make demo`` runs) flight (``isru flight``, the simulated devices inside it)
runs as its own process on a clock ``--warp`` times real time, on ``[link] endpoint`` (tcp://127.0.0.1:7700
by default), and this process is the ground hub: the archiving station over the CURVE-secured ZeroMQ link
(keys made once in ``.isru/keys``, data in ``.isru/demo``, started clean each run) serving the browser
console (http://127.0.0.1:8080) to everyone who logs in. The demo's own account ``demo`` (an operator) gets a
new password each run, printed here; add your own with ``isru users add``. It starts a mining cycle whenever
the mission is idle and prints mission events until interrupted. With
``--pty`` the simulated devices run in their own ``isru sim --pty`` process and flight talks to them over
pseudo-terminals, exactly as it would over USB serial.

``isru demo --headless --cycles N --json`` runs N mining cycles in this one process on a virtual clock (as
fast as the machine allows, the same way for the same seed: no wall-clock link in the loop) and prints one
JSON summary; its ``cycles`` list gives per cycle the water and regolith, the energy used and harvested
(Wh), the lowest state of charge, the time working, recharging, hibernating and held (s), and the
recoveries taken.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import signal
import subprocess
import sys
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from base.config_loader import ConfigError

FAULT_HELP = (
    "inject a fault: DEVICE.KIND[@SECONDS][:key=value,...], e.g. drill.stall@900, "
    "extractor.heater_runaway@3000, anchor.slip@1200, drill.corrupt:rate=0.01 (repeatable)"
)


#: Most cycles one ``mission.start`` takes (its ``cycles`` argument's range is 1..10000).
MAX_CYCLES = 10_000

#: Headless: simulated hours allowed per cycle asked for before the run gives up (a lunar cycle that waits out
#: a long shadow can take days; a 20-cycle campaign gets 40 days).
HOURS_PER_CYCLE = 48.0
#: The same by body where cycles are longer: an asteroid's heat to 800 K needs more energy than the battery
#: holds, so one batch spans several parks and charge-away trips (cycles of 11-120 h measured).
HOURS_PER_CYCLE_BY_BODY = {"asteroid": 168.0}


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
    parser.add_argument("--no-console", action="store_true", help="do not start the browser console (live demo)")
    parser.add_argument("--port", type=int, help="console port (default: [ground] console_port)")
    parser.add_argument(
        "--ledger-export", metavar="DIR", help="headless: write the ledger bundle of the run's signed records to DIR"
    )
    parser.add_argument(
        "--max-sim-hours",
        type=float,
        help=f"give up after this much simulated time (headless; default {HOURS_PER_CYCLE:g} h per cycle asked for, "
        f"{HOURS_PER_CYCLE_BY_BODY['asteroid']:g} h on the asteroid)",
    )
    parser.set_defaults(func=run)


def parse_fault(text: str, fitted: Collection[str] | None = None) -> tuple[float, str, str, dict[str, Any]]:
    """``drill.stall@900:rate=0.1`` → (900.0, "drill", "stall", {"rate": 0.1}); raises ValueError naming the
    spec and what is wrong: the form, the time, an unknown device or fault kind, a device not among ``fitted``
    (the configuration's devices, when given), a parameter that kind does not take or a value outside its
    declared range or choices (``true``/``false`` are booleans, numbers are floats; NaN is never a value)."""
    from sim_hw.errors import SimError
    from sim_hw.fault_specs import check_fault

    at_s, device, kind, params = _split_fault(text)
    try:
        check_fault(device, kind, params, fitted)
    except SimError as exc:
        raise ValueError(f"fault {text!r}: {exc.args[0] if exc.args else exc}") from exc
    return at_s, device, kind, params


def _split_fault(text: str) -> tuple[float, str, str, dict[str, Any]]:
    spec, _, params_text = text.partition(":")
    target, _, at_text = spec.partition("@")
    device, dot, kind = target.partition(".")
    if not dot or not device or not kind:
        raise ValueError(f"fault {text!r}: expected DEVICE.KIND[@SECONDS][:key=value,...]")
    try:
        at_s = float(at_text) if at_text else 0.0
    except ValueError:
        raise ValueError(f"fault {text!r}: time {at_text!r} is not a number of seconds") from None
    if not (math.isfinite(at_s) and at_s >= 0.0):
        raise ValueError(f"fault {text!r}: time {at_text!r}: expected a number of seconds >= 0")
    params: dict[str, Any] = {}
    for item in filter(None, params_text.split(",")):
        key, eq, value = item.partition("=")
        if not eq:
            raise ValueError(f"fault {text!r}: parameter {item!r} is not key=value")
        if value.lower() in ("true", "false"):
            params[key] = value.lower() == "true"
            continue
        try:
            params[key] = float(value)
        except ValueError:
            params[key] = value
    return at_s, device, kind, params


def run(args: argparse.Namespace) -> int:
    """Run the demo; returns the exit code."""
    from isru.config import load_config

    try:
        check_ranges(args)
        config = load_config(args.config)
        faults = [parse_fault(text, tuple(config.devices)) for text in args.inject]
    except (ConfigError, ValueError) as exc:
        print(f"isru demo: {exc}", file=sys.stderr)
        return 2
    if args.seed is not None:
        config = dataclasses.replace(config, sim=dataclasses.replace(config.sim, seed=args.seed))
    if args.headless:
        return _headless(config, args, faults)
    return _live(config, args, faults)


def check_ranges(args: argparse.Namespace) -> None:
    """Raise ValueError naming the first numeric option out of its range, the range and the value found.

    The ranges are the configuration's own (``sim.seed``, ``clock.warp``, ``ground.console_port``) and
    ``mission.start``'s (``--cycles``); ``--max-sim-hours`` is any finite number of hours above 0."""
    from ground.config import GroundConfig
    from isru.config import ClockConfig
    from sim_hw.config import SimConfig

    ranged = (
        ("--seed", args.seed, _limits(SimConfig, "seed"), "an integer", "sim.seed"),
        ("--cycles", args.cycles, (1, MAX_CYCLES), "an integer", "mission.start cycles"),
        ("--warp", args.warp, _limits(ClockConfig, "warp"), "a clock rate", "clock.warp"),
        ("--port", args.port, _limits(GroundConfig, "console_port"), "a port", "ground.console_port"),
    )
    for option, value, (lo, hi), kind, source in ranged:
        if value is not None and not lo <= value <= hi:  # NaN fails both comparisons: refused too
            expected = f"{kind} in {_number(lo)}..{_number(hi)} (the range of {source})"
            raise ValueError(f"{option} must be {expected}, found {_number(value)}")
    hours = args.max_sim_hours
    if hours is not None and not (math.isfinite(hours) and hours > 0):
        raise ValueError(f"--max-sim-hours must be > 0 and finite (simulated hours), found {_number(hours)}")


def _number(value: float) -> str:
    """An integer as written, a float in its shortest form (``100000``, ``0.001``, ``nan``)."""
    return str(value) if isinstance(value, int) else f"{value:g}"


def _limits(schema: type, name: str) -> tuple[float, float]:
    """The ``lo``..``hi`` range a configuration schema gives field ``name``."""
    meta = next(f.metadata for f in dataclasses.fields(schema) if f.name == name)
    return meta["lo"], meta["hi"]


# ---------------------------------------------------------------------------------------- headless
def _headless(config: Any, args: argparse.Namespace, faults: list[tuple[float, str, str, dict[str, Any]]]) -> int:
    import sim_hw  # noqa: F401  (registers sim://)
    from base.clock import RealClock, VirtualClock
    from flight.app import FlightApp
    from sim_hw.errors import SimError
    from sim_hw.registry import install_world, uninstall_world
    from sim_hw.world import SimWorld

    clock = VirtualClock()
    try:
        world = SimWorld.from_config(config.sim, clock)
        for at_s, device, kind, params in faults:
            world.device(device)
            world.schedule(at_s, device, kind, **params)
    except SimError as exc:
        print(f"isru demo: {exc.args[0]}", file=sys.stderr)
        return 2
    install_world(world)
    wall = RealClock()
    wall0 = wall.monotonic()
    from isru.ledger_run import InProcessLedger

    ledger = InProcessLedger(clock)
    app = FlightApp(_sim_ports(config, world), clock, rover_key=ledger.rover)
    ledger.attach(app.events)
    try:
        app.start()
        sim0 = clock.monotonic()
        status = app.dispatcher.submit("mission.start", {"cycles": args.cycles}, source="demo")
        if status.stage.value == "failed":
            print(f"isru demo: mission.start failed: {status.reason} {status.message}", file=sys.stderr)
            return 1
        per_cycle = HOURS_PER_CYCLE_BY_BODY.get(world.body.name, HOURS_PER_CYCLE)
        hours = args.max_sim_hours if args.max_sim_hours is not None else per_cycle * args.cycles
        limit = sim0 + hours * 3600.0
        reported = _CycleReporter(app, args.cycles, clock.monotonic, wall.monotonic)
        app.executive.run(
            until=lambda: reported() or app.mission.state in ("idle", "safe", "hold") or clock.monotonic() > limit
        )
        if clock.monotonic() > limit:
            print(f"isru demo: stopped at the simulated-time limit ({hours:g} h)", file=sys.stderr)
        if app.mission.state == "hold":  # nobody is there to answer a hold in a headless run: it ends here
            print(f"isru demo: the mission holds for the ground: {_entry_reason(app, 'hold')}", file=sys.stderr)
        elif app.mission.state == "safe":
            print(f"isru demo: the mission is in SAFE: {_entry_reason(app, 'safe')}", file=sys.stderr)
        summary = _summary(app, world, clock.monotonic() - sim0, wall.monotonic() - wall0, args)
        if args.ledger_export:
            summary["ledger_export"] = ledger.export(args.ledger_export)
    finally:
        app.close()
        ledger.close()
        uninstall_world()
    _print_summary(summary, args.json)
    # every cycle asked for, and a rover left idle: a hold or SAFE after the last booking still needs someone
    done = summary["cycles_completed"] >= args.cycles and summary["final_state"] not in ("hold", "safe")
    return 0 if done else 1


class _CycleReporter:
    """Prints one line to standard error as each cycle closes (the JSON summary waits for the end)."""

    def __init__(self, app: Any, cycles: int, sim_now: Any, wall_now: Any) -> None:
        self._campaign = app.mission.campaign
        self._cycles = cycles
        self._sim_now, self._wall_now = sim_now, wall_now
        self._sim0, self._wall0 = sim_now(), wall_now()
        self._seen = 0

    def __call__(self) -> bool:
        """Report any newly closed cycle; always False (never ends the run itself)."""
        records = self._campaign.cycles
        while self._seen < len(records):
            c = records[self._seen]
            self._seen += 1
            print(
                f"isru demo: cycle {c['cycle']}/{self._cycles} closed: {c['water_kg']:.3f} kg water, "
                f"min SOC {c['min_soc']:.0%}, recoveries {c['recoveries'] or 'none'}; "
                f"{self._sim_now() - self._sim0:.0f} s simulated in {self._wall_now() - self._wall0:.0f} s",
                file=sys.stderr,
                flush=True,
            )
        return False


def _sim_ports(config: Any, world: Any) -> Any:
    """The configuration with every device on a ``sim://`` port and, unless the configuration lists
    candidate sites, the simulated terrain's sites as candidates."""

    from isru.simulation import with_terrain_sites

    devices = {
        name: dev if dev.port.startswith("sim://") else dataclasses.replace(dev, port=f"sim://{name}")
        for name, dev in config.devices.items()
    }
    return with_terrain_sites(dataclasses.replace(config, devices=devices), world)


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
        "hold_reason": _entry_reason(app, "hold") if app.mission.state == "hold" else "",
        "safe_reason": _entry_reason(app, "safe") if app.mission.state == "safe" else "",
        "events": dict(sorted(app.events.counts.items())),
        "faults": fault_events,
        "ledger": [
            {k: (round(v, 6) if isinstance(v, float) else v) for k, v in e.items() if k != "t"} for e in app.ledger
        ],
        "cycles": [_rounded(record) for record in app.mission.campaign.cycles],
        "site": progress.site,
        "seed": world.seed,
        "body": world.body.name,
        "injected": args.inject,
        "sim_seconds": round(sim_s, 3),
        "wall_seconds": round(wall_s, 3),
        "energy_balance": _energy_balance(world),
    }


def _entry_reason(app: Any, state: str) -> str:
    """The message of the mission's latest move into ``state`` (``hold``: what it waits for the ground about;
    ``safe``: why it made the hardware safe)."""
    for event in reversed(app.events.recent):
        if event.source == "mission" and event.name == "transition" and event.data.get("dest") == state:
            return str(event.message)
    return "reason not in the recent events"


def _energy_balance(world: Any) -> dict[str, float]:
    """The extractor's energy audit (J per term, and the residual as a fraction of the heater energy)."""
    audit = world.device("extractor").energy_audit()
    return {key: round(value, 6 if key == "residual_fraction" else 1) for key, value in audit.items()}


def _rounded(value: Any) -> Any:
    """``value`` with every float rounded to 6 decimals (dicts and lists walked)."""
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


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
    for c in summary["cycles"]:
        hours = {k: v / 3600.0 for k, v in c["time_s"].items()}
        print(
            f"cycle {c['cycle']}: {c['water_kg']:.3f} kg water, {c['regolith_kg']:.2f} kg regolith, "
            f"used {c['energy_used_Wh']:.0f} Wh, harvested {c['energy_harvested_Wh']:.0f} Wh, "
            f"min SOC {c['min_soc']:.0%}; h working {hours['working']:.1f}, recharging {hours['recharging']:.1f}, "
            f"hibernating {hours['hibernating']:.1f}, held {hours['held']:.1f}; recoveries {c['recoveries'] or 'none'}"
        )


# -------------------------------------------------------------------------------------------- live
def _live(config: Any, args: argparse.Namespace, faults: list[tuple[float, str, str, dict[str, Any]]]) -> int:
    """Flight (simulated devices in-process, or in ``isru sim --pty``) and the console as their own
    processes, and this process as the archiving ground station, over the CURVE-secured link."""
    from ground.errors import GroundError
    from isru.errors import StackError
    from isru.stack import SimStack
    from link.config import resolve_keys_dir
    from link.errors import LinkError

    warp = args.warp if args.warp is not None else config.sim.warp
    workdir = resolve_keys_dir("").parent / "demo"
    # Start clean: a previous run's files (console.sqlite is from the time the console had its own archive).
    for stale in ("store.sqlite", "spool.sqlite", "archive.sqlite", "ledger.sqlite", "params.json", "console.sqlite"):
        for path in workdir.glob(stale + "*"):
            path.unlink()
    overrides: dict[str, Any] = {"sim": {"seed": config.sim.seed}}
    if faults:
        overrides["sim"]["faults"] = [
            {"at_s": at_s, "device": device, "kind": kind, "params": params} for at_s, device, kind, params in faults
        ]
    sim_process = None
    if args.pty:
        sim_process, ports = _start_pty_sim(args, warp, workdir, overrides["sim"])
        overrides["devices"] = {name: {"port": path} for name, path in ports.items()}
        overrides["clock"] = {"mode": "scaled", "warp": warp}  # two processes: both on the wall, scaled
        where = f"simulated devices in their own process (pid {sim_process.pid}) on ptys"
    else:
        where = "simulated devices inside the flight process (sim:// ports)"
    stack = SimStack(
        workdir,
        warp=warp,
        overrides=overrides,
        config=args.config,
        endpoint=config.link.endpoint,
        light_time_s=config.link.light_time_s,  # the configuration's light time, on flight's side
    )
    stack.keys_dir = resolve_keys_dir("")
    stopping: list[int] = []
    exits: list[int] = []  # flight's exit status when it exited on its own (the demo did not stop it)
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    try:
        stack.start()
        print(
            f"isru demo: flight (pid {stack.flight_pid}, {where}) on a clock {warp:g}x real time, "
            f"link {stack.endpoint} (CURVE, keys in {stack.keys_dir}); ground archive {stack.archive_path}",
            flush=True,
        )
        stack.ground.subscribe("event", _print_event)
        if args.no_console or not _serve_console(stack, config, args, stopping, exits):
            _run_cycles(stack, stopping, exits)
    except (StackError, GroundError, LinkError) as exc:
        print(f"isru demo: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        core = stack.core
        if core is not None:
            print(
                f"isru demo: {core.value('mission.cycle', 0)} cycle(s), {core.value('mission.water_kg', 0.0):.3f} kg "
                f"water, {core.value('mission.regolith_kg', 0.0):.2f} kg regolith archived in {stack.archive_path}",
                flush=True,
            )
        stack.stop()
        if sim_process is not None:
            sim_process.terminate()
            sim_process.wait(timeout=10)
    return 1 if exits else 0


def _run_cycles(stack: Any, stopping: list[int], exits: list[int], console: bool = False) -> None:
    """Start a cycle whenever the mission is idle until SIGTERM/Ctrl-C; SAFE and an emergency stop are reported
    with the commands that recover, and the station keeps running. Stops only if flight itself exits: then says
    how and how to start it again, appends its exit status to ``exits``, and stops the console too when it runs
    on a thread beside the console (``console``)."""
    from isru.demo_loop import CycleLoop, RecoveryHint

    hint = RecoveryHint(endpoint=stack.endpoint, keys_dir=str(stack.keys_dir), console=console)

    def flight_alive() -> bool:
        return stack.flight is not None and stack.flight.poll() is None

    loop = CycleLoop(stack.ground, hint, lambda text: print(f"isru demo: {text}", flush=True), flight_alive)
    while not stopping:
        loop.step()
        returncode = stack.flight.poll() if stack.flight is not None else None
        if returncode is not None:
            exits.append(returncode)
            print(f"isru demo: {flight_exit_text(returncode, stack)}", file=sys.stderr, flush=True)
            if console:
                from nicegui import app

                app.shutdown()
            return
        stack.clock.sleep(1.0)


def flight_exit_text(returncode: int, stack: Any) -> str:
    """How flight ended (its exit status, or the signal that killed it), where its log is, and how to start it
    again on the same configuration (docs/operations.md); a demo with ``isru sim --pty`` devices is run again."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = "an unknown signal"
        how = f"flight was killed by signal {-returncode} ({name})"
    else:
        how = f"flight exited with status {returncode}"
    if "devices" in stack.flight_overrides():  # on the ptys of the demo's own simulator, which stops with it
        again = "run `isru demo --pty` again (its simulated devices stop with the demo)"
    else:
        again = (
            f"start flight again on the same configuration with `isru flight --config {stack.config_path}` "
            "(it keeps its store: docs/operations.md section 6), or run `isru demo` again to start clean"
        )
    return f"{how}; its log: {stack.log_path}. The demo stops; {again}."


def _serve_console(stack: Any, config: Any, args: argparse.Namespace, stopping: list[int], exits: list[int]) -> bool:
    """Serve the hub's console from this process (the cycles run on a thread meanwhile) until Ctrl-C, SIGTERM or
    flight's exit; False (nothing served) when the ground extra is missing or the console cannot start."""
    import importlib.util
    import threading

    from base.clock import RealClock
    from ground.errors import GroundError

    if importlib.util.find_spec("nicegui") is None:
        print("isru demo: no console (pip install 'isru[ground]' for the browser console)", flush=True)
        return False
    from ground.console.app import serve
    from ground.console.context import ConsoleContext
    from isru.commands.console import hub_auth_for

    port = args.port if args.port is not None else config.ground.console_port
    host = config.ground.console_host
    try:
        password = _demo_account(config)
        auth = hub_auth_for(config.ground, None, str(stack.archive_path), host, port, RealClock())
    except GroundError as exc:
        print(f"isru demo: no console: {exc}", file=sys.stderr)
        return False
    stack.ground.audit = auth.audit
    stack.ground.hub_state = auth.state
    ctx = ConsoleContext(stack.ground, stack.clock)
    ctx.auth = auth
    ctx.ledger = _ledger_reader(stack)
    scheme = "https" if config.ground.tls_cert else "http"
    print(
        f"isru demo: console at {scheme}://{host}:{port} — log in as demo with password {password} "
        "(new each run; `isru users add NAME --role operator` makes your own account)",
        flush=True,
    )
    cycles = threading.Thread(target=_run_cycles, args=(stack, stopping, exits, True), name="demo-cycles", daemon=True)
    cycles.start()
    try:
        serve(ctx, host, port, tls_cert=config.ground.tls_cert, tls_key=config.ground.tls_key)
    finally:
        stopping.append(1)
        cycles.join(timeout=10)
        auth.accounts.close()
        if auth.audit is not None:
            auth.audit.close()
        auth.state.close()
    return True


def _demo_account(config: Any) -> str:
    """Give the ``demo`` account (an operator) a fresh one-time password; returns it."""
    from base.clock import RealClock
    from ground.accounts import Accounts, one_time_password
    from ground.config import resolve_accounts

    accounts = Accounts(resolve_accounts(config.ground.accounts), RealClock())
    try:
        password = one_time_password()
        account = accounts.get("demo")
        if account is None or account.revoked:
            accounts.add("demo", "operator", password)
        else:
            accounts.set_password("demo", password)
        return password
    finally:
        accounts.close()


def _ledger_reader(stack: Any) -> Any:
    """The Ledger view's reader of this stack's ledger log (None if its keys are missing)."""
    from ground.ledger.reader import LedgerReader
    from link.errors import KeyFileError
    from link.ledger_keys import load_verifier

    folder = stack.keys_dir / "ledger"
    try:
        return LedgerReader(
            stack.ledger_path, load_verifier(folder / "log.vkey"), load_verifier(folder / "rover.vkey"), []
        )
    except KeyFileError as exc:
        print(f"isru demo: no Ledger view: {exc}", file=sys.stderr)
        return None


def _print_event(event: dict[str, Any]) -> None:
    source, severity = event.get("source", ""), str(event.get("severity", "info"))
    shown = source in ("mission", "interlocks", "estop", "dispatcher", "link", "failsafe")
    if shown or severity in ("error", "critical"):
        stamp = datetime.fromtimestamp(float(event.get("t", 0.0)), UTC).strftime("%H:%M:%S")
        print(f"{stamp} {severity.upper():<8} {source}: {event.get('message', '')}", flush=True)


def _start_pty_sim(
    args: argparse.Namespace, warp: float, workdir: Any, sim: dict[str, Any]
) -> tuple[subprocess.Popen[str], dict[str, str]]:
    """Start ``isru sim --pty`` on ``workdir/sim.toml``: the configuration with ``sim`` (the seed, the injected
    faults) merged in; returns the process and the device → pty path map it printed."""
    from isru.config import derived_config_text

    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "sim.toml"
    config.write_text(derived_config_text({"sim": sim}, args.config))
    command = [sys.executable, "-m", "isru.cli", "sim", "--pty", "--warp", str(warp), "--config", str(config)]
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
