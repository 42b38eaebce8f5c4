"""The flight end of the console benchmark: flight's own link parts publishing synthetic telemetry.

``python -m bench.metrics._console_flight --keys DIR --rate-hz 50 --channels 8``

Flight's telemetry table, event log, dispatcher and link failsafe behind a real
:class:`flight.link_server.LinkServer` (CURVE with the keys in ``DIR``, spool on disk). Every period the
``channels`` synthetic channels get a sample stamped with the wall time it is taken and the link server
turns them into one packet. Prints ``endpoint <zmq endpoint>`` once serving; exits on SIGTERM.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from base.clock import RealClock
from flight.commands import CommandRegistry
from flight.dispatcher import Dispatcher
from flight.events import EventLog
from flight.failsafe import LinkFailsafe
from flight.link_server import LinkServer
from flight.telemetry import ChannelSpec, TelemetryTable


def main(argv: list[str] | None = None) -> int:
    """Publish until SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keys", required=True)
    parser.add_argument("--rate-hz", type=float, default=50.0)
    parser.add_argument("--channels", type=int, default=8)
    args = parser.parse_args(argv)
    clock = RealClock()
    events = EventLog(clock)
    table = TelemetryTable()
    names = [f"bench.ch{i}" for i in range(args.channels)]
    table.define_many(ChannelSpec(name, description="synthetic benchmark channel") for name in names)
    registry = CommandRegistry()
    dispatcher = Dispatcher(registry, clock, events)
    failsafe = LinkFailsafe("continue", lambda response, reason: None, events)
    registry.register(failsafe)

    def dictionary() -> dict[str, Any]:
        return {"commands": registry.dictionary(), "telemetry": table.dictionary(), "parameters": [], "diagram": ""}

    folder = tempfile.TemporaryDirectory(prefix="isru-bench-flight-")
    server = LinkServer.open(
        clock,
        table=table,
        events=events,
        dispatcher=dispatcher,
        failsafe=failsafe,
        dictionary=dictionary,
        name="bench",
        keys_dir=args.keys,
        spool=Path(folder.name) / "spool.db",
    )
    running = [True]
    signal.signal(signal.SIGTERM, lambda *_: running.__setitem__(0, False))
    print(f"endpoint {server.endpoint}", flush=True)
    period = 1.0 / args.rate_hz
    deadline = clock.monotonic()
    try:
        while running[0]:
            now = clock.now()
            table.update({name: math.sin(now + i) for i, name in enumerate(names)}, now)
            server.tick()
            deadline += period
            if deadline < clock.monotonic():
                deadline = clock.monotonic()
            server.wait_until(deadline)
    finally:
        server.close()
        folder.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
