"""Ledger bundles: what ``isru ledger export`` writes and ``isru ledger verify`` checks, offline.

Layout of a bundle directory::

    records.jsonl            one leaf per line: each line's bytes (without the newline) are exactly the leaf
    checkpoint               the latest signed checkpoint (with its witnesses' cosignatures)
    checkpoints/<size>       every earlier checkpoint the log signed
    proofs/inclusion.jsonl   {"index": i, "size": N, "path": [base64 ...]} for every leaf, against the checkpoint
    proofs/consistency.jsonl {"from": m, "to": n, "path": [base64 ...]} for every consecutive pair of checkpoints
    keys/rover.vkey          the rover's record key, keys/log.vkey the log's key (signed-note verifier keys)
    keys/witnesses/*.vkey    the cosigning keys of the witnesses known to the log's operator

:func:`verify_bundle` checks every record's signature, the root of the records against the checkpoint,
every inclusion proof, every checkpoint against the records (so every pair of checkpoints is consistent)
and every consistency proof; each problem it finds names the line or the checkpoint.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

from ground.errors import LedgerError
from ground.ledger.checkpoint import Checkpoint, Cosignature, open_checkpoint, witnesses
from ground.ledger.log import LedgerLog
from ground.ledger.merkle import MerkleTree, leaf_hash, verify_consistency, verify_inclusion
from link.errors import KeyFileError, RecordError
from link.ledger_keys import load_verifier
from link.note import Verifier
from link.record import verify_record

__all__ = ["BundleReport", "export_bundle", "verify_bundle"]


def _b64(items: list[bytes]) -> list[str]:
    return [base64.b64encode(h).decode() for h in items]


def export_bundle(
    log: LedgerLog, directory: str | Path, rover: Verifier, known_witnesses: list[Verifier] | None = None
) -> Path:
    """Write the bundle of ``log`` (a new checkpoint signed first if leaves are not covered yet) to ``directory``."""
    root = Path(directory)
    latest_note = log.checkpoint()
    latest, _ = open_checkpoint(latest_note, log.verifier)
    notes = log.checkpoints()
    try:
        for sub in ("checkpoints", "proofs", "keys/witnesses"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        leaves = log.leaves(0, latest.size)
        (root / "records.jsonl").write_bytes(b"".join(leaf + b"\n" for leaf in leaves))
        (root / "checkpoint").write_text(notes[-1][1])
        for size, note, _t in notes[:-1]:
            (root / "checkpoints" / str(size)).write_text(note)
        tree = log.tree
        with (root / "proofs" / "inclusion.jsonl").open("w") as out:
            for i in range(latest.size):
                path = _b64(tree.inclusion_proof(i, latest.size))
                out.write(json.dumps({"index": i, "size": latest.size, "path": path}, separators=(",", ":")) + "\n")
        sizes = [size for size, _n, _t in notes]
        with (root / "proofs" / "consistency.jsonl").open("w") as out:
            for m, n in pairwise(sizes):
                path = _b64(tree.consistency_proof(m, n))
                out.write(json.dumps({"from": m, "to": n, "path": path}, separators=(",", ":")) + "\n")
        (root / "keys" / "rover.vkey").write_text(rover.vkey + "\n")
        (root / "keys" / "log.vkey").write_text(log.verifier.vkey + "\n")
        for witness in known_witnesses or []:
            (root / "keys" / "witnesses" / f"{witness.name.replace('/', '_')}.vkey").write_text(witness.vkey + "\n")
    except OSError as exc:
        raise LedgerError(f"{root}: cannot write the bundle: {exc}") from exc
    return root


@dataclass
class BundleReport:
    """What :func:`verify_bundle` found: records and checkpoints checked, witnesses, and every problem."""

    records: int = 0
    checkpoint: Checkpoint | None = None
    checkpoints: int = 0
    witnesses: dict[int, list[Cosignature]] = field(default_factory=dict)
    roots: dict[int, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)
    tree: MerkleTree = field(default_factory=MerkleTree)

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.problems


def _key(path: str | Path | None, default: Path, what: str, report: BundleReport) -> Verifier | None:
    try:
        return load_verifier(path if path is not None else default)
    except KeyFileError as exc:
        report.problems.append(f"{what} key: {exc}")
        return None


def _jsonl(path: Path, report: BundleReport) -> list[dict[str, Any]]:
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        report.problems.append(f"{path.parent.name}/{path.name}: cannot read: {exc}")
        return []
    items = []
    for number, line in enumerate(lines, 1):
        try:
            item = json.loads(line)
            item["path"] = [base64.b64decode(h, validate=True) for h in item["path"]]
            items.append(item)
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            report.problems.append(f"{path.parent.name}/{path.name} line {number}: malformed proof: {exc}")
    return items


def verify_bundle(
    directory: str | Path, rover_key: str | Path | None = None, log_key: str | Path | None = None
) -> BundleReport:
    """Check the bundle in ``directory`` offline; keys default to the bundle's own ``keys/``."""
    root = Path(directory)
    report = BundleReport()
    rover = _key(rover_key, root / "keys" / "rover.vkey", "rover", report)
    log = _key(log_key, root / "keys" / "log.vkey", "log", report)
    if rover is None or log is None:
        return report
    tree = report.tree = _check_records(root, rover, report)
    try:
        latest_note = (root / "checkpoint").read_text()
        latest, _ = open_checkpoint(latest_note, log)
    except (OSError, LedgerError) as exc:
        report.problems.append(f"checkpoint: {exc}")
        return report
    report.checkpoint = latest
    known = _witness_keys(root, report)
    report.witnesses[latest.size] = witnesses(latest_note, log, known)
    if latest.size != tree.size:
        report.problems.append(
            f"records.jsonl: {tree.size} records, but the checkpoint covers {latest.size} (records added or dropped)"
        )
    if latest.size <= tree.size and tree.root(latest.size) != latest.root:
        report.problems.append(f"checkpoint: the root of records 1..{latest.size} is not the checkpoint's root")
    _check_inclusion(root, tree, latest, report)
    _check_checkpoints(root, log, known, tree, latest, report)
    return report


def _check_records(root: Path, rover: Verifier, report: BundleReport) -> MerkleTree:
    tree = MerkleTree()
    try:
        data = (root / "records.jsonl").read_bytes()
    except OSError as exc:
        report.problems.append(f"records.jsonl: cannot read: {exc}")
        return tree
    if data and not data.endswith(b"\n"):
        report.problems.append("records.jsonl: the last line has no newline (truncated?)")
    lines = data.split(b"\n")[:-1] if data.endswith(b"\n") else data.split(b"\n")
    for number, leaf in enumerate(lines, 1):
        tree.append_hash(leaf_hash(leaf))
        try:
            report.entries.append(verify_record(leaf, rover))
        except RecordError as exc:
            report.entries.append({})
            report.problems.append(f"records.jsonl line {number}: {exc}")
    report.records = len(lines)
    return tree


def _check_inclusion(root: Path, tree: MerkleTree, latest: Checkpoint, report: BundleReport) -> None:
    proofs = {int(p.get("index", -1)): p for p in _jsonl(root / "proofs" / "inclusion.jsonl", report)}
    for i in range(min(tree.size, latest.size)):
        proof = proofs.get(i)
        if proof is None or int(proof.get("size", -1)) != latest.size:
            report.problems.append(f"proofs/inclusion.jsonl: no proof for records.jsonl line {i + 1} at the checkpoint")
        elif not verify_inclusion(tree.leaf(i), i, latest.size, proof["path"], latest.root):
            report.problems.append(
                f"records.jsonl line {i + 1}: not the leaf the log holds at index {i} "
                "(changed, dropped, inserted or moved)"
            )


def _witness_keys(root: Path, report: BundleReport) -> list[Verifier]:
    keys = []
    for path in sorted((root / "keys" / "witnesses").glob("*.vkey")):
        try:
            keys.append(load_verifier(path))
        except KeyFileError as exc:
            report.problems.append(f"keys/witnesses/{path.name}: {exc}")
    return keys


def _check_checkpoints(
    root: Path, log: Verifier, known: list[Verifier], tree: MerkleTree, latest: Checkpoint, report: BundleReport
) -> None:
    heads: dict[int, Checkpoint] = {latest.size: latest}
    folder = root / "checkpoints"
    paths = sorted(folder.iterdir(), key=lambda p: (len(p.name), p.name)) if folder.is_dir() else []
    for path in paths:
        name = f"checkpoints/{path.name}"
        try:
            note = path.read_text()
            head, _ = open_checkpoint(note, log)
        except (OSError, LedgerError) as exc:
            report.problems.append(f"{name}: {exc}")
            continue
        report.witnesses[head.size] = witnesses(note, log, known)
        other = heads.get(head.size)
        if other is not None and other.root != head.root:
            report.problems.append(f"{name}: a second root for size {head.size}: the log forked")
        if head.size > latest.size:
            report.problems.append(f"{name}: size {head.size} is beyond the latest checkpoint ({latest.size})")
        elif head.size <= tree.size and tree.root(head.size) != head.root:
            report.problems.append(
                f"{name}: its root is not that of records 1..{head.size}: the history was rewritten or forked"
            )
        heads.setdefault(head.size, head)
    report.checkpoints = len(heads)
    report.roots = {size: base64.b64encode(head.root).decode() for size, head in heads.items()}
    proofs = {
        (int(p.get("from", -1)), int(p.get("to", -1))): p["path"]
        for p in _jsonl(root / "proofs" / "consistency.jsonl", report)
    }
    sizes = sorted(heads)
    for m, n in pairwise(sizes):
        proof = proofs.get((m, n))
        if proof is None:
            report.problems.append(f"proofs/consistency.jsonl: no proof from checkpoint {m} to {n}")
        elif not verify_consistency(m, n, heads[m].root, heads[n].root, proof):
            report.problems.append(f"checkpoints/{m}: not consistent with checkpoint {n} (the log forked)")
