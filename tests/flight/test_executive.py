"""The executive's rate groups on a virtual clock: timing, slips, task isolation, telemetry."""

from __future__ import annotations

import os

import pytest

from base.clock import VirtualClock, work_seconds
from flight.events import EventLog
from flight.executive import Executive


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


def test_groups_run_at_their_rates(clock: VirtualClock) -> None:
    executive = Executive(clock, EventLog(clock), {"fast": 0.02, "slow": 1.0})
    seen: dict[str, list[float]] = {"fast": [], "slow": []}
    executive.add_task("fast", "record", seen["fast"].append)
    executive.add_task("slow", "record", seen["slow"].append)
    executive.run(duration_s=10.0)
    assert 499 <= len(seen["fast"]) <= 501
    assert 10 <= len(seen["slow"]) <= 11
    gaps = {round(b - a, 9) for a, b in zip(seen["fast"], seen["fast"][1:], strict=False)}
    assert gaps == {0.02}
    assert executive.group("fast").slips == 0


def test_overrun_is_a_slip_event_and_the_schedule_realigns(clock: VirtualClock) -> None:
    events = EventLog(clock)
    executive = Executive(clock, events, {"control": 0.02})
    runs: list[float] = []

    def slow_task(t: float) -> None:
        runs.append(t)
        if len(runs) == 5:
            clock.advance(0.07)  # this run takes 70 ms of a 20 ms period

    executive.add_task("control", "slow", slow_task)
    executive.run(duration_s=0.5)
    group = executive.group("control")
    assert group.slips == 1
    slips = [e for e in events.recent if e.name == "slip"]
    assert len(slips) == 1 and slips[0].data["missed"] == 3
    # The schedule stays on the 20 ms grid after the slip, without a burst of catch-up runs.
    after = runs[5:]
    assert all(abs((t / 0.02) - round(t / 0.02)) < 1e-6 for t in after)
    assert after[0] - runs[4] == pytest.approx(0.08)


def test_a_failing_task_does_not_stop_the_others(clock: VirtualClock) -> None:
    events = EventLog(clock)
    executive = Executive(clock, events, {"control": 0.1})
    calls: list[float] = []

    def broken(_t: float) -> None:
        raise RuntimeError("sensor driver bug")

    executive.add_task("control", "broken", broken)
    executive.add_task("control", "healthy", calls.append)
    executive.run(duration_s=1.0)
    assert len(calls) == 10
    assert executive.group("control").task_errors == 10
    assert events.counts["error"] == 10


def test_telemetry_reports_timing(clock: VirtualClock) -> None:
    executive = Executive(clock, EventLog(clock), {"control": 0.02, "hk": 1.0})
    executive.run(duration_s=2.0)
    values = executive.telemetry()
    assert values["exec.control.runs"] == 100
    assert values["exec.control.late_p99_ms"] == 0.0
    assert "exec.cpu_pct" in values


def test_cpu_use_is_process_cpu_over_wall_seconds_whatever_the_clock(clock: VirtualClock) -> None:
    executive = Executive(clock, EventLog(clock), {"control": 0.02})
    executive.run(duration_s=5.0)  # five clock seconds pass in a few wall milliseconds: no CPU reading yet
    assert executive.telemetry()["exec.cpu_pct"] == 0.0
    start = work_seconds()
    while work_seconds() - start < 1.05:  # one wall second of busy work
        sum(range(1000))
    cpu_pct = executive.telemetry()["exec.cpu_pct"]
    assert 5.0 < cpu_pct <= 100.0 * (os.cpu_count() or 1) + 5.0


def test_unknown_group_and_empty_config_are_errors(clock: VirtualClock) -> None:
    with pytest.raises(ValueError, match="at least one rate group"):
        Executive(clock, EventLog(clock), {})
    executive = Executive(clock, EventLog(clock), {"control": 0.02})
    with pytest.raises(KeyError, match="expected one of"):
        executive.add_task("telemetry", "x", lambda t: None)


def test_a_faster_period_takes_effect_at_once_a_slower_after_the_next_run(clock: VirtualClock) -> None:
    executive = Executive(clock, EventLog(clock), {"control": 1.0})
    seen: list[float] = []
    executive.add_task("control", "record", seen.append)
    executive.run(duration_s=2.5)  # runs at 0, 1, 2
    executive.set_period("control", 0.1)
    executive.run(duration_s=0.55)  # due within one new period: 2.6, 2.7, 2.8, 2.9, 3.0
    assert [round(t, 6) for t in seen] == [0.0, 1.0, 2.0, 2.6, 2.7, 2.8, 2.9, 3.0]
    executive.set_period("control", 2.0)
    executive.run(duration_s=4.0)  # 3.1 was already due, then every 2 s
    assert [round(t, 6) for t in seen[8:]] == [3.1, 5.1]
    with pytest.raises(ValueError, match="period must be > 0 s"):
        executive.set_period("control", 0.0)
