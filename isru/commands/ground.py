"""``isru ground``: the ground station from a terminal.

* ``isru ground send COMMAND key=value ...`` — send a command, print its verification stages as they
  arrive; exit 0 when it completes, 1 with flight's reason when it fails (3 when ground refuses it first:
  unknown command, invalid argument, an observer (through ``--hub``, or a key flight admits), or a hazardous
  command without ``--yes``; flight refuses an observer key at the handshake unless ``[link] admit`` names
  observers: exit 2 with that hint).
* ``isru ground watch CHANNEL ...`` — print live values of channels.
* ``isru ground dictionary [--json]`` — print flight's dictionary: channels (unit, limits, description),
  commands and parameters; ``--json`` prints the whole dictionary as flight sent it.
* ``isru ground events`` — print events as they arrive (``--severity`` at least; ``--grep`` text).
* ``isru ground archive`` — the archiving station: receive everything into the archive until stopped.
* ``isru ground export --channel C ... --from T --to T --csv FILE`` — channels from the archive to CSV.

With ``--hub URL --user NAME`` (password from ``$ISRU_HUB_PASSWORD`` or asked, never on the command line),
``send``, ``watch``, ``events`` and ``dictionary`` go through the ground hub (``isru console``) as that
person — role from the account, in the hub's audit trail, no session of their own on flight. That is how
people and partners work; a station key is for the ground station itself.

Without ``--hub`` a live subcommand connects over the secured link with a station certificate from the key
directory (``--keys``, default from ``[link] keys``; ``--identity`` names the certificate: ``archive`` for
``archive``, else ``operator``): the hub machine's own tools (``archive`` is the archiving station), for
when no hub runs.
Only ``archive`` stores data and acknowledges it to flight (one archiving station per flight spool);
the others are live views.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from base.config_loader import ConfigError
from ground.dictionary import SEVERITIES
from isru.commands.hub_follow import events_via_hub, watch_via_hub
from isru.commands.hub_send import (
    EXIT_COMPLETED,
    EXIT_FAILED,
    EXIT_LINK,
    EXIT_REFUSED,
    REFUSED,
    hub_client,
    iso_time,
    send_via_hub,
)
from isru.commands.hub_send import format_stage as _format_stage
from link.schema import Stage


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``ground`` subcommand and its own subcommands."""
    parser = subparsers.add_parser(
        "ground",
        help="the ground station: send commands, watch telemetry and events, archive, export",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="ground_command", metavar="SUBCOMMAND")

    send = sub.add_parser("send", help="send a command and print its verification stages")
    _link_options(send)
    send.add_argument("name", metavar="COMMAND", help="command name from the flight dictionary")
    send.add_argument("args", nargs="*", metavar="key=value", help="arguments (types from the dictionary)")
    send.add_argument("--yes", action="store_true", help="confirm a hazardous command")
    send.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the end (default 60)")
    _hub_options(send)
    send.set_defaults(func=_send)

    watch = sub.add_parser("watch", help="print live values of channels")
    _link_options(watch)
    watch.add_argument("channels", nargs="+", metavar="CHANNEL")
    watch.add_argument("--duration", type=float, help="stop after this many seconds (default: until Ctrl-C)")
    _hub_options(watch)
    watch.set_defaults(func=_watch)

    dictionary = sub.add_parser("dictionary", help="print flight's dictionary (channels, commands, parameters)")
    _link_options(dictionary)
    dictionary.add_argument("--json", action="store_true", help="the whole dictionary as JSON")
    _hub_options(dictionary)
    dictionary.set_defaults(func=_dictionary)

    events = sub.add_parser("events", help="print events as they arrive")
    _link_options(events)
    events.add_argument("--severity", choices=SEVERITIES, default="debug", help="lowest severity shown")
    events.add_argument("--grep", default="", help="only events whose text contains this")
    events.add_argument("--duration", type=float, help="stop after this many seconds (default: until Ctrl-C)")
    _hub_options(events)
    events.set_defaults(func=_events)

    archive = sub.add_parser("archive", help="receive everything into the archive until stopped")
    _link_options(archive)
    archive.add_argument("--duration", type=float, help="stop after this many seconds (default: until Ctrl-C)")
    archive.set_defaults(func=_archive)

    export = sub.add_parser("export", help="export channels from the archive to CSV")
    export.add_argument("--config", help="configuration file (default: the embedded configs/sim.toml)")
    export.add_argument("--archive", help="archive file (default: [ground] archive)")
    export.add_argument("--channel", action="append", required=True, help="channel to export (repeatable)")
    export.add_argument("--from", dest="t0", required=True, help="start: ISO time or epoch seconds")
    export.add_argument("--to", dest="t1", required=True, help="end: ISO time or epoch seconds")
    export.add_argument("--csv", required=True, help="CSV file to write")
    export.set_defaults(func=_export)
    parser.set_defaults(func=lambda _args: parser.print_help() or 2)


def _hub_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hub", help="go through the ground hub at this URL (e.g. http://127.0.0.1:8080)")
    parser.add_argument("--user", help="your hub account (with --hub; password from $ISRU_HUB_PASSWORD or asked)")


def _link_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="configuration file (default: the embedded configs/sim.toml)")
    parser.add_argument("--endpoint", help="flight's link endpoint (default: [link] endpoint)")
    parser.add_argument("--keys", help="key directory (default: [link] keys)")
    parser.add_argument("--identity", help="client certificate name (default: archive for `archive`, else operator)")
    parser.add_argument("--insecure", action="store_true", help="plaintext link (flight must be insecure too)")
    parser.add_argument("--archive", help="archive file (default: [ground] archive; live views use a temporary one)")
    parser.add_argument("--connect-timeout", type=float, default=10.0, help="seconds to wait for flight (default 10)")


# ------------------------------------------------------------------------------------ connecting
@contextmanager
def _connected(args: argparse.Namespace, *, archiving: bool) -> Iterator[Any]:
    """A ground core on a live link (client serviced in a thread); raises SystemExit with a message."""
    import tempfile

    from base.clock import RealClock
    from ground.archive import Archive
    from ground.core import GroundCore
    from ground.errors import GroundError
    from isru.config import load_config
    from link.config import resolve_keys_dir
    from link.errors import LinkError

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        raise SystemExit(f"isru ground: {exc}") from None
    link = config.link
    insecure = args.insecure or link.insecure
    keys = None if insecure else resolve_keys_dir(args.keys or link.keys)
    tmp = None
    archive_path = args.archive or (config.ground.archive if archiving else "")
    if not archive_path:
        tmp = tempfile.TemporaryDirectory(prefix="isru-ground-")
        archive_path = str(Path(tmp.name) / "archive.sqlite")
    clock = RealClock()
    try:
        archive = Archive(
            archive_path,
            retention_days=config.ground.retention_days,
            max_bytes=int(config.ground.archive_max_mb * 1024 * 1024),
        )
    except GroundError as exc:  # a damaged archive: named, no traceback
        raise SystemExit(f"isru ground: {exc}") from None
    try:
        core = GroundCore.connect(
            args.endpoint or link.endpoint,
            archive,
            clock,
            archiving=archiving,
            keys_dir=keys,
            identity=args.identity or ("archive" if archiving else "operator"),
            insecure=insecure,
            light_time_s=link.light_time_s,
            heartbeat_s=link.heartbeat_s,
            los_missed=link.los_missed,
        )
    except (LinkError, GroundError) as exc:
        archive.close()
        raise SystemExit(f"isru ground: cannot open the link: {exc}") from None
    hub = _ledger_hub(config, keys, archive_path, clock) if archiving else None
    if hub is not None:
        hub.attach(core)
    core.link_client.run_in_thread()
    try:
        _await_dictionary(core, clock, args.connect_timeout)
        yield core
    finally:
        core.link_client.stop()
        core.close()
        core.link_client.close()
        archive.close()
        if hub is not None:
            hub.log.close()
        if tmp is not None:
            tmp.cleanup()


def _ledger_hub(config: Any, keys: Path | None, archive_path: str, clock: Any) -> Any:
    """The archiving station's ledger hub (None, with a warning, when the ledger keys are missing)."""
    from ground.errors import LedgerError
    from ground.ledger.hub import LedgerHub
    from link.config import resolve_keys_dir

    path = config.ground.ledger or str(Path(archive_path).with_suffix(".ledger.sqlite"))
    try:
        return LedgerHub.open(keys or resolve_keys_dir(config.link.keys), path, clock)
    except LedgerError as exc:
        print(f"isru ground: no resource ledger: {exc} (run `isru keys init`)", file=sys.stderr)
        return None


def _await_dictionary(core: Any, clock: Any, timeout_s: float) -> None:
    from ground.errors import WaitTimeout

    try:
        core.commands.wait(lambda: core.dictionary, timeout_s, "the flight dictionary")
    except WaitTimeout:
        state = getattr(core.link, "state", "connecting")
        raise SystemExit(
            f"isru ground: no answer from flight at {core.client.endpoint} within {timeout_s} s (link {state}); "
            "is `isru flight` running, and do the keys match? (flight admits ground-station keys only — [link] "
            "admit, archive, operator and safety by default; observers and partners log in to the hub's console)"
        ) from None


def _announce(core: Any, args: argparse.Namespace) -> None:
    """Say on stderr that the link is up (after the subcommand has subscribed to what it shows)."""
    flight = core.dictionary.flight.get("name", "flight")
    print(f"isru ground: connected to {flight} as {core.identity} ({core.role})", file=sys.stderr, flush=True)


def _show_until_done(core: Any, args: argparse.Namespace, kind: str, show: Any) -> int:
    """Call ``show`` for every ``kind`` update until ``--duration`` passes or Ctrl-C; returns 0."""
    unsubscribe = core.subscribe(kind, show)
    _announce(core, args)
    try:
        _run_for(core, args.duration)
    finally:
        unsubscribe()
    return 0


def _run_for(core: Any, duration_s: float | None) -> None:
    """Sleep on the clock until ``duration_s`` seconds pass (forever when None) or Ctrl-C."""
    with suppress(KeyboardInterrupt):
        if duration_s is not None:
            core.clock.sleep(duration_s)
        while duration_s is None:
            core.clock.sleep(3600.0)


# ------------------------------------------------------------------------------------ subcommands
def _send(args: argparse.Namespace) -> int:
    from ground.errors import GroundError, NeedsConfirmation, WaitTimeout

    if args.hub:
        return send_via_hub(args)

    try:
        with _connected(args, archiving=False) as core:
            _announce(core, args)
            try:
                values = core.dictionary.parse_args(args.name, args.args)
                record = core.send(args.name, values, confirmed=args.yes)
            except NeedsConfirmation as exc:
                print(f"isru ground: {exc}\nrerun with --yes to confirm", file=sys.stderr)
                return EXIT_REFUSED
            except GroundError as exc:
                print(f"isru ground: {exc}", file=sys.stderr)
                return EXIT_REFUSED
            printed = 0

            def progress() -> str | None:
                nonlocal printed
                statuses = record.statuses()
                for status in statuses[printed:]:
                    print(_format_stage(status), flush=True)
                printed = len(statuses)
                return record.terminal

            try:
                end = core.commands.wait(progress, args.timeout, f"{args.name} to complete")
            except WaitTimeout as exc:
                print(f"isru ground: {exc}", file=sys.stderr)
                return EXIT_LINK
            if end == Stage.COMPLETED:
                return EXIT_COMPLETED
            print(f"isru ground: {args.name} failed: {record.reason}: {record.message}", file=sys.stderr)
            return EXIT_FAILED
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return EXIT_LINK


def _watch(args: argparse.Namespace) -> int:
    if args.hub:
        return watch_via_hub(args)
    try:
        with _connected(args, archiving=False) as core:
            known = {c["name"] for c in core.dictionary.channels()}
            unknown = [c for c in args.channels if c not in known]
            if unknown:
                print(f"isru ground: no channel {unknown[0]!r} in the flight dictionary", file=sys.stderr)
                return EXIT_REFUSED
            wanted = set(args.channels)
            units = {c["name"]: c.get("unit", "") for c in core.dictionary.channels()}

            def show(samples: list[tuple[str, float, Any]]) -> None:
                for channel, t, value in samples:
                    if channel in wanted:
                        print(f"{iso_time(t)} {channel} = {value} {units.get(channel, '')}".rstrip(), flush=True)

            return _show_until_done(core, args, "telemetry", show)
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return EXIT_LINK


def _dictionary(args: argparse.Namespace) -> int:
    from ground.console.limits import describe
    from ground.dictionary import GroundDictionary
    from ground.errors import GroundError, HubError

    if args.hub:
        client = hub_client(args)
        try:
            dictionary = GroundDictionary(client.dictionary()) if client is not None else None
        except HubError as exc:
            print(f"isru ground: {exc}", file=sys.stderr)
            return EXIT_REFUSED if exc.status in REFUSED else EXIT_LINK
        except GroundError as exc:
            print(f"isru ground: the hub's dictionary: {exc}", file=sys.stderr)
            return EXIT_LINK
        if dictionary is None:
            return EXIT_REFUSED
    else:
        try:
            with _connected(args, archiving=False) as core:
                dictionary = core.dictionary
        except SystemExit as exc:
            print(exc, file=sys.stderr)
            return EXIT_LINK
    if args.json:
        print(json.dumps(dictionary.raw, indent=1, sort_keys=True, default=str))
        return 0
    for entry in dictionary.channels():
        print(f"{entry['name']}  [{entry.get('unit', '')}] {entry.get('type', '')}  {describe(entry)}".rstrip())
        print(f"    {entry.get('description', '')}")
    for entry in dictionary.commands():
        mark = "  (hazardous)" if entry.get("hazardous") else ""
        print(f"command {entry['name']}{mark}: {entry.get('description', '')}")
    for entry in dictionary.parameters():
        print(f"parameter {entry['name']} [{entry.get('unit', '')}] = {entry.get('value', entry.get('default'))}")
    return 0


def _events(args: argparse.Namespace) -> int:
    floor = SEVERITIES.index(args.severity)
    needle = args.grep.lower()

    def line(event: dict[str, Any]) -> str | None:
        severity = str(event.get("severity", "info"))
        level = SEVERITIES.index(severity) if severity in SEVERITIES else 1
        if level < floor:
            return None
        text = f"{event.get('source', '')}.{event.get('name', '')}: {event.get('message', '')}"
        if needle and needle not in text.lower():
            return None
        return f"{iso_time(event.get('t'))} {severity.upper():<8} {text}"

    def show(event: dict[str, Any]) -> None:
        text = line(event)
        if text is not None:
            print(text, flush=True)

    if args.hub:
        return events_via_hub(args, line)
    try:
        with _connected(args, archiving=False) as core:
            return _show_until_done(core, args, "event", show)
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return EXIT_LINK


def _archive(args: argparse.Namespace) -> int:
    try:
        with _connected(args, archiving=True) as core:
            _announce(core, args)
            print(f"isru ground: archiving to {core.archive.path}", flush=True)
            _run_for(core, args.duration)
            status = core.link
            print(json.dumps({"last_seq": getattr(status, "last_seq", 0), "held": core.archive.seq_count()}))
            return 0
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return EXIT_LINK


def _export(args: argparse.Namespace) -> int:
    from ground.archive import Archive
    from ground.errors import GroundError
    from isru.config import load_config

    try:
        config = load_config(args.config)
        t0, t1 = _parse_time(args.t0, "--from"), _parse_time(args.t1, "--to")
    except (ConfigError, ValueError) as exc:
        print(f"isru ground: {exc}", file=sys.stderr)
        return 2
    path = args.archive or config.ground.archive
    if not path or not Path(path).exists():
        print(f"isru ground: no archive file {path!r}; expected the file `isru ground archive` writes", file=sys.stderr)
        return 2
    try:
        archive = Archive(path)
        try:
            rows = archive.export_csv(args.channel, t0, t1, args.csv)
        finally:
            archive.close()
    except GroundError as exc:
        print(f"isru ground: {exc}", file=sys.stderr)
        return 2
    print(f"isru ground: {rows} rows written to {args.csv}")
    return 0


# ------------------------------------------------------------------------------------------ time
def _parse_time(text: str, option: str) -> float:
    """Epoch seconds from ``text``: a number, or an ISO 8601 time (UTC unless it says otherwise)."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{option} {text!r}: expected epoch seconds or an ISO time like 2026-11-21T10:00:00") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


__all__ = ["register"]
