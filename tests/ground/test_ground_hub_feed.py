"""The hub's feed numbers what its ground core delivers — telemetry packets, events, command stages — for tools
that follow it with a cursor (an archive-only core in a real SQLite file, fed through its ingest methods)."""

from __future__ import annotations

from pathlib import Path

import pytest

from base.clock import RealClock
from ground.errors import ValidationError
from ground.hub_feed import HubFeed
from tests.support.console_support import archive_only_core

T = 1_800_000_000.0


def test_the_feed_gives_items_after_a_cursor_says_what_fell_off_and_refuses_bad_arguments(tmp_path: Path) -> None:
    clock = RealClock()
    core = archive_only_core(tmp_path, clock)
    feed = HubFeed(core, clock, keep=5)
    assert feed.read(None) == {"run": feed.run, "cursor": 0, "items": [], "missed": False}
    for seq in range(1, 8):
        core.handle_telemetry(seq, [("power.soc", T + seq, seq / 8), ("drill.rpm", T + seq, 0.0)])
    core.handle_event(8, {"seq": 8, "t": T + 8, "severity": "info", "source": "test", "name": "probe", "message": "m"})
    answer = feed.read(0)
    assert answer["missed"] and [i["n"] for i in answer["items"]] == [4, 5, 6, 7, 8] and answer["cursor"] == 8
    soc = feed.read(5, kinds=["telemetry"], channels=["power.soc"])
    assert [i["samples"] for i in soc["items"]] == [[["power.soc", T + 6, 0.75]], [["power.soc", T + 7, 0.875]]]
    assert soc["cursor"] == 8 and not soc["missed"]  # the event was passed over, not left for the next read
    began = clock.monotonic()
    assert feed.read(8, wait_s=0.3)["items"] == [] and 0.3 <= clock.monotonic() - began < 3.0  # a bounded wait
    record = core.commands.expect("c-1", "drill.self_test", {}, "ada")
    for stage in ("accepted", "completed"):
        core.handle_command_status({"id": "c-1", "name": "drill.self_test", "stage": stage, "t": T + 9})
    core.commands.update({"id": "c-1", "stage": "progress", "t": T})  # changed without a delivery: not numbered
    stages = [i["status"]["stage"] for i in feed.read(8, kinds=["command"])["items"]]
    assert stages == ["accepted", "completed"] and record.terminal == "completed"
    for bad, argument in (
        ({"after": 99}, "after"),
        ({"after": 0, "wait_s": 11.0}, "wait"),
        ({"after": 0, "limit": 0}, "limit"),
        ({"after": 0, "kinds": ["x"]}, "kinds"),
    ):
        with pytest.raises(ValidationError, match=f"argument '{argument}': expected"):
            feed.read(**bad)
    feed.close()
    core.close()
    core.archive.close()


def test_a_wide_feed_answers_in_parts_of_bounded_samples_and_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ground.hub_feed as hub_feed

    monkeypatch.setattr(hub_feed, "MAX_SAMPLES", 250)
    clock = RealClock()
    core = archive_only_core(tmp_path, clock)
    feed = HubFeed(core, clock)
    feed.read(None)
    for seq in range(1, 21):  # 20 packets of 100 samples: 2,000 in all
        core.handle_telemetry(seq, [(f"ch.{k}", T + seq, float(k)) for k in range(100)])
        if seq == 10:
            core.handle_event(21, {"seq": 21, "t": T, "severity": "info", "source": "t", "name": "mid", "message": "m"})
    seen: list[int] = []
    cursor, parts = 0, 0
    while cursor < 21:
        answer = feed.read(cursor, limit=5_000)
        samples = sum(len(i.get("samples", [])) for i in answer["items"])
        assert samples <= 250 and answer["items"], answer["cursor"]
        seen += [i["n"] for i in answer["items"]]
        cursor, parts = answer["cursor"], parts + 1
    assert seen == list(range(1, 22)) and parts == 10  # each item once, in order; two packets per answer
    single = feed.read(0, kinds=["telemetry"], channels=["ch.7"], limit=5_000)  # cut to one channel: all at once
    assert len(single["items"]) == 20 and single["cursor"] == 21
    feed.close()
    core.close()
    core.archive.close()
