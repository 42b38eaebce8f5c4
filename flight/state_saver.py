"""The mission's snapshot in flight's store, saved at every transition, and kept when the store cannot take it.

At each transition of the mission machine the snapshot (and, after a cycle, its ledger entry) is written in one
transaction (:meth:`flight.store.FlightStore.save_state`). When that write fails — a full disk, the file made
read-only — nothing is dropped: the entry waits in memory with the snapshot, the failure is reported once as
an error event (``flight``/``state_unsaved``), and the save is tried again every housekeeping tick until it
succeeds (``flight``/``state_saved``), so a cycle's booking reaches the store once space returns. Until then a
crash restores the last snapshot that was saved.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from base.clock import Clock
from flight.errors import PersistenceError
from flight.events import EventLog
from flight.store import FlightStore

__all__ = ["StateSaver"]

#: Fields of a ledger entry the store keeps (with the site and the time of the save).
_STORED = ("cycle", "water_kg", "regolith_kg", "energy_Wh")


class StateSaver:
    """Saves ``snapshot()`` to ``store`` (nothing without a store), with the entry of a booked cycle."""

    def __init__(
        self, store: FlightStore | None, snapshot: Callable[[], Mapping[str, Any]], events: EventLog, clock: Clock
    ) -> None:
        self.store = store
        self.snapshot = snapshot
        self.events = events
        self.clock = clock
        #: True while the latest snapshot is not in the store (its save failed and is retried).
        self.unsaved = False
        self._entry: dict[str, Any] | None = None

    def book(self, entry: dict[str, Any]) -> None:
        """Save ``entry`` (a cycle's ledger entry: cycle, site, water_kg, regolith_kg, energy_Wh) with the next
        snapshot; its ``id`` is set to the store's row id once saved."""
        self._entry = entry

    def save(self) -> None:
        """Write the snapshot now (and the entry waiting, if any); on failure keep both and report it once."""
        entry = self._entry
        if self.store is None:
            self._entry = None
            return
        extraction = None
        if entry is not None:
            extraction = {k: entry[k] for k in _STORED}
            extraction.update(site=max(entry["site"], 0), t=self.clock.now())
        try:
            row_id = self.store.save_state(self.snapshot(), {"transitions": 1}, extraction)
        except PersistenceError as exc:
            if not self.unsaved:
                waiting = f"; the booking of cycle {entry['cycle']} waits with it" if entry is not None else ""
                self.events.error(
                    "flight",
                    "state_unsaved",
                    f"mission state not saved: {exc}{waiting}; kept in memory and saved again once the store can "
                    "take it (a crash meanwhile restores the last saved state)",
                )
            self.unsaved = True
            return
        self._entry = None
        if entry is not None:
            entry["id"] = row_id
        if self.unsaved:
            self.unsaved = False
            self.events.info("flight", "state_saved", "mission state saved again: the store takes writes")

    def retry(self, _now: float = 0.0) -> None:
        """Save again if the last save failed (a housekeeping task)."""
        if self.unsaved:
            self.save()
