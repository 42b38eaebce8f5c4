"""The ground hub's append-only ledger log: leaves in a SQLite file, a Merkle tree over them, signed checkpoints.

Tables (one file, WAL, ``synchronous=FULL``): ``leaves`` (index, leaf bytes, leaf hash unique, arrival
time), ``checkpoints`` (size, signed note, time) and ``cosignatures`` are only ever inserted into. Every
append is one transaction, so ``kill -9`` leaves either all of a batch or none; a checkpoint is signed in a
later transaction over what is committed, so it never covers a leaf that is not on disk. On open the tree is
rebuilt from the leaf hashes and checked against the newest checkpoint: a file whose leaves no longer
produce the root the log signed is refused (:class:`~ground.errors.LedgerError`).

Times are clock seconds since the Unix epoch.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from base.clock import Clock
from ground.errors import LedgerError
from ground.ledger.checkpoint import Checkpoint, cosign, open_checkpoint, sign_checkpoint
from ground.ledger.merkle import MerkleTree, leaf_hash
from link.note import Signer, Verifier, format_note

__all__ = ["LedgerLog", "store_cosignature"]

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS leaves (idx INTEGER PRIMARY KEY, leaf BLOB NOT NULL, hash BLOB NOT NULL UNIQUE, "
    "t REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL, t REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS cosignatures (size INTEGER NOT NULL, witness TEXT NOT NULL, note TEXT NOT NULL, "
    "t REAL NOT NULL, PRIMARY KEY (size, witness))",
)


class LedgerLog:
    """The log in SQLite file ``path``; checkpoints signed with ``signer`` (its name is the log's origin)."""

    def __init__(self, path: str | Path, signer: Signer, clock: Clock) -> None:
        self.path = Path(path)
        self.signer = signer
        self.clock = clock
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            for statement in _SCHEMA:
                self._db.execute(statement)
            rows = self._db.execute("SELECT idx, hash FROM leaves ORDER BY idx").fetchall()
        except sqlite3.Error as exc:
            raise LedgerError(f"{self.path}: cannot open the ledger log: {exc}") from exc
        self.tree = MerkleTree()
        self._index: dict[bytes, int] = {}
        for idx, h in rows:
            if idx != self.tree.size:
                raise LedgerError(
                    f"{self.path}: leaf {self.tree.size} is missing (found index {idx}); the log is damaged"
                )
            self._index[h] = self.tree.append_hash(h)
        latest = self.latest_note()
        if latest is not None:
            checkpoint, _ = open_checkpoint(latest, self.verifier)
            if checkpoint.size > self.tree.size or self.tree.root(checkpoint.size) != checkpoint.root:
                raise LedgerError(
                    f"{self.path}: the leaves do not produce the root of the newest checkpoint (size "
                    f"{checkpoint.size}); the log was altered"
                )

    @property
    def verifier(self) -> Verifier:
        """The log's public key."""
        return self.signer.verifier

    @property
    def size(self) -> int:
        """How many leaves are committed."""
        return self.tree.size

    @contextmanager
    def _write(self, what: str) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                    self._db.execute("COMMIT")
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise LedgerError(f"{self.path}: cannot {what}: {exc}") from exc

    def append(self, leaf: bytes) -> int:
        """Append one leaf (committed when this returns); returns its index (the old one for a leaf already held)."""
        return self.append_many([leaf])[0]

    def append_many(self, leaves: Iterable[bytes]) -> list[int]:
        """Append leaves in one transaction; returns their indexes (a leaf already held keeps its index)."""
        with self._lock:
            now = self.clock.now()
            indexes: list[int] = []
            new: list[tuple[int, bytes, bytes, float]] = []
            pending: dict[bytes, int] = {}
            size = self.tree.size
            for leaf in leaves:
                h = leaf_hash(leaf)
                held = self._index.get(h, pending.get(h))
                if held is None:
                    held = pending[h] = size + len(new)
                    new.append((held, leaf, h, now))
                indexes.append(held)
            if new:
                with self._write("append to the ledger log") as db:
                    db.executemany("INSERT INTO leaves (idx, leaf, hash, t) VALUES (?, ?, ?, ?)", new)
                for idx, _leaf, h, _t in new:
                    self._index[h] = self.tree.append_hash(h)
                    assert self._index[h] == idx
            return indexes

    def checkpoint(self) -> str:
        """Sign a checkpoint of the current size if there is none yet; returns the newest signed note."""
        with self._lock:
            latest = self.latest_note()
            size = self.tree.size
            if latest is not None and open_checkpoint(latest, self.verifier)[0].size == size:
                return latest
            note = sign_checkpoint(Checkpoint(self.signer.name, size, self.tree.root(size)), self.signer)
            with self._write("store a checkpoint") as db:
                db.execute("INSERT INTO checkpoints (size, note, t) VALUES (?, ?, ?)", (size, note, self.clock.now()))
            return note

    def latest_note(self) -> str | None:
        """The newest signed checkpoint (None before the first)."""
        row = self._query("SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1")
        return None if not row else str(row[0][0])

    def checkpoints(self) -> list[tuple[int, str, float]]:
        """Every checkpoint ``(size, note, t)``, oldest first, with the cosignatures stored for it added."""
        rows = self._query("SELECT size, note, t FROM checkpoints ORDER BY size")
        cosigned = {
            int(size): str(note) for size, note in self._query("SELECT size, note FROM cosignatures ORDER BY t")
        }
        return [(int(size), cosigned.get(int(size), str(note)), float(t)) for size, note, t in rows]

    def add_cosignature(self, note: str, witness: str) -> None:
        """Store ``note`` (a checkpoint this log signed, with ``witness``'s cosignature line) for its size; the
        stored note keeps every cosignature stored before for that size."""
        with self._lock:
            try:
                store_cosignature(self._db, self.verifier, note, witness, self.clock.now())
            except sqlite3.Error as exc:
                raise LedgerError(f"{self.path}: cannot store a cosignature: {exc}") from exc

    def cosign_latest(self, witness: Signer) -> str:
        """Cosign the newest checkpoint with ``witness`` (a partner's key) here and store it; returns the note."""
        latest = self.latest_note()
        if latest is None:
            raise LedgerError("cannot cosign: the log has no checkpoint yet")
        note = cosign(latest, self.verifier, witness, int(self.clock.now()))
        self.add_cosignature(note, witness.name)
        return self.checkpoints()[-1][1]

    def leaves(self, start: int = 0, end: int | None = None) -> list[bytes]:
        """Leaf bytes with ``start <= index < end``."""
        end = self.tree.size if end is None else end
        rows = self._query("SELECT leaf FROM leaves WHERE idx >= ? AND idx < ? ORDER BY idx", (start, end))
        return [bytes(r[0]) for r in rows]

    def _query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise LedgerError(f"{self.path}: cannot read the ledger log: {exc}") from exc

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()


def store_cosignature(db: sqlite3.Connection, log: Verifier, note: str, witness: str, t: float) -> None:
    """In one transaction on ``db`` (autocommit mode): check ``note`` is a checkpoint the log signed and
    stored, merge its signature lines with those stored for its size, and store the result for ``witness``."""
    checkpoint, new = open_checkpoint(note, log)
    db.execute("BEGIN IMMEDIATE")
    try:
        stored = db.execute("SELECT note FROM checkpoints WHERE size = ?", (checkpoint.size,)).fetchone()
        if stored is None or open_checkpoint(str(stored[0]), log)[0] != checkpoint:
            raise LedgerError(
                f"cosignature by {witness!r}: checkpoint of size {checkpoint.size} is not one this log signed"
            )
        previous = db.execute(
            "SELECT note FROM cosignatures WHERE size = ? ORDER BY t DESC LIMIT 1", (checkpoint.size,)
        ).fetchone()
        lines = {(s.name, s.key_id): s for s in (open_checkpoint(str(previous[0]), log)[1] if previous else [])}
        lines.update({(s.name, s.key_id): s for s in new})
        db.execute(
            "INSERT INTO cosignatures (size, witness, note, t) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (size, witness) DO UPDATE SET note = excluded.note, t = excluded.t",
            (checkpoint.size, witness, format_note(checkpoint.body, list(lines.values())), t),
        )
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
