"""The ground archive: every telemetry sample, event, command stage and link statistic received, in SQLite.

Schema (WAL journal, ``synchronous=FULL`` so a committed packet survives a crash of the ground computer
before flight is told it may drop it):

* ``channels(id, name, type)`` — one row per channel name; ``type`` (float/int/bool/str) from the first value,
  so booleans come back as booleans;
* ``samples(channel_id, t, value, seq)`` indexed on ``(channel_id, t)`` — ``t`` is epoch seconds;
* ``packets(seq, kind)`` — every packet seq held. A seq already held is ignored, which makes ingest
  idempotent (exactly once) across link retransmissions and ground restarts;
* ``events(seq, t, level, severity, source, name, message, data)``;
* ``commands(id, name, source, t, stage, stage_t, reason, message)`` and ``command_stages(command_id, t, stage,
  reason, message, progress)`` — every verification stage of every command;
* ``link_stats(t, stats)`` — link status snapshots as JSON;
* ``alarm_journal(t, name, state)`` — every change of every ground alarm (raised, acknowledged with who and
  the comment, shelved, cleared) as JSON, for review after the fact.

Ingest is buffered in memory and written by :meth:`Archive.flush` in one transaction with ``executemany``
(also when ``batch_rows`` samples are waiting). Every method is thread-safe: the link thread ingests while a
console or CLI thread queries.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import sqlite3
import threading
from collections.abc import Iterable
from operator import itemgetter
from pathlib import Path
from typing import Any

from ground.archive_sql import (
    COMMANDS_SQL,
    LEVELS,
    STAGE_CHUNK,
    command_records,
    event_records,
    events_sql,
    stages_sql,
    trim,
)
from ground.errors import ArchiveError, UnknownChannel
from ground.seqranges import SeqRanges
from link.schema import type_of

_LOGGER = logging.getLogger(__name__)

SECONDS_PER_DAY = 86_400.0
_KIND_TELEMETRY = 0
_KIND_EVENT = 1
_INDEX_ORDER = itemgetter(0)  # channel_id of a sample row (stable sort: each channel stays in arrival order)

SCHEMA = """
CREATE TABLE IF NOT EXISTS channels (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, type TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS samples (channel_id INTEGER NOT NULL, t REAL NOT NULL, value, seq INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS samples_channel_t ON samples (channel_id, t);
CREATE TABLE IF NOT EXISTS packets (seq INTEGER PRIMARY KEY, kind INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY, t REAL NOT NULL, level INTEGER NOT NULL, severity TEXT NOT NULL,
    source TEXT NOT NULL, name TEXT NOT NULL, message TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_t ON events (t);
CREATE TABLE IF NOT EXISTS commands (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, source TEXT NOT NULL, t REAL NOT NULL,
    stage TEXT NOT NULL, stage_t REAL NOT NULL, reason TEXT NOT NULL, message TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS commands_t ON commands (t);
CREATE TABLE IF NOT EXISTS command_stages (
    command_id TEXT NOT NULL, t REAL NOT NULL, stage TEXT NOT NULL, reason TEXT NOT NULL,
    message TEXT NOT NULL, progress REAL);
CREATE INDEX IF NOT EXISTS command_stages_id ON command_stages (command_id);
CREATE TABLE IF NOT EXISTS link_stats (t REAL NOT NULL, stats TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS link_stats_t ON link_stats (t);
CREATE TABLE IF NOT EXISTS alarm_journal (t REAL NOT NULL, name TEXT NOT NULL, state TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS alarm_journal_t ON alarm_journal (t);
"""
#: Page cache of the writer (KiB): holds the index pages every channel's newest samples land in.
CACHE_KIB = 64 * 1024
#: WAL pages before an automatic checkpoint (the default, 1,000, checkpoints after nearly every commit of a
#: few thousand samples spread over many channels).
WAL_CHECKPOINT_PAGES = 10_000
#: Buffered samples that trigger a commit on their own.
BATCH_ROWS = 50_000
INSERT_SAMPLES = "INSERT INTO samples (channel_id, t, value, seq) VALUES (?, ?, ?, ?)"
QUERY_SAMPLES = "SELECT t, value FROM samples WHERE channel_id = ? AND t >= ? AND t <= ? ORDER BY t"


def open_database(path: str | Path) -> sqlite3.Connection:
    """Open (creating if needed) an archive database with the archive's settings and schema.

    Autocommit mode: transactions are explicit (``BEGIN``/``COMMIT``). Raises :class:`ArchiveError`.
    """
    try:
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        conn.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
        conn.executescript(SCHEMA)
    except sqlite3.Error as exc:
        raise ArchiveError(f"cannot open the archive {str(path)!r}: {exc}") from exc
    return conn


class Archive:
    """The ground archive in one SQLite file (see the module docstring for the schema).

    ``retention_days`` > 0 makes :meth:`apply_retention` drop rows older than that, ``max_bytes`` > 0 the
    oldest rows past that size (bytes of used pages); ``batch_rows`` is how many buffered samples trigger a
    flush on their own.
    """

    def __init__(
        self, path: str | Path, *, retention_days: float = 0.0, batch_rows: int = BATCH_ROWS, max_bytes: int = 0
    ) -> None:
        _check_settings(retention_days, batch_rows, max_bytes)
        self.path = Path(path)
        self.retention_days = float(retention_days)
        self.max_bytes = int(max_bytes)
        self.batch_rows = batch_rows
        self._lock = threading.RLock()  # writes and the buffers
        self._read_lock = threading.Lock()  # the reader connection: queries do not hold up ingest
        self._conn = open_database(path)
        self._reader = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._closed = False
        try:
            self._channel_ids: dict[str, int] = {}
            self._channel_types: dict[str, str] = {}
            for cid, name, kind in self._conn.execute("SELECT id, name, type FROM channels"):
                self._channel_ids[name] = cid
                self._channel_types[name] = kind
            self._next_channel_id = 1 + max(self._channel_ids.values(), default=0)
            self._held = SeqRanges(
                self._conn.execute(
                    "SELECT MIN(seq), MAX(seq) FROM (SELECT seq, seq - ROW_NUMBER() OVER (ORDER BY seq) AS g "
                    "FROM packets) GROUP BY g ORDER BY 1"
                ).fetchall()
            )
        except sqlite3.Error as exc:
            self._conn.close()
            self._reader.close()
            raise ArchiveError(f"cannot read the archive {str(path)!r}: {exc}") from exc
        self._reset_buffers()
        _LOGGER.info("archive %s: %d channels, %d packets held", self.path, len(self._channel_ids), len(self._held))

    def _reset_buffers(self) -> None:
        self._new_channels: list[tuple[int, str, str]] = []
        self._samples: list[tuple[int, float, Any, int]] = []
        self._packets: list[tuple[int, int]] = []
        self._pending: set[int] = set()
        self._events: list[tuple[Any, ...]] = []
        self._statuses: list[dict[str, Any]] = []
        self._link_stats: list[tuple[float, str]] = []
        self._alarms: list[tuple[float, str, str]] = []

    # ---------------------------------------------------------------------------------------- ingest
    def _take_seq(self, seq: Any, what: str) -> bool:
        """True if ``seq`` is new (and now pending); False if already held or pending."""
        if type(seq) is not int or seq < 1:
            raise ArchiveError(f"{what} packet seq: expected an integer >= 1, found {seq!r}")
        if seq in self._pending or seq in self._held:
            return False
        self._pending.add(seq)
        return True

    def ingest_telemetry(self, seq: int, samples: list[tuple[str, float, Any]]) -> bool:
        """Buffer a telemetry packet ``seq`` of ``(channel, t epoch s, value)`` samples. A seq already held is
        ignored: returns True if the packet was new."""
        with self._lock:
            self._check_open()
            if type(seq) is not int or seq < 1:
                raise ArchiveError(f"telemetry packet seq: expected an integer >= 1, found {seq!r}")
            if seq in self._pending or seq in self._held:
                return False
            ids = self._channel_ids
            try:  # the fast path: known channels, well-formed samples
                rows = [(ids[c], t, v, seq) for c, t, v in samples]
            except (KeyError, TypeError, ValueError):  # a new channel, or a bad sample to name
                rows = [(self._channel_id(c, v), t, v, seq) for c, t, v in checked_samples(seq, samples)]
            if not self._take_seq(seq, "telemetry"):
                return False
            self._samples.extend(rows)
            self._packets.append((seq, _KIND_TELEMETRY))
            if len(self._samples) >= self.batch_rows:
                self.flush()
            return True

    def _channel_id(self, name: str, value: Any) -> int:
        cid = self._channel_ids.get(name)
        if cid is None:
            cid = self._next_channel_id
            self._next_channel_id += 1
            kind = type_of(value)
            self._channel_ids[name] = cid
            self._channel_types[name] = kind
            self._new_channels.append((cid, name, kind))
        return cid

    def ingest_event(self, seq: int, event: dict[str, Any]) -> bool:
        """Buffer event packet ``seq`` (``Event.as_dict()`` shape). A seq already held is ignored: returns
        True if the packet was new."""
        with self._lock:
            self._check_open()
            if not isinstance(event, dict):
                raise ArchiveError(f"event packet {seq!r}: expected an event dict, found {event!r}")
            if not self._take_seq(seq, "event"):
                return False
            severity = str(event.get("severity", "info"))
            try:
                data = json.dumps(event.get("data") or {}, default=str)
                t = float(event.get("t", 0.0))
            except (TypeError, ValueError) as exc:
                self._pending.discard(seq)
                raise ArchiveError(f"event packet {seq}: {exc}") from exc
            row = (
                seq,
                t,
                LEVELS.get(severity, LEVELS["info"]),
                severity,
                str(event.get("source", "")),
                str(event.get("name", "")),
                str(event.get("message", "")),
                data,
            )
            self._events.append(row)
            self._packets.append((seq, _KIND_EVENT))
            return True

    def ingest_command_status(self, status: dict[str, Any]) -> None:
        """Buffer one command verification report (``CommandStatus.as_dict()`` shape)."""
        with self._lock:
            self._check_open()
            if not isinstance(status, dict) or not status.get("id"):
                raise ArchiveError(f"command status: expected a dict with an id, found {status!r}")
            self._statuses.append(status)

    def ingest_link_stats(self, t: float, stats: dict[str, Any]) -> None:
        """Buffer a link statistics snapshot taken at ``t`` (epoch s)."""
        with self._lock:
            self._check_open()
            self._link_stats.append((float(t), json.dumps(stats, default=str)))

    def ingest_alarm(self, t: float, name: str, state: dict[str, Any]) -> None:
        """Buffer one change of alarm ``name`` at ``t`` (epoch s); ``state`` is ``Alarm.as_dict()``."""
        with self._lock:
            self._check_open()
            self._alarms.append((float(t), str(name), json.dumps(state, default=str)))

    def flush(self) -> None:
        """Commit everything buffered in one transaction (nothing to do if nothing is buffered)."""
        with self._lock:
            self._check_open()
            if not (self._packets or self._statuses or self._link_stats or self._new_channels or self._alarms):
                return
            try:
                self._write()
            except (sqlite3.InterfaceError, sqlite3.ProgrammingError):
                # A value SQLite cannot store (a list, a dict): store its text instead.
                self._samples = [(c, t, _storable(v), s) for c, t, v, s in self._samples]
                self._write()
            self._held_add(self._pending)
            self._reset_buffers()

    def _write(self) -> None:
        conn = self._conn
        # Grouped by channel, consecutive rows land in the same index page: far fewer pages read and written
        # than one page per channel per packet. The sort is stable, so each channel keeps its arrival order.
        self._samples.sort(key=_INDEX_ORDER)
        try:
            conn.execute("BEGIN")
            if self._new_channels:
                conn.executemany("INSERT INTO channels (id, name, type) VALUES (?, ?, ?)", self._new_channels)
            conn.executemany(INSERT_SAMPLES, self._samples)
            conn.executemany("INSERT OR IGNORE INTO packets (seq, kind) VALUES (?, ?)", self._packets)
            if self._events:
                conn.executemany("INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?)", self._events)
            if self._statuses:
                self._write_statuses(conn)
            if self._link_stats:
                conn.executemany("INSERT INTO link_stats (t, stats) VALUES (?, ?)", self._link_stats)
            if self._alarms:
                conn.executemany("INSERT INTO alarm_journal (t, name, state) VALUES (?, ?, ?)", self._alarms)
            conn.execute("COMMIT")
        except (sqlite3.InterfaceError, sqlite3.ProgrammingError):
            conn.execute("ROLLBACK")
            raise
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise ArchiveError(f"archive {str(self.path)!r}: cannot commit: {exc}") from exc

    def _write_statuses(self, conn: sqlite3.Connection) -> None:
        stages = []
        commands = []
        for s in self._statuses:
            t = _float(s.get("t"))
            progress = s.get("progress")
            cid, stage = str(s["id"]), str(s.get("stage", ""))
            reason, message = str(s.get("reason") or ""), str(s.get("message") or "")
            stages.append((cid, t, stage, reason, message, progress if isinstance(progress, int | float) else None))
            commands.append((cid, str(s.get("name", "")), str(s.get("source", "")), t, stage, t, reason, message))
        conn.executemany(
            "INSERT INTO commands VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
            "stage = excluded.stage, stage_t = excluded.stage_t, reason = excluded.reason, message = excluded.message",
            commands,
        )
        conn.executemany("INSERT INTO command_stages VALUES (?, ?, ?, ?, ?, ?)", stages)

    def _held_add(self, seqs: Iterable[int]) -> None:
        ordered = sorted(seqs)
        if not ordered:
            return
        lo = prev = ordered[0]
        for seq in ordered[1:]:
            if seq != prev + 1:
                self._held.add_range(lo, prev)
                lo = seq
            prev = seq
        self._held.add_range(lo, prev)

    # ------------------------------------------------------------------------------------------ seqs
    def high_seq(self) -> int:
        """Highest seq up to which every seq from the first held is held (0 = none): the resume point."""
        with self._lock:
            return self._held.first_run_end()

    def gaps(self) -> list[tuple[int, int]]:
        """Missing seq ranges (inclusive) between the first and the last seq held (committed)."""
        with self._lock:
            return self._held.holes()

    def seq_count(self) -> int:
        """Distinct packet seqs held (committed)."""
        with self._lock:
            return len(self._held)

    def last_seq(self) -> int:
        """The highest seq held (committed), 0 if none."""
        with self._lock:
            return self._held.highest()

    # --------------------------------------------------------------------------------------- queries
    def channels(self) -> list[str]:
        """Every channel name that has ever had a sample, sorted."""
        with self._lock:
            return sorted(self._channel_ids)

    def query(self, channel: str, t0: float, t1: float) -> list[tuple[float, Any]]:
        """``(t, value)`` samples of ``channel`` with ``t0 <= t <= t1`` (epoch s), in time order; [] for a
        channel never recorded."""
        with self._lock:
            self.flush()
            cid = self._channel_ids.get(channel)
            kind = self._channel_types.get(channel)
        if cid is None:
            return []
        rows = self._read(QUERY_SAMPLES, (cid, float(t0), float(t1)))
        if kind == "bool":
            return [(t, bool(v)) for t, v in rows]
        return rows

    def events(
        self,
        *,
        t0: float | None = None,
        t1: float | None = None,
        min_severity: str | None = None,
        text: str | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """The latest ``limit`` events matching every filter given, oldest first.

        ``min_severity`` is a severity name (debug … critical); ``text`` matches source, name or message
        (case-insensitive substring).
        """
        sql, params = events_sql(t0=t0, t1=t1, min_severity=min_severity, text=text, limit=limit)
        with self._lock:
            self.flush()
        return event_records(self._read(sql, params))

    def command_history(self, limit: int = 1000) -> list[dict[str, Any]]:
        """The latest ``limit`` commands, oldest first, each with every stage it reported (in order)."""
        with self._lock:
            self.flush()
        with self._read_lock:
            commands = self._read_unlocked(COMMANDS_SQL, (max(0, int(limit)),))
            ids = [row[0] for row in commands]
            stage_rows: list[tuple[Any, ...]] = []
            for start in range(0, len(ids), STAGE_CHUNK):
                chunk = tuple(ids[start : start + STAGE_CHUNK])
                stage_rows.extend(self._read_unlocked(stages_sql(len(chunk)), chunk))
        return command_records(commands, stage_rows)

    def link_stats(self, t0: float, t1: float) -> list[tuple[float, dict[str, Any]]]:
        """Link statistics snapshots with ``t0 <= t <= t1`` (epoch s), in time order."""
        with self._lock:
            self.flush()
        rows = self._read("SELECT t, stats FROM link_stats WHERE t >= ? AND t <= ? ORDER BY t", (t0, t1))
        return [(t, json.loads(s)) for t, s in rows]

    def alarm_journal(self, *, name: str | None = None, limit: int = 1000) -> list[tuple[float, str, dict[str, Any]]]:
        """The latest ``limit`` alarm changes (of alarm ``name`` if given), oldest first: ``(t, name, state)``."""
        with self._lock:
            self.flush()
        where, params = ("WHERE name = ?", (str(name),)) if name is not None else ("", ())
        rows = self._read(
            f"SELECT t, name, state FROM alarm_journal {where} ORDER BY rowid DESC LIMIT ?",
            (*params, max(0, int(limit))),
        )
        return [(t, n, json.loads(state)) for t, n, state in reversed(rows)]

    def export_csv(self, channels: list[str], t0: float, t1: float, path: str | Path) -> int:
        """Write samples of ``channels`` with ``t0 <= t <= t1`` to ``path`` as CSV (``t,channel,value``, time
        order); returns the data rows written. Raises :class:`UnknownChannel` for a channel never recorded."""
        with self._lock:
            self.flush()
            if not channels:
                raise ArchiveError("export: expected at least one channel, found none")
            for name in channels:
                if name not in self._channel_ids:
                    where = f"the archive {str(self.path)!r} ({len(self._channel_ids)} channels recorded)"
                    raise UnknownChannel(name, where)
            ids = {self._channel_ids[name]: name for name in dict.fromkeys(channels)}
            bools = {cid for cid, name in ids.items() if self._channel_types.get(name) == "bool"}
            marks = ",".join("?" * len(ids))
            sql = (
                f"SELECT t, channel_id, value FROM samples WHERE channel_id IN ({marks}) AND t >= ? AND t <= ? "
                "ORDER BY t, channel_id"
            )
        count = 0
        with self._read_lock:
            self._check_open()
            try:
                with open(path, "w", newline="", encoding="utf-8") as handle:
                    writer = csv.writer(handle)
                    writer.writerow(["t", "channel", "value"])
                    for t, cid, value in self._reader.execute(sql, (*ids, float(t0), float(t1))):
                        writer.writerow([repr(t), ids[cid], bool(value) if cid in bools else value])
                        count += 1
            except OSError as exc:
                raise ArchiveError(f"cannot write CSV to {str(path)!r}: {exc}") from exc
            except sqlite3.Error as exc:
                raise ArchiveError(f"archive {str(self.path)!r}: export failed: {exc}") from exc
        _LOGGER.info("exported %d rows of %s to %s", count, ", ".join(channels), path)
        return count

    def _read(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._read_lock:
            return self._read_unlocked(sql, params)

    def _read_unlocked(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        self._check_open()
        try:
            return self._reader.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise ArchiveError(f"archive {str(self.path)!r}: query failed: {exc}") from exc

    # ------------------------------------------------------------------------------------- retention
    def apply_retention(self, now: float) -> int:
        """Drop samples, events, commands, link statistics and alarm changes older than ``retention_days``
        before ``now`` (epoch s), and the oldest past ``max_bytes``; returns the rows removed (0 when retention
        is off). Packet seqs are kept, so old packets retransmitted later are still recognised as held."""
        if not (self.retention_days > 0 or self.max_bytes > 0):
            return 0
        cutoff = float(now) - self.retention_days * SECONDS_PER_DAY if self.retention_days > 0 else -math.inf
        with self._lock:
            self.flush()
            conn = self._conn
            try:
                conn.execute("BEGIN")
                removed = trim(conn, cutoff, self.max_bytes)
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise ArchiveError(f"archive {str(self.path)!r}: retention failed: {exc}") from exc
        _LOGGER.info("retention: %d rows removed (%.1f d, %d bytes cap)", removed, self.retention_days, self.max_bytes)
        return removed

    # ------------------------------------------------------------------------------------------ life
    def _check_open(self) -> None:
        if self._closed:
            raise ArchiveError(f"archive {str(self.path)!r} is closed")

    def close(self) -> None:
        """Flush what is buffered and close the file (a second call does nothing)."""
        with self._lock:
            if self._closed:
                return
            try:
                self.flush()
            finally:
                self._closed = True
                self._conn.close()
                with self._read_lock:
                    self._reader.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _check_settings(retention_days: Any, batch_rows: Any, max_bytes: Any) -> None:
    """Raise ArchiveError naming the first setting out of its range."""
    if not (isinstance(retention_days, int | float) and retention_days >= 0 and math.isfinite(retention_days)):
        raise ArchiveError(f"retention_days: expected a finite number >= 0 (0 = keep all), found {retention_days!r}")
    if not (isinstance(batch_rows, int) and batch_rows >= 1):
        raise ArchiveError(f"batch_rows: expected an integer >= 1, found {batch_rows!r}")
    if not (isinstance(max_bytes, int) and max_bytes >= 0):
        raise ArchiveError(f"max_bytes: expected an integer >= 0 (0 = no size cap), found {max_bytes!r}")


def _storable(value: Any) -> Any:
    if value is None or isinstance(value, int | float | str | bytes):
        return value
    return json.dumps(value, default=str)


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def checked_samples(seq: Any, samples: Any) -> list[tuple[str, float, Any]]:
    """The samples of telemetry packet ``seq`` as a list, or :class:`ArchiveError` naming the first bad one."""
    try:
        items = list(samples)
    except TypeError:
        raise ArchiveError(f"telemetry packet {seq!r}: expected a list of samples, found {samples!r}") from None
    for item in items:
        if not (isinstance(item, tuple | list) and len(item) == 3 and isinstance(item[0], str)):
            raise ArchiveError(f"telemetry packet {seq!r}: expected (channel, t, value) samples, found {item!r}")
        if not isinstance(item[1], int | float) or isinstance(item[1], bool):
            raise ArchiveError(
                f"telemetry packet {seq!r}: time of {item[0]!r}: expected epoch seconds, found {item[1]!r}"
            )
    return items


def latest_values(archive: Archive) -> dict[str, tuple[Any, float]]:
    """channel → ``(value, t epoch s)`` of its newest sample in ``archive``, for every channel (one indexed
    look-up each): what a hub restarted or a view opened late shows at once."""
    with archive._lock:
        archive.flush()
        kinds = dict(archive._channel_types)
    rows = archive._read(
        "SELECT c.name, s.t, s.value FROM channels c JOIN samples s ON s.rowid = "
        "(SELECT rowid FROM samples WHERE channel_id = c.id ORDER BY t DESC LIMIT 1)",
        (),
    )
    return {name: ((bool(v) if kinds.get(name) == "bool" else v), float(t)) for name, t, v in rows}
