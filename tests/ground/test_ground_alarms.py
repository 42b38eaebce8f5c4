"""The alarm board: limit bands from the dictionary, latching until acknowledged with a comment, shelving on
the clock, event alarms, and who may act on them."""

from __future__ import annotations

import pytest

from base.clock import VirtualClock
from ground.alarms import AlarmBoard
from ground.errors import Forbidden, UnknownAlarm, ValidationError

T = 1_893_456_000.0
CHANNELS = [
    {"name": "chamber_K", "unit": "K", "warn_high": 700.0, "alarm_high": 850.0},
    {"name": "soc", "unit": "", "warn_low": 0.3, "alarm_low": 0.15},
    {"name": "plain", "unit": "m"},
    {"name": "odd", "warn_high": "high"},
]


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def board(clock: VirtualClock) -> AlarmBoard:
    board = AlarmBoard(clock)
    assert board.configure(CHANNELS) == 2
    return board


def feed(board: AlarmBoard, channel: str, *values: float) -> None:
    board.update([(channel, T + k, v) for k, v in enumerate(values)])


def test_red_band_latches_until_acknowledged_with_a_comment(board: AlarmBoard, clock: VirtualClock) -> None:
    changes = []
    board.subscribe(changes.append)
    feed(board, "chamber_K", 600.0, 650.0)
    assert board.alarms() == [] and changes == []
    feed(board, "chamber_K", 900.0)
    alarm = board.get("chamber_K")
    assert alarm is not None
    assert (alarm.level, alarm.latched, alarm.acked) == ("alarm", "alarm", False)
    assert alarm.limit == "alarm_high 850 K" and alarm.latched_value == 900.0
    feed(board, "chamber_K", 600.0)  # back to normal: still latched
    alarm = board.get("chamber_K")
    assert alarm is not None and (alarm.level, alarm.latched, alarm.acked) == ("ok", "alarm", False)
    assert [a.name for a in board.unacknowledged()] == ["chamber_K"]
    with pytest.raises(ValidationError, match="argument 'comment': expected a comment"):
        board.ack("chamber_K", "  ")
    clock.advance(5.0)
    after = board.ack("chamber_K", "heater duty cut to 40 %", who="ops-1")
    assert (after.ack_by, after.ack_comment, after.ack_t) == ("ops-1", "heater duty cut to 40 %", clock.now())
    assert board.get("chamber_K") is None and board.alarms() == []
    assert [(c.level, c.latched, c.acked) for c in changes] == [
        ("alarm", "alarm", False),
        ("ok", "alarm", False),
        ("ok", "ok", True),
    ]


def test_an_acknowledged_alarm_stays_while_active_and_relatches_when_worse(board: AlarmBoard) -> None:
    feed(board, "chamber_K", 750.0)
    alarm = board.get("chamber_K")
    assert alarm is not None and (alarm.level, alarm.latched, alarm.limit) == ("warning", "warning", "warn_high 700 K")
    board.ack("chamber_K", "watching it")
    alarm = board.get("chamber_K")
    assert alarm is not None and alarm.acked and alarm.level == "warning"
    feed(board, "chamber_K", 870.0)  # worse: a new, unacknowledged alarm
    alarm = board.get("chamber_K")
    assert alarm is not None and (alarm.latched, alarm.acked, alarm.count) == ("alarm", False, 2)
    board.ack("chamber_K", "heater off")
    feed(board, "chamber_K", 700.0)  # the normal band's bound is inclusive
    assert board.get("chamber_K") is None


def test_low_limits_and_values_that_carry_no_level(board: AlarmBoard) -> None:
    feed(board, "soc", 0.5, 0.2)
    alarm = board.get("soc")
    assert alarm is not None and (alarm.level, alarm.limit) == ("warning", "warn_low 0.3")
    feed(board, "soc", 0.1)
    alarm = board.get("soc")
    assert alarm is not None and (alarm.level, alarm.latched, alarm.limit) == ("alarm", "alarm", "alarm_low 0.15")
    board.update(
        [
            ("plain", T, 1e9),
            ("odd", T, 1e9),
            ("chamber_K", T, float("nan")),
            ("chamber_K", T, True),
            ("chamber_K", T, "hot"),
            ("unknown", T, 5.0),
        ]
    )
    assert [a.name for a in board.alarms()] == ["soc"]
    assert board.level_of("chamber_K", 800.0) == "warning" and board.level_of("plain", 1e9) == "ok"
    assert board.limited_channels() == ["chamber_K", "soc"]


def test_shelving_hides_an_alarm_for_clock_seconds(board: AlarmBoard, clock: VirtualClock) -> None:
    changes = []
    board.subscribe(changes.append)
    feed(board, "chamber_K", 900.0)
    board.shelve("chamber_K", 60.0)
    assert board.unacknowledged() == [] and board.alarms(include_shelved=False) == []
    shelved = board.get("chamber_K")
    assert shelved is not None and shelved.shelved and shelved.shelved_until == clock.now() + 60.0
    feed(board, "chamber_K", 600.0, 950.0)  # tracked, not announced while shelved
    assert len(changes) == 2
    clock.advance(59.0)
    assert board.unacknowledged() == []
    clock.advance(1.0)
    assert [a.name for a in board.unacknowledged()] == ["chamber_K"]
    assert len(changes) == 3 and not changes[-1].shelved
    board.shelve("soc", 10.0)  # a channel with limits can be shelved before it alarms
    feed(board, "soc", 0.1)
    assert [a.name for a in board.unacknowledged()] == ["chamber_K"]
    board.unshelve("soc")
    assert [a.name for a in board.unacknowledged()] == ["chamber_K", "soc"]
    for bad in (0, -5, 1e9, "10", True):
        with pytest.raises(ValidationError, match="argument 'seconds': expected a duration in seconds"):
            board.shelve("chamber_K", bad)
    with pytest.raises(UnknownAlarm, match="no alarm or channel with limits called 'plain'"):
        board.shelve("plain", 10.0)


def test_severe_events_raise_alarms_that_clear_on_acknowledgement(board: AlarmBoard) -> None:
    base = {"seq": 1, "t": T, "source": "power", "data": {}}
    board.event({**base, "severity": "info", "name": "note", "message": "fine"})
    board.event({**base, "severity": "warning", "name": "slip", "message": "slip"})
    assert board.alarms() == []
    board.event({**base, "severity": "error", "name": "low_battery", "message": "battery at 18 %"})
    board.event({**base, "severity": "critical", "name": "bus_trip", "message": "bus 3 tripped"})
    alarms = {a.name: a for a in board.alarms()}
    assert set(alarms) == {"event:power.low_battery", "event:power.bus_trip"}
    assert alarms["event:power.low_battery"].latched == "warning"
    assert alarms["event:power.bus_trip"].latched == "alarm"
    assert alarms["event:power.bus_trip"].message == "bus 3 tripped"
    assert next(a.name for a in board.alarms()) == "event:power.bus_trip"  # red first
    board.ack("event:power.bus_trip", "bus 3 load shed")
    assert [a.name for a in board.alarms()] == ["event:power.low_battery"]
    with pytest.raises(UnknownAlarm, match=r"no alarm .event:power\.bus_trip. on the board"):
        board.ack("event:power.bus_trip", "again")


def test_a_guard_refuses_operator_actions(clock: VirtualClock) -> None:
    def observer(action: str) -> None:
        raise Forbidden(f"{action}: observers are read-only")

    board = AlarmBoard(clock, guard=observer)
    board.configure(CHANNELS)
    feed(board, "chamber_K", 900.0)
    with pytest.raises(Forbidden, match="acknowledge alarm chamber_K: observers are read-only"):
        board.ack("chamber_K", "done")
    with pytest.raises(Forbidden, match="shelve alarm chamber_K"):
        board.shelve("chamber_K", 10.0)
    alarm = board.get("chamber_K")
    assert alarm is not None and not alarm.acked and not alarm.shelved


def test_unsubscribe_and_a_failing_subscriber(board: AlarmBoard) -> None:
    seen = []

    def broken(_alarm: object) -> None:
        raise RuntimeError("subscriber bug")

    board.subscribe(broken)
    unsubscribe = board.subscribe(seen.append)
    feed(board, "chamber_K", 900.0)
    unsubscribe()
    feed(board, "soc", 0.1)
    assert [a.name for a in seen] == ["chamber_K"]
    assert {a.name for a in board.alarms()} == {"chamber_K", "soc"}
