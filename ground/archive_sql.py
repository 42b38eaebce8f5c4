"""The archive's SQL that needs no archive state: read queries and how their rows become records, and retention.

Kept apart from :mod:`ground.archive` (which owns the connection, the write path and the locks) so each has one
reason to change. Times are epoch seconds.
"""

from __future__ import annotations

import json
import math
import sqlite3
from typing import Any

from ground.errors import ArchiveError
from link.schema import SEVERITIES, Severity

#: Severity name → its level, for the ``level >= ?`` filter.
LEVELS = {severity.name.lower(): int(severity) for severity in Severity}
#: Command ids per ``IN (...)`` query (well under SQLite's host-parameter limit).
STAGE_CHUNK = 500
#: The latest commands, newest first (the caller reverses).
COMMANDS_SQL = (
    "SELECT id, name, source, t, stage, stage_t, reason, message FROM commands ORDER BY t DESC, rowid DESC LIMIT ?"
)


def events_sql(
    *, t0: float | None, t1: float | None, min_severity: str | None, text: str | None, limit: int
) -> tuple[str, tuple[Any, ...]]:
    """SQL and parameters of the latest ``limit`` events matching every filter given (newest first).

    ``min_severity`` is a severity name (debug … critical); ``text`` matches source, name or message
    (case-insensitive substring, LIKE wildcards escaped).
    """
    where: list[str] = []
    params: list[Any] = []
    if t0 is not None:
        where.append("t >= ?")
        params.append(float(t0))
    if t1 is not None:
        where.append("t <= ?")
        params.append(float(t1))
    if min_severity is not None:
        if min_severity not in LEVELS:
            raise ArchiveError(f"min_severity: expected one of {list(SEVERITIES)}, found {min_severity!r}")
        where.append("level >= ?")
        params.append(LEVELS[min_severity])
    if text:
        pattern = "%" + str(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append("(source LIKE ? ESCAPE '\\' OR name LIKE ? ESCAPE '\\' OR message LIKE ? ESCAPE '\\')")
        params.extend([pattern] * 3)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    sql = f"SELECT seq, t, severity, source, name, message, data FROM events {clause} ORDER BY seq DESC LIMIT ?"
    return sql, (*params, max(0, int(limit)))


def event_records(rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Event records, oldest first, from :func:`events_sql` rows (newest first)."""
    return [
        {"seq": s, "t": t, "severity": sev, "source": src, "name": n, "message": m, "data": json.loads(d)}
        for s, t, sev, src, n, m, d in reversed(rows)
    ]


def stages_sql(count: int) -> str:
    """SQL of every stage of ``count`` commands (their ids are the parameters), in the order reported."""
    marks = ",".join("?" * count)
    return (
        "SELECT command_id, t, stage, reason, message, progress FROM command_stages "
        f"WHERE command_id IN ({marks}) ORDER BY rowid"
    )


def command_records(commands: list[tuple[Any, ...]], stage_rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Command records, oldest first, each with every stage it reported, from :data:`COMMANDS_SQL` rows
    (newest first) and :func:`stages_sql` rows."""
    stages: dict[str, list[dict[str, Any]]] = {row[0]: [] for row in commands}
    for cid, t, stage, reason, message, progress in stage_rows:
        stages[cid].append({"t": t, "stage": stage, "reason": reason, "message": message, "progress": progress})
    return [
        {
            "id": i,
            "name": n,
            "source": src,
            "t": t,
            "stage": st,
            "stage_t": st_t,
            "reason": r,
            "message": m,
            "stages": stages[i],
        }
        for i, n, src, t, st, st_t, r, m in reversed(commands)
    ]


def delete_older_than(conn: sqlite3.Connection, cutoff: float) -> int:
    """Delete samples, events, commands (with their stages), link statistics and alarm changes older than
    ``cutoff`` (epoch s) inside the caller's transaction; returns the rows removed. Packet seqs are kept."""
    removed = conn.execute("DELETE FROM samples WHERE t < ?", (cutoff,)).rowcount
    removed += conn.execute("DELETE FROM events WHERE t < ?", (cutoff,)).rowcount
    old = "SELECT id FROM commands WHERE stage_t < ?"
    removed += conn.execute(f"DELETE FROM command_stages WHERE command_id IN ({old})", (cutoff,)).rowcount
    removed += conn.execute("DELETE FROM commands WHERE stage_t < ?", (cutoff,)).rowcount
    removed += conn.execute("DELETE FROM link_stats WHERE t < ?", (cutoff,)).rowcount
    removed += conn.execute("DELETE FROM alarm_journal WHERE t < ?", (cutoff,)).rowcount
    return removed


def size_cutoff(conn: sqlite3.Connection, max_bytes: int) -> float | None:
    """The sample time (epoch s) before which rows must go so the archive's used pages fall to 90 % of
    ``max_bytes``; None while it is under the cap. Used pages are ``page_count - freelist_count`` (deleted rows
    free pages that later rows reuse, so the file stops growing at about the cap)."""
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    used = (conn.execute("PRAGMA page_count").fetchone()[0] - conn.execute("PRAGMA freelist_count").fetchone()[0]) * (
        page_size
    )
    if used <= max_bytes:
        return None
    count = conn.execute("SELECT count(*) FROM samples").fetchone()[0]
    if not count:
        return None
    drop = min(count - 1, int(count * (1.0 - 0.9 * max_bytes / used)) + 1)
    row = conn.execute("SELECT t FROM samples ORDER BY t LIMIT 1 OFFSET ?", (drop,)).fetchone()
    return None if row is None else float(row[0])


def trim(conn: sqlite3.Connection, cutoff: float, max_bytes: int) -> int:
    """Inside the caller's transaction, delete rows older than ``cutoff`` (epoch s; -inf: none), then the oldest
    until the used pages are under ``max_bytes`` (0: no cap; partly emptied pages are not freed, so a few
    rounds); returns the rows removed."""
    removed = delete_older_than(conn, cutoff) if cutoff > -math.inf else 0
    for _ in range(8):
        by_size = size_cutoff(conn, max_bytes) if max_bytes > 0 else None
        if by_size is None:
            break
        removed += delete_older_than(conn, by_size)
    return removed
