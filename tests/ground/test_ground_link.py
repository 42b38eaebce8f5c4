"""The ground core end to end over the real, CURVE-secured ZeroMQ link: a FlightApp on sim:// devices
served by its LinkServer, ground's LinkClient, the core and an archive on disk, all on loopback."""

from __future__ import annotations

import contextlib
import dataclasses
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from base.clock import VirtualClock
from flight.app import FlightApp
from flight.link_server import LinkServer
from flight.telemetry import ChannelSpec
from ground.archive import Archive
from ground.core import GroundCore
from ground.errors import Forbidden, NeedsConfirmation
from isru.config import load_config
from link.keys import ROLES, init_keys
from sim_hw.registry import uninstall_world
from sim_hw.world import SimWorld
from tests.support.flight_stack import build

HOT = ChannelSpec("test.chamber_K", unit="K", warn_high=700.0, alarm_high=850.0)
#: Flight steps per wait (clock s) and the wall time the client may wait for traffic each step (s).
STEP_S = 0.1
POLL_S = 0.005
#: Steps a wait may take at most.
MAX_STEPS = 3000


@dataclass
class Flight:
    app: FlightApp
    world: SimWorld
    clock: VirtualClock
    server: LinkServer
    keys: Path

    def last_seq(self) -> int:
        return self.server.spool.next_seq - 1


@contextlib.contextmanager
def served_flight(tmp_path: Path, link: Any = None, **overrides: Any) -> Iterator[Flight]:
    """A flight app on the simulated rover served by its LinkServer (``link``: a LinkConfig, default the app's;
    ``overrides`` go to :meth:`LinkServer.attach`); closed and its world uninstalled on exit."""
    keys = init_keys(tmp_path / "keys")
    app, world, clock = build()
    server = LinkServer.attach(
        app, link, endpoint="tcp://127.0.0.1:0", keys_dir=str(keys), spool=str(tmp_path / "spool.db"), **overrides
    )
    try:
        yield Flight(app, world, clock, server, keys)
    finally:
        server.close()
        app.close()
        uninstall_world()


@pytest.fixture
def flight(tmp_path: Path) -> Iterator[Flight]:
    # Admits every role (observers too) to test the link-level role checks; `isru flight` admits stations only.
    with served_flight(tmp_path, admit_roles=ROLES) as served:
        served.app.table.define(HOT)
        yield served


def ground(flight: Flight, archive: Archive, identity: str = "operator") -> GroundCore:
    return GroundCore.connect(flight.server.endpoint, archive, flight.clock, keys_dir=flight.keys, identity=identity)


def run_until(flight: Flight, core: GroundCore, done: Callable[[], bool], what: str) -> None:
    """Step flight and service ground's client, single-threaded, until ``done()``."""
    for _ in range(MAX_STEPS):
        if done():
            return
        flight.app.executive.run(duration_s=STEP_S)
        core.client.poll(POLL_S)
    raise AssertionError(f"gave up after {MAX_STEPS} steps waiting for {what}")


def caught_up(flight: Flight, core: GroundCore) -> Callable[[], bool]:
    return lambda: core.archive.seq_count() >= flight.last_seq() > 0 and core.link.state == "acquired"


def test_an_operator_commands_through_the_real_link_and_every_packet_is_archived(
    flight: Flight, tmp_path: Path
) -> None:
    with Archive(tmp_path / "ground.db") as archive:
        core = ground(flight, archive)
        try:
            run_until(flight, core, lambda: core.role == "operator" and core.dictionary is not None, "the welcome")
            assert "mission.state" in core.dictionary.channel_names()
            with pytest.raises(NeedsConfirmation) as info:
                core.send("drive.twist", {"v_m_s": 0.1, "omega_rad_s": 0.0})
            assert info.value.hazard == flight.app.registry.spec("drive.twist").hazard
            run_until(flight, core, caught_up(flight, core), "ground to catch up")
            assert flight.app.dispatcher.counts["accepted"] == 0  # cancel sent nothing
            record = core.send("drive.twist", {"v_m_s": 0.1, "omega_rad_s": 0.0}, confirmed=True)
            run_until(flight, core, lambda: record.terminal is not None, "drive.twist to end")
            assert [s.stage for s in record.stages] == ["accepted", "started", "completed"]
            run_until(flight, core, lambda: flight.world.device("drive").is_actuating(), "the drive to move")
            stop = core.estop()
            run_until(flight, core, lambda: stop.terminal is not None, "the e-stop to end")
            assert stop.terminal == "completed"
            for name in ("drill", "scoop", "extractor", "anchor", "drive"):
                assert not flight.world.device(name).is_actuating(), name
            flight.app.table.update({HOT.name: 900.0}, flight.clock.now())
            run_until(flight, core, lambda: core.alarms.get(HOT.name) is not None, "the red-band alarm")
            core.alarms.ack(HOT.name, "test value")
            run_until(flight, core, caught_up(flight, core), "ground to catch up")
            assert archive.gaps() == [] and archive.high_seq() == archive.seq_count() == flight.last_seq()
            assert core.value("mission.state") == "safe"  # the e-stop told the mission machine
            history = {c["id"]: c for c in archive.command_history()}
            assert [s["stage"] for s in history[stop.id]["stages"]] == ["accepted", "started", "completed"]
        finally:
            core.client.close()


def test_an_observer_is_refused_on_ground_and_flight_executes_nothing(flight: Flight, tmp_path: Path) -> None:
    with Archive(tmp_path / "partner.db") as archive:
        core = ground(flight, archive, identity="observer")
        try:
            run_until(flight, core, lambda: core.role == "observer" and core.dictionary is not None, "the welcome")
            for attempt in (lambda: core.estop(), lambda: core.send("mission.hold")):
                with pytest.raises(Forbidden):
                    attempt()
            run_until(flight, core, caught_up(flight, core), "ground to catch up")
            assert flight.app.dispatcher.counts["accepted"] == 0 and len(core.commands) == 0
            assert core.latest["mission.state"][0] == "idle"
        finally:
            core.client.close()


def test_a_ground_restart_gets_exactly_the_packets_it_missed(flight: Flight, tmp_path: Path) -> None:
    path = tmp_path / "ground.db"
    with Archive(path) as archive:
        core = ground(flight, archive)
        run_until(flight, core, caught_up(flight, core), "the first ground to catch up")
        core.client.close()
        first = archive.seq_count()
    flight.app.executive.run(duration_s=20.0)  # flight keeps producing while ground is down
    assert flight.last_seq() > first
    with Archive(path) as archive:
        core = ground(flight, archive)
        try:
            run_until(flight, core, caught_up(flight, core), "the restarted ground to catch up")
            assert archive.gaps() == [] and archive.seq_count() == archive.high_seq() >= flight.last_seq()
        finally:
            core.client.close()
    with sqlite3.connect(path) as conn:
        packets, distinct = conn.execute("SELECT COUNT(*), COUNT(DISTINCT seq) FROM packets").fetchone()
        sample_packets = conn.execute("SELECT COUNT(DISTINCT seq) FROM samples").fetchone()[0]
    assert packets == distinct and sample_packets <= packets


def test_a_ground_that_was_not_scheduled_reads_what_waits_before_it_judges_a_loss_of_signal(
    tmp_path: Path,
) -> None:
    """A busy machine may leave ground's process unscheduled for longer than its loss-of-signal time-out while
    flight keeps sending: the packets wait in the socket, and that is not a loss of signal."""
    # Flight's time-out (three 5 s heartbeats) outlasts the pause below; ground's (three 1 s ones) does not.
    with served_flight(tmp_path, heartbeat_s=5.0) as flight, Archive(tmp_path / "ground.db") as archive:
        app, clock = flight.app, flight.clock
        core = GroundCore.connect(
            flight.server.endpoint, archive, clock, keys_dir=flight.keys, identity="operator", heartbeat_s=1.0
        )
        try:
            run_until(flight, core, caught_up(flight, core), "ground to catch up")
            states: list[str] = []
            core.client.on_link(lambda status: states.append(status.state))
            app.executive.run(duration_s=8.0)  # ground not scheduled for 8 s; flight sends on
            core.client.poll(POLL_S)
            assert core.link.state == "acquired", states
            assert "los" not in states
            # A real silence still is one: flight stops, ground waits past its time-out.
            clock.advance(4.0)
            core.client.poll(POLL_S)
            assert core.link.state == "los"
        finally:
            core.client.close()


def test_handling_a_burst_for_longer_than_the_time_out_is_not_a_loss_of_signal(flight: Flight, tmp_path: Path) -> None:
    """Archiving a burst of large packets on a busy machine may take longer than the time-out: ground heard
    flight when it took them off the socket, and the link stays acquired."""
    with Archive(tmp_path / "ground.db") as archive:
        core = ground(flight, archive)
        try:
            run_until(flight, core, caught_up(flight, core), "ground to catch up")
            slow = [True]

            def slow_archive(_seq: int, _samples: Any) -> None:
                if slow[0]:
                    slow[0] = False
                    flight.clock.advance(4.0)  # one packet takes 4 s to handle (the time-out is 3 s)

            core.client.on_telemetry(slow_archive)
            flight.app.executive.run(duration_s=0.5)
            core.client.poll(POLL_S)
            assert not slow[0], "no telemetry arrived"
            assert core.link.state == "acquired"
        finally:
            core.client.close()


def _settled_count(flight: Flight, core: GroundCore, quiet_s: float) -> int:
    """Step flight and ground until the archive has not grown for ``quiet_s`` clock seconds; its packet count."""
    count, since = core.archive.seq_count(), flight.clock.monotonic()
    for _ in range(MAX_STEPS):
        flight.app.executive.run(duration_s=STEP_S)
        core.client.poll(POLL_S)
        now_count = core.archive.seq_count()
        if now_count != count:
            count, since = now_count, flight.clock.monotonic()
        elif flight.clock.monotonic() - since >= quiet_s:
            return count
    raise AssertionError(f"the archive never stopped growing for {quiet_s} s")


def test_under_light_time_a_keys_byte_cap_paces_delivery_and_says_how_to_raise_it(tmp_path: Path) -> None:
    """A distant rover: a key's byte cap ([link] client_max_mb) bounds what it receives per round trip of light
    (2 L). Flight then pauses sending, names the throughput that allows and the setting to raise; ground goes on
    archiving, in order, nothing lost, only later. Before, a key at its cap stalled for good: the hellos ground
    re-sends while the first welcome is on its way rewound flight's cursors, and flight refused the acks."""
    link = dataclasses.replace(load_config().link, client_max_mb=1.0, light_time_s=60.0)
    with served_flight(tmp_path, link) as flight, Archive(tmp_path / "ground.db") as archive:
        assert flight.server.limits.max_bytes == 1024 * 1024
        core = ground(flight, archive)
        try:
            throttled = lambda: [e.message for e in flight.app.events.recent if e.name == "throttled"]  # noqa: E731
            run_until(flight, core, lambda: bool(throttled()), "flight to pause at the byte cap")
            assert "with 60 s light time each way the cap carries at most 8.5 KiB/s to it" in throttled()[0]
            assert "[link] client_max_mb" in throttled()[0]
            # Delivery goes on, paced by the acknowledgements: in order, nothing lost, nothing twice.
            run_until(flight, core, lambda: archive.seq_count() > 0, "the first packets")
            first = _settled_count(flight, core, quiet_s=20.0)  # all sent before the first ack came back
            run_until(flight, core, lambda: archive.seq_count() > first + 20, "more packets through the pauses")
            assert archive.gaps() == [] and archive.seq_count() == archive.last_seq()
            assert flight.last_seq() > archive.last_seq()  # what the cap holds back waits in the spool
        finally:
            core.client.close()
