"""The mission snapshot and a cycle's booking survive a store that cannot be written (a real 2 MiB tmpfs,
filled for real): kept in memory, reported once, saved once space returns, never lost or booked twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from base.clock import VirtualClock
from flight.events import EventLog
from flight.state_saver import StateSaver
from flight.store import FlightStore
from tests.support.disks import fill


def test_a_booking_made_while_the_disk_is_full_reaches_the_store_once_space_returns(small_disk: Path) -> None:
    clock = VirtualClock()
    events = EventLog(clock)
    store = FlightStore(small_disk / "store.sqlite", clock)
    snapshot: dict[str, Any] = {"state": "process_transfer", "cycle": 1}
    saver = StateSaver(store, lambda: dict(snapshot), events, clock)
    try:
        saver.save()
        filler = fill(small_disk)
        entry = {"cycle": 1, "site": 2, "water_kg": 0.194, "regolith_kg": 3.26, "energy_Wh": 1125.0}
        saver.book(entry)
        snapshot.update(state="stow")
        saver.save()  # the transition after the booking: the disk is full
        snapshot.update(state="idle")
        saver.save()  # and the next one
        saver.retry()
        assert saver.unsaved and "id" not in entry
        unsaved = [e for e in events.recent if e.name == "state_unsaved"]
        assert len(unsaved) == 1 and "booking of cycle 1 waits" in unsaved[0].message
        assert store.ledger() == [] and store.load_state() == {"state": "process_transfer", "cycle": 1}
        filler.unlink()
        saver.retry()  # the housekeeping tick after space returned
        assert not saver.unsaved and any(e.name == "state_saved" for e in events.recent)
        assert [(e.cycle, e.site, e.water_kg) for e in store.ledger()] == [(1, 2, 0.194)]
        assert entry["id"] == store.ledger()[0].id
        assert store.load_state() == {"state": "idle", "cycle": 1}  # the newest snapshot, not the one that failed
        saver.retry()
        saver.save()
        assert len(store.ledger()) == 1  # booked once
    finally:
        store.close()
