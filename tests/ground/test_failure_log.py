"""A failure that repeats on every pass of a loop is logged once with its traceback, then summarised."""

from __future__ import annotations

import logging

import pytest

from base.clock import VirtualClock
from ground.failure_log import REPEAT_LOG_S, RepeatedFailureLog

PASSES = int(2 * REPEAT_LOG_S * 20) + 20  # at 20 passes a second


def _fail(log: RepeatedFailureLog, exc: Exception) -> None:
    try:
        raise exc
    except Exception as raised:
        log.failed(raised)


def test_a_failure_repeating_twenty_times_a_second_logs_one_traceback_and_a_line_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = VirtualClock()
    log = RepeatedFailureLog(logging.getLogger("test.loop"), "archive service", clock)
    with caplog.at_level(logging.INFO, logger="test.loop"):
        for _ in range(PASSES):  # two minutes and a second of a disk that stays full
            _fail(log, OSError("database or disk is full"))
            clock.advance(0.05)
        _fail(log, ValueError("something else"))  # a new kind: its own traceback
        log.worked()
        log.worked()
    records = [(r.levelname, r.getMessage(), r.exc_info is not None) for r in caplog.records]
    assert [r for r in records if r[2]] == [
        ("ERROR", "archive service failed", True),
        ("ERROR", "archive service failed", True),
    ]
    summaries = [m for level, m, _ in records if "failed again" in m]
    assert len(summaries) == 2 and all("OSError: database or disk is full" in m for m in summaries)
    assert records[-1][:2] == (
        "WARNING",
        f"archive service works again after {PASSES + 1} failed passes",
    )
    assert len(records) == 5  # not 2,400 tracebacks
