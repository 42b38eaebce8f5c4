"""C2SP signed notes and the rover's extraction records: the published signed-note vectors, then records.

Vectors: golang.org/x/mod/sumdb/note (the PeterNeumann key and note, reproduced in the C2SP signed-note
spec's implementations), the C2SP signed-note example key, and a type-0x04 cosignature verifier key of
transparency-dev/formats' tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from link.errors import KeyFileError, NoteError, RecordError
from link.keys import init_keys, key_file_mode
from link.ledger_keys import init_ledger_keys, load_signer, load_verifier
from link.note import ALG_COSIGNATURE, NoteSignature, Signer, Verifier, format_note, generate, split_note
from link.record import canonical, parse_leaf, sign_record, verify_record
from tests.support.ledger_support import signed_records

PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
PETER_NOTE = (
    PETER_TEXT
    + "\n\u2014 PeterNeumann "
    + "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
COSIGNATURE_VKEY = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"


def test_the_go_note_vector_is_reproduced_byte_for_byte() -> None:
    signer = Signer.parse(PETER_SKEY)
    assert signer.verifier.vkey == PETER_VKEY
    assert signer.skey == PETER_SKEY
    note = format_note(PETER_TEXT, [NoteSignature(signer.name, signer.key_id, signer.sign(PETER_TEXT.encode()))])
    assert note == PETER_NOTE
    body, signatures = split_note(PETER_NOTE)
    assert body == PETER_TEXT and signatures[0].name == "PeterNeumann"
    assert Verifier.parse(PETER_VKEY).check(body.encode(), signatures[0].signature)


def test_published_verifier_keys_parse_and_their_key_ids_match() -> None:
    assert Verifier.parse(SPEC_VKEY).name == "example.com/foo"
    cosigner = Verifier.parse(COSIGNATURE_VKEY)
    assert cosigner.alg == ALG_COSIGNATURE and cosigner.vkey == COSIGNATURE_VKEY


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "does not match"),
        ("PeterNeumann+c74f20a3", "three parts"),
        ("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy", "0x01 or 0x04"),
        ("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", "without spaces"),
    ],
)
def test_a_mangled_verifier_key_is_refused_with_the_reason(text: str, expected: str) -> None:
    with pytest.raises(NoteError, match=expected):
        Verifier.parse(text)


def test_a_note_without_signatures_or_with_a_bad_line_is_refused() -> None:
    with pytest.raises(NoteError, match="blank line"):
        split_note(PETER_TEXT)
    with pytest.raises(NoteError, match="signature line"):
        split_note(PETER_TEXT + "\n- PeterNeumann AAAA\n")


def test_records_signed_on_the_rover_verify_and_carry_every_field() -> None:
    rover = generate("isru-rover")
    leaves = signed_records(3, rover)
    for cycle, leaf in enumerate(leaves, 1):
        record = verify_record(leaf, rover.verifier)
        assert record["cycle"] == cycle and record["licence"] == "LIC-2030-001" and record["rover"] == "test-rover"
        assert record["end_t"] - record["start_t"] == pytest.approx(7200.0)
        assert len(record["evidence_sha256"]) == 64 and len(record["pose"]) == 3
        assert canonical(json.loads(leaf)) == leaf and b"\n" not in leaf
    # each cycle's evidence differs (its own telemetry and events)
    assert len({json.loads(leaf)["evidence_sha256"] for leaf in leaves}) == 3


def test_a_record_altered_or_signed_by_another_key_is_refused_naming_why() -> None:
    rover, other = generate("isru-rover"), generate("isru-rover")
    leaf = signed_records(1, rover)[0]
    with pytest.raises(RecordError, match="expected the rover key"):
        verify_record(sign_record({k: v for k, v in json.loads(leaf).items()}, other), rover.verifier)
    tampered = leaf.replace(b'"water_kg":0.18', b'"water_kg":0.28')
    with pytest.raises(RecordError, match="signature does not verify"):
        verify_record(tampered, rover.verifier)
    with pytest.raises(RecordError, match="canonical"):
        parse_leaf(leaf.replace(b",", b", ", 1))
    with pytest.raises(RecordError, match="field 'cycle'"):
        parse_leaf(canonical({**json.loads(leaf), "cycle": "one"}))


def test_keys_init_makes_the_rover_and_log_keys_beside_the_link_certificates(tmp_path: Path) -> None:
    root = init_keys(tmp_path / "keys")
    folder = root / "ledger"
    assert key_file_mode(folder / "rover.skey") == 0o600 and key_file_mode(folder / "log.skey") == 0o600
    rover = load_signer(folder / "rover.skey")
    leaf = signed_records(1, rover)[0]
    assert verify_record(leaf, load_verifier(folder / "rover.vkey"))["cycle"] == 1
    (folder / "rover.skey").chmod(0o644)
    with pytest.raises(KeyFileError, match="expected mode 600"):
        load_signer(folder / "rover.skey")
    before = (folder / "log.vkey").read_text()
    init_ledger_keys(root)  # an existing key is kept
    assert (folder / "log.vkey").read_text() == before
