"""The flight spool on a real SQLite file: numbering that survives reopening, reads, pruning, counters."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import flight.spool as spool_module
from flight.spool import Spool
from link.errors import SpoolError


def frames(first: int, count: int, size: int = 10) -> list[tuple[int, bytes]]:
    return [(n, bytes([n % 256]) * size) for n in range(first, first + count)]


def test_numbers_continue_after_reopening_and_after_everything_was_pruned(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    spool = Spool(path)
    assert (spool.next_seq, spool.next_sseq, spool.depth) == (1, 1, 0)
    spool.append(frames(1, 5), frames(1, 2))
    assert (spool.next_seq, spool.next_sseq, spool.depth) == (6, 3, 7)
    spool.close()
    spool = Spool(path)  # as after kill -9: the rows are the truth
    assert (spool.next_seq, spool.next_sseq, spool.depth) == (6, 3, 7)
    assert spool.read_packets(0, 10) == frames(1, 5)  # from the file (cache empty after reopening)
    spool.acknowledge(5, 2)
    assert spool.depth == 0 and spool.read_packets(0, 10) == []
    spool.close()
    spool = Spool(path)  # nothing left in the tables: numbering still goes on
    assert (spool.next_seq, spool.next_sseq, spool.first_seq) == (6, 3, 6)
    spool.close()


def test_reads_start_after_the_cursor_and_never_below_what_was_acknowledged(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.db")
    spool.append(frames(1, 100))
    assert [n for n, _ in spool.read_packets(10, 5)] == [11, 12, 13, 14, 15]
    spool.acknowledge(50, 0)
    assert [n for n, _ in spool.read_packets(0, 3)] == [51, 52, 53]
    assert spool.read_packets(100, 10) == [] and spool.read_packets(0, 0) == []
    spool.acknowledge(10, 0)  # an older ack changes nothing
    assert spool.first_seq == 51
    with pytest.raises(SpoolError, match="expected 101"):
        spool.append([(105, b"x")])
    spool.close()


def test_the_memory_cache_keeps_to_its_byte_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spool_module, "CACHE_BYTES", 1000)
    spool = Spool(tmp_path / "spool.db")
    spool.append(frames(1, 50, size=100))
    assert spool.packets.cache_bytes <= 1000 and len(spool.packets.cache) == 10
    assert [n for n, _ in spool.read_packets(0, 3)] == [1, 2, 3]  # older ones come from the file
    assert [n for n, _ in spool.read_packets(45, 10)] == [46, 47, 48, 49, 50]
    spool.close()


def test_counters_persist(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.db")
    assert spool.last_counter("operator") == 0
    spool.set_counter("operator", 41)
    spool.close()
    spool = Spool(tmp_path / "spool.db")
    assert spool.last_counter("operator") == 41
    spool.close()


def test_an_unusable_file_is_a_spool_error(tmp_path: Path) -> None:
    with pytest.raises(SpoolError, match="cannot open"):
        Spool(tmp_path / "missing-dir" / "spool.db")


def _event(source: str, name: str) -> dict:
    return {"t": 1.9e9, "source": source, "name": name, "severity": "info", "message": name, "data": {}, "seq": 1}


@pytest.mark.parametrize("durable", [False, True])
def test_an_extraction_record_is_committed_with_a_sync_to_the_disk_and_nothing_else_is(
    tmp_path: Path, durable: bool
) -> None:
    from base.clock import VirtualClock
    from flight.link_packets import PacketWriter

    spool = Spool(tmp_path / "spool.db", durable=durable)
    statements: list[str] = []
    spool._db.set_trace_callback(statements.append)  # what SQLite itself runs on the spool's connection
    writer = PacketWriter(spool, VirtualClock(start=1.9e9), events=None)
    writer.add_event(_event("mission", "transition"))
    writer.commit(with_telemetry=False)
    assert not [s for s in statements if s.startswith("PRAGMA synchronous")]
    statements.clear()
    writer.add_event(_event("ledger", "extraction_record"))
    writer.commit(with_telemetry=False)
    pragmas = [s for s in statements if s.startswith("PRAGMA synchronous")]
    if durable:  # every commit of a durable spool is synced already
        assert pragmas == []
    else:
        assert statements[0] == "PRAGMA synchronous=FULL" and statements[-1] == "PRAGMA synchronous=NORMAL"
        assert statements.index("COMMIT") < len(statements) - 1
        assert spool._db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL again for the rest
    assert spool.next_seq == 3
    spool.close()


def test_executed_command_ids_are_committed_with_the_transaction_and_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    spool = Spool(path)
    spool.append(statuses=frames(1, 1), counter=("operator", 3), command_ids=["cmd-a", "cmd-b"])
    spool.append(command_ids=["cmd-a"])  # again: harmless
    assert spool.command_seen("cmd-a") and spool.command_seen("cmd-b") and not spool.command_seen("cmd-c")
    spool.close()
    spool = Spool(path)  # as after kill -9
    assert spool.command_seen("cmd-b") and spool.last_counter("operator") == 3
    spool.close()


def test_a_second_flight_process_on_the_same_spool_is_refused_naming_the_first(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    first = Spool(path)
    try:
        first.append(frames(1, 3), [])
        with pytest.raises(SpoolError, match=rf"another flight process \(pid {os.getpid()}\) is using this spool"):
            Spool(path)
        assert first.next_seq == 4 and first.read_packets(0, 10) == frames(1, 3)  # the first one is untouched
    finally:
        first.close()
    second = Spool(path)  # once the first has closed it (or died: the kernel drops the lock)
    assert second.next_seq == 4
    second.close()
