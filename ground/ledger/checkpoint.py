"""Signed checkpoints (C2SP tlog-checkpoint as a C2SP signed-note) and witness cosignatures
(C2SP tlog-cosignature, Ed25519 ``cosignature/v1``).

A checkpoint body is three lines: the log's origin, the tree size in decimal and the base64 root hash.
The log signs the body with its Ed25519 key; a witness (a partner that checked the checkpoint is
consistent with every earlier one it saw) adds a cosignature line: key id (type 0x04) followed by an
8-byte big-endian POSIX timestamp and an Ed25519 signature over ``cosignature/v1\\ntime T\\n`` + body.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from dataclasses import dataclass

from ground.errors import LedgerError
from link.errors import NoteError
from link.note import ALG_COSIGNATURE, NoteSignature, Signer, Verifier, format_note, split_note

__all__ = ["Checkpoint", "Cosignature", "cosign", "open_checkpoint", "sign_checkpoint", "witnesses"]

_SIZE = re.compile(r"^(0|[1-9][0-9]{0,19})$")


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: the log's ``origin``, its ``size`` (leaves) and 32-byte ``root`` hash."""

    origin: str
    size: int
    root: bytes

    @property
    def body(self) -> str:
        """The note body: three newline-terminated lines."""
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        """A checkpoint from its note body; :class:`LedgerError` says which line is wrong."""
        lines = body.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise LedgerError("checkpoint: expected origin, size and root hash lines, each ending in a newline")
        origin, size, root = lines[:3]
        if not origin:
            raise LedgerError("checkpoint: expected a non-empty origin line")
        if not _SIZE.match(size):
            raise LedgerError(f"checkpoint: size line {size[:30]!r}: expected a decimal without leading zeros")
        try:
            raw = base64.b64decode(root, validate=True)
        except binascii.Error as exc:
            raise LedgerError(f"checkpoint: root hash line is not base64: {exc}") from exc
        if len(raw) != 32:
            raise LedgerError(f"checkpoint: root hash: expected 32 bytes, found {len(raw)}")
        return cls(origin, int(size), raw)


@dataclass(frozen=True)
class Cosignature:
    """A verified witness cosignature: the witness ``name`` and the POSIX ``time`` it signed at."""

    name: str
    time: int


def sign_checkpoint(checkpoint: Checkpoint, log: Signer) -> str:
    """The signed note of ``checkpoint``, signed by the log key (its name must be the origin)."""
    body = checkpoint.body
    signature = NoteSignature(log.name, log.key_id, log.sign(body.encode()))
    return format_note(body, [signature])


def open_checkpoint(note: str, log: Verifier) -> tuple[Checkpoint, list[NoteSignature]]:
    """The checkpoint in ``note`` if the log key signed it, and every signature line (cosignatures too).

    :class:`LedgerError` says what is wrong: malformed, origin not the log key's name, no or a bad log signature.
    """
    try:
        body, signatures = split_note(note)
    except NoteError as exc:
        raise LedgerError(f"checkpoint: {exc}") from exc
    checkpoint = Checkpoint.parse(body)
    if checkpoint.origin != log.name:
        raise LedgerError(f"checkpoint: origin {checkpoint.origin!r} is not the log key's name {log.name!r}")
    mine = [s for s in signatures if s.name == log.name and s.key_id == log.key_id]
    if not mine:
        raise LedgerError(f"checkpoint: no signature by the log key {log.name} ({log.key_id.hex()})")
    if not any(log.check(body.encode(), s.signature) for s in mine):
        raise LedgerError(f"checkpoint: the signature by the log key {log.name} does not verify (altered?)")
    return checkpoint, signatures


def _cosigned_message(body: str, t: int) -> bytes:
    return f"cosignature/v1\ntime {t}\n{body}".encode()


def cosign(note: str, log: Verifier, witness: Signer, t: int) -> str:
    """``note`` with a cosignature by ``witness`` at POSIX time ``t`` added (the log's signature checked first).

    The caller has checked the checkpoint is consistent with the ones it saw before (the witness's promise).
    """
    if witness.alg != ALG_COSIGNATURE:
        raise LedgerError(f"witness key {witness.name!r}: expected a cosignature key (type 0x04)")
    if not 0 <= t < 2**63:
        raise LedgerError(f"cosignature time {t}: expected 0 <= t < 2**63")
    checkpoint, signatures = open_checkpoint(note, log)
    body = checkpoint.body
    stamp = struct.pack(">Q", t)
    line = NoteSignature(witness.name, witness.key_id, stamp + witness.sign(_cosigned_message(body, t)))
    kept = [s for s in signatures if not (s.name == witness.name and s.key_id == witness.key_id)]
    return format_note(body, [*kept, line])


def witnesses(note: str, log: Verifier, known: list[Verifier]) -> list[Cosignature]:
    """The cosignatures on ``note`` by the ``known`` witness keys that verify (others are ignored)."""
    checkpoint, signatures = open_checkpoint(note, log)
    body = checkpoint.body
    found = []
    for key in known:
        for sig in signatures:
            if sig.name != key.name or sig.key_id != key.key_id or len(sig.signature) != 72:
                continue
            (t,) = struct.unpack(">Q", sig.signature[:8])
            if key.check(_cosigned_message(body, t), sig.signature[8:]):
                found.append(Cosignature(key.name, t))
    return found


def unverified_cosigners(note: str, log: Verifier) -> list[str]:
    """Names on every signature line but the log's (cosigners, whether or not their keys are known)."""
    _, signatures = open_checkpoint(note, log)
    return [s.name for s in signatures if not (s.name == log.name and s.key_id == log.key_id)]
