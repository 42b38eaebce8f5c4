"""Flight-side processes of the link benchmarks (``python -m bench.metrics._link_peer MODE ...``).

Every mode binds 127.0.0.1 on a random port, prints its endpoint on stdout, then serves until stdin closes
(the parent exits or closes the pipe).

``raw-stream --count N --size S``
    The raw limit of streaming: a bare pyzmq ROUTER that, once a DEALER says anything, sends it ``N`` two-part
    messages (routing id + ``S`` bytes) with blocking sends (ROUTER_MANDATORY, so none is dropped).
``raw-echo --reply-bytes M``
    The raw limit of a round trip: a bare ROUTER that answers every message with ``M`` bytes.
``flight --keys DIR [--prefill N --samples K]``
    A LinkServer over flight's real parts (telemetry table, events, dispatcher with a no-op command, link
    failsafe), CURVE-secured with ``DIR``, its spool pre-filled with ``N`` telemetry packets of ``K`` samples.
``soak --keys DIR --channels C --hz F``
    The same LinkServer (heartbeat 1 s, so loss of signal is live), publishing ``C`` channels at ``F`` Hz until
    stdin closes, with a ``bench.count`` command that records each tag ``n`` it runs; on stdin closing it prints
    ``{"executed": E, "executed_twice": D, "stats": {...}}`` (``D``: tags run more than once).
``producer --keys DIR --channels C --hz F --seconds D``
    The same LinkServer, publishing ``C`` channels at ``F`` Hz (one packet per tick) for ``D`` seconds; then
    prints ``{"packets": P, "samples": S, "last_seq": Q}`` and keeps serving.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import zmq

from flight.commands import ArgSpec, command

FRAME_FILL = b"\x55"


def _stdin_closed() -> threading.Event:
    closed = threading.Event()

    def watch() -> None:
        sys.stdin.read()
        closed.set()

    threading.Thread(target=watch, daemon=True).start()
    return closed


def raw_stream(count: int, size: int) -> None:
    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    router.setsockopt(zmq.ROUTER_MANDATORY, 1)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    print(f"tcp://127.0.0.1:{port}", flush=True)
    payload = FRAME_FILL * size
    closed = _stdin_closed()
    while not closed.is_set():
        if not router.poll(100):
            continue
        routing_id, _ = router.recv_multipart()
        for _ in range(count):
            router.send_multipart((routing_id, payload))


def raw_echo(reply_bytes: int) -> None:
    ctx = zmq.Context()
    router = ctx.socket(zmq.ROUTER)
    port = router.bind_to_random_port("tcp://127.0.0.1")
    print(f"tcp://127.0.0.1:{port}", flush=True)
    reply = FRAME_FILL * reply_bytes
    closed = _stdin_closed()
    while not closed.is_set():
        if router.poll(100):
            routing_id, _ = router.recv_multipart()
            router.send_multipart((routing_id, reply))


class _Noop:
    """The command the round-trip benchmark sends."""

    @command("bench.noop", "Do nothing (link benchmark).")
    def noop(self) -> None:
        return None


class _Count:
    """The command the soak's good client sends: records every tag it runs."""

    def __init__(self) -> None:
        self.runs: dict[int, int] = {}

    @command("bench.count", "Record one run of tag n (attack soak).", ArgSpec("n", "int", lo=0, description="tag"))
    def count(self, n: int) -> None:
        self.runs[n] = self.runs.get(n, 0) + 1


def _server(keys: str, spool: Path, *, heartbeat_s: float = 60.0, extra: object | None = None) -> Any:
    from base.clock import RealClock
    from flight.commands import CommandRegistry
    from flight.dispatcher import Dispatcher
    from flight.events import EventLog
    from flight.failsafe import LinkFailsafe
    from flight.link_server import LinkServer
    from flight.telemetry import TelemetryTable

    clock = RealClock()
    events = EventLog(clock)
    table = TelemetryTable()
    registry = CommandRegistry()
    registry.register(_Noop())
    if extra is not None:
        registry.register(extra)
    dispatcher = Dispatcher(registry, clock, events)
    failsafe = LinkFailsafe("continue", lambda *_: None, events)

    def dictionary() -> dict[str, Any]:
        return {"commands": registry.dictionary(), "telemetry": table.dictionary(), "parameters": [], "diagram": ""}

    return LinkServer.open(
        clock,
        table=table,
        events=events,
        dispatcher=dispatcher,
        failsafe=failsafe,
        dictionary=dictionary,
        name="bench",
        keys_dir=keys,
        spool=spool,
        heartbeat_s=heartbeat_s,
    )


def flight(keys: str, prefill: int, samples: int) -> None:
    from flight.spool import Spool
    from link.wire import encode_telemetry

    with tempfile.TemporaryDirectory(prefix="isru-bench-") as tmp:
        spool_path = Path(tmp) / "spool.db"
        if prefill:
            spool = Spool(spool_path)
            names = [f"ch{k:03d}" for k in range(samples)]
            rows = []
            for seq in range(1, prefill + 1):
                t = 1.9e9 + seq * 0.1
                rows.append(
                    (seq, encode_telemetry(seq, t, names, [t] * samples, [seq * 0.5 + k for k in range(samples)]))
                )
            spool.append(rows)
            spool.close()
        server = _server(keys, spool_path)
        print(server.endpoint, flush=True)
        closed = _stdin_closed()
        clock = server.clock
        while not closed.is_set():
            server.wait_until(clock.monotonic() + 0.1)
        server.close()


def producer(keys: str, channels: int, hz: float, seconds: float) -> None:
    with tempfile.TemporaryDirectory(prefix="isru-bench-") as tmp:
        server = _server(keys, Path(tmp) / "spool.db")
        print(server.endpoint, flush=True)
        closed = _stdin_closed()
        clock, table = server.clock, server.table
        names = [f"bench.ch{k:04d}" for k in range(channels)]
        link_samples = len(server.telemetry())
        period = 1.0 / hz
        start = clock.monotonic()
        ticks = 0
        while not closed.is_set() and ticks < int(seconds * hz):
            ticks += 1
            t = clock.now()
            table.update(dict.fromkeys(names, float(ticks)), t)
            server.tick()
            server.wait_until(start + ticks * period)
        summary = {
            "packets": server.spool.next_seq - 1,
            "samples": ticks * (channels + link_samples),
            "last_seq": server.spool.next_seq - 1,
            "late_s": max(0.0, clock.monotonic() - (start + ticks * period)),
            "end_perf": time.perf_counter(),  # CLOCK_MONOTONIC: comparable with the parent's perf_counter
        }
        print(json.dumps(summary), flush=True)
        while not closed.is_set():
            server.wait_until(clock.monotonic() + 0.1)
        server.close()


def soak(keys: str, channels: int, hz: float) -> None:
    counter = _Count()
    with tempfile.TemporaryDirectory(prefix="isru-bench-") as tmp:
        server = _server(keys, Path(tmp) / "spool.db", heartbeat_s=1.0, extra=counter)
        print(server.endpoint, flush=True)
        closed = _stdin_closed()
        clock, table = server.clock, server.table
        names = [f"bench.ch{k:04d}" for k in range(channels)]
        period = 1.0 / hz
        start = clock.monotonic()
        ticks = 0
        while not closed.is_set():
            ticks += 1
            table.update(dict.fromkeys(names, float(ticks)), clock.now())
            server.tick()
            server.wait_until(start + ticks * period)
        summary = {
            "executed": sum(counter.runs.values()),
            "executed_twice": sum(1 for runs in counter.runs.values() if runs > 1),
            "stats": server.stats,
        }
        print(json.dumps(summary), flush=True)
        server.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.metrics._link_peer")
    sub = parser.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("raw-stream")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--size", type=int, required=True)
    p = sub.add_parser("raw-echo")
    p.add_argument("--reply-bytes", type=int, required=True)
    p = sub.add_parser("flight")
    p.add_argument("--keys", required=True)
    p.add_argument("--prefill", type=int, default=0)
    p.add_argument("--samples", type=int, default=20)
    p = sub.add_parser("soak")
    p.add_argument("--keys", required=True)
    p.add_argument("--channels", type=int, default=50)
    p.add_argument("--hz", type=float, default=10.0)
    p = sub.add_parser("producer")
    p.add_argument("--keys", required=True)
    p.add_argument("--channels", type=int, required=True)
    p.add_argument("--hz", type=float, required=True)
    p.add_argument("--seconds", type=float, required=True)
    args = parser.parse_args(argv)
    if args.mode == "raw-stream":
        raw_stream(args.count, args.size)
    elif args.mode == "raw-echo":
        raw_echo(args.reply_bytes)
    elif args.mode == "flight":
        flight(args.keys, args.prefill, args.samples)
    elif args.mode == "soak":
        soak(args.keys, args.channels, args.hz)
    else:
        producer(args.keys, args.channels, args.hz, args.seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
