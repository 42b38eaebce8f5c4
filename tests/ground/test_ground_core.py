"""The ground core over a real in-process flight segment (virtual clock, sim:// devices).

``DirectLink`` stands on the LinkClient API with flight's own objects on the far side: the telemetry table,
the event log and the dispatcher of a real FlightApp, packets numbered from one counter as flight's spool
numbers them. It is how the core's ingest path is exercised without a socket; the end-to-end test over the
real ZeroMQ link is in ``test_ground_link.py``.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from base.clock import VirtualClock
from flight.app import FlightApp
from flight.telemetry import ChannelSpec
from ground.archive import Archive
from ground.core import GroundCore
from ground.errors import (
    Forbidden,
    GroundError,
    NeedsConfirmation,
    NotConnected,
    SendFailed,
    UnknownCommand,
    ValidationError,
    WaitTimeout,
)
from link.errors import LinkError
from sim_hw.registry import uninstall_world
from sim_hw.world import SimWorld
from tests.support.flight_stack import build

#: A channel with limits declared the way a limit table declares them (the red band above 850 K).
HOT = ChannelSpec("test.chamber_K", unit="K", warn_high=700.0, alarm_high=850.0)


@dataclass
class DirectStatus:
    """The fields of the link client's LinkStatus."""

    state: str = "acquired"
    rtt_s: float = 0.0
    last_seq: int = 0
    gaps: int = 0
    spool_depth: int = 0
    role: str = "operator"
    light_time_s: float = 0.0
    messages_in: int = 0
    malformed: int = 0


class DirectLink:
    """The LinkClient API over an in-process FlightApp (see the module docstring)."""

    def __init__(self, app: FlightApp, role: str = "operator") -> None:
        self.app = app
        self.identity = role
        self.status = DirectStatus(role=role)
        self.dictionary: dict | None = None
        self.sent: list[tuple[str, dict, str]] = []
        self.acked = 0
        self.refuse: LinkError | None = None
        self._seq = 0
        self._pending: list[tuple[str, float, Any]] = []
        self._cb: dict[str, Callable[..., None]] = {}
        self._gate: Callable[[int], None] = lambda seq: None
        app.table.subscribe(lambda name, value, t: self._pending.append((name, t, value)))
        app.events.subscribe(self._on_event)
        app.dispatcher.on_status(lambda status: self._cb["status"](status.as_dict()))
        app.executive.add_task("telemetry", "test-link", lambda _now: self.pump())

    def on_dictionary(self, cb: Callable[[dict], None]) -> None:
        self._cb["dictionary"] = cb

    def on_telemetry(self, cb: Callable[[int, list], None]) -> None:
        self._cb["telemetry"] = cb

    def on_event(self, cb: Callable[[int, dict], None]) -> None:
        self._cb["event"] = cb

    def on_command_status(self, cb: Callable[[dict], None]) -> None:
        self._cb["status"] = cb

    def on_link(self, cb: Callable[[Any], None]) -> None:
        self._cb["link"] = cb

    def set_ack_gate(self, fn: Callable[[int], None]) -> None:
        self._gate = fn

    def acquire(self) -> None:
        self.dictionary = self.app.dictionary()
        self._cb["dictionary"](self.dictionary)
        self._cb["link"](self.status)

    def pump(self) -> None:
        if self._pending:
            self._seq += 1
            packet, self._pending = self._pending, []
            self._cb["telemetry"](self._seq, packet)
        self._gate(self._seq)
        self.acked = self._seq

    def _on_event(self, event: Any) -> None:
        self._seq += 1
        if "event" in self._cb:
            self._cb["event"](self._seq, event.as_dict())

    def send_command(self, name: str, args: dict | None = None, *, command_id: str | None = None) -> str:
        if self.refuse is not None:
            raise self.refuse
        assert command_id is not None
        self.sent.append((name, dict(args or {}), command_id))
        self.app.dispatcher.submit(name, args, command_id=command_id, source=self.identity)
        return command_id


@dataclass
class Station:
    app: FlightApp
    world: SimWorld
    clock: VirtualClock
    link: DirectLink
    archive: Archive
    core: GroundCore

    def run(self, seconds: float) -> None:
        self.app.executive.run(duration_s=seconds)


def station(tmp_path: Path, role: str = "operator") -> Iterator[Station]:
    app, world, clock = build()
    app.table.define(HOT)
    app.executive.run(duration_s=0.2)  # the first telemetry tick defines the mission channels
    link = DirectLink(app, role)
    archive = Archive(tmp_path / "ground.db", batch_rows=500)
    core = GroundCore(link, archive, clock)
    link.acquire()
    try:
        yield Station(app, world, clock, link, archive, core)
    finally:
        archive.close()
        app.close()
        uninstall_world()


@pytest.fixture
def ops(tmp_path: Path) -> Iterator[Station]:
    yield from station(tmp_path)


@pytest.fixture
def partner(tmp_path: Path) -> Iterator[Station]:
    yield from station(tmp_path, role="observer")


def test_telemetry_and_events_reach_latest_values_and_the_archive(ops: Station) -> None:
    seen: list[list] = []
    ops.core.subscribe("telemetry", seen.append)
    ops.run(2.0)
    core = ops.core
    assert core.value("mission.state") == "idle"
    value, t = core.latest["mission.state"]
    assert value == "idle" and abs(t - ops.clock.now()) < 1.0
    assert seen and sum(len(p) for p in seen) > 100
    history = core.history("mission.state", ops.clock.now() - 5.0, ops.clock.now())
    assert history and {v for _, v in history} == {"idle"}
    assert ops.archive.seq_count() == ops.link.acked and ops.archive.gaps() == []
    assert core.dictionary is not None and "mission.state" in core.dictionary.channel_names()


def test_data_is_committed_before_flight_is_told_it_may_drop_it(ops: Station, tmp_path: Path) -> None:
    ops.run(1.0)
    with sqlite3.connect(tmp_path / "ground.db") as other:  # another process's view: committed rows only
        held = other.execute("SELECT COUNT(*) FROM packets").fetchone()[0]
    assert held == ops.link.acked > 0


def test_a_packet_delivered_twice_is_taken_once(ops: Station) -> None:
    seen: list[list] = []
    ops.core.subscribe("telemetry", seen.append)
    samples = [("test.chamber_K", ops.clock.now(), 300.0)]
    ops.core.handle_telemetry(10_000, samples)
    ops.core.handle_telemetry(10_000, [("test.chamber_K", ops.clock.now(), 999.0)])
    assert seen == [samples]
    assert ops.core.value("test.chamber_K") == 300.0
    assert ops.core.alarms.get("test.chamber_K") is None


def test_a_hazardous_command_needs_confirmation_and_cancel_sends_nothing(ops: Station) -> None:
    spec = ops.app.registry.spec("drive.twist")
    args = {"v_m_s": 0.1, "omega_rad_s": 0.0}
    with pytest.raises(NeedsConfirmation) as info:
        ops.core.send("drive.twist", args)
    assert info.value.hazard == spec.hazard and spec.hazard
    assert ops.link.sent == [] and ops.app.dispatcher.counts["accepted"] == 0
    record = ops.core.send("drive.twist", args, confirmed=True)
    assert record.wait_terminal(timeout_s=5.0) == "completed"
    assert [s.stage for s in record.stages] == ["accepted", "started", "completed"]
    assert ops.link.sent == [("drive.twist", args, record.id)]
    assert record.args == args and record.source == "operator" and record.sent_t is not None


def test_bad_arguments_and_unknown_commands_send_nothing(ops: Station) -> None:
    with pytest.raises(ValidationError) as info:
        ops.core.send("drill.spin", {"rpm": 9000.0}, confirmed=True)
    assert (info.value.argument, info.value.expected, info.value.found) == ("rpm", "float 0..600 rpm", "9000.0 rpm")
    with pytest.raises(UnknownCommand, match=r"no command 'drill\.spim'"):
        ops.core.send("drill.spim", {})
    assert ops.link.sent == [] and len(ops.core.commands) == 0


def test_flights_failure_reason_reaches_the_record_and_the_archive(ops: Station) -> None:
    changes: list[Any] = []
    ops.core.subscribe("command", changes.append)
    record = ops.core.send("drill.spin", {"rpm": 100.0}, confirmed=True)
    assert record.terminal == "failed" and record.reason == "interlock:drill_unanchored"
    with pytest.raises(WaitTimeout, match=r"ended failed .interlock:drill_unanchored. without reaching completed"):
        record.wait_for("completed", timeout_s=5.0)
    assert changes and changes[-1] is record
    ops.run(0.5)
    archived = [c for c in ops.archive.command_history() if c["id"] == record.id]
    assert archived and archived[0]["stage"] == "failed" and archived[0]["reason"] == "interlock:drill_unanchored"
    events = ops.archive.events(text=record.id)
    assert [e["name"] for e in events] == ["command_failed"]
    assert any(e["name"] == "command_failed" for e in ops.core.events)


def test_estop_needs_no_confirmation_and_stops_every_actuator(ops: Station) -> None:
    ops.core.send("drive.twist", {"v_m_s": 0.1, "omega_rad_s": 0.0}, confirmed=True)
    ops.run(1.0)
    assert ops.world.device("drive").is_actuating()
    record = ops.core.estop()
    assert record.name == "estop" and record.terminal == "completed"
    ops.run(0.1)
    for name in ("drill", "scoop", "extractor", "anchor", "drive"):
        assert not ops.world.device(name).is_actuating(), name


def test_an_observer_can_command_nothing_and_touch_no_alarm(partner: Station) -> None:
    partner.run(0.5)
    assert partner.core.role == "observer"
    with pytest.raises(Forbidden, match="send estop: refused, this link's role is 'observer'"):
        partner.core.send("estop")
    with pytest.raises(Forbidden, match="emergency stop"):
        partner.core.estop()
    with pytest.raises(Forbidden):
        partner.core.send("drive.twist", {"v_m_s": 0.1, "omega_rad_s": 0.0}, confirmed=True)
    partner.app.table.update({HOT.name: 900.0}, partner.clock.now())
    partner.run(0.2)
    assert partner.core.alarms.get(HOT.name) is not None
    with pytest.raises(Forbidden, match="acknowledge alarm"):
        partner.core.alarms.ack(HOT.name, "not mine to ack")
    with pytest.raises(Forbidden, match="shelve alarm"):
        partner.core.alarms.shelve(HOT.name, 60.0)
    assert partner.link.sent == [] and partner.app.dispatcher.counts["accepted"] == 0
    assert partner.app.dispatcher.counts["failed"] == 0


def test_a_value_in_its_red_band_raises_an_alarm_until_acknowledged(ops: Station) -> None:
    alarms: list[Any] = []
    ops.core.subscribe("alarm", alarms.append)
    ops.app.table.update({HOT.name: 900.0}, ops.clock.now())
    ops.run(0.2)
    alarm = ops.core.alarms.get(HOT.name)
    assert alarm is not None and alarm.latched == "alarm" and alarm.limit == "alarm_high 850 K"
    assert alarm.latched_value == 900.0
    ops.app.table.update({HOT.name: 400.0}, ops.clock.now())
    ops.run(0.2)
    assert [a.name for a in ops.core.alarms.unacknowledged()] == [HOT.name]
    after = ops.core.alarms.ack(HOT.name, "heater cut")
    assert after.ack_by == "operator" and ops.core.alarms.get(HOT.name) is None
    assert [a.latched for a in alarms] == ["alarm", "alarm", "ok"]
    journal = ops.archive.alarm_journal(name=HOT.name)
    assert [(s["level"], s["latched"], s["acked"]) for _, _, s in journal] == [
        ("alarm", "alarm", False),
        ("ok", "alarm", False),
        ("ok", "ok", True),
    ]
    assert journal[-1][2]["ack_comment"] == "heater cut" and journal[-1][2]["ack_by"] == "operator"


def test_waiting_on_a_command_from_another_thread_follows_the_clock(ops: Station) -> None:
    record = ops.core.send("imu.calibrate", {"duration_s": 2.0})
    assert record.terminal is None
    outcome: list[Any] = []
    waiter = threading.Thread(target=lambda: outcome.append(record.wait_terminal(timeout_s=60.0)))
    waiter.start()
    ops.run(4.0)
    waiter.join(timeout=10.0)
    assert outcome == ["completed"]
    assert record.stages[0].stage == "accepted" and record.progress == 1.0
    stuck = ops.core.send("imu.calibrate", {"duration_s": 30.0})
    failures: list[Any] = []

    def wait_briefly() -> None:
        try:
            stuck.wait_terminal(timeout_s=1.0)
        except WaitTimeout as exc:
            failures.append(exc)

    waiter = threading.Thread(target=wait_briefly)
    waiter.start()
    ops.run(2.0)  # the clock passes the waiter's deadline
    waiter.join(timeout=10.0)
    assert len(failures) == 1 and "timed out after 1.0 s waiting for imu.calibrate" in str(failures[0])


def test_a_link_that_will_not_take_a_command_leaves_no_record(ops: Station) -> None:
    ops.link.refuse = LinkError("link down")
    with pytest.raises(SendFailed, match="estop was not sent: link down"):
        ops.core.estop()
    assert len(ops.core.commands) == 0 and ops.app.dispatcher.counts["accepted"] == 0


def test_a_restarted_ground_resumes_after_what_its_archive_holds(ops: Station, tmp_path: Path) -> None:
    ops.run(1.0)
    ops.archive.close()
    with Archive(tmp_path / "ground.db") as archive:
        assert archive.high_seq() == ops.link.acked and archive.gaps() == []
        core = GroundCore(None, archive, ops.clock)
        seen: list[list] = []
        core.subscribe("telemetry", seen.append)
        core.handle_telemetry(ops.link.acked, [("mission.state", ops.clock.now(), "replayed")])
        assert seen == [] and core.latest == {}
        core.handle_telemetry(ops.link.acked + 1, [("mission.state", ops.clock.now(), "idle")])
        assert len(seen) == 1 and core.value("mission.state") == "idle"
        core.close()
        assert archive.high_seq() == ops.link.acked + 1


def test_an_archive_only_core_reads_history_and_exports(ops: Station, tmp_path: Path) -> None:
    ops.run(1.0)
    ops.core.flush()
    core = GroundCore(None, ops.archive, ops.clock)
    assert core.role == "observer" and core.link is None
    with pytest.raises(Forbidden, match="this ground core has no link"):
        core.estop()
    now = ops.clock.now()
    assert core.history("mission.state", now - 10, now)
    rows = core.export_csv(["mission.state", "exec.control.runs"], now - 10, now, tmp_path / "out.csv")
    assert rows > 2 and (tmp_path / "out.csv").read_text().startswith("t,channel,value")
    with pytest.raises(GroundError, match="cannot subscribe to 'telemetri'"):
        core.subscribe("telemetri", print)


def test_nothing_is_sent_before_the_dictionary_arrives(ops: Station, tmp_path: Path) -> None:
    early = DirectLink(ops.app)
    with Archive(tmp_path / "early.db") as archive:
        core = GroundCore(early, archive, ops.clock)
        with pytest.raises(NotConnected, match="no flight dictionary yet"):
            core.estop()
        assert early.sent == []
        got: list[Any] = []
        waiter = threading.Thread(target=lambda: got.append(core.wait(lambda: core.dictionary, 30.0, "dictionary")))
        waiter.start()
        early.acquire()
        waiter.join(timeout=5.0)
        assert got and got[0] is core.dictionary and core.dictionary.estop_command == "estop"


def test_link_reports_commit_the_archive_and_apply_retention(tmp_path: Path) -> None:
    clock = VirtualClock()
    with Archive(tmp_path / "ret.db", retention_days=1.0) as archive:
        core = GroundCore(None, archive, clock)
        statuses: list[Any] = []
        core.subscribe("link", statuses.append)
        day = 86_400.0
        core.handle_telemetry(1, [("x", clock.now() - 2 * day, 1.0), ("x", clock.now() - 60.0, 2.0)])
        core.handle_link(DirectStatus(state="los"))
        assert statuses[-1].state == "los" and core.link.state == "los"
        assert archive.query("x", 0.0, clock.now()) == [(clock.now() - 60.0, 2.0)]
        assert [s["state"] for _, s in archive.link_stats(0.0, clock.now())] == ["los"]
