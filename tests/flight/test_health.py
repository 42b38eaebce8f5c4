"""Health monitor: pings on the clock, late and failed answers, one event per episode, recovery."""

from __future__ import annotations

import pytest

from base.clock import VirtualClock
from flight.events import EventLog
from flight.executive import Executive
from flight.health import HealthMonitor, progress_ping


class Component:
    """A component whose answers the test steers: healthy, slow (it takes clock time), failing or broken."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.healthy = True
        self.delay_s = 0.0
        self.broken = False
        self.pinged_at: list[float] = []

    def ping(self) -> bool:
        self.pinged_at.append(self.clock.monotonic())
        if self.broken:
            raise RuntimeError("queue overflow")
        self.clock.sleep(self.delay_s)  # a slow answer takes time on the (auto-advancing) virtual clock
        return self.healthy


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def events(clock: VirtualClock) -> EventLog:
    return EventLog(clock)


def named(events: EventLog, prefix: str) -> list:
    return [e for e in events.recent if e.name.startswith(prefix)]


def run_seconds(monitor: HealthMonitor, clock: VirtualClock, seconds: int) -> None:
    """1 Hz housekeeping ticks for ``seconds`` seconds."""
    for _ in range(seconds):
        monitor.tick(clock.monotonic())
        clock.advance_to(float(int(clock.monotonic()) + 1))


def test_healthy_component_is_ok_and_quiet(clock, events) -> None:
    monitor = HealthMonitor(clock, events)
    component = Component(clock)
    monitor.register("mission", component.ping, deadline_s=0.1)
    run_seconds(monitor, clock, 5)
    assert component.pinged_at == [0.0, 1.0, 2.0, 3.0, 4.0]
    telemetry = monitor.telemetry()
    assert telemetry["health.mission.state"] == "ok"
    assert telemetry["health.mission.pings"] == 5
    assert telemetry["health.unhealthy"] == 0
    assert not named(events, "component_")


def test_failed_answer_raises_one_event_then_recovers(clock, events) -> None:
    monitor = HealthMonitor(clock, events)
    component = Component(clock)
    monitor.register("link", component.ping, deadline_s=0.1)
    run_seconds(monitor, clock, 2)
    component.healthy = False
    run_seconds(monitor, clock, 4)
    failed = named(events, "component_failed")
    assert len(failed) == 1
    assert "link failed: answered False" in failed[0].message
    assert monitor.telemetry()["health.link.failures"] == 4
    assert monitor.telemetry()["health.unhealthy"] == 1
    component.healthy = True
    run_seconds(monitor, clock, 2)
    recovered = named(events, "component_recovered")
    assert len(recovered) == 1
    assert "recovered after 4.0 s" in recovered[0].message
    assert monitor.telemetry()["health.link.state"] == "ok"
    assert monitor.telemetry()["health.link.episodes"] == 1


def test_raising_ping_counts_as_failed(clock, events) -> None:
    monitor = HealthMonitor(clock, events)
    component = Component(clock)
    component.broken = True
    monitor.register("spool", component.ping, deadline_s=0.1)
    run_seconds(monitor, clock, 3)
    failed = named(events, "component_failed")
    assert len(failed) == 1 and "queue overflow" in failed[0].message
    assert monitor.components["spool"].state == "failed"


def test_late_answer_is_measured_on_the_clock(clock, events) -> None:
    monitor = HealthMonitor(clock, events)
    component = Component(clock)
    monitor.register("archive", component.ping, deadline_s=0.2)
    component.delay_s = 0.15
    monitor.tick(clock.monotonic())
    assert monitor.components["archive"].state == "ok"
    component.delay_s = 0.35
    clock.advance_to(1.0)
    monitor.tick(clock.monotonic())
    late = named(events, "component_late")
    assert len(late) == 1
    assert "answered after 0.350 s (deadline 0.2 s)" in late[0].message
    assert monitor.telemetry()["health.archive.latency_ms"] == pytest.approx(350.0)
    assert monitor.telemetry()["health.archive.lates"] == 1


def test_late_then_failed_is_one_episode(clock, events) -> None:
    monitor = HealthMonitor(clock, events)
    component = Component(clock)
    monitor.register("mission", component.ping, deadline_s=0.2)
    component.delay_s = 0.5
    run_seconds(monitor, clock, 2)
    component.delay_s = 0.0
    component.healthy = False
    run_seconds(monitor, clock, 2)
    assert len(named(events, "component_late")) == 1
    assert not named(events, "component_failed")
    assert monitor.components["mission"].state == "failed"
    component.healthy = True
    run_seconds(monitor, clock, 1)
    assert len(named(events, "component_recovered")) == 1
    component.healthy = False
    run_seconds(monitor, clock, 1)
    assert len(named(events, "component_failed")) == 1
    assert monitor.components["mission"].episodes == 2


def test_each_component_is_pinged_at_its_own_period(clock, events) -> None:
    monitor = HealthMonitor(clock, events)
    fast, slow = Component(clock), Component(clock)
    monitor.register("fast", fast.ping, deadline_s=0.1)
    monitor.register("slow", slow.ping, deadline_s=0.1, period_s=3.0)
    run_seconds(monitor, clock, 7)
    assert fast.pinged_at == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert slow.pinged_at == [0.0, 3.0, 6.0]


def test_missed_ticks_do_not_burst(clock, events) -> None:
    monitor = HealthMonitor(clock, events)
    component = Component(clock)
    monitor.register("c", component.ping, deadline_s=0.1)
    monitor.tick(0.0)
    clock.advance_to(10.0)
    monitor.tick(10.0)
    monitor.tick(10.0)
    clock.advance_to(11.0)
    monitor.tick(11.0)
    assert component.pinged_at == [0.0, 10.0, 11.0]


def test_progress_ping_watches_an_executive_loop(clock, events) -> None:
    """The control loop's run counter must advance between 1 Hz housekeeping pings."""
    executive = Executive(clock, events, {"control": 0.1, "housekeeping": 1.0})
    monitor = HealthMonitor(clock, events)
    stalled = {"control": False}
    runs = {"control": 0}

    def control(_now: float) -> None:
        if not stalled["control"]:
            runs["control"] += 1

    executive.add_task("control", "work", control)
    executive.add_task("housekeeping", "health", monitor.tick)
    monitor.register("control", progress_ping(lambda: runs["control"]), deadline_s=0.05)
    executive.run(duration_s=3.0)
    assert monitor.components["control"].state == "ok"
    stalled["control"] = True
    executive.run(duration_s=3.0)
    assert monitor.components["control"].state == "failed"
    assert len(named(events, "component_failed")) == 1
    stalled["control"] = False
    executive.run(duration_s=2.0)
    assert monitor.components["control"].state == "ok"
    assert len(named(events, "component_recovered")) == 1


def test_registration_is_checked(clock, events) -> None:
    monitor = HealthMonitor(clock, events)
    monitor.register("a", lambda: True, deadline_s=0.1)
    with pytest.raises(ValueError, match="already registered"):
        monitor.register("a", lambda: True, deadline_s=0.1)
    with pytest.raises(ValueError, match="must be > 0 s"):
        monitor.register("b", lambda: True, deadline_s=0.0)
    with pytest.raises(ValueError, match="must be > 0 s"):
        monitor.register("c", lambda: True, deadline_s=1.0, period_s=-1.0)


def test_channel_dictionary_matches_telemetry(clock, events) -> None:
    monitor = HealthMonitor(clock, events)
    monitor.register("a", lambda: True, deadline_s=0.1)
    monitor.register("b", lambda: False, deadline_s=0.1)
    monitor.tick(0.0)
    assert {c.name for c in monitor.channels()} == set(monitor.telemetry())
    assert monitor.telemetry()["health.b.state"] == "failed"
    assert monitor.telemetry()["health.a.state"] == "ok"
