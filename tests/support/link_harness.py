"""Shared pieces of the link tests: a small flight segment made of flight's real parts (telemetry table,
event log, command registry and dispatcher, link failsafe) served by a real LinkServer."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import zmq

from base.clock import Clock
from flight.commands import ArgSpec, CommandRegistry, command
from flight.dispatcher import Dispatcher
from flight.events import EventLog
from flight.failsafe import LinkFailsafe
from flight.link_server import LinkServer
from flight.telemetry import TelemetryTable
from link import wire
from link.security import secure_client


class Counter:
    """A flight component whose commands count how often they ran."""

    def __init__(self) -> None:
        self.executed: list[int] = []

    @command("test.count", "Count one execution.", ArgSpec("n", "int", lo=0, hi=10**9, description="tag"))
    def count(self, n: int) -> None:
        self.executed.append(n)

    @command("test.nothing", "Do nothing.")
    def nothing(self) -> None:
        return None


class MiniFlight:
    """Table, events, dispatcher, failsafe and a LinkServer over them (``server_kwargs`` pass through)."""

    def __init__(self, clock: Clock, spool: Path | str | None, **server_kwargs: Any) -> None:
        self.clock = clock
        self.events = EventLog(clock)
        self.table = TelemetryTable()
        self.registry = CommandRegistry()
        self.counter = Counter()
        self.registry.register(self.counter)
        self.dispatcher = Dispatcher(self.registry, clock, self.events)
        self.responses: list[tuple[str, str]] = []
        self.failsafe = LinkFailsafe(
            "hold", lambda response, reason: self.responses.append((response, reason)), self.events
        )
        self.registry.register(self.failsafe)
        self.server = LinkServer.open(
            clock,
            table=self.table,
            events=self.events,
            dispatcher=self.dispatcher,
            failsafe=self.failsafe,
            dictionary=self.dictionary,
            name="mini",
            spool=spool,
            **server_kwargs,
        )
        self.produced = 0

    def dictionary(self) -> dict[str, Any]:
        return {
            "commands": self.registry.dictionary(),
            "telemetry": self.table.dictionary(),
            "parameters": [],
            "diagram": "",
        }

    def produce(self, n_channels: int = 10) -> None:
        """One telemetry tick: ``n_channels`` samples then a packet."""
        t = self.clock.now()
        self.table.update({f"test.ch{i}": self.produced + i for i in range(n_channels)}, t)
        self.produced += 1
        self.server.tick()

    def run_for(self, seconds: float, period_s: float, until: Callable[[], bool] | None = None) -> None:
        """Produce a packet every ``period_s`` clock seconds for ``seconds``, servicing in between."""
        end = self.clock.monotonic() + seconds
        while self.clock.monotonic() < end:
            if until is not None and until():
                return
            self.produce()
            self.server.wait_until(min(end, self.clock.monotonic() + period_s))

    def close(self) -> None:
        self.server.close()


class RawOperator:
    """A ground client (the key ``name``) speaking the wire format directly, so it can send anything it likes."""

    def __init__(self, endpoint: str, keys: Path, name: str = "operator", *, hello: bool = True) -> None:
        self.ctx = zmq.Context()
        self.socket = self.ctx.socket(zmq.DEALER)
        self.socket.linger = 0
        secure_client(self.socket, keys, name)
        self.socket.connect(endpoint)
        self.received: list[wire.Message] = []
        if hello:
            self.send(wire.Hello(wire.PROTOCOL_VERSION, 0, 0, 1000, False, False))

    def send(self, message: wire.Message) -> None:
        self.socket.send(wire.encode(message)[0])

    def send_raw(self, frames: list[bytes]) -> None:
        self.socket.send_multipart(frames)

    def drain(self, flight: MiniFlight, until: int, kind: type, wall_s: float = 30.0) -> list:
        """Service flight and read until ``until`` messages of ``kind`` arrived."""
        end = time.perf_counter() + wall_s
        while sum(isinstance(m, kind) for m in self.received) < until:
            assert time.perf_counter() < end, f"got {sum(isinstance(m, kind) for m in self.received)} {kind}"
            self.service(flight)
        return [m for m in self.received if isinstance(m, kind)]

    def completed(self, flight: MiniFlight, command_id: str, wall_s: float = 30.0) -> None:
        """Service flight and read until command ``command_id`` is reported completed."""
        end = time.perf_counter() + wall_s
        while not any(
            isinstance(m, wire.StatusPacket) and m.status["id"] == command_id and m.status["stage"] == "completed"
            for m in self.received
        ):
            assert time.perf_counter() < end, f"{command_id} not completed"
            self.service(flight)

    def service(self, flight: MiniFlight) -> None:
        flight.server.wait_until(flight.clock.monotonic() + 0.005)
        while self.socket.poll(0):
            for frame in self.socket.recv_multipart():
                self.received.extend(wire.decode_batch(frame))

    def close(self) -> None:
        self.socket.close(0)
        self.ctx.term()


def main(argv: list[str] | None = None) -> int:
    """A flight process for crash tests: ``--spool --keys --endpoint --period``; prints its endpoint, then
    produces a packet every ``period`` seconds until killed (or ``--duration`` seconds)."""
    import argparse

    from base.clock import RealClock

    parser = argparse.ArgumentParser()
    parser.add_argument("--spool", required=True)
    parser.add_argument("--keys", required=True)
    parser.add_argument("--endpoint", default="tcp://127.0.0.1:0")
    parser.add_argument("--period", type=float, default=0.005)
    parser.add_argument("--duration", type=float, default=60.0)
    args = parser.parse_args(argv)
    clock = RealClock()
    flight = MiniFlight(clock, args.spool, keys_dir=args.keys, endpoint=args.endpoint)
    print(flight.server.endpoint, flush=True)
    try:
        flight.run_for(args.duration, args.period)
    finally:
        flight.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
