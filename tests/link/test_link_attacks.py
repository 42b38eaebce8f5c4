"""Hostile traffic from clients holding a valid key: each attack is bounded and asserts the fixed behaviour
(issue 13: flight and ground keep working, lose nothing, let no one in)."""

from __future__ import annotations

from pathlib import Path

import msgpack
import pytest

from base.clock import RealClock
from flight.store import FlightStore
from link import wire
from link.keys import init_keys
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
