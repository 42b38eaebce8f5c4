"""A device event is logged once: by the driver when nobody listens, by the listener (flight) when one does."""

from __future__ import annotations

import logging
import threading

import pytest

from hal.device_events import DeviceEvent, EventQueue
from hal.icd import Severity

STALL = DeviceEvent(t=1.0, name="STALL", severity=Severity.WARNING, code=3, value=41.5, text="auger stalled")


def test_an_event_nobody_listens_to_is_logged_by_the_driver(caplog: pytest.LogCaptureFixture) -> None:
    queue = EventQueue("drill", history=8, lock=threading.RLock())
    with caplog.at_level(logging.INFO, logger="hal.device_events"):
        queue.record(STALL)
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [(logging.WARNING, "drill: STALL: auger stalled")]


def test_an_event_a_listener_takes_is_left_to_it_and_still_delivered(caplog: pytest.LogCaptureFixture) -> None:
    queue = EventQueue("drill", history=8, lock=threading.RLock())
    heard: list[DeviceEvent] = []
    queue.subscribe(heard.append)
    with caplog.at_level(logging.INFO, logger="hal.device_events"):
        queue.record(STALL)
        queue.deliver()
    assert caplog.records == []  # flight's event log reports it: one line, not two
    assert heard == [STALL] and list(queue.history) == [STALL]
