"""The ground archive on real SQLite files: exactly-once per packet seq, gaps and the resume point across
restarts, batched commits visible to another connection, queries, events, commands, CSV and retention."""

from __future__ import annotations

import csv
import random
import sqlite3
import threading
from pathlib import Path

import pytest

from ground.archive import SECONDS_PER_DAY, Archive
from ground.errors import ArchiveError, UnknownChannel

T0 = 1_893_456_000.0


def packet(seq: int, n: int = 3) -> list[tuple[str, float, float]]:
    """``n`` samples of channel ``c<k>`` at 10 Hz, the values derived from the seq."""
    return [(f"c{k}", T0 + seq * 0.1, seq * 10.0 + k) for k in range(n)]


def sample_rows(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT COUNT(*) FROM samples").fetchone()[0]


def test_every_packet_is_held_exactly_once_through_duplicates_and_restarts(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"
    rng = random.Random(5)
    seqs = list(range(1, 401))
    deliveries = seqs + rng.sample(seqs, 150)  # retransmissions, some long after the first copy
    rng.shuffle(deliveries)
    first, second = deliveries[:300], deliveries[300:]
    with Archive(path, batch_rows=97) as archive:
        for seq in first:
            archive.ingest_telemetry(seq, packet(seq))
    with Archive(path, batch_rows=97) as archive:  # a ground restart in the middle
        for seq in second:
            archive.ingest_telemetry(seq, packet(seq))
        archive.flush()
        assert archive.seq_count() == 400
        assert archive.gaps() == []
        assert archive.high_seq() == 400
        got = archive.query("c1", T0, T0 + 100.0)
    assert got == [(T0 + s * 0.1, s * 10.0 + 1) for s in seqs]
    assert sample_rows(path) == 400 * 3


def test_ingest_reports_new_packets_and_events_share_the_seq_space(tmp_path: Path) -> None:
    with Archive(tmp_path / "a.db") as archive:
        assert archive.ingest_telemetry(1, packet(1)) is True
        assert archive.ingest_telemetry(1, packet(1)) is False
        event = {"seq": 9, "t": T0, "severity": "info", "source": "s", "name": "n", "message": "m", "data": {}}
        assert archive.ingest_event(2, event) is True
        assert archive.ingest_event(2, event) is False
        assert archive.ingest_event(1, event) is False  # seq 1 is a telemetry packet already held
        archive.flush()
        assert archive.seq_count() == 2 and len(archive.events()) == 1


def test_gaps_and_resume_point_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "gaps.db"
    with Archive(path) as archive:
        for seq in [*range(1, 11), *range(15, 21), 12]:
            archive.ingest_telemetry(seq, packet(seq, 1))
        archive.flush()
        assert archive.gaps() == [(11, 11), (13, 14)]
        assert archive.high_seq() == 10 and archive.last_seq() == 20 and archive.seq_count() == 17
    with Archive(path) as archive:
        assert archive.gaps() == [(11, 11), (13, 14)] and archive.high_seq() == 10
        for seq in (11, 13, 14):  # backfill after the restart
            archive.ingest_telemetry(seq, packet(seq, 1))
        archive.flush()
        assert archive.gaps() == [] and archive.high_seq() == 20


def test_empty_archive_has_no_resume_point(tmp_path: Path) -> None:
    with Archive(tmp_path / "e.db") as archive:
        assert (archive.high_seq(), archive.gaps(), archive.seq_count(), archive.channels()) == (0, [], 0, [])
        assert archive.query("nothing", 0.0, 1e12) == []


def test_a_full_batch_is_committed_without_an_explicit_flush(tmp_path: Path) -> None:
    path = tmp_path / "batch.db"
    archive = Archive(path, batch_rows=10)
    try:
        for seq in range(1, 5):
            archive.ingest_telemetry(seq, packet(seq))  # 12 rows: one batch of 10+ commits
        assert sample_rows(path) == 12
        archive.ingest_telemetry(5, packet(5))
        assert sample_rows(path) == 12  # buffered until the next flush
        archive.flush()
        assert sample_rows(path) == 15
    finally:
        archive.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        indexes = {row[1] for row in conn.execute("PRAGMA index_list(samples)")}
        assert "samples_channel_t" in indexes


def test_query_is_inclusive_in_time_order_and_keeps_types(tmp_path: Path) -> None:
    with Archive(tmp_path / "q.db") as archive:
        archive.ingest_telemetry(2, [("flag", T0 + 2, False), ("state", T0 + 2, "anchor"), ("n", T0 + 2, 7)])
        archive.ingest_telemetry(1, [("flag", T0 + 1, True), ("state", T0 + 1, "idle"), ("n", T0 + 1, 6)])
        archive.ingest_telemetry(3, [("flag", T0 + 3, True), ("x", T0 + 3, 1.5)])
        assert archive.query("flag", T0 + 1, T0 + 2) == [(T0 + 1, True), (T0 + 2, False)]
        assert all(type(v) is bool for _, v in archive.query("flag", T0, T0 + 5))
        assert archive.query("state", T0, T0 + 5) == [(T0 + 1, "idle"), (T0 + 2, "anchor")]
        assert archive.query("n", T0 + 1.5, T0 + 5) == [(T0 + 2, 7)]
        assert archive.query("x", T0 + 4, T0 + 9) == []
        assert archive.channels() == ["flag", "n", "state", "x"]


def test_values_sqlite_cannot_store_are_kept_as_text(tmp_path: Path) -> None:
    with Archive(tmp_path / "v.db") as archive:
        archive.ingest_telemetry(1, [("odd", T0, [1, 2]), ("fine", T0, 2.0)])
        archive.flush()
        assert archive.query("odd", T0, T0) == [(T0, "[1, 2]")]
        assert archive.query("fine", T0, T0) == [(T0, 2.0)]


@pytest.mark.parametrize(
    ("seq", "samples", "expected"),
    [
        (0, [("a", T0, 1.0)], "expected an integer >= 1, found 0"),
        ("7", [("a", T0, 1.0)], "expected an integer >= 1, found '7'"),
        (1, [("a", T0)], "expected (channel, t, value) samples, found ('a', 1893456000.0)"),
        (1, [("a", "noon", 1.0)], "time of 'a': expected epoch seconds, found 'noon'"),
        (1, 5, "expected a list of samples, found 5"),
    ],
)
def test_bad_packets_are_refused_with_what_was_expected(tmp_path: Path, seq, samples, expected) -> None:
    with Archive(tmp_path / "bad.db") as archive:
        archive.ingest_telemetry(5, [("b", T0, 1.0)])
        archive.flush()
        with pytest.raises(ArchiveError) as info:
            archive.ingest_telemetry(seq, samples)
        assert expected in str(info.value)
        assert archive.ingest_telemetry(1, [("a", T0, 1.0)]) is True  # nothing half-taken
        archive.flush()
        assert archive.seq_count() == 2


def test_bad_settings_and_a_closed_archive_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="retention_days: expected a finite number >= 0"):
        Archive(tmp_path / "r.db", retention_days=-1)
    with pytest.raises(ArchiveError, match="batch_rows: expected an integer >= 1, found 0"):
        Archive(tmp_path / "r.db", batch_rows=0)
    with pytest.raises(ArchiveError, match="cannot open the archive"):
        Archive(tmp_path / "missing-dir" / "a.db")
    archive = Archive(tmp_path / "c.db")
    archive.close()
    archive.close()
    with pytest.raises(ArchiveError, match="is closed"):
        archive.ingest_telemetry(1, packet(1))


def _event(seq: int, severity: str, name: str, message: str, t: float) -> dict:
    return {
        "seq": seq,
        "t": t,
        "severity": severity,
        "source": "fdir",
        "name": name,
        "message": message,
        "data": {"k": seq},
    }


def test_events_filter_by_time_severity_and_text(tmp_path: Path) -> None:
    with Archive(tmp_path / "ev.db") as archive:
        archive.ingest_event(1, _event(1, "info", "start", "flight segment starting", T0 + 1))
        archive.ingest_event(2, _event(2, "warning", "slip", "anchor 2 slipped 5 mm", T0 + 2))
        archive.ingest_event(3, _event(3, "critical", "overtemp", "chamber 100%_hot", T0 + 3))
        archive.ingest_event(4, _event(4, "error", "jam", "auger jammed", T0 + 4))
        names = lambda events: [e["name"] for e in events]  # noqa: E731
        assert names(archive.events()) == ["start", "slip", "overtemp", "jam"]
        assert names(archive.events(min_severity="error")) == ["overtemp", "jam"]
        assert names(archive.events(text="ANCHOR")) == ["slip"]
        assert names(archive.events(text="100%_")) == ["overtemp"]  # LIKE wildcards taken literally
        assert names(archive.events(text="%")) == ["overtemp"]
        assert names(archive.events(t0=T0 + 2, t1=T0 + 3)) == ["slip", "overtemp"]
        assert names(archive.events(limit=2)) == ["overtemp", "jam"]
        assert archive.events(min_severity="error")[0]["data"] == {"k": 3}
        with pytest.raises(ArchiveError, match=r"min_severity: expected one of \['debug'"):
            archive.events(min_severity="loud")


def test_command_history_keeps_every_stage_in_order(tmp_path: Path) -> None:
    path = tmp_path / "cmd.db"
    stages = [
        ("a-1", "drill.spin", "accepted", ""),
        ("b-1", "estop", "accepted", ""),
        ("a-1", "drill.spin", "started", ""),
        ("b-1", "estop", "started", ""),
        ("b-1", "estop", "completed", ""),
        ("a-1", "drill.spin", "progress", ""),
        ("a-1", "drill.spin", "failed", "interlock:estop"),
    ]
    with Archive(path) as archive:
        for k, (cid, name, stage, reason) in enumerate(stages):
            archive.ingest_command_status(
                {
                    "id": cid,
                    "name": name,
                    "stage": stage,
                    "source": "operator",
                    "t": T0 + k,
                    "reason": reason,
                    "message": "",
                    "progress": 0.5 if stage == "progress" else None,
                }
            )
    with Archive(path) as archive:
        history = archive.command_history()
        assert [c["id"] for c in history] == ["a-1", "b-1"]
        spin, stop = history
        assert [s["stage"] for s in spin["stages"]] == ["accepted", "started", "progress", "failed"]
        assert spin["stage"] == "failed" and spin["reason"] == "interlock:estop" and spin["t"] == T0
        assert spin["stages"][2]["progress"] == 0.5
        assert [s["stage"] for s in stop["stages"]] == ["accepted", "started", "completed"]
        assert [c["id"] for c in archive.command_history(limit=1)] == ["b-1"]
        with pytest.raises(ArchiveError, match="expected a dict with an id"):
            archive.ingest_command_status({"stage": "accepted"})


def test_link_stats_are_kept(tmp_path: Path) -> None:
    with Archive(tmp_path / "l.db") as archive:
        archive.ingest_link_stats(T0, {"state": "acquired", "rtt_s": 0.002})
        archive.ingest_link_stats(T0 + 1, {"state": "los", "rtt_s": None})
        assert archive.link_stats(T0, T0 + 0.5) == [(T0, {"state": "acquired", "rtt_s": 0.002})]
        assert [s["state"] for _, s in archive.link_stats(T0, T0 + 5)] == ["acquired", "los"]


def test_csv_export_writes_the_range_of_the_channels_asked(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    with Archive(tmp_path / "csv.db") as archive:
        for seq in range(1, 21):
            archive.ingest_telemetry(
                seq, [("a", T0 + seq, seq * 1.5), ("b", T0 + seq, seq % 2 == 0), ("c", T0 + seq, 0.0)]
            )
        rows = archive.export_csv(["b", "a"], T0 + 5, T0 + 8, out)
        assert rows == 8
        with open(out, newline="") as handle:
            table = list(csv.reader(handle))
        assert table[0] == ["t", "channel", "value"]
        assert table[1:] == [
            [repr(T0 + s), name, str(value)] for s in range(5, 9) for name, value in (("a", s * 1.5), ("b", s % 2 == 0))
        ]
        assert float(table[1][0]) == T0 + 5  # full precision survives
        with pytest.raises(UnknownChannel, match="no channel 'nope' in the archive"):
            archive.export_csv(["a", "nope"], T0, T0 + 30, tmp_path / "x.csv")
        with pytest.raises(ArchiveError, match="at least one channel"):
            archive.export_csv([], T0, T0 + 30, tmp_path / "x.csv")
        with pytest.raises(ArchiveError, match="cannot write CSV"):
            archive.export_csv(["a"], T0, T0 + 30, tmp_path / "no-such-dir" / "x.csv")


def test_retention_drops_old_rows_but_remembers_their_seqs(tmp_path: Path) -> None:
    now = T0 + 10 * SECONDS_PER_DAY
    with Archive(tmp_path / "ret.db", retention_days=2.0) as archive:
        archive.ingest_telemetry(1, [("a", now - 3 * SECONDS_PER_DAY, 1.0), ("a", now - 1 * SECONDS_PER_DAY, 2.0)])
        archive.ingest_event(2, _event(2, "info", "old", "old", now - 5 * SECONDS_PER_DAY))
        archive.ingest_event(3, _event(3, "info", "new", "new", now - 60.0))
        archive.ingest_command_status(
            {"id": "x", "name": "estop", "stage": "completed", "source": "o", "t": now - 4 * SECONDS_PER_DAY}
        )
        archive.ingest_link_stats(now - 3 * SECONDS_PER_DAY, {"state": "los"})
        archive.ingest_alarm(now - 3 * SECONDS_PER_DAY, "a", {"level": "alarm"})
        archive.ingest_alarm(now, "a", {"level": "ok"})
        removed = archive.apply_retention(now)
        assert removed == 6  # one sample, one event, one command, its stage, one link snapshot, one alarm change
        assert archive.alarm_journal() == [(now, "a", {"level": "ok"})]
        assert archive.query("a", 0.0, now) == [(now - SECONDS_PER_DAY, 2.0)]
        assert [e["name"] for e in archive.events()] == ["new"]
        assert archive.command_history() == []
        assert archive.ingest_telemetry(1, [("a", now - 3 * SECONDS_PER_DAY, 1.0)]) is False
        assert archive.seq_count() == 3
    with Archive(tmp_path / "keep.db") as archive:
        archive.ingest_telemetry(1, [("a", 0.0, 1.0)])
        assert archive.apply_retention(now) == 0 and archive.query("a", 0.0, 1.0) == [(0.0, 1.0)]


def test_ingest_on_one_thread_while_another_queries(tmp_path: Path) -> None:
    archive = Archive(tmp_path / "threads.db", batch_rows=50)
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for seq in range(1, 601):
                archive.ingest_telemetry(seq, packet(seq, 2))
        except BaseException as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    seen = 0
    while thread.is_alive() and seen < 10_000:
        seen += 1
        rows = archive.query("c0", T0, T0 + 1000)
        assert [t for t, _ in rows] == sorted(t for t, _ in rows)
    thread.join(timeout=30)
    assert not errors
    archive.flush()
    assert archive.seq_count() == 600 and len(archive.query("c1", T0, T0 + 1000)) == 600
    archive.close()


def test_a_size_cap_drops_the_oldest_rows_and_keeps_the_newest(tmp_path: Path) -> None:
    cap = 256 * 1024
    archive = Archive(tmp_path / "a.sqlite", max_bytes=cap)
    for seq in range(1, 401):  # ~1 MB of samples, one second apart
        archive.ingest_telemetry(seq, [(f"c{i}", float(seq), float(seq * i)) for i in range(40)])
    archive.flush()
    removed = archive.apply_retention(1_000_000.0)
    assert removed > 0
    conn = sqlite3.connect(tmp_path / "a.sqlite")
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    pages = conn.execute("PRAGMA page_count").fetchone()[0] - conn.execute("PRAGMA freelist_count").fetchone()[0]
    used = pages * page
    conn.close()
    assert used <= cap
    assert archive.query("c1", 400.0, 400.0) == [(400.0, 400.0)]  # the newest kept
    assert archive.query("c1", 1.0, 1.0) == []  # the oldest dropped
    assert archive.seq_count() == 400  # their seqs still held: a retransmission is not archived again
    archive.close()


def test_the_archive_recovers_by_itself_when_a_full_disk_has_room_again(small_disk: Path) -> None:
    from tests.support.disks import fill

    archive = Archive(small_disk / "a.sqlite")
    archive.ingest_telemetry(1, [("c", 1.0, 1.0)])
    archive.flush()
    filler = fill(small_disk)
    for seq in range(2, 40):
        archive.ingest_telemetry(seq, [(f"c{i}", float(seq), float(i)) for i in range(200)])
    with pytest.raises(ArchiveError, match="cannot commit: database or disk is full"):
        archive.flush()
    filler.unlink()
    archive.flush()  # the buffered packets, committed with no restart
    assert archive.seq_count() == 39 and archive.gaps() == []
    assert archive.query("c5", 39.0, 39.0) == [(39.0, 5.0)]
    archive.close()
