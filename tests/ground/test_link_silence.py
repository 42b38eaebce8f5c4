"""Flight heartbeating with nothing else to say is alarmed on ground (ground/link_silence.py).

A flight whose spool cannot commit (its disk full) sends only heartbeats: the link stays acquired, and the
``spool_degraded`` event that would say why never arrives. The watch is fed the link statuses ground's link
client reports (about once a second) and must call out the silence once, after 30 s, and its end once.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from base.clock import VirtualClock
from ground.archive import Archive
from ground.client import LinkStatus
from ground.core import GroundCore
from ground.link_silence import SILENT_S, SilenceWatch


def _feed(watch: SilenceWatch, status: LinkStatus, start: float, seconds: float) -> list[tuple[float, str | None]]:
    """Observe ``status`` once a second for ``seconds`` from clock ``start``; the verdicts that were not None."""
    verdicts = []
    for tick in range(int(seconds) + 1):
        verdict = watch.observe(status, start + tick)
        if verdict is not None:
            verdicts.append((start + tick, verdict))
    return verdicts


def test_packets_that_stop_on_an_acquired_link_raise_one_alarm_naming_the_spool_and_its_end_is_told() -> None:
    watch = SilenceWatch()
    flowing = LinkStatus(state="acquired", last_seq=10, last_sseq=2, spool_depth=3)
    for second in range(60):  # a healthy flight: a new packet every second
        assert watch.observe(dataclasses.replace(flowing, last_seq=10 + second), float(second)) is None
    stuck = dataclasses.replace(flowing, last_seq=69, spool_depth=400)
    verdicts = _feed(watch, stuck, 60.0, 120.0)
    assert len(verdicts) == 1, verdicts
    t, text = verdicts[0]
    assert t == 59.0 + SILENT_S  # 30 s after the last packet moved
    assert text and "no packet for 30 s" in text and "400 unacknowledged" in text and "disk" in text
    assert watch.observe(dataclasses.replace(stuck, last_seq=70), 181.0) == ""  # speaking again: told once
    assert watch.observe(dataclasses.replace(stuck, last_seq=71), 182.0) is None


def test_a_link_that_is_lost_or_still_connecting_is_not_silence() -> None:
    watch = SilenceWatch()
    for state in ("connecting", "los"):
        status = LinkStatus(state=state, last_seq=5)
        assert _feed(watch, status, 0.0, 3 * SILENT_S) == []
    # acquired again: the silence is counted from then, not from the last packet before the outage
    acquired = LinkStatus(state="acquired", last_seq=5)
    assert _feed(watch, acquired, 100.0, SILENT_S - 1) == []
    assert [text is not None and text != "" for _, text in _feed(watch, acquired, 100.0 + SILENT_S, 0.0)] == [True]


def test_ground_core_raises_the_alarm_on_its_board_from_the_link_statuses_it_is_given(tmp_path: Path) -> None:
    clock = VirtualClock()
    with Archive(tmp_path / "ground.db") as archive:
        core = GroundCore(None, archive, clock)
        try:
            status = LinkStatus(state="acquired", last_seq=7, last_sseq=1, spool_depth=12)
            for _ in range(int(SILENT_S) + 2):
                core.handle_link(status)
                clock.advance(1.0)
            alarm = core.alarms.get("event:ground.flight_silent")
            assert alarm is not None and alarm.latched == "warning" and not alarm.acked  # an error event
            assert "12 unacknowledged in its spool" in alarm.message
        finally:
            core.close()
