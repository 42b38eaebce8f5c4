"""The archive's time axis stays monotonic per source across a backwards step of flight's clock, and the step is
recorded (a ground alarm, journaled in the archive)."""

from __future__ import annotations

from pathlib import Path

from base.clock import VirtualClock
from ground.archive import Archive
from ground.core import GroundCore
from ground.timeline import Timeline


def test_a_backwards_step_shifts_later_samples_so_the_archive_never_runs_backwards(tmp_path: Path) -> None:
    clock = VirtualClock()
    archive = Archive(tmp_path / "archive.sqlite")
    core = GroundCore(None, archive, clock)
    for seq in range(1, 11):  # one sample a second, t = 1000 .. 1009
        core.handle_telemetry(seq, [("drill.rpm", 999.0 + seq, float(seq))])
    for seq in range(11, 21):  # flight's clock stepped back an hour: t = 3410 - 3600 ...
        core.handle_telemetry(seq, [("drill.rpm", 999.0 + seq - 3600.0, float(seq))])
    archive.flush()
    times = [t for t, _ in archive.query("drill.rpm", 0.0, 1e9)]
    assert len(times) == 20 and times == sorted(times)
    assert times[10] - times[9] < 1.5  # the step is closed up (not folded over, no hour-long hole)
    # the jump as seen from packet to packet: the 3,600 s step less the 1 s between the two packets
    assert core.timeline.steps == [(11, -3599.0, 1009.0)]
    alarm = core.alarms.get("event:ground.clock_step")
    assert alarm is not None and "stepped back" in alarm.message
    journal = archive.alarm_journal(name="event:ground.clock_step")
    assert journal and "stepped back" in str(journal[0][2])
    archive.close()


def test_reordering_within_the_tolerance_is_not_a_step() -> None:
    timeline = Timeline()
    samples, step = timeline.correct(1, [("a", 100.0, 1), ("b", 100.5, 2)])
    assert step == 0.0
    samples, step = timeline.correct(2, [("a", 99.8, 1)])  # a device polled a little earlier
    assert step == 0.0 and samples == [("a", 99.8, 1)]
