"""Extraction records: what the rover signs for each cycle's extraction, and how anyone checks it.

A record is one JSON object (docs/ledger.md lists the fields and units). Its *leaf bytes* — what the ground
log hashes and what a bundle's ``records.jsonl`` holds on one line — are the canonical JSON of the whole
signed record: keys sorted, no spaces, ASCII only, finite numbers. The signature (field ``sig``, base64) is
Ed25519 over ``DOMAIN`` followed by the canonical JSON of every other field, by the rover key named in
``key`` (its signed-note verifier key id, 8 hex digits).

The record travels from flight to ground inside an ``extraction_record`` event (``data.leaf``: the leaf
text), so the spool keeps it until ground has archived it.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Mapping
from typing import Any

from link.errors import RecordError
from link.note import Signer, Verifier

__all__ = ["DOMAIN", "EVENT_NAME", "FIELDS", "canonical", "parse_leaf", "sign_record", "verify_record"]

#: Signature domain: the signed message is this followed by the canonical JSON of the unsigned record.
DOMAIN = b"isru extraction record v1\n"
#: Event (source ``ledger``) that carries a signed record to ground.
EVENT_NAME = "extraction_record"
#: Field → expected JSON type of a signed record (``sig`` and ``key`` added by signing).
FIELDS: dict[str, tuple[type, ...]] = {
    "v": (int,),
    "rover": (str,),
    "licence": (str,),
    "cycle": (int,),
    "site": (int,),
    "pose": (list,),
    "start_t": (int, float),
    "end_t": (int, float),
    "regolith_kg": (int, float),
    "water_kg": (int, float),
    "energy_Wh": (int, float),
    "evidence_sha256": (str,),
    "evidence_events": (list,),
    "key": (str,),
    "sig": (str,),
}


def canonical(value: Mapping[str, Any]) -> bytes:
    """The canonical JSON bytes of ``value`` (sorted keys, no spaces, ASCII, no NaN or infinity)."""
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise RecordError(f"record: expected JSON values (finite numbers, str, lists, maps): {exc}") from exc


def sign_record(fields: Mapping[str, Any], signer: Signer) -> bytes:
    """The leaf bytes of ``fields`` signed by ``signer`` (fields without ``key`` and ``sig``)."""
    unsigned = {**fields, "key": signer.key_id.hex()}
    unsigned.pop("sig", None)
    signature = signer.sign(DOMAIN + canonical(unsigned))
    return canonical({**unsigned, "sig": base64.b64encode(signature).decode()})


def parse_leaf(leaf: bytes) -> dict[str, Any]:
    """The record in ``leaf`` bytes, checked for shape (not signature); :class:`RecordError` names the field."""
    try:
        record = json.loads(leaf.decode("ascii"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RecordError(f"not a JSON record: {exc}") from exc
    if not isinstance(record, dict):
        raise RecordError(f"expected a JSON object, found {type(record).__name__}")
    for name, types in FIELDS.items():
        value = record.get(name)
        if value is None or isinstance(value, bool) or not isinstance(value, types):
            wanted = " or ".join(t.__name__ for t in types)
            raise RecordError(f"field {name!r}: expected {wanted}, found {value!r}"[:160])
        if isinstance(value, float) and not math.isfinite(value):
            raise RecordError(f"field {name!r}: expected a finite number, found {value!r}")
    extra = set(record) - set(FIELDS)
    if extra:
        raise RecordError(f"unexpected fields {sorted(extra)}; expected only {sorted(FIELDS)}")
    if canonical(record) != leaf:
        raise RecordError("not in canonical form (sorted keys, no spaces, ASCII): the bytes were altered")
    return record


def verify_record(leaf: bytes, rover: Verifier) -> dict[str, Any]:
    """The record in ``leaf`` if its signature by ``rover`` verifies; otherwise :class:`RecordError` says why."""
    record = parse_leaf(leaf)
    if record["key"] != rover.key_id.hex():
        raise RecordError(f"signed by key {record['key']}, expected the rover key {rover.name} ({rover.key_id.hex()})")
    try:
        signature = base64.b64decode(record["sig"], validate=True)
    except binascii.Error as exc:
        raise RecordError(f"field 'sig': not base64: {exc}") from exc
    unsigned = {k: v for k, v in record.items() if k != "sig"}
    if not rover.check(DOMAIN + canonical(unsigned), signature):
        raise RecordError(f"signature does not verify with the rover key {rover.name} ({rover.key_id.hex()})")
    return record
