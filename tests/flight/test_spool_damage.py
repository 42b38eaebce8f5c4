"""A damaged spool (only a buffer) never blocks flight's start: it is moved aside with an event and a fresh one
takes over whatever the old file still tells (a real SQLite file, damaged for real)."""

from __future__ import annotations

from pathlib import Path

from base.clock import VirtualClock
from flight.spool import Spool
from tests.support.link_harness import MiniFlight


def test_a_spool_that_is_not_a_database_is_moved_aside_with_an_event(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    spool = Spool(path)
    spool.append([(1, b"one"), (2, b"two")], counter=("operator", 9))
    spool.close()
    with path.open("r+b") as handle:  # the header: SQLite no longer knows the file
        handle.write(b"\x00garbage" * 16)
    flight = MiniFlight(VirtualClock(), path, insecure=True)
    try:
        aside = Path(f"{path}.damaged-1")
        assert flight.server.spool.moved_aside == aside and aside.is_file()
        events = [e for e in flight.events.recent if e.name == "spool_damaged"]
        assert len(events) == 1 and events[0].severity.name == "ERROR"
        assert str(aside) in events[0].message
        flight.produce()
        assert flight.server.spool.next_seq > 1  # the fresh spool works
    finally:
        flight.close()


def test_an_empty_spool_file_is_reported_as_damaged_not_taken_for_a_fresh_one(tmp_path: Path) -> None:
    path = tmp_path / "spool.db"
    path.write_bytes(b"")
    spool = Spool(path)
    try:
        assert spool.moved_aside == tmp_path / "spool.db.damaged-1" and spool.moved_aside.is_file()
        assert spool.salvaged == {} and spool.next_seq == 1  # nothing could be taken over
    finally:
        spool.close()
