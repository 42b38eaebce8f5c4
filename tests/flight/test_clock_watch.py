"""Wall-clock steps are detected and reported: an error event (ground alarms on it) and ``clock.step_s``."""

from __future__ import annotations

from base.clock import VirtualClock
from flight.clock_watch import ALARM_HOLD_S, ClockWatch
from flight.events import EventLog


def test_a_wall_clock_step_is_an_error_event_and_a_channel_in_alarm_for_a_while() -> None:
    clock = VirtualClock()
    events = EventLog(clock)
    watch = ClockWatch(clock, events)
    clock.advance(10.0)
    assert watch.check() == 0.0  # both clocks advanced together
    clock.step_wall(-3600.0)
    clock.advance(0.1)
    assert round(watch.check(), 6) == -3600.0
    step = [e for e in events.recent if e.name == "clock_step"]
    assert len(step) == 1 and step[0].severity.name == "ERROR" and "backwards by 3600.000 s" in step[0].message
    assert watch.telemetry() == {"clock.step_s": watch.last_step_s, "clock.steps": 1}
    spec = {c.name: c for c in watch.channels()}["clock.step_s"]
    assert spec.alarm_low is not None and watch.last_step_s < spec.alarm_low
    clock.step_wall(0.5)  # under the tolerance: slewing, not a step
    assert watch.check() == 0.0
    clock.advance(ALARM_HOLD_S + 1.0)
    assert watch.telemetry()["clock.step_s"] == 0.0 and watch.steps == 1
