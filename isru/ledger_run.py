"""The ledger in one process, for ``isru demo --headless``: the same record signing (flight's
:class:`~flight.ledger.RecordBook`) and the same log and hub (:mod:`ground.ledger`) as the station, without a
link in between; keys are made for the run (their verifier keys go into the bundle)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from base.clock import Clock
from flight.events import Event, EventLog
from ground.ledger.bundle import export_bundle
from ground.ledger.hub import LedgerHub
from ground.ledger.log import LedgerLog
from link.ledger_keys import DEFAULT_LOG_NAME, DEFAULT_ROVER_NAME
from link.note import generate


class InProcessLedger:
    """A rover key, a log key and a log in a temporary file, fed by flight's events."""

    def __init__(self, clock: Clock) -> None:
        self.rover = generate(DEFAULT_ROVER_NAME)
        self._tmp = tempfile.TemporaryDirectory(prefix="isru-ledger-")
        self.log = LedgerLog(Path(self._tmp.name) / "ledger.sqlite", generate(DEFAULT_LOG_NAME), clock)
        self.hub = LedgerHub(self.log, self.rover.verifier)

    def attach(self, events: EventLog) -> None:
        """Append every record flight issues on ``events``."""
        events.subscribe(self._on_event)

    def _on_event(self, event: Event) -> None:
        self.hub.handle_event(event.as_dict())

    def export(self, directory: str | Path) -> dict[str, Any]:
        """Write the bundle to ``directory``; returns what it holds."""
        export_bundle(self.log, directory, self.rover.verifier)
        return {"dir": str(directory), "records": self.log.size, "checkpoints": len(self.log.checkpoints())}

    def close(self) -> None:
        """Close the log and remove its file."""
        self.log.close()
        self._tmp.cleanup()
