"""Ground archive metrics: ingest rate and one-channel query time, each against raw SQLite on the same
schema, file settings (WAL, synchronous=FULL) and commit size, in the same run."""

from __future__ import annotations

import logging
import math
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.errors import MeasurementError
from bench.registry import Result, RunOptions, metric
from bench.stats import median
from ground.archive import INSERT_SAMPLES, QUERY_SAMPLES, Archive, open_database

_LOGGER = logging.getLogger(__name__)

#: Samples per telemetry packet (a 10 Hz telemetry tick of a 100-channel rover).
PACKET_SAMPLES = 100
#: Samples per commit: the archive's default batch, used by both cases.
BATCH_ROWS = 5000
T0 = 1_893_456_000.0
#: The query metric's workload: one hour at 100 Hz.
QUERY_SPAN_S = 3600.0
QUERY_RATE_HZ = 100.0


def _packets(rows: int) -> list[tuple[int, list[tuple[str, float, float]]]]:
    packets = []
    for seq in range(1, rows // PACKET_SAMPLES + 1):
        t = T0 + seq * 0.1
        packets.append((seq, [(f"ch{k:03d}", t, seq * 0.5 + k) for k in range(PACKET_SAMPLES)]))
    return packets


def _project_insert(path: Path, packets: list[tuple[int, list[tuple[str, float, float]]]]) -> float:
    """Wall seconds for Archive ingest of every packet and the final commit."""
    archive = Archive(path, batch_rows=BATCH_ROWS)
    try:
        start = time.perf_counter()
        for seq, samples in packets:
            archive.ingest_telemetry(seq, samples)
        archive.flush()
        elapsed = time.perf_counter() - start
    finally:
        archive.close()
    return elapsed


def _raw_insert(path: Path, rows: list[tuple[int, float, float, int]]) -> float:
    """Wall seconds for executemany of prepared rows into the same schema, committing every BATCH_ROWS."""
    conn = open_database(path)
    conn.executemany(
        "INSERT INTO channels (id, name, type) VALUES (?, ?, 'float')",
        [(k + 1, f"ch{k:03d}") for k in range(PACKET_SAMPLES)],
    )
    try:
        start = time.perf_counter()
        for i in range(0, len(rows), BATCH_ROWS):
            conn.execute("BEGIN")
            conn.executemany(INSERT_SAMPLES, rows[i : i + BATCH_ROWS])
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - start
    finally:
        conn.close()
    return elapsed


def _count(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT COUNT(*) FROM samples").fetchone()[0]


@metric("archive_insert_x_raw", unit="x", target=">= 0.5")
def archive_insert_x_raw(options: RunOptions) -> Result:
    """Archive ingest (packets of 100 samples through Archive.ingest_telemetry, commits of 5,000 rows)
    in rows/s, divided by raw sqlite3 executemany of ready-made rows into the same schema with the same
    commit size and file settings. Medians of interleaved repeats."""
    total = options.pick(full=200_000, quick=50_000)
    repeats = options.pick(full=5, quick=3)
    packets = _packets(total)
    rows = [(int(c[2:]) + 1, t, v, seq) for seq, samples in packets for c, t, v in samples]
    project_rates: list[float] = []
    raw_rates: list[float] = []
    with tempfile.TemporaryDirectory(prefix="isru-bench-archive-") as tmp:
        for run in range(repeats + 1):  # the first pair warms the caches and is not counted
            cases: list[tuple[str, Callable[[Path], float]]] = [
                ("project", lambda p: _project_insert(p, packets)),
                ("raw", lambda p: _raw_insert(p, rows)),
            ]
            if run % 2:
                cases.reverse()
            for name, case in cases:
                path = Path(tmp) / f"{name}-{run}.db"
                seconds = case(path)
                if _count(path) != len(rows):
                    raise MeasurementError(f"{name} insert wrote {_count(path)} rows; expected {len(rows)}")
                if run:
                    (project_rates if name == "project" else raw_rates).append(len(rows) / seconds)
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
    project, raw = median(project_rates), median(raw_rates)
    _LOGGER.info("archive insert: project %.0f rows/s, raw %.0f rows/s", project, raw)
    return Result(
        value=project / raw,
        raw=raw,
        raw_unit="rows/s",
        ratio=project / raw,
        extra={"project_rows_per_s": round(project), "rows": len(rows), "repeats": repeats},
    )


@metric("archive_query_x_raw", unit="x", target="<= 2.0")
def archive_query_x_raw(options: RunOptions) -> Result:
    """Wall time of Archive.query for one channel over one hour at 100 Hz (360,000 samples, among other
    channels at the same rate), divided by the same indexed SELECT ... fetchall on a raw sqlite3
    connection to the same file. Medians of interleaved repeats."""
    channels = options.pick(full=3, quick=2)
    repeats = options.pick(full=7, quick=3)
    per_channel = int(QUERY_SPAN_S * QUERY_RATE_HZ)
    dt = 1.0 / QUERY_RATE_HZ
    with tempfile.TemporaryDirectory(prefix="isru-bench-archive-") as tmp:
        path = Path(tmp) / "query.db"
        archive = Archive(path, batch_rows=50_000)
        try:
            step = 100  # samples per channel per packet
            for seq, first in enumerate(range(0, per_channel, step), start=1):
                archive.ingest_telemetry(
                    seq,
                    [
                        (f"ch{k}", T0 + i * dt, math.sin(i * dt) + k)
                        for i in range(first, first + step)
                        for k in range(channels)
                    ],
                )
            archive.flush()
            t0, t1 = T0, T0 + QUERY_SPAN_S
            raw_conn = sqlite3.connect(path)
            try:
                cid = raw_conn.execute("SELECT id FROM channels WHERE name = 'ch0'").fetchone()[0]
                project_s: list[float] = []
                raw_s: list[float] = []
                for run in range(repeats + 1):
                    cases = [
                        ("project", lambda: archive.query("ch0", t0, t1)),
                        ("raw", lambda: raw_conn.execute(QUERY_SAMPLES, (cid, t0, t1)).fetchall()),
                    ]
                    if run % 2:
                        cases.reverse()
                    for name, case in cases:
                        start = time.perf_counter()
                        got = case()
                        seconds = time.perf_counter() - start
                        if len(got) != per_channel:
                            raise MeasurementError(f"{name} query returned {len(got)} rows; expected {per_channel}")
                        if run:
                            (project_s if name == "project" else raw_s).append(seconds)
            finally:
                raw_conn.close()
        finally:
            archive.close()
    project, raw = median(project_s), median(raw_s)
    _LOGGER.info("archive query: project %.1f ms, raw %.1f ms", project * 1e3, raw * 1e3)
    return Result(
        value=project / raw,
        raw=raw * 1e3,
        raw_unit="ms",
        ratio=project / raw,
        extra={"project_ms": round(project * 1e3, 2), "rows": per_channel, "channels": channels, "repeats": repeats},
    )
