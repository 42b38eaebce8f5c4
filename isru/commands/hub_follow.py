"""``isru ground watch CHANNEL ... --hub URL --user NAME`` and ``isru ground events --hub ...``: live
telemetry and events read from the ground hub's feed (``GET /api/feed``, a long poll) as that person — no
session on flight, nothing a partner cannot read.

Exit codes: 0 after ``--duration`` (or Ctrl-C), 2 the hub did not answer, 3 refused (bad login, an unknown
channel).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from isru.commands.hub_send import EXIT_LINK, EXIT_REFUSED, REFUSED, hub_client, iso_time

#: Longest one feed request waits at the hub for news (s).
POLL_WAIT_S = 1.0
#: Wall seconds before a poll the hub refused as one too many waiting (429) is asked again.
BUSY_RETRY_S = 1.0


def watch_via_hub(args: argparse.Namespace) -> int:
    """Print every new sample of ``args.channels`` from the hub until ``--duration`` passes; the exit code."""
    from ground.errors import HubError

    client = hub_client(args)
    if client is None:
        return EXIT_REFUSED
    try:
        channels = {c["name"]: c for c in client.dictionary().get("telemetry", [])}
    except HubError as exc:
        print(f"isru ground: {exc}", file=sys.stderr)
        return EXIT_REFUSED if exc.status in REFUSED else EXIT_LINK
    unknown = [c for c in args.channels if c not in channels]
    if unknown:
        print(f"isru ground: no channel {unknown[0]!r} in the flight dictionary the hub holds", file=sys.stderr)
        return EXIT_REFUSED

    def show(item: dict[str, Any]) -> None:
        for channel, t, value in item["samples"]:
            unit = channels[channel].get("unit", "")
            print(f"{iso_time(t)} {channel} = {value} {unit}".rstrip(), flush=True)

    return _follow(args, client, "telemetry", show, channels=args.channels)


def events_via_hub(args: argparse.Namespace, keep: Callable[[dict[str, Any]], str | None]) -> int:
    """Print every new event from the hub that ``keep`` turns into a line, until ``--duration`` passes."""
    client = hub_client(args)
    if client is None:
        return EXIT_REFUSED

    def show(item: dict[str, Any]) -> None:
        line = keep(item["event"])
        if line is not None:
            print(line, flush=True)

    return _follow(args, client, "event", show)


def _follow(
    args: argparse.Namespace, client: Any, kind: str, show: Callable[[dict[str, Any]], None], **query: Any
) -> int:
    """Read the hub's feed of ``kind`` from now on, ``show`` each item, until ``--duration`` or Ctrl-C."""
    from base.clock import RealClock
    from ground.errors import HubError

    clock = RealClock()
    end = None if args.duration is None else clock.monotonic() + args.duration
    try:
        answer = client.feed(kinds=[kind])
        print(f"isru ground: following {answer['rover']} through {args.hub} as {args.user}", file=sys.stderr)
        cursor, run = answer["cursor"], answer["run"]
        with suppress(KeyboardInterrupt):
            while end is None or clock.monotonic() < end:
                wait = POLL_WAIT_S if end is None else max(0.0, min(POLL_WAIT_S, end - clock.monotonic()))
                try:
                    answer = client.feed(cursor, wait_s=wait, kinds=[kind], **query)
                except HubError as exc:
                    if exc.status == 429:  # the hub's waiting polls for this account are all taken: try again
                        clock.sleep(BUSY_RETRY_S)
                        continue
                    if exc.status != 400:  # 400: a cursor from before a restart of the hub
                        raise
                    answer = {"run": None}
                if answer["run"] != run:
                    print("isru ground: the hub restarted; following its new feed", file=sys.stderr)
                    answer = client.feed(kinds=[kind])
                    cursor, run = answer["cursor"], answer["run"]
                    continue
                for item in answer["items"]:
                    show(item)
                cursor = answer["cursor"]
    except HubError as exc:
        print(f"isru ground: {exc}", file=sys.stderr)
        return EXIT_REFUSED if exc.status in REFUSED else EXIT_LINK
    return 0
