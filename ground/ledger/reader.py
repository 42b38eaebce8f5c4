"""A read-only view of the hub's ledger log for the console: records with their signature and proof status,
the checkpoint history with each checkpoint's verified witnesses. It re-reads only what the hub appended
since the last call and verifies everything itself with the public keys (it never holds the log's secret key).
A partner's console may also store its cosignature (:meth:`LedgerReader.cosign_latest`)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ground.errors import LedgerError
from ground.ledger.checkpoint import Checkpoint, open_checkpoint, witnesses
from ground.ledger.log import store_cosignature
from ground.ledger.merkle import MerkleTree, leaf_hash, verify_inclusion
from ground.ledger.witness import Witness
from link.errors import RecordError
from link.note import Verifier
from link.record import verify_record

__all__ = ["LedgerReader", "LedgerState"]


@dataclass
class LedgerState:
    """What the Ledger view shows: ``records`` and ``checkpoints`` as table rows, newest first."""

    records: list[dict[str, Any]] = field(default_factory=list)
    checkpoints: list[dict[str, Any]] = field(default_factory=list)


class LedgerReader:
    """Reads the log in ``path``, checking with the ``log`` and ``rover`` keys and the ``known`` witness keys."""

    def __init__(self, path: str | Path, log: Verifier, rover: Verifier, known: list[Verifier] | None = None) -> None:
        self.path = Path(path)
        self.log = log
        self.rover = rover
        self.known = list(known or [])
        self.tree = MerkleTree()
        self._records: list[dict[str, Any]] = []

    def _connect(self) -> sqlite3.Connection:
        if not self.path.exists():
            raise LedgerError(f"{self.path}: no ledger log; expected the file the archiving station writes")
        try:
            return sqlite3.connect(self.path, isolation_level=None)
        except sqlite3.Error as exc:
            raise LedgerError(f"{self.path}: cannot open the ledger log: {exc}") from exc

    def state(self) -> LedgerState:
        """Read what is new and return every record and checkpoint with its status."""
        db = self._connect()
        try:
            for (leaf,) in db.execute("SELECT leaf FROM leaves WHERE idx >= ? ORDER BY idx", (self.tree.size,)):
                self._add(bytes(leaf))
            notes = [
                str(n)
                for (n,) in db.execute(
                    "SELECT COALESCE((SELECT c.note FROM cosignatures c WHERE c.size = k.size "
                    "ORDER BY c.t DESC LIMIT 1), k.note) FROM checkpoints k ORDER BY k.size"
                )
            ]
        except sqlite3.Error as exc:
            raise LedgerError(f"{self.path}: cannot read the ledger log: {exc}") from exc
        finally:
            db.close()
        heads = [self._checkpoint(note) for note in notes]
        latest = next((h for h in reversed(heads) if h["ok"]), None)
        rows = []
        for index, record in enumerate(self._records):
            row = dict(record)
            if latest is None or index >= latest["size"]:
                row["proof"] = "not yet in a checkpoint"
            else:
                head: Checkpoint = latest["head"]
                proof = self.tree.inclusion_proof(index, head.size)
                included = verify_inclusion(self.tree.leaf(index), index, head.size, proof, head.root)
                row["proof"] = f"included in checkpoint {head.size}" if included else "NOT in the checkpoint"
            rows.append(row)
        return LedgerState(
            records=rows[::-1], checkpoints=[{k: v for k, v in h.items() if k != "head"} for h in heads[::-1]]
        )

    def _add(self, leaf: bytes) -> None:
        index = self.tree.append_hash(leaf_hash(leaf))
        try:
            record = verify_record(leaf, self.rover)
            status = "signed by the rover"
        except RecordError as exc:
            record, status = {}, f"BAD: {exc}"
        self._records.append({
            "index": index, "cycle": record.get("cycle", ""), "site": record.get("site", ""),
            "end_t": record.get("end_t"), "water_kg": record.get("water_kg", ""),
            "regolith_kg": record.get("regolith_kg", ""), "energy_Wh": record.get("energy_Wh", ""),
            "signature": status,
        })  # fmt: skip

    def _checkpoint(self, note: str) -> dict[str, Any]:
        try:
            head, _ = open_checkpoint(note, self.log)
        except LedgerError as exc:
            return {"size": -1, "root": "", "ok": False, "status": f"BAD: {exc}", "witnesses": "", "head": None}
        ok = head.size <= self.tree.size and self.tree.root(head.size) == head.root
        names = sorted(c.name for c in witnesses(note, self.log, self.known))
        return {
            "size": head.size, "root": head.root.hex()[:16], "ok": ok,
            "status": "signed; root matches the records" if ok else "root does NOT match the records",
            "witnesses": ", ".join(names) or "none", "head": head,
        }  # fmt: skip

    def cosign_latest(self, witness: Witness, t: int) -> int:
        """Cosign the newest checkpoint after checking it against the records read here; returns its size."""
        self.state()
        db = self._connect()
        try:
            row = db.execute("SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1").fetchone()
            if row is None:
                raise LedgerError("cannot cosign: the log has no checkpoint yet")
            root_at = self.tree.root
            note = witness.cosign(str(row[0]), self.log, lambda n: root_at(n) if n <= self.tree.size else None, t)
            size = open_checkpoint(note, self.log)[0].size
            store_cosignature(db, self.log, note, witness.signer.name, float(t))
        except sqlite3.Error as exc:
            raise LedgerError(f"{self.path}: cannot store the cosignature: {exc}") from exc
        finally:
            db.close()
        return size
