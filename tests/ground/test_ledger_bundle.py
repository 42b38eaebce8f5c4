"""``isru ledger export / verify``: a bundle verifies offline, and every kind of tampering is caught and named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from base.clock import VirtualClock
from ground.ledger.bundle import export_bundle, verify_bundle
from ground.ledger.log import LedgerLog
from isru.cli import main
from link.note import generate
from link.record import sign_record
from tests.support.ledger_support import filled_log, signed_records

N = 8


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    log, rover = filled_log(tmp_path / "ledger.sqlite", N)
    try:
        export_bundle(log, tmp_path / "bundle", rover.verifier)
    finally:
        log.close()
    return tmp_path / "bundle"


def _lines(bundle: Path) -> list[bytes]:
    return (bundle / "records.jsonl").read_bytes().split(b"\n")[:-1]


def _write(bundle: Path, lines: list[bytes]) -> None:
    (bundle / "records.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))


def test_an_exported_bundle_verifies_with_the_cli(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert sorted(p.name for p in bundle.iterdir()) == ["checkpoint", "checkpoints", "keys", "proofs", "records.jsonl"]
    assert len(list((bundle / "checkpoints").iterdir())) == N - 1
    report = verify_bundle(bundle)
    assert report.ok and report.records == N and report.checkpoints == N
    assert main(["ledger", "verify", str(bundle), "--rover-key", str(bundle / "keys" / "rover.vkey")]) == 0
    assert f"OK {N} record(s)" in capsys.readouterr().out


def test_a_flipped_byte_is_caught_on_its_line(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = _lines(bundle)
    lines[2] = lines[2].replace(b'"site":', b'"site":1', 1)
    _write(bundle, lines)
    assert main(["ledger", "verify", str(bundle)]) == 1
    out = capsys.readouterr().out
    assert "FAIL records.jsonl line 3: " in out
    assert "line 3: not the leaf the log holds at index 2" in out
    assert "line 2" not in out and "line 4" not in out


def test_a_dropped_record_is_caught_and_named(bundle: Path) -> None:
    lines = _lines(bundle)
    del lines[4]
    _write(bundle, lines)
    problems = verify_bundle(bundle).problems
    assert f"records.jsonl: {N - 1} records, but the checkpoint covers {N} (records added or dropped)" in problems
    assert any(p.startswith("records.jsonl line 5: not the leaf the log holds at index 4") for p in problems)
    assert not any("line 4:" in p for p in problems)


def test_two_swapped_records_are_both_named(bundle: Path) -> None:
    lines = _lines(bundle)
    lines[1], lines[5] = lines[5], lines[1]
    _write(bundle, lines)
    named = {p.split(":")[0] for p in verify_bundle(bundle).problems if p.startswith("records.jsonl line")}
    assert named == {"records.jsonl line 2", "records.jsonl line 6"}


def test_a_forked_checkpoint_is_caught(tmp_path: Path) -> None:
    # The same log key signs a second history of the same length: a split view shown to one partner.
    log_key = generate("test-ground/ledger")
    log, rover = filled_log(tmp_path / "a.sqlite", 3, log_key=log_key)
    honest = tmp_path / "honest"
    export_bundle(log, honest, rover.verifier)
    log.close()
    fork = LedgerLog(tmp_path / "b.sqlite", log_key, VirtualClock())
    fork.append_many(signed_records(4, rover)[1:])  # other records: another history under the same key
    (honest / "checkpoints" / "3").write_text(fork.checkpoint())
    fork.close()
    problems = verify_bundle(honest).problems
    assert "checkpoints/3: a second root for size 3: the log forked" in problems
    assert "checkpoints/3: its root is not that of records 1..3: the history was rewritten or forked" in problems


def test_a_record_signed_with_another_key_is_caught(tmp_path: Path) -> None:
    rover, impostor = generate("isru-rover"), generate("isru-rover")
    leaves = signed_records(4, rover)
    leaves[2] = sign_record(json.loads(leaves[2]), impostor)
    log = LedgerLog(tmp_path / "ledger.sqlite", generate("test-ground/ledger"), VirtualClock())
    log.append_many(leaves)
    export_bundle(log, tmp_path / "bundle", rover.verifier)
    log.close()
    problems = verify_bundle(tmp_path / "bundle").problems
    assert len(problems) == 1 and problems[0].startswith("records.jsonl line 3: signed by key ")
    assert "expected the rover key isru-rover" in problems[0]


def test_an_altered_checkpoint_or_a_wrong_log_key_is_caught(bundle: Path, tmp_path: Path) -> None:
    note = (bundle / "checkpoint").read_text()
    (bundle / "checkpoint").write_text(note.replace(f"\n{N}\n", f"\n{N + 1}\n", 1))
    assert verify_bundle(bundle).problems == [
        "checkpoint: checkpoint: the signature by the log key test-ground/ledger does not verify (altered?)"
    ]
    (bundle / "checkpoint").write_text(note)
    other = tmp_path / "other.vkey"
    other.write_text(generate("test-ground/ledger").verifier.vkey)
    problems = verify_bundle(bundle, log_key=other).problems
    assert problems[0].startswith("checkpoint: checkpoint: no signature by the log key")


def test_a_tampered_proof_is_named(bundle: Path) -> None:
    text = (bundle / "proofs" / "consistency.jsonl").read_text().splitlines()
    first = text[3]
    head, _, tail = first.partition('"path":["')
    text[3] = head + '"path":["' + ("A" if tail[0] != "A" else "B") + tail[1:]
    (bundle / "proofs" / "consistency.jsonl").write_text("\n".join(text) + "\n")
    problems = verify_bundle(bundle).problems
    assert problems == ["checkpoints/4: not consistent with checkpoint 5 (the log forked)"]


def test_a_bundle_copied_whole_still_verifies(bundle: Path, tmp_path: Path) -> None:
    shutil.copytree(bundle, tmp_path / "copy")
    assert verify_bundle(tmp_path / "copy").ok
