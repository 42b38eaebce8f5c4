"""``isru store``: the flight store's file: what it holds, and what to do when flight refuses to start on it.

* ``isru store show PATH [--json]`` — the extraction totals (in all and per site), the counters and the saved
  mission state, read without changing the file (safe beside a running flight; no backup is rotated).
* ``isru store check PATH`` — integrity, schema and rows per table; exit 0 if sound, 1 if not.
* ``isru store restore PATH`` — replace it by its newest good backup (``PATH.bak.1`` … ``.bak.3``, written at
  every flight start); the damaged file is kept as ``PATH.damaged-N``.
* ``isru store repair PATH`` — copy every readable row into a fresh store; the damaged file is kept likewise.

See docs/operations.md (After a crash or a power cut).
"""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``store`` subcommand."""
    parser = subparsers.add_parser(
        "store",
        help="show, check, restore or repair the flight store file",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="store_command", metavar="SUBCOMMAND")
    show = sub.add_parser("show", help="print the ledger totals, counters and mission state (changes nothing)")
    show.add_argument("path", metavar="PATH")
    show.add_argument("--json", action="store_true", help="one JSON object instead of text")
    show.set_defaults(func=_show)
    for name, func, text in (
        ("check", _check, "report what is wrong with the file (changes nothing)"),
        ("restore", _restore, "replace the file by its newest good backup"),
        ("repair", _repair, "copy every readable row into a fresh file"),
    ):
        command = sub.add_parser(name, help=text)
        command.add_argument("path", metavar="PATH")
        command.set_defaults(func=func)
    parser.set_defaults(func=lambda _args: parser.print_help() or 2)


def _show(args: argparse.Namespace) -> int:
    import json

    from base.clock import RealClock
    from flight.errors import PersistenceError
    from flight.store import FlightStore

    try:
        store = FlightStore(args.path, RealClock(), read_only=True)
    except PersistenceError as exc:
        print(f"isru store show: {exc}", file=sys.stderr)
        return 2
    try:
        sites = {str(site): totals.as_dict() for site, totals in sorted(store.totals_by_site().items())}
        report = {
            "totals": store.totals().as_dict(),
            "sites": sites,
            "counters": store.counters(),
            "state": store.load_state(),
            "state_saved_at": store.state_saved_at(),
        }
    except PersistenceError as exc:
        print(f"isru store show: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    if args.json:
        print(json.dumps(report, sort_keys=True))
        return 0
    print(f"totals: {report['totals']}")
    for site, totals in sites.items():
        print(f"site {site}: {totals}")
    print(f"counters: {report['counters']}")
    print(f"state (saved at {report['state_saved_at']}): {report['state']}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from flight.store_care import backups, check

    checked = check(args.path)
    for problem in checked.problems:
        print(f"isru store check: {problem}")
    for table, rows in sorted(checked.rows.items()):
        print(f"  {table}: {rows} rows")
    found = ", ".join(str(b) for b in backups(checked.path)) or "none"
    print(f"isru store check: {checked.path}: {'ok' if checked.ok else 'DAMAGED'}; backups: {found}")
    return 0 if checked.ok else 1


def _restore(args: argparse.Namespace) -> int:
    from flight.errors import PersistenceError
    from flight.store_care import restore

    try:
        used, aside = restore(args.path)
    except PersistenceError as exc:
        print(f"isru store restore: {exc}", file=sys.stderr)
        return 2
    print(f"isru store restore: {args.path} restored from {used}" + (f"; the old file is {aside}" if aside else ""))
    return 0


def _repair(args: argparse.Namespace) -> int:
    from flight.errors import PersistenceError
    from flight.store import migrate
    from flight.store_care import repair

    try:
        kept, aside = repair(args.path, migrate)
    except PersistenceError as exc:
        print(f"isru store repair: {exc}", file=sys.stderr)
        return 2
    rows = ", ".join(f"{table} {n}" for table, n in sorted(kept.items())) or "no rows"
    print(f"isru store repair: {args.path} rebuilt ({rows} kept); the damaged file is {aside}")
    return 0


__all__ = ["register"]
