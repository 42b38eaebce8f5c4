"""A command's statuses after "accepted" share the next commit (real ZeroMQ sockets, a real SQLite spool):
commands that arrive back to back cost one spool transaction each instead of two, every status still
arrives once and in order, and the last command's statuses come within ``COALESCE_S`` with no traffic after it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from base.clock import RealClock
from flight.link_packets import COALESCE_S
from link import wire
from link.keys import init_keys
from tests.support.link_harness import MiniFlight, RawOperator

COMMANDS = 40


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return init_keys(tmp_path_factory.mktemp("coalesce") / "keys")


def test_back_to_back_commands_share_commits_and_every_status_arrives_once_in_order(keys: Path, tmp_path: Path) -> None:
    flight = MiniFlight(RealClock(), tmp_path / "spool.db", keys_dir=keys)
    operator = RawOperator(flight.server.endpoint, keys)
    commits: list[str] = []
    try:
        operator.drain(flight, 1, wire.Welcome)
        flight.server.spool._db.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
        for n in range(1, COMMANDS + 1):
            operator.send(wire.Command(f"c-{n}", n, "test.count", {"n": n}))
        statuses = [p.status for p in operator.drain(flight, 3 * COMMANDS, wire.StatusPacket)]
        assert flight.counter.executed == list(range(1, COMMANDS + 1))
        stages = {(s["id"], s["stage"]) for s in statuses}
        assert len(statuses) == len(stages) == 3 * COMMANDS  # each status once
        for n in range(1, COMMANDS + 1):
            order = [s["stage"] for s in statuses if s["id"] == f"c-{n}"]
            assert order == ["accepted", "started", "completed"]
        sseqs = [p.sseq for p in operator.received if isinstance(p, wire.StatusPacket)]
        assert sseqs == sorted(sseqs) == list(range(sseqs[0], sseqs[0] + 3 * COMMANDS))
        # one transaction per acceptance (with the previous command's later statuses), not two per command
        assert COMMANDS <= len(commits) <= COMMANDS + COMMANDS // 4, len(commits)
    finally:
        operator.close()
        flight.close()


def test_the_last_commands_statuses_arrive_within_the_coalescing_time_without_more_traffic(
    keys: Path, tmp_path: Path
) -> None:
    flight = MiniFlight(RealClock(), tmp_path / "spool.db", keys_dir=keys)
    operator = RawOperator(flight.server.endpoint, keys)
    try:
        operator.drain(flight, 1, wire.Welcome)
        operator.send(wire.Command("only", 1, "test.count", {"n": 7}))
        arrivals: list[tuple[float, str]] = []

        def read() -> None:  # the operator's socket is this thread's alone until it ends
            while len(arrivals) < 3 and operator.socket.poll(2000):
                for frame in operator.socket.recv_multipart():
                    for message in wire.decode_batch(frame):
                        if isinstance(message, wire.StatusPacket):
                            arrivals.append((time.perf_counter(), message.status["stage"]))

        reader = threading.Thread(target=read)
        start = time.perf_counter()
        reader.start()
        flight.server.wait_until(flight.clock.monotonic() + 1.0)  # one idle wait: the command, then nothing
        reader.join(timeout=10)
        assert [stage for _, stage in arrivals] == ["accepted", "started", "completed"]
        # sent when the coalescing time ran out, not when the wait ended (generous: a loaded machine)
        assert all(at - start < 0.5 for at, _ in arrivals), [at - start for at, _ in arrivals]
        assert not flight.server._packets.pending and COALESCE_S < 0.5
    finally:
        operator.close()
        flight.close()
