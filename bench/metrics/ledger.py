"""Resource-ledger metrics (docs/ledger.md): appending to the ground log, verifying a million-record log's
checkpoint and one inclusion proof, and the size of a year's bundle. Records are real signed records
(:func:`link.record.sign_record`) of the size flight makes."""

from __future__ import annotations

import logging
import random
import sqlite3
import tempfile
import time
from pathlib import Path

from base.clock import VirtualClock
from bench.errors import MeasurementError
from bench.registry import Result, RunOptions, metric
from bench.stats import median
from ground.ledger.bundle import export_bundle, verify_bundle
from ground.ledger.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from ground.ledger.log import LedgerLog
from ground.ledger.merkle import MerkleTree, leaf_hash, verify_inclusion
from link.note import Signer, generate
from link.record import sign_record, verify_record

_LOGGER = logging.getLogger(__name__)

T0 = 1_893_456_000.0
#: Records per append transaction in the append metric (a pass after a loss of signal delivers many at once).
APPEND_BATCH = 1000
#: A year of operations at 20 cycles a day.
YEAR_RECORDS = 20 * 365


def _records(n: int, rover: Signer) -> list[bytes]:
    """``n`` signed records shaped as flight makes them (one cycle every 72 minutes)."""
    leaves = []
    for i in range(n):
        fields = {
            "v": 1,
            "rover": "sim-rover",
            "licence": "LIC-2030-001",
            "cycle": i + 1,
            "site": i % 5,
            "pose": [20.0316 + i % 7, -4.1694, 2.163],
            "start_t": T0 + i * 4320.0,
            "end_t": T0 + i * 4320.0 + 4000.0,
            "regolith_kg": 3.261304,
            "water_kg": 0.183689,
            "energy_Wh": 400.0,
            "evidence_sha256": f"{i:064x}",
            "evidence_events": [i * 300 + 1, i * 300 + 299],
        }
        leaves.append(sign_record(fields, rover))
    return leaves


def _raw_append(path: Path, leaves: list[bytes]) -> float:
    """Wall seconds for executemany of (index, leaf, leaf hash) into the same table and file settings."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE leaves (idx INTEGER PRIMARY KEY, leaf BLOB NOT NULL, hash BLOB NOT NULL UNIQUE, t REAL)")
    start = time.perf_counter()
    for i in range(0, len(leaves), APPEND_BATCH):
        rows = [(i + k, leaf, leaf_hash(leaf), T0) for k, leaf in enumerate(leaves[i : i + APPEND_BATCH])]
        db.execute("BEGIN")
        db.executemany("INSERT INTO leaves VALUES (?, ?, ?, ?)", rows)
        db.execute("COMMIT")
    elapsed = time.perf_counter() - start
    db.close()
    return elapsed


def _project_append(path: Path, leaves: list[bytes], key: Signer) -> float:
    """Wall seconds for LedgerLog.append_many in batches, a signed checkpoint after each batch."""
    log = LedgerLog(path, key, VirtualClock())
    start = time.perf_counter()
    for i in range(0, len(leaves), APPEND_BATCH):
        log.append_many(leaves[i : i + APPEND_BATCH])
        log.checkpoint()
    elapsed = time.perf_counter() - start
    if log.size != len(leaves):
        raise MeasurementError(f"the log holds {log.size} records; expected {len(leaves)}")
    log.close()
    return elapsed


@metric("ledger_append_per_s", unit="records/s", target=">= 10000")
def ledger_append_per_s(options: RunOptions) -> Result:
    """Records appended to the ground log per second: LedgerLog.append_many in batches of 1,000 signed
    records (~560 bytes), one transaction each (WAL, synchronous=FULL), a signed checkpoint after each
    batch. Raw: executemany of the same rows into the same table and file settings. Medians of repeats."""
    n = options.pick(full=20_000, quick=5_000)
    repeats = options.pick(full=3, quick=1)
    leaves = _records(n, generate("isru-rover"))
    key = generate("isru-ground/ledger")
    project, raw = [], []
    with tempfile.TemporaryDirectory(prefix="isru-bench-ledger-") as tmp:
        for run in range(repeats):
            project.append(n / _project_append(Path(tmp) / f"log-{run}.sqlite", leaves, key))
            raw.append(n / _raw_append(Path(tmp) / f"raw-{run}.sqlite", leaves))
    value, limit = median(project), median(raw)
    _LOGGER.info("ledger append: %.0f records/s (raw %.0f)", value, limit)
    return Result(
        value=value,
        raw=limit,
        raw_unit="records/s",
        ratio=value / limit,
        extra={"records": n, "batch": APPEND_BATCH, "repeats": repeats},
    )


@metric("ledger_verify_1m_s", unit="s", target="<= 1.0")
def ledger_verify_1m_s(options: RunOptions) -> Result:
    """Seconds to verify, as a partner does, a 1,000,000-record log's signed checkpoint (note parsing,
    Ed25519) plus one random record: its rover signature and its inclusion proof against the checkpoint.
    Median of 50 random records; building the tree is not timed."""
    n = 1_000_000
    rover, key = generate("isru-rover"), generate("isru-ground/ledger")
    sample = _records(64, rover)
    tree = MerkleTree(leaf_hash(sample[i % 64]) for i in range(n))  # leaf i is record i % 64
    note = sign_checkpoint(Checkpoint(key.name, n, tree.root()), key)
    rng = random.Random(1)
    times = []
    for _ in range(50):
        index = rng.randrange(n)
        leaf, proof = sample[index % 64], tree.inclusion_proof(index)
        start = time.perf_counter()
        head, _ = open_checkpoint(note, key.verifier)
        verify_record(leaf, rover.verifier)
        ok = verify_inclusion(leaf_hash(leaf), index, head.size, proof, head.root)
        times.append(time.perf_counter() - start)
        if not ok:
            raise MeasurementError(f"the inclusion proof of record {index} did not verify")
    value = median(times)
    _LOGGER.info("ledger verify: %.6f s for checkpoint + one inclusion proof of %d", value, n)
    return Result(value=value, extra={"records": n, "proof_hashes": len(proof), "verify_us": round(value * 1e6, 1)})


@metric("ledger_bundle_year_mb", unit="MB", target="<= 50")
def ledger_bundle_year_mb(options: RunOptions) -> Result:
    """Size in MB (10^6 bytes, file contents) of the bundle of a year at 20 cycles a day (7,300 records), with
    a signed checkpoint after every record as the hub signs them, every proof and the keys; the bundle is
    verified before it is measured. A quick run builds a quarter of the year and multiplies its size by 4
    (proofs grow with log n, so this slightly under-estimates; the full run measures the whole year)."""
    rover, key = generate("isru-rover"), generate("isru-ground/ledger")
    scale = options.pick(full=1, quick=4)
    leaves = _records(YEAR_RECORDS // scale, rover)
    with tempfile.TemporaryDirectory(prefix="isru-bench-ledger-") as tmp:
        log = LedgerLog(Path(tmp) / "ledger.sqlite", key, VirtualClock())
        log.append_many(leaves[:1])
        for leaf in leaves[1:]:
            log.checkpoint()
            log.append_many([leaf])
        bundle = export_bundle(log, Path(tmp) / "bundle", rover.verifier)
        log.close()
        report = verify_bundle(bundle)
        if not report.ok:
            raise MeasurementError(f"the year's bundle does not verify: {report.problems[0]}")
        size = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file())
    return Result(
        value=size * scale / 1e6, extra={"records": len(leaves), "checkpoints": report.checkpoints, "scaled_x": scale}
    )
