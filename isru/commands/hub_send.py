"""``isru ground send --hub URL --user NAME``: a command sent through the ground hub as a person.

Exit codes as for ``isru ground send``: 0 completed, 1 failed with flight's reason, 2 no answer (the hub or the
link), 3 refused on ground (bad login, observer, invalid arguments, hazardous without ``--yes``).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from datetime import UTC, datetime
from typing import Any

#: Exit codes of ``isru ground send`` (either way).
EXIT_COMPLETED, EXIT_FAILED, EXIT_LINK, EXIT_REFUSED = 0, 1, 2, 3
#: Wall seconds between polls of the command's record.
POLL_S = 0.2
#: HTTP statuses that mean "refused on ground" (login, role, validation, confirmation).
REFUSED = frozenset({400, 401, 403, 404, 409})
#: Where hub tools read the account's password (else they ask for it).
PASSWORD_ENV = "ISRU_HUB_PASSWORD"


def send_via_hub(args: argparse.Namespace) -> int:
    """Send ``args.name`` through the hub and print its stages until it ends; returns the exit code."""
    from base.clock import RealClock
    from ground.errors import HubError

    client = hub_client(args)
    if client is None:
        return EXIT_REFUSED
    clock = RealClock()
    try:
        values = _parse_args(args.args)
        command_id = client.send(args.name, values, confirmed=args.yes)
        print(f"isru ground: sent {args.name} through {args.hub} as {args.user}", file=sys.stderr, flush=True)
        deadline = clock.monotonic() + args.timeout
        printed = 0
        while True:
            record = client.command(command_id)
            for status in record["statuses"][printed:]:
                print(format_stage(status), flush=True)
            printed = len(record["statuses"])
            if record["terminal"] is not None:
                break
            if clock.monotonic() > deadline:
                print(f"isru ground: {args.name} did not end within {args.timeout} s", file=sys.stderr)
                return EXIT_LINK
            clock.sleep(POLL_S)
    except HubError as exc:
        print(f"isru ground: {exc}", file=sys.stderr)
        if exc.status == 409:
            print("rerun with --yes to confirm", file=sys.stderr)
        return EXIT_REFUSED if exc.status in REFUSED else EXIT_LINK
    except ValueError as exc:
        print(f"isru ground: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    if record["terminal"] == "completed":
        return EXIT_COMPLETED
    print(f"isru ground: {args.name} failed: {record['reason']}: {record['message']}", file=sys.stderr)
    return EXIT_FAILED


def hub_client(args: argparse.Namespace) -> Any:
    """A :class:`~ground.hub_client.HubClient` for ``--hub URL --user NAME``, the password from
    ``$ISRU_HUB_PASSWORD`` or asked (never on the command line); None (said on stderr) without ``--user``."""
    from ground.hub_client import HubClient

    if not args.user:
        print("isru ground: --hub needs --user NAME (your hub account)", file=sys.stderr)
        return None
    password = os.environ.get(PASSWORD_ENV) or getpass.getpass(f"hub password for {args.user}: ")
    return HubClient(args.hub, args.user, password)


def _parse_args(items: list[str]) -> dict[str, Any]:
    """``key=value`` words as JSON-ish values (numbers, true/false, else text); the hub validates them
    against the flight dictionary."""
    values: dict[str, Any] = {}
    for item in items:
        key, eq, text = item.partition("=")
        if not eq or not key:
            raise ValueError(f"argument {item!r}: expected key=value")
        lowered = text.lower()
        if lowered in ("true", "false"):
            values[key] = lowered == "true"
            continue
        try:
            values[key] = int(text)
        except ValueError:
            try:
                values[key] = float(text)
            except ValueError:
                values[key] = text
    return values


def format_stage(status: dict[str, Any]) -> str:
    """One verification stage as a line: time (UTC), stage, command, id, progress, reason, message."""
    text = f"{iso_time(status.get('t'))} {status['stage']:<9} {status.get('name', '')} ({status.get('id', '')})"
    if status.get("progress") is not None:
        text += f" {100 * float(status['progress']):.0f}%"
    if status.get("reason"):
        text += f" reason={status['reason']}"
    if status.get("message"):
        text += f" {status['message']}"
    return text


def iso_time(t: Any) -> str:
    """Epoch seconds as ``HH:MM:SS.mmm`` UTC (dashes if not a time)."""
    try:
        return datetime.fromtimestamp(float(t), UTC).strftime("%H:%M:%S.%f")[:-3]
    except (TypeError, ValueError, OverflowError, OSError):
        return "--:--:--.---"
