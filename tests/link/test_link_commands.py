"""Commands over the link: per-client counters (10,000 replayed, reordered or stale commands execute nothing,
also after a flight restart), malformed traffic counted and answered, and a whole FlightApp served by
LinkServer.attach with its dictionary."""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import sim_hw  # noqa: F401  (registers sim://)
from base.clock import RealClock, VirtualClock
from flight.app import FlightApp
from flight.link_server import LinkServer
from ground.client import LinkClient
from isru.config import load_config
from link import wire
from link.keys import init_keys
from sim_hw.registry import install_world, uninstall_world
from sim_hw.world import SimWorld
from tests.support.link_harness import MiniFlight, RawOperator

REPLAYS = 10_000


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return init_keys(tmp_path_factory.mktemp("cmd") / "keys")


def _replays(accepted: list[wire.Command], rng: random.Random) -> list[wire.Command]:
    """Exact replays, reordered stale counters with fresh ids, and counters of zero-ish age."""
    last = accepted[-1].counter
    out = []
    for i in range(REPLAYS):
        pick = i % 3
        if pick == 0:
            out.append(rng.choice(accepted))
        elif pick == 1:
            out.append(wire.Command(f"stale-{i}", rng.randint(1, last), "test.count", {"n": 10_000 + i}))
        else:
            out.append(wire.Command(f"equal-{i}", last, "test.count", {"n": 20_000 + i}))
    rng.shuffle(out)
    return out


def test_replayed_reordered_and_stale_commands_never_execute_even_after_a_restart(keys: Path, tmp_path: Path) -> None:
    rng = random.Random(5)
    spool = tmp_path / "spool.db"
    flight = MiniFlight(RealClock(), spool, keys_dir=keys)
    operator = RawOperator(flight.server.endpoint, keys)
    try:
        accepted = [wire.Command(f"ok-{n}", n * 3, "test.count", {"n": n}) for n in range(1, 51)]
        for command in accepted:
            operator.send(command)
        operator.drain(flight, 50 * 3, wire.StatusPacket)
        assert flight.counter.executed == list(range(1, 51))
        replays = _replays(accepted, rng)
        for command in replays:
            operator.send(command)
        rejects = operator.drain(flight, REPLAYS, wire.Reject)
        assert flight.counter.executed == list(range(1, 51))
        assert {r.reason for r in rejects} == {"replay"} and len(rejects) == REPLAYS
        assert flight.server.stats["replays"] == REPLAYS
        assert any(e.name == "replay" for e in flight.events.recent)
    finally:
        operator.close()
        flight.close()
    # flight restarts on the same spool: the last counter accepted survived
    flight = MiniFlight(RealClock(), spool, keys_dir=keys)
    operator = RawOperator(flight.server.endpoint, keys)
    try:
        welcome = operator.drain(flight, 1, wire.Welcome)[0]
        assert welcome.last_counter == 150
        for command in replays[:2000]:
            operator.send(command)
        operator.drain(flight, 2000, wire.Reject)
        assert flight.counter.executed == []
        operator.send(wire.Command("after-restart", 151, "test.count", {"n": 99}))
        operator.completed(flight, "after-restart")
        assert flight.counter.executed == [99]
    finally:
        operator.close()
        flight.close()


def test_a_restarted_ground_client_continues_above_the_last_counter(keys: Path, tmp_path: Path) -> None:
    flight = MiniFlight(RealClock(), tmp_path / "spool.db", keys_dir=keys)
    try:
        for n in (1, 2):  # two ground lifetimes, each starting from counter 0 in memory
            client = LinkClient(flight.server.endpoint, flight.clock, keys_dir=keys)
            statuses: list[dict] = []
            client.on_command_status(statuses.append)
            command_id = client.send_command("test.count", {"n": n})
            end = time.perf_counter() + 10
            while not any(s["id"] == command_id and s["stage"] == "completed" for s in statuses):
                assert time.perf_counter() < end, statuses
                client.poll(0.005)
                flight.server.wait_until(flight.clock.monotonic() + 0.005)
            client.close()
        assert flight.counter.executed == [1, 2]
        assert flight.server.stats["replays"] == 0
    finally:
        flight.close()


@contextmanager
def _booted(spool: Path, keys: Path) -> Iterator[tuple[MiniFlight, RawOperator]]:
    """One flight boot on ``spool`` (no FlightStore: the spool keeps ids and counters) and an operator."""
    flight = MiniFlight(RealClock(), spool, keys_dir=keys)
    operator = RawOperator(flight.server.endpoint, keys)
    try:
        yield flight, operator
    finally:
        operator.close()
        flight.close()


def test_a_command_id_runs_once_across_a_flight_restart_without_a_flight_store(keys: Path, tmp_path: Path) -> None:
    spool = tmp_path / "spool.db"
    with _booted(spool, keys) as (flight, operator):
        operator.send(wire.Command("once", 5, "test.count", {"n": 1}))
        operator.completed(flight, "once")
    with _booted(spool, keys) as (flight, operator):
        # a ground station that never saw "completed" re-sends the same command above the last counter
        operator.send(wire.Command("once", 6, "test.count", {"n": 1}))
        operator.send(wire.Command("fresh", 7, "test.count", {"n": 2}))
        operator.completed(flight, "fresh")
        once = [p.status for p in operator.received if isinstance(p, wire.StatusPacket) and p.status["id"] == "once"]
        # the first boot's statuses (re-sent: never acknowledged), then the refusal of the re-sent command
        assert [(s["stage"], s["reason"]) for s in once] == [
            ("accepted", ""),
            ("started", ""),
            ("completed", ""),
            ("failed", "duplicate_id"),
        ]
        assert flight.counter.executed == [2]  # "once" ran in the first boot only


def test_malformed_and_oversized_messages_are_counted_answered_and_reported(keys: Path, tmp_path: Path) -> None:
    flight = MiniFlight(RealClock(), tmp_path / "spool.db", keys_dir=keys)
    operator = RawOperator(flight.server.endpoint, keys)
    try:
        operator.drain(flight, 1, wire.Welcome)
        bad = [
            [b"\xc1"],
            [b"two", b"frames"],
            [wire.encode(wire.Heartbeat(1.0, 0.0, 0))[0][:-1]],
            [wire.encode(wire.Welcome(1, "x", "operator", 0, "f", "b", 0.0, 1.0, 0, 0))[0]],
            [b"\x92\x06" + b"\xda\xff\xff" + b"a" * 65535],
            [b"\x00" * (wire.MAX_UPLINK_BYTES + 10)],
        ]
        for frames in bad:
            operator.send_raw(frames)
        rejects = operator.drain(flight, len(bad), wire.Reject)
        assert [r.reason for r in rejects] == ["malformed"] * len(bad)
        assert "over the" in rejects[-1].message
        assert flight.server.stats["malformed"] == len(bad)
        assert any(e.name == "malformed" for e in flight.events.recent)
        operator.send(wire.Command("fine", 1, "test.count", {"n": 1}))
        operator.completed(flight, "fine")
        assert flight.counter.executed == [1]
    finally:
        operator.close()
        flight.close()


@pytest.fixture
def app() -> Iterator[FlightApp]:
    config = load_config()
    config = dataclasses.replace(config, mission=dataclasses.replace(config.mission, prospect=False))
    clock = VirtualClock()
    install_world(SimWorld(clock, seed=3, site=0))
    flight_app = FlightApp(config, clock)
    flight_app.start()
    yield flight_app
    flight_app.close()
    uninstall_world()


def test_a_flight_app_served_by_attach_sends_its_dictionary_and_takes_commands(app: FlightApp, keys: Path) -> None:
    server = LinkServer.attach(app, endpoint="tcp://127.0.0.1:0", keys_dir=keys, heartbeat_s=3600.0)
    client = LinkClient(server.endpoint, RealClock(), keys_dir=keys, heartbeat_s=3600.0)
    channels: set[str] = set()
    statuses: list[dict] = []
    client.on_telemetry(lambda _seq, samples: channels.update(s[0] for s in samples))
    client.on_command_status(statuses.append)
    try:
        command_id = client.send_command("failsafe.set_policy", {"policy": "safe"})
        end = time.perf_counter() + 20
        while not any(s["id"] == command_id and s["stage"] == "completed" for s in statuses):
            assert time.perf_counter() < end, statuses
            app.executive.run(duration_s=0.1)
            client.poll(0.002)
        dictionary = client.dictionary
        assert dictionary is not None
        assert {"commands", "telemetry", "parameters", "diagram", "events", "flight"} <= set(dictionary)
        assert dictionary["flight"] == {"name": app.config.name, "boot_id": server.boot_id}
        assert any(c["name"] == "mission.start" for c in dictionary["commands"])
        assert {"link.state", "link.spool_depth", "mission.state"} <= channels
        assert app.failsafe.policy == "safe"
    finally:
        client.close()
        server.close()
