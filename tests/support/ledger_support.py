"""Signed extraction records and ledger logs for tests, made by the real parts: flight's RecordBook on a
virtual clock (its events and telemetry real), ground's LedgerLog in a real SQLite file."""

from __future__ import annotations

from pathlib import Path

from base.clock import VirtualClock
from flight.events import EventLog
from flight.ledger import RecordBook
from flight.telemetry import TelemetryTable
from ground.ledger.hub import LedgerHub
from ground.ledger.log import LedgerLog
from link.note import Signer, generate


def signed_records(n: int, rover: Signer, *, clock: VirtualClock | None = None) -> list[bytes]:
    """``n`` records signed by ``rover``, one per simulated 2-hour cycle, each with telemetry and events."""
    clock = clock or VirtualClock()
    events = EventLog(clock)
    table = TelemetryTable()
    book = RecordBook(rover, "test-rover", "LIC-2030-001", events, table, clock)
    for cycle in range(1, n + 1):
        events.info("mission", "transition", "idle → prospect: test", origin="idle", dest="prospect")
        for _ in range(3):
            table.update({"extractor.tank_kg": 0.1 * cycle, "drill.depth_m": 0.5}, clock.now())
            book.sample(clock.now())
            clock.advance(2400.0)
        book.record(cycle, cycle % 3, [1.0 * cycle, -2.0, 0.5], 0.18, 3.2, 400.0)
    return book.records


def filled_log(
    path: Path, n: int, *, rover: Signer | None = None, log_key: Signer | None = None
) -> tuple[LedgerLog, Signer]:
    """A log at ``path`` holding ``n`` records appended through the hub (which signs a checkpoint after each)."""
    rover = rover or generate("test-rover")
    clock = VirtualClock()
    log = LedgerLog(path, log_key or generate("test-ground/ledger"), clock)
    hub = LedgerHub(log, rover.verifier)
    for i, leaf in enumerate(signed_records(n, rover)):
        event = {"source": "ledger", "name": "extraction_record", "seq": i, "data": {"leaf": leaf.decode()}}
        assert hub.handle_event(event) == i
    return log, rover
