"""The ground hub's side of the ledger: every ``extraction_record`` event from flight goes into the log.

A :class:`LedgerHub` subscribes to a :class:`~ground.core.GroundCore`'s events (the archiving station, which
receives each event once: the archive drops a packet it already holds) or is fed directly
(:meth:`LedgerHub.handle_event`, the headless demo). A record whose signature does not verify against the
rover key is refused (logged, never appended); one already in the log is not appended twice. Each appended
record is followed by a new signed checkpoint.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from base.clock import Clock
from ground.errors import LedgerError
from ground.ledger.log import LedgerLog
from link.errors import KeyFileError, RecordError
from link.ledger_keys import LOG, ROVER, load_signer, load_verifier, signer_path
from link.note import Verifier
from link.record import EVENT_NAME, verify_record

__all__ = ["LedgerHub"]

_LOGGER = logging.getLogger(__name__)


class LedgerHub:
    """Appends the rover's signed records to ``log``; records are checked with ``rover`` first."""

    def __init__(self, log: LedgerLog, rover: Verifier) -> None:
        self.log = log
        self.rover = rover
        self.refused: list[str] = []

    @classmethod
    def open(cls, keys_dir: str | Path, path: str | Path, clock: Clock) -> LedgerHub:
        """The hub of the log in ``path``, with the log key and the rover's verifier key from ``keys_dir``
        (``ledger/log.skey``, ``ledger/rover.vkey``); :class:`LedgerError` if a key is missing or unreadable."""
        try:
            signer = load_signer(signer_path(keys_dir, LOG))
            rover = load_verifier(Path(keys_dir) / "ledger" / f"{ROVER}.vkey")
        except KeyFileError as exc:
            raise LedgerError(f"ledger keys: {exc}") from exc
        return cls(LedgerLog(path, signer, clock), rover)

    def attach(self, core: Any) -> None:
        """Take events from a ground core (``core.subscribe("event", ...)``), after appending any record the
        core's archive already holds but the log does not (a crash between the two)."""
        for event in core.archive.events(text="extraction_record", limit=1_000_000):
            self.handle_event(event)
        core.subscribe("event", self.handle_event)

    def handle_event(self, event: dict[str, Any]) -> int | None:
        """Append the record an ``extraction_record`` event carries; returns its index (None for other events)."""
        if event.get("source") != "ledger" or event.get("name") != EVENT_NAME:
            return None
        data = event.get("data")
        leaf_text = data.get("leaf") if isinstance(data, dict) else None
        if not isinstance(leaf_text, str):
            return self._refuse(f"event {event.get('seq')}: expected data.leaf, the record's text")
        leaf = leaf_text.encode("ascii", errors="replace")
        try:
            verify_record(leaf, self.rover)
            index = self.log.append(leaf)
            self.log.checkpoint()
        except RecordError as exc:
            return self._refuse(f"event {event.get('seq')}: record refused: {exc}")
        except LedgerError as exc:
            _LOGGER.error("ledger: event %s not appended: %s", event.get("seq"), exc)
            return None
        return index

    def _refuse(self, why: str) -> int | None:
        _LOGGER.error("ledger: %s", why)
        self.refused.append(why)
        return None
