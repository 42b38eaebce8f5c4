"""A full disk never stops flight: the spool degrades to a bounded memory buffer with an alarm and catches up
when space returns; nothing is renumbered or lost (a real 2 MiB tmpfs, filled for real)."""

from __future__ import annotations

import time
from pathlib import Path

from base.clock import RealClock
from flight.store import FlightStore
from link import wire
from link.keys import init_keys
from tests.support.disks import fill
from tests.support.link_harness import MiniFlight, RawOperator


def test_a_full_disk_degrades_the_spool_to_memory_and_it_catches_up_losing_nothing(
    small_disk: Path, tmp_path: Path
) -> None:
    keys = init_keys(tmp_path / "keys")
    flight = MiniFlight(RealClock(), small_disk / "spool.db", keys_dir=keys)
    operator = RawOperator(flight.server.endpoint, keys)
    try:
        operator.drain(flight, 1, wire.Welcome)
        for _ in range(5):
            flight.produce()
        filler = fill(small_disk)
        for _ in range(200):  # telemetry keeps coming; the spool cannot take it
            flight.produce(n_channels=50)
            operator.service(flight)
        assert flight.server.telemetry()["link.spool_ok"] == 0
        assert flight.server.telemetry()["link.spool_buffered"] > 0
        assert any(e.name == "spool_degraded" for e in flight.events.recent)
        filler.unlink()
        for _ in range(20):
            flight.produce()
            operator.service(flight)
        assert flight.server.telemetry()["link.spool_ok"] == 1
        assert any(e.name == "spool_recovered" for e in flight.events.recent)
        end = flight.clock.monotonic() + 20
        while flight.clock.monotonic() < end:
            operator.service(flight)
            seqs = sorted(m.seq for m in operator.received if isinstance(m, (wire.TelemetryPacket, wire.EventPacket)))
            if seqs and seqs[-1] == flight.server.spool.next_seq - 1:
                break
        assert seqs == list(range(1, flight.server.spool.next_seq))  # every packet once, in order, none skipped
        assert flight.server.telemetry()["link.samples_dropped"] == 0  # 2 MiB of ticks fit the memory buffer
    finally:
        operator.close()
        flight.close()


def test_a_command_arriving_while_the_stores_disk_is_full_fails_persistence_and_runs_once_when_space_returns(
    small_disk: Path, tmp_path: Path
) -> None:
    keys = init_keys(tmp_path / "keys")
    clock = RealClock()
    store = FlightStore(small_disk / "store.sqlite", clock)
    flight = MiniFlight(clock, tmp_path / "spool.db", keys_dir=keys, counters=store)
    flight.dispatcher.id_store = store
    operator = RawOperator(flight.server.endpoint, keys)
    try:
        operator.drain(flight, 1, wire.Welcome)
        operator.send(wire.Command("first", 1, "test.count", {"n": 1}))
        operator.completed(flight, "first")
        filler = fill(small_disk)
        operator.send(wire.Command("second", 2, "test.count", {"n": 2}))
        failed = _status(operator, flight, "second", "failed")
        assert failed["reason"] == "persistence" and "counter could not be recorded" in failed["message"]
        assert flight.counter.executed == [1] and store.last_counter("operator") == 1  # it did not run
        flight.produce()  # flight goes on
        filler.unlink()
        operator.send(wire.Command("second", 3, "test.count", {"n": 2}))  # the same command, a counter above
        operator.completed(flight, "second")
        assert flight.counter.executed == [1, 2] and store.last_counter("operator") == 3
    finally:
        operator.close()
        flight.close()
        store.close()


def test_a_command_whose_id_cannot_be_recorded_fails_persistence_and_never_runs(
    small_disk: Path, tmp_path: Path
) -> None:
    clock = RealClock()
    store = FlightStore(small_disk / "store.sqlite", clock)
    flight = MiniFlight(clock, tmp_path / "spool.db", keys_dir=init_keys(tmp_path / "keys"))
    flight.dispatcher.id_store = store
    try:
        filler = fill(small_disk)
        status = flight.dispatcher.submit("test.count", {"n": 7}, command_id="unrecorded", source="test")
        assert (status.stage.value, status.reason) == ("failed", "persistence")
        assert flight.counter.executed == []
        filler.unlink()
        status = flight.dispatcher.submit("test.count", {"n": 7}, command_id="unrecorded", source="test")
        assert status.stage.value == "completed" and flight.counter.executed == [7] and store.seen("unrecorded")
    finally:
        flight.close()
        store.close()


def _status(operator: RawOperator, flight: MiniFlight, command_id: str, stage: str) -> dict:
    """Service flight until command ``command_id`` reaches ``stage``; that status."""
    end = time.perf_counter() + 30
    while True:
        for message in operator.received:
            if isinstance(message, wire.StatusPacket) and (message.status["id"], message.status["stage"]) == (
                command_id,
                stage,
            ):
                return dict(message.status)
        assert time.perf_counter() < end, f"{command_id} never reached {stage}"
        operator.service(flight)
