"""The flight spool: every telemetry/event packet and command status waits on disk until ground has it.

One SQLite file in WAL mode:

* ``packets(seq, frame)`` — telemetry and event packets, ``seq`` shared by both and never reused;
* ``statuses(sseq, frame)`` — command verification reports, their own sequence ``sseq``;
* ``meta`` — how far ground has acknowledged (cumulative); the next ``seq``/``sseq`` follows the highest
  number held or acknowledged, so numbers are never reused;
* ``counters`` — the last command counter accepted from each client, and ``command_ids`` — the ids of the
  commands executed (both used when flight runs without a :class:`~flight.store.FlightStore`).

A frame is stored exactly as it goes on the wire (its seq inside), so sending replays bytes. Appends are
batched: the link server commits one transaction per telemetry tick (and, per command, one for its counter,
id and first status and one for the rest), and sends a packet only after its transaction committed — so
after ``kill -9`` the next seq continues where the committed ones stopped and nothing ground saw is
renumbered.
``synchronous=NORMAL`` (the default) is durable across a process crash; ``durable=True``
(``synchronous=FULL``) also across a power cut at the cost of one fsync per transaction. Acknowledged rows
are deleted. SQLite/OS errors raise :class:`~link.errors.SpoolError` naming the file.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections import deque
from collections.abc import Iterable, Sequence
from pathlib import Path

from flight.file_lock import FileLock, FileLocked
from flight.store_care import move_aside
from link.errors import SpoolError

_LOGGER = logging.getLogger(__name__)

__all__ = ["Spool"]

#: Most recent frames kept in memory per stream (count and bytes), so live sending does not read back
#: from the file.
CACHE_FRAMES = 50_000
CACHE_BYTES = 64 * 1024 * 1024

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS packets (seq INTEGER PRIMARY KEY, frame BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS statuses (sseq INTEGER PRIMARY KEY, frame BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS counters (client TEXT PRIMARY KEY, counter INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS command_ids (id TEXT PRIMARY KEY)",
)

_SET_COUNTER = (
    "INSERT INTO counters (client, counter) VALUES (?, ?) ON CONFLICT (client) DO UPDATE SET counter = excluded.counter"
)


class _Stream:
    """One sequence (packets or statuses): next number, acknowledged point, recent frames in memory."""

    def __init__(self, table: str, key: str, next_n: int, acked: int) -> None:
        self.table = table
        self.key = key
        self.next = next_n
        self.acked = acked
        self.cache: deque[tuple[int, bytes]] = deque()
        self.cache_bytes = 0

    def remember(self, rows: list[tuple[int, bytes]]) -> None:
        """Keep ``rows`` in memory, dropping the oldest beyond the count and byte budgets."""
        cache = self.cache
        cache.extend(rows)
        self.cache_bytes += sum(len(frame) for _, frame in rows)
        while cache and (len(cache) > CACHE_FRAMES or self.cache_bytes > CACHE_BYTES):
            self.cache_bytes -= len(cache.popleft()[1])

    def forget_through(self, n: int) -> None:
        """Drop cached rows numbered up to ``n`` (acknowledged)."""
        cache = self.cache
        while cache and cache[0][0] <= n:
            self.cache_bytes -= len(cache.popleft()[1])

    @property
    def depth(self) -> int:
        return self.next - 1 - self.acked


class Spool:
    """Packets and statuses on disk until acknowledged. Not thread-safe: the link server's thread owns it."""

    def __init__(self, path: str | Path, *, durable: bool = False) -> None:
        self.durable = durable
        self.path = Path(path)
        #: Where a damaged spool file was moved at open (None if it was sound): the server reports it.
        self.moved_aside: Path | None = None
        #: What could be taken over from that file: its numbering and command counters (else empty).
        self.salvaged: dict[str, int] = {}
        try:
            self._file_lock = FileLock(self.path, "spool")
        except FileLocked as exc:
            raise SpoolError(str(exc)) from exc
        try:
            meta, top, stop = self._open_or_salvage(durable)
        except BaseException:
            self._file_lock.release()
            raise
        acked, sacked = meta.get("acked_seq", 0), meta.get("acked_sseq", 0)
        # the next number is above every row still held and every row ever acknowledged (pruned)
        self.packets = _Stream("packets", "seq", max(acked, top) + 1, acked)
        self.statuses = _Stream("statuses", "sseq", max(sacked, stop) + 1, sacked)
        _LOGGER.info(
            "spool %s: next seq %d (%d unacknowledged), next sseq %d (%d unacknowledged)",
            self.path,
            self.packets.next,
            self.packets.depth,
            self.statuses.next,
            self.statuses.depth,
        )

    def _open_or_salvage(self, durable: bool) -> tuple[dict[str, int], int, int]:
        """:meth:`_open`; a damaged file is moved aside first and what can be read of it salvaged. An empty
        (0-byte) file is damaged too: a spool always holds its tables, and taking it for a fresh one would say
        nothing of the numbering and counters it lost."""
        if self.path.is_file() and self.path.stat().st_size == 0:
            self.moved_aside = move_aside(self.path)
            _LOGGER.error("spool %s is empty (0 bytes): moved aside to %s", self.path, self.moved_aside)
            return self._open(durable)
        try:
            return self._open(durable)
        except SpoolError as exc:
            if not _damaged(exc.__cause__):
                raise
            self.moved_aside = move_aside(self.path)
            _LOGGER.error("spool %s is damaged (%s): moved aside to %s", self.path, exc.__cause__, self.moved_aside)
            meta, top, stop = self._open(durable)
            return self._salvage(self.moved_aside, meta, top, stop)

    def _open(self, durable: bool) -> tuple[dict[str, int], int, int]:
        """Open (creating) the file; returns its meta, highest seq and highest sseq. Raises SpoolError."""
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
            self._db.execute("PRAGMA busy_timeout=5000")
            for statement in _SCHEMA:
                self._db.execute(statement)
            meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
            # the tables are the truth after a crash; meta only remembers what pruning deleted
            top = self._db.execute("SELECT max(seq) FROM packets").fetchone()[0] or 0
            stop = self._db.execute("SELECT max(sseq) FROM statuses").fetchone()[0] or 0
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error, AttributeError):
                self._db.close()
            raise SpoolError(f"{self.path}: cannot open the spool: {exc}") from exc
        return meta, top, stop

    def _salvage(self, damaged: Path, meta: dict[str, int], top: int, stop: int) -> tuple[dict[str, int], int, int]:
        """Take over what the damaged file still tells: numbers above every seq/sseq it used (so nothing ground
        holds is renumbered), the command counters and the executed command ids; each read that fails is skipped."""
        try:
            old = sqlite3.connect(f"file:{damaged}?mode=ro", uri=True)
        except sqlite3.Error:
            return meta, top, stop
        queries = {
            "acked_seq": "SELECT max(max(coalesce((SELECT max(seq) FROM packets), 0), "
            "coalesce((SELECT value FROM meta WHERE key = 'acked_seq'), 0)), 0)",
            "acked_sseq": "SELECT max(max(coalesce((SELECT max(sseq) FROM statuses), 0), "
            "coalesce((SELECT value FROM meta WHERE key = 'acked_sseq'), 0)), 0)",
        }
        try:
            for key, query in queries.items():
                with contextlib.suppress(sqlite3.Error):
                    value = int(old.execute(query).fetchone()[0])
                    self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
                    self.salvaged[key] = meta[key] = value
            with contextlib.suppress(sqlite3.Error):
                for client, counter in old.execute("SELECT client, counter FROM counters").fetchall():
                    self._db.execute(_SET_COUNTER, (client, counter))
                    self.salvaged[f"counter:{client}"] = int(counter)
            with contextlib.suppress(sqlite3.Error):
                ids = old.execute("SELECT id FROM command_ids").fetchall()
                self._db.executemany("INSERT OR IGNORE INTO command_ids (id) VALUES (?)", ids)
                self.salvaged["command_ids"] = len(ids)
        finally:
            old.close()
        return meta, top, stop

    # --------------------------------------------------------------------------------------- state
    @property
    def next_seq(self) -> int:
        """The seq the next packet gets."""
        return self.packets.next

    @property
    def next_sseq(self) -> int:
        """The sseq the next status gets."""
        return self.statuses.next

    @property
    def first_seq(self) -> int:
        """The oldest packet seq still spooled (== next_seq when none is)."""
        return self.packets.acked + 1

    @property
    def depth(self) -> int:
        """Unacknowledged packets + statuses."""
        return self.packets.depth + self.statuses.depth

    # -------------------------------------------------------------------------------------- append
    def append(
        self,
        packets: Iterable[tuple[int, bytes]] = (),
        statuses: Iterable[tuple[int, bytes]] = (),
        *,
        counter: tuple[str, int] | None = None,
        command_ids: Sequence[str] = (),
        sync: bool = False,
    ) -> None:
        """Commit frames numbered from :attr:`next_seq` / :attr:`next_sseq` on, and ``counter`` (client, last
        accepted command counter) if given, and ``command_ids`` (executed, see :meth:`command_seen`), in one
        transaction; with ``sync`` it is on the disk when this returns, a power cut too, whatever the spool's
        own durability (``synchronous=FULL`` for this commit)."""
        packets = list(packets)
        statuses = list(statuses)
        if not packets and not statuses and counter is None and not command_ids:
            return
        for stream, rows in ((self.packets, packets), (self.statuses, statuses)):
            expected = stream.next
            for n, _frame in rows:
                if n != expected:
                    raise SpoolError(f"{self.path}: {stream.key} {n} appended; expected {expected} (in order, no gaps)")
                expected += 1
        synced = sync and not self.durable
        try:
            db = self._db
            if synced:
                db.execute("PRAGMA synchronous=FULL")
            db.execute("BEGIN")
            if packets:
                db.executemany("INSERT INTO packets (seq, frame) VALUES (?, ?)", packets)
            if statuses:
                db.executemany("INSERT INTO statuses (sseq, frame) VALUES (?, ?)", statuses)
            if counter is not None:
                db.execute(_SET_COUNTER, counter)
            if command_ids:
                db.executemany("INSERT OR IGNORE INTO command_ids (id) VALUES (?)", [(i,) for i in command_ids])
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise SpoolError(f"{self.path}: cannot append to the spool: {exc}") from exc
        finally:
            if synced:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("PRAGMA synchronous=NORMAL")
        for stream, rows in ((self.packets, packets), (self.statuses, statuses)):
            if rows:
                stream.next = rows[-1][0] + 1
                stream.remember(rows)

    def _rollback(self) -> None:
        try:
            self._db.execute("ROLLBACK")
        except sqlite3.Error:
            _LOGGER.debug("spool rollback: no transaction open")

    # ---------------------------------------------------------------------------------------- read
    def read_packets(self, after: int, limit: int) -> list[tuple[int, bytes]]:
        """Up to ``limit`` spooled packets with seq > ``after``, in order."""
        return self._read(self.packets, after, limit)

    def read_statuses(self, after: int, limit: int) -> list[tuple[int, bytes]]:
        """Up to ``limit`` spooled statuses with sseq > ``after``, in order."""
        return self._read(self.statuses, after, limit)

    def _read(self, stream: _Stream, after: int, limit: int) -> list[tuple[int, bytes]]:
        after = max(after, stream.acked)
        if limit <= 0 or after >= stream.next - 1:
            return []
        cache = stream.cache
        if cache and cache[0][0] <= after + 1:
            start = after + 1 - cache[0][0]
            return [cache[i] for i in range(start, min(len(cache), start + limit))]
        try:
            rows = self._db.execute(
                f"SELECT {stream.key}, frame FROM {stream.table} WHERE {stream.key} > ? ORDER BY {stream.key} LIMIT ?",
                (after, limit),
            ).fetchall()
        except sqlite3.Error as exc:
            raise SpoolError(f"{self.path}: cannot read the spool: {exc}") from exc
        return [(int(n), bytes(frame)) for n, frame in rows]

    # ----------------------------------------------------------------------------------------- ack
    def acknowledge(self, seq: int, sseq: int) -> None:
        """Ground holds every packet up to ``seq`` and every status up to ``sseq``: delete them."""
        seq = min(seq, self.packets.next - 1)
        sseq = min(sseq, self.statuses.next - 1)
        if seq <= self.packets.acked and sseq <= self.statuses.acked:
            return
        seq = max(seq, self.packets.acked)
        sseq = max(sseq, self.statuses.acked)
        try:
            db = self._db
            db.execute("BEGIN")
            db.execute("DELETE FROM packets WHERE seq <= ?", (seq,))
            db.execute("DELETE FROM statuses WHERE sseq <= ?", (sseq,))
            db.execute("INSERT OR REPLACE INTO meta VALUES ('acked_seq', ?)", (seq,))
            db.execute("INSERT OR REPLACE INTO meta VALUES ('acked_sseq', ?)", (sseq,))
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise SpoolError(f"{self.path}: cannot prune the spool: {exc}") from exc
        self.packets.acked = seq
        self.statuses.acked = sseq
        for stream in (self.packets, self.statuses):
            stream.forget_through(stream.acked)

    def used_bytes(self) -> int:
        """Bytes of the file's pages in use (freed pages are reused, so this is what the spool occupies)."""
        try:
            pages = self._db.execute("PRAGMA page_count").fetchone()[0]
            free = self._db.execute("PRAGMA freelist_count").fetchone()[0]
            size = self._db.execute("PRAGMA page_size").fetchone()[0]
        except sqlite3.Error as exc:
            raise SpoolError(f"{self.path}: cannot read the spool's size: {exc}") from exc
        return int((pages - free) * size)

    def trim(self, max_bytes: int) -> int:
        """Drop the oldest unacknowledged *packets* (statuses are kept: they are few and must arrive) until the
        spool is under 90 % of ``max_bytes``; returns how many went. Ground, resuming, counts them lost."""
        used = self.used_bytes()
        if used <= max_bytes or self.packets.depth <= 0:
            return 0
        count = max(1, min(self.packets.depth, int(self.packets.depth * (1.0 - 0.9 * max_bytes / used)) + 1))
        self.acknowledge(self.packets.acked + count, self.statuses.acked)
        return count

    # ------------------------------------------------------------------------------------ counters
    def last_counter(self, client: str) -> int:
        """The last command counter accepted from ``client`` (0 if none)."""
        try:
            row = self._db.execute("SELECT counter FROM counters WHERE client = ?", (client,)).fetchone()
        except sqlite3.Error as exc:
            raise SpoolError(f"{self.path}: cannot read a command counter: {exc}") from exc
        return int(row[0]) if row else 0

    def set_counter(self, client: str, n: int) -> None:
        """Record ``n`` as the last counter accepted from ``client`` (committed when this returns)."""
        try:
            self._db.execute(_SET_COUNTER, (client, n))
        except sqlite3.Error as exc:
            raise SpoolError(f"{self.path}: cannot record a command counter: {exc}") from exc

    # --------------------------------------------------------------------------------- command ids
    def command_seen(self, command_id: str) -> bool:
        """``command_id`` was executed (committed by :meth:`append`, in this run or an earlier one)."""
        try:
            row = self._db.execute("SELECT 1 FROM command_ids WHERE id = ?", (command_id,)).fetchone()
        except sqlite3.Error as exc:
            raise SpoolError(f"{self.path}: cannot look up a command id: {exc}") from exc
        return row is not None

    def close(self) -> None:
        """Close the file (idempotent)."""
        try:
            self._db.close()
        except sqlite3.Error as exc:
            raise SpoolError(f"{self.path}: cannot close the spool: {exc}") from exc
        finally:
            self._file_lock.release()


def _damaged(cause: BaseException | None) -> bool:
    """``cause`` (an open's SQLite error) says the file is damaged, not merely busy or unwritable."""
    text = str(cause)
    return isinstance(cause, sqlite3.DatabaseError) and any(
        word in text for word in ("malformed", "not a database", "corrupt")
    )
