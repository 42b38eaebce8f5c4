"""The rover's side of the resource ledger: every extraction is signed here and sent to ground as an event.

:class:`RecordBook` keeps a running SHA-256 of the cycle's raw evidence — every event (its JSON form, as the
link carries it) and a snapshot of every telemetry channel once per housekeeping tick — and, when a cycle's
extraction is recorded, builds the record (docs/ledger.md), signs it with the rover's Ed25519 key
(:func:`link.record.sign_record`) and issues it as an ``extraction_record`` event (source ``ledger``,
``data.leaf``: the record's exact bytes as text). The event goes through the spool like every other, so it
reaches ground even across a loss of signal or a restart of either side. The evidence restarts when the
mission leaves ``idle`` and after each record.

Times are clock seconds since the Unix epoch; masses kg; energy Wh; pose metres and radians.
"""

from __future__ import annotations

import hashlib
from typing import Any

from base.clock import Clock
from flight.events import Event, EventLog
from flight.evidence_line import EvidenceLine, canonical_json
from flight.telemetry import TelemetryTable
from link.note import Signer
from link.record import EVENT_NAME, sign_record

__all__ = ["RECORD_VERSION", "RecordBook"]

RECORD_VERSION = 1


def _json(value: Any) -> bytes:
    return canonical_json(value).encode()


class RecordBook:
    """Signs each extraction of rover ``rover`` under licence ``licence`` with ``signer``."""

    def __init__(
        self, signer: Signer, rover: str, licence: str, events: EventLog, table: TelemetryTable, clock: Clock
    ) -> None:
        self.signer = signer
        self.rover = rover
        self.licence = licence
        self.events = events
        self.table = table
        self.clock = clock
        self.records: list[bytes] = []
        self._line = EvidenceLine()
        self._begin(clock.now())
        events.subscribe(self._on_event)

    def _begin(self, t: float) -> None:
        self._evidence = hashlib.sha256()
        self._start_t = t
        self._first_seq = 0
        self._last_seq = 0

    def _on_event(self, event: Event) -> None:
        if event.source == "mission" and event.name == "transition" and event.data.get("origin") == "idle":
            self._begin(event.t)
        if event.source == "ledger":
            return
        self._evidence.update(_json(event.as_dict()) + b"\n")
        self._first_seq = self._first_seq or event.seq
        self._last_seq = event.seq

    def sample(self, now: float) -> None:
        """Add a snapshot of every telemetry channel to the evidence (a housekeeping task)."""
        line = self._line.encode(self.clock.now(), self.table.snapshot())
        self._evidence.update(line.encode() + b"\n")

    def record(
        self, cycle: int, site: int, pose: list[float], water_kg: float, regolith_kg: float, energy_Wh: float
    ) -> bytes:
        """Sign the extraction of ``cycle`` and issue it as an event; returns the record's leaf bytes."""
        end_t = self.clock.now()
        fields = {
            "v": RECORD_VERSION,
            "rover": self.rover,
            "licence": self.licence,
            "cycle": cycle,
            "site": site,
            "pose": [round(float(p), 4) for p in pose],
            "start_t": round(self._start_t, 3),
            "end_t": round(end_t, 3),
            "regolith_kg": round(regolith_kg, 6),
            "water_kg": round(water_kg, 6),
            "energy_Wh": round(energy_Wh, 3),
            "evidence_sha256": self._evidence.hexdigest(),
            "evidence_events": [self._first_seq, self._last_seq],
        }
        leaf = sign_record(fields, self.signer)
        self.records.append(leaf)
        self.events.info(
            "ledger",
            EVENT_NAME,
            f"cycle {cycle}: extraction record signed ({water_kg:.3f} kg water)",
            leaf=leaf.decode("ascii"),
        )
        self._begin(end_t)
        return leaf
