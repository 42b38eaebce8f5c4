"""Hostile traffic from clients holding a valid key: each attack is bounded and asserts the fixed behaviour
(issue 13: flight and ground keep working, lose nothing, let no one in)."""

from __future__ import annotations

from pathlib import Path

import msgpack
import pytest

from base.clock import RealClock, VirtualClock
from flight.link_packets import TRIM_PERIOD_S
from flight.link_quota import LinkLimits
from flight.store import FlightStore
from link import wire
from link.keys import init_keys
from link.schema import Severity
from tests.support.link_harness import MiniFlight, RawOperator


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return init_keys(tmp_path_factory.mktemp("attack") / "keys")


def test_a_counter_over_2_63_is_malformed_and_flight_with_a_store_keeps_commanding(keys: Path, tmp_path: Path) -> None:
    clock = RealClock()
    store = FlightStore(tmp_path / "store.db", clock)
    flight = MiniFlight(clock, tmp_path / "spool.db", keys_dir=keys, counters=store)
    operator = RawOperator(flight.server.endpoint, keys)
    try:
        operator.drain(flight, 1, wire.Welcome)
        operator.send_raw([msgpack.packb([int(wire.Kind.COMMAND), "huge", 2**63, "test.count", {"n": 1}])])
        operator.send_raw([msgpack.packb([int(wire.Kind.COMMAND), "huger", 2**64 - 1, "test.count", {"n": 2}])])
        rejects = operator.drain(flight, 2, wire.Reject)
        assert [r.reason for r in rejects] == ["malformed", "malformed"]
        assert all("command.counter: expected an integer 1..2^63-1" in r.message for r in rejects)
        assert store.last_counter("operator") == 0
        operator.send(wire.Command("fine", 2**63 - 1, "test.count", {"n": 3}))
        operator.completed(flight, "fine")
        assert flight.counter.executed == [3]
        assert store.last_counter("operator") == 2**63 - 1
    finally:
        operator.close()
        flight.close()
        store.close()


def _pump(flight: MiniFlight, seconds: float, period_s: float = 0.01) -> None:
    """Run flight (a telemetry packet every ``period_s``) for ``seconds`` of its clock."""
    flight.run_for(seconds, period_s)


def test_re_sent_hellos_reuse_the_session_and_never_queue_past_the_keys_cap(keys: Path, tmp_path: Path) -> None:
    limits = LinkLimits(max_bytes=256 * 1024, dictionary_interval_s=0.5)
    flight = MiniFlight(RealClock(), tmp_path / "spool.db", keys_dir=keys, limits=limits)
    observer = RawOperator(flight.server.endpoint, keys, "observer", hello=False)
    operator = RawOperator(flight.server.endpoint, keys)
    try:
        for _ in range(200):  # a backlog of 200 packets of 10 samples
            flight.produce()
        hello = wire.Hello(wire.PROTOCOL_VERSION, 0, 0, 100_000, True, False)
        start = flight.clock.monotonic()
        for _ in range(150):  # re-sent hellos, each asking for the whole backlog and the dictionary; never read
            observer.send(hello)
            _pump(flight, 0.01)
            operator.service(flight)
        elapsed = flight.clock.monotonic() - start
        observers = [s for s in flight.server.sessions.values() if s.identity.name == "observer"]
        assert len(observers) == 1
        quotas = flight.server._sessions.quotas
        largest = len(flight.server._dictionary_bytes(flight.clock.monotonic()))
        packet = max(len(frame) for _, frame in flight.server.spool.read_packets(0, 300))
        assert quotas.account("observer").total(flight.clock.monotonic()) <= limits.max_bytes + largest + packet
        dictionaries = observers[0].sent.frames
        assert sum(1 for stream, number, size in dictionaries if size == largest) <= 2 + elapsed / 0.5
        assert sum(e.name == "client_connected" and e.data["client"] == "observer" for e in flight.events.recent) == 1
        assert flight.server.stats["throttled"] > 0
        operator.send(wire.Command("still-here", 1, "test.count", {"n": 1}))
        operator.completed(flight, "still-here")  # the operator's key has its own account
        assert any(isinstance(m, wire.TelemetryPacket) for m in operator.received)
    finally:
        observer.close()
        operator.close()
        flight.close()


def test_one_key_holds_at_most_its_cap_of_sessions_however_many_sockets_it_opens(keys: Path, tmp_path: Path) -> None:
    limits = LinkLimits(max_sessions=4, max_bytes=512 * 1024)
    flight = MiniFlight(RealClock(), tmp_path / "spool.db", keys_dir=keys, limits=limits)
    observers = [RawOperator(flight.server.endpoint, keys, "observer", hello=False) for _ in range(20)]
    try:
        for _ in range(300):
            flight.produce()
        for observer in observers:  # each asks for the whole backlog with a huge window and never reads
            observer.send(wire.Hello(wire.PROTOCOL_VERSION, 0, 0, 100_000, False, False))
        _pump(flight, 0.5)
        now = flight.clock.monotonic()
        sessions = [s for s in flight.server.sessions.values() if s.identity.name == "observer"]
        assert len(sessions) == 4
        assert flight.server.stats["over_cap"] == 16
        assert 1 <= sum(e.name == "over_cap" for e in flight.events.recent) <= 2  # rate-limited
        largest = max(len(frame) for _, frame in flight.server.spool.read_packets(0, 300))
        # the cap, plus the one frame each new session gets even over it (so a reconnecting client is never stuck)
        charged = flight.server._sessions.quotas.account("observer").total(now)
        assert charged <= limits.max_bytes + len(observers) * largest
    finally:
        for observer in observers:
            observer.close()
        flight.close()


def test_link_work_per_pass_stops_at_its_time_budget(keys: Path, tmp_path: Path) -> None:
    flight = MiniFlight(RealClock(), tmp_path / "spool.db", keys_dir=keys, limits=LinkLimits(budget_us=1))
    operator = RawOperator(flight.server.endpoint, keys)
    try:
        operator.drain(flight, 1, wire.Welcome)
        for i in range(20):
            operator.send(wire.Heartbeat(float(i), 0.0, 0))
        operator.socket.poll(50)  # let them arrive
        deadline = flight.clock.monotonic() + 10.0
        while flight.server.stats["messages_in"] < 2 and flight.clock.monotonic() < deadline:
            flight.server.service()
        passes: list[int] = []
        while sum(passes) < 19 and flight.clock.monotonic() < deadline:
            passes.append(flight.server.service())
        assert max(passes) == 1  # one message, then the 1 µs budget is spent: the rest waits for the next pass
        assert flight.server.stats["budget_spent"] >= 18
    finally:
        operator.close()
        flight.close()


def test_huge_frames_are_dropped_by_libzmq_before_flight_reads_them(keys: Path, tmp_path: Path) -> None:
    flight = MiniFlight(RealClock(), tmp_path / "spool.db", keys_dir=keys)
    attacker = RawOperator(flight.server.endpoint, keys, "observer")
    operator = RawOperator(flight.server.endpoint, keys)
    try:
        attacker.drain(flight, 1, wire.Welcome)
        operator.drain(flight, 1, wire.Welcome)
        seen = flight.server.stats["messages_in"]
        for _ in range(20):
            attacker.send_raw([b"\x00" * (1024 * 1024)])
        _pump(flight, 0.5)
        assert flight.server.stats["messages_in"] - seen < 20 + 60  # heartbeat-free: only the operator's acks
        assert flight.server.stats["malformed"] == 0
        operator.send(wire.Command("after-flood", 1, "test.count", {"n": 7}))
        operator.completed(flight, "after-flood")
        assert flight.counter.executed == [7]
    finally:
        attacker.close()
        operator.close()
        flight.close()


def test_half_open_connections_are_dropped_after_the_handshake_time_and_the_station_gets_in(
    keys: Path, tmp_path: Path
) -> None:
    import select
    import socket
    import time

    reserved = f"ipc://{tmp_path}/station.sock"  # the ground station's own door
    flight = MiniFlight(RealClock(), tmp_path / "spool.db", keys_dir=keys, reserved_endpoint=reserved)
    host, port = flight.server.endpoint.removeprefix("tcp://").rsplit(":", 1)
    flood = [socket.create_connection((host, int(port)), timeout=5) for _ in range(300)]  # no key, no handshake
    station = RawOperator(reserved, keys, "archive")
    public = RawOperator(flight.server.endpoint, keys, "operator")  # the public door works too, during the flood
    try:
        assert station.drain(flight, 1, wire.Welcome)[0].role == "archive"  # in, during the flood
        assert public.drain(flight, 1, wire.Welcome)[0].role == "operator"
        open_ = {s.fileno(): s for s in flood}
        deadline = time.monotonic() + 15.0
        while open_ and time.monotonic() < deadline:
            flight.server.wait_until(flight.clock.monotonic() + 0.05)
            readable, _, _ = select.select(list(open_.values()), [], [], 0.05)
            for sock in readable:
                try:
                    data = sock.recv(4096)  # libzmq's greeting first, then end of file
                except OSError:
                    data = b""
                if not data:
                    del open_[sock.fileno()]
        assert not open_, f"{len(open_)} of {len(flood)} half-open connections still held by flight"
        station.send(wire.Heartbeat(1.0, 0.0, 0))
        assert station.drain(flight, 1, wire.Heartbeat)  # the station's session is untouched
    finally:
        for sock in flood:
            sock.close()
        station.close()
        public.close()
        flight.close()


def test_a_spool_no_one_acknowledges_stays_under_its_size_cap(keys: Path, tmp_path: Path) -> None:
    cap = 256 * 1024
    clock = VirtualClock()
    flight = MiniFlight(clock, tmp_path / "spool.db", keys_dir=keys, limits=LinkLimits(spool_max_bytes=cap))
    try:  # no archiving station connected: nothing is ever acknowledged
        for _ in range(15):
            for _ in range(100):  # ~100 kB of telemetry
                flight.produce(n_channels=40)
            clock.advance(TRIM_PERIOD_S)
        flight.produce()
        assert flight.server.spool.used_bytes() <= cap
        dropped = [e for e in flight.events.recent if e.name == "spool_overflow"]
        assert dropped and all(e.data["dropped"] > 0 for e in dropped)
        assert flight.server.spool.first_seq > 1  # the oldest went; the newest are kept
        assert flight.server.spool.depth > 0
    finally:
        flight.close()


def test_a_hello_re_sent_while_flight_starts_gets_its_dictionary_without_a_warning(keys: Path, tmp_path: Path) -> None:
    """A ground that says hello before flight is up re-sends it every heartbeat; libzmq then delivers the queued
    hellos together. The one dictionary they ask for is no refused traffic: no ``throttled`` warning (each
    demo start showed one); a second key asking within the interval still is deferred and reported."""
    flight = MiniFlight(RealClock(), tmp_path / "spool.db", keys_dir=keys)
    ground = RawOperator(flight.server.endpoint, keys, hello=False)
    other = RawOperator(flight.server.endpoint, keys, hello=False)  # the same key on another socket
    try:
        hello = wire.Hello(wire.PROTOCOL_VERSION, 0, 0, 1000, True, False)
        for _ in range(3):
            ground.send(hello)
        assert len(ground.drain(flight, 1, wire.DictionaryMessage)) >= 1
        assert not [e for e in flight.events.recent if e.name == "throttled"]
        other.send(hello)  # a new session of that key within the interval: deferred, and that is reported
        other.drain(flight, 1, wire.Welcome)
        deferred = [e for e in flight.events.recent if e.name == "dictionary_deferred"]
        assert deferred and "dictionary" in deferred[0].message and deferred[0].severity == Severity.INFO
        assert deferred[0].data["count"] == 1  # the deferrals so far, not another kind's count
        assert not [e for e in flight.events.recent if e.name == "throttled"]  # the byte-cap reminder's own kind
    finally:
        ground.close()
        other.close()
        flight.close()
