"""A command's counter and its ``accepted`` status are on disk, and ``accepted`` is on its way to ground,
before the command's handler runs (one spool transaction; docs/link.md, Security / Sequences)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
import zmq

from base.clock import RealClock
from flight.commands import command
from link import wire
from link.keys import init_keys
from link.security import secure_client
from tests.support.link_harness import MiniFlight


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return init_keys(tmp_path_factory.mktemp("admit") / "keys")


class _Ground:
    """An operator DEALER speaking the wire format directly."""

    def __init__(self, endpoint: str, keys: Path) -> None:
        self.ctx = zmq.Context()
        self.socket = self.ctx.socket(zmq.DEALER)
        self.socket.linger = 0
        secure_client(self.socket, keys, "operator")
        self.socket.connect(endpoint)
        self.received: list[wire.Message] = []
        self.socket.send(wire.encode(wire.Hello(wire.PROTOCOL_VERSION, 0, 0, 1000, False, False))[0])

    def read(self, wait_ms: int = 0) -> None:
        while self.socket.poll(wait_ms):
            self.received.extend(wire.decode_batch(self.socket.recv()))
            wait_ms = 0

    def stages(self, command_id: str) -> list[str]:
        return [
            m.status["stage"]
            for m in self.received
            if isinstance(m, wire.StatusPacket) and m.status["id"] == command_id
        ]

    def close(self) -> None:
        self.socket.close(0)
        self.ctx.term()


class _Probe:
    """A command whose handler records what was on disk and on the wire when it ran."""

    def __init__(self, spool: Path) -> None:
        self.spool = spool
        self.ground: _Ground | None = None
        self.seen: list[tuple[int, int, list[str]]] = []

    @command("test.probe", "Record the spool's counter and the statuses ground holds.")
    def probe(self) -> None:
        with sqlite3.connect(self.spool) as other:  # another connection: sees only what was committed
            counter = other.execute("SELECT counter FROM counters WHERE client = 'operator'").fetchone()[0]
            spooled = other.execute("SELECT count(*) FROM statuses").fetchone()[0]
        assert self.ground is not None
        self.ground.read(wait_ms=2000)  # the accepted status was sent before this handler was called
        self.seen.append((counter, spooled, self.ground.stages("probe-1")))


def test_counter_and_accepted_are_committed_and_sent_before_the_handler_runs(keys: Path, tmp_path: Path) -> None:
    spool = tmp_path / "spool.db"
    flight = MiniFlight(RealClock(), spool, keys_dir=keys)
    probe = _Probe(spool)
    flight.registry.register(probe)
    ground = probe.ground = _Ground(flight.server.endpoint, keys)
    try:
        ground.socket.send(wire.encode(wire.Command("probe-1", 7, "test.probe", {}))[0])
        end = time.perf_counter() + 20.0
        while "completed" not in ground.stages("probe-1"):
            assert time.perf_counter() < end, f"no completed status; got {ground.stages('probe-1')}"
            flight.server.wait_until(flight.clock.monotonic() + 0.005)
            ground.read()
        assert probe.seen == [(7, 1, ["accepted"])]
        assert ground.stages("probe-1") == ["accepted", "started", "completed"]
        assert flight.server.spool.last_counter("operator") == 7
    finally:
        ground.close()
        flight.close()


def test_a_command_the_dispatcher_refuses_still_records_its_counter(keys: Path, tmp_path: Path) -> None:
    spool = tmp_path / "spool.db"
    flight = MiniFlight(RealClock(), spool, keys_dir=keys)
    ground = _Ground(flight.server.endpoint, keys)
    try:
        ground.socket.send(wire.encode(wire.Command("bad-1", 3, "test.count", {"n": -1}))[0])
        end = time.perf_counter() + 20.0
        while "failed" not in ground.stages("bad-1"):
            assert time.perf_counter() < end, f"no failed status; got {ground.stages('bad-1')}"
            flight.server.wait_until(flight.clock.monotonic() + 0.005)
            ground.read()
        assert flight.counter.executed == []
    finally:
        ground.close()
        flight.close()
    with sqlite3.connect(spool) as other:
        assert other.execute("SELECT counter FROM counters WHERE client = 'operator'").fetchone() == (3,)


def test_a_command_whose_counter_cannot_be_recorded_never_runs_and_may_be_sent_again(
    keys: Path, tmp_path: Path
) -> None:
    spool = tmp_path / "spool.db"
    flight = MiniFlight(RealClock(), spool, keys_dir=keys)
    ground = _Ground(flight.server.endpoint, keys)
    blocker = sqlite3.connect(spool, timeout=0.1, isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")  # another process holds the spool: flight's commit times out (5 s)
        ground.socket.send(wire.encode(wire.Command("locked-1", 5, "test.count", {"n": 1}))[0])
        end = time.perf_counter() + 20.0
        while flight.server.stats["commands"] < 1:
            assert time.perf_counter() < end, "the command never reached the dispatcher"
            flight.server.wait_until(flight.clock.monotonic() + 0.005)
        blocker.execute("ROLLBACK")
        end = time.perf_counter() + 20.0
        while "failed" not in ground.stages("locked-1"):  # the statuses kept back are spooled at the next tick
            assert time.perf_counter() < end, f"no failed status; got {ground.stages('locked-1')}"
            flight.server.tick()
            flight.server.wait_until(flight.clock.monotonic() + 0.005)
            ground.read()
        assert flight.counter.executed == []
        failed = next(
            m.status
            for m in ground.received
            if isinstance(m, wire.StatusPacket) and m.status["id"] == "locked-1" and m.status["stage"] == "failed"
        )
        assert failed["reason"] == "persistence"
        # the spool is free again: the same command (same id, a counter above) runs, once (a hello first: this
        # ground sends no heartbeats, so flight dropped its session during the 5 s the spool was locked)
        ground.socket.send(wire.encode(wire.Hello(wire.PROTOCOL_VERSION, 0, 0, 1000, False, False))[0])
        ground.socket.send(wire.encode(wire.Command("locked-1", 6, "test.count", {"n": 1}))[0])
        end = time.perf_counter() + 20.0
        while "completed" not in ground.stages("locked-1"):
            assert time.perf_counter() < end, f"not run again; got {ground.stages('locked-1')}"
            flight.server.wait_until(flight.clock.monotonic() + 0.005)
            ground.read()
        assert flight.counter.executed == [1]
    finally:
        blocker.close()
        ground.close()
        flight.close()
