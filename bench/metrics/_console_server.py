"""The console server the console benchmark measures, run as its own process so its CPU can be read.

``python -m bench.metrics._console_server --port P --rate-hz 50 --channels 8``

A ground core with a real archive and the console pages over it; a publisher thread hands the core one
telemetry packet per period, ``channels`` samples stamped with the wall time they are published, through
the core's client callback (:meth:`ground.core.GroundCore.handle_telemetry`), the path link packets take.
Prints ``ready`` once the publisher runs; exits on SIGTERM or SIGINT (the web server handles both).
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import tempfile
import threading
import time
from pathlib import Path

from ground.archive import Archive
from ground.console.app import serve
from ground.console.context import ConsoleContext
from ground.core import GroundCore
from hal.clock import RealClock

_LOGGER = logging.getLogger(__name__)


def channel_names(count: int) -> list[str]:
    """The synthetic channels: ``bench.ch0`` … ``bench.ch{count-1}``."""
    return [f"bench.ch{i}" for i in range(count)]


def dictionary(count: int) -> dict:
    """A flight dictionary with only the synthetic channels."""
    telemetry = [
        {"name": name, "unit": "", "type": "float", "description": "synthetic benchmark channel"}
        for name in channel_names(count)
    ]
    return {"commands": [], "telemetry": telemetry, "parameters": [], "diagram": ""}


def publish(core: GroundCore, names: list[str], rate_hz: float, stop: threading.Event) -> None:
    """One packet of ``len(names)`` samples every ``1/rate_hz`` s, on absolute deadlines, until ``stop``."""
    period = 1.0 / rate_hz
    seq = 0
    deadline = time.perf_counter()
    while not stop.is_set():
        seq += 1
        now = time.time()
        core.handle_telemetry(seq, [(name, now, math.sin(now + i)) for i, name in enumerate(names)])
        deadline += period
        delay = deadline - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        else:
            deadline = time.perf_counter()


def main(argv: list[str] | None = None) -> int:
    """Serve the console with the synthetic publisher until SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rate-hz", type=float, default=50.0)
    parser.add_argument("--channels", type=int, default=8)
    args = parser.parse_args(argv)
    folder = tempfile.TemporaryDirectory(prefix="isru-bench-console-")
    clock = RealClock()
    core = GroundCore(None, Archive(Path(folder.name) / "archive.sqlite"), clock)
    names = channel_names(args.channels)
    core.handle_dictionary(dictionary(args.channels))
    stop = threading.Event()
    publisher = threading.Thread(target=publish, args=(core, names, args.rate_hz, stop), daemon=True)
    publisher.start()
    print("ready", flush=True)
    try:
        serve(ConsoleContext(core, clock), "127.0.0.1", args.port)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        publisher.join(timeout=2.0)
        core.close()
        core.archive.close()
        folder.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
