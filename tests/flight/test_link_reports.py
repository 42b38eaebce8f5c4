"""Rate-limited link reports: refused traffic at most once a second, a lasting condition once in 30 s."""

from __future__ import annotations

from base.clock import VirtualClock
from flight.events import EventLog
from flight.link_reports import CONDITION_INTERVAL_S, REPORT_INTERVAL_S, TrafficReports


def _run(kind: str, seconds: float, every_s: float = 0.25, warp: float = 1.0) -> list[str]:
    """Report ``kind`` every ``every_s`` clock seconds for ``seconds``; the wall runs ``warp`` times slower."""
    clock = VirtualClock()
    events = EventLog(clock)
    reports = TrafficReports(clock, events, {kind: 0}, wall=lambda: clock.monotonic() / warp)
    for _ in range(round(seconds / every_s)):
        reports.report(kind, f"{kind} now")
        clock.advance(every_s)
    return [e.message for e in events.recent if e.name == kind]


def test_refused_traffic_is_reported_once_a_second_with_what_was_suppressed() -> None:
    messages = _run("malformed", 3.0)
    assert len(messages) == round(3.0 / REPORT_INTERVAL_S)
    assert messages[0] == "malformed now" and messages[1].endswith("(3 more since the last report)")


def test_a_ground_station_behind_its_byte_cap_is_reported_once_in_half_a_minute() -> None:
    interval = CONDITION_INTERVAL_S["throttled"]
    messages = _run("throttled", interval * 2.0 - 1.0)
    assert len(messages) == 2, messages
    assert messages[1].endswith(f"({round(interval / 0.25) - 1} more since the last report)")


def test_on_a_warped_clock_the_reminder_waits_half_a_minute_of_wall_time_too() -> None:
    """At warp 200 a clock half-minute is 0.15 s: the live demo printed the byte-cap reminder 515 times in 170 s."""
    interval = CONDITION_INTERVAL_S["throttled"]
    messages = _run("throttled", 170.0 * 200.0, every_s=1.0, warp=200.0)  # 170 wall seconds
    assert len(messages) == 6, messages  # at 0, 30, 60, 90, 120 and 150 wall seconds
    assert messages[1].endswith(f"({round(interval * 200.0) - 1} more since the last report)")


def test_on_a_warped_clock_refused_traffic_is_still_reported_each_clock_second() -> None:
    assert len(_run("malformed", 10.0, warp=200.0)) == 10
