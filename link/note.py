"""C2SP signed notes with Ed25519 (https://c2sp.org/signed-note): keys, key ids, signing and verifying.

A note is UTF-8 text ending in a newline (the *body*), a blank line, then one or more signature lines::

    — <key name> base64(4-byte key id || signature)

The key id of an Ed25519 key is ``SHA-256(name || "\\n" || 0x01 || public key)[:4]``; a *verifier key*
(vkey) is ``<name>+<key id as 8 hex digits>+base64(0x01 || public key)`` and a signer key is the same with
``PRIVATE+KEY+`` in front and the 32-byte seed in place of the public key. Cosignatures
(https://c2sp.org/tlog-cosignature) use signature type 0x04 and sign ``cosignature/v1``, a ``time`` line
and the note body; :mod:`ground.ledger.checkpoint` builds them from the helpers here.

Both segments use this: the rover signs its extraction records with a key in this format and ground signs
checkpoints; ``isru ledger verify`` checks both offline. Every PyNaCl error is raised as
:class:`~link.errors.NoteError`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

import nacl.exceptions
import nacl.signing

from link.errors import NoteError

__all__ = [
    "ALG_COSIGNATURE",
    "ALG_ED25519",
    "DASH",
    "NoteSignature",
    "Signer",
    "Verifier",
    "format_note",
    "generate",
    "key_id",
    "split_note",
]

#: Signature type byte of a plain Ed25519 note signature.
ALG_ED25519 = 0x01
#: Signature type byte of an Ed25519 tlog cosignature (cosignature/v1).
ALG_COSIGNATURE = 0x04
#: The em dash (U+2014) that starts a signature line.
DASH = "\u2014"
_NAME = re.compile(r"^[^\s+]+$")


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise NoteError(f"key name {name!r}: expected a non-empty name without spaces or '+'")
    return name


def key_id(name: str, alg: int, public: bytes) -> bytes:
    """The 4-byte key id of key ``name`` with signature type ``alg`` and 32-byte ``public`` key."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([alg]) + public).digest()[:4]


@dataclass(frozen=True)
class Verifier:
    """A public key that checks note signatures: ``name``, signature type ``alg``, 32-byte ``public`` key."""

    name: str
    public: bytes
    alg: int = ALG_ED25519

    @property
    def key_id(self) -> bytes:
        """The 4-byte key id."""
        return key_id(self.name, self.alg, self.public)

    @property
    def vkey(self) -> str:
        """The verifier key text ``name+hash+base64(alg || public)``."""
        data = base64.b64encode(bytes([self.alg]) + self.public).decode()
        return f"{self.name}+{self.key_id.hex()}+{data}"

    @classmethod
    def parse(cls, text: str) -> Verifier:
        """A verifier from its vkey text; :class:`NoteError` says what part is wrong."""
        parts = text.strip().split("+", 2)
        if len(parts) != 3:
            raise NoteError(f"verifier key {text.strip()[:60]!r}: expected NAME+HASH+BASE64 (three parts)")
        name, hash_hex, data = parts
        _check_name(name)
        try:
            raw = base64.b64decode(data, validate=True)
        except binascii.Error as exc:
            raise NoteError(f"verifier key {name!r}: key data is not base64: {exc}") from exc
        if len(raw) != 33 or raw[0] not in (ALG_ED25519, ALG_COSIGNATURE):
            raise NoteError(f"verifier key {name!r}: expected 0x01 or 0x04 and a 32-byte Ed25519 key")
        verifier = cls(name, raw[1:], raw[0])
        if verifier.key_id.hex() != hash_hex.lower():
            raise NoteError(
                f"verifier key {name!r}: key id {hash_hex} does not match the key (expected {verifier.key_id.hex()})"
            )
        return verifier

    def check(self, message: bytes, signature: bytes) -> bool:
        """True if ``signature`` (64 bytes) by this key is valid over ``message``."""
        try:
            nacl.signing.VerifyKey(self.public).verify(message, signature)
        except (nacl.exceptions.BadSignatureError, nacl.exceptions.ValueError, TypeError):
            return False
        return True


class Signer:
    """A private Ed25519 key named ``name`` (signature type ``alg``)."""

    def __init__(self, name: str, seed: bytes, alg: int = ALG_ED25519) -> None:
        _check_name(name)
        if len(seed) != 32:
            raise NoteError(f"signer key {name!r}: expected a 32-byte seed, found {len(seed)} bytes")
        self.name = name
        self.alg = alg
        self._key = nacl.signing.SigningKey(seed)
        self.verifier = Verifier(name, bytes(self._key.verify_key), alg)

    @property
    def key_id(self) -> bytes:
        """The 4-byte key id."""
        return self.verifier.key_id

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of ``message``."""
        return bytes(self._key.sign(message).signature)

    @property
    def skey(self) -> str:
        """The signer key text ``PRIVATE+KEY+name+hash+base64(alg || seed)`` (keep it secret)."""
        data = base64.b64encode(bytes([self.alg]) + bytes(self._key)).decode()
        return f"PRIVATE+KEY+{self.name}+{self.key_id.hex()}+{data}"

    @classmethod
    def parse(cls, text: str) -> Signer:
        """A signer from its skey text."""
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("signer key: expected PRIVATE+KEY+NAME+HASH+BASE64")
        name, hash_hex, data = parts[2:]
        try:
            raw = base64.b64decode(data, validate=True)
        except binascii.Error as exc:
            raise NoteError(f"signer key {name!r}: key data is not base64: {exc}") from exc
        if len(raw) != 33:
            raise NoteError(f"signer key {name!r}: expected a type byte and a 32-byte seed")
        signer = cls(name, raw[1:], raw[0])
        if signer.key_id.hex() != hash_hex.lower():
            raise NoteError(f"signer key {name!r}: key id {hash_hex} does not match the key")
        return signer


def generate(name: str, alg: int = ALG_ED25519) -> Signer:
    """A new random key named ``name``."""
    return Signer(name, bytes(nacl.signing.SigningKey.generate()), alg)


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: the key ``name``, its 4-byte ``key_id`` and the signature bytes after it."""

    name: str
    key_id: bytes
    signature: bytes

    @property
    def line(self) -> str:
        """The signature line, without its newline."""
        return f"{DASH} {self.name} {base64.b64encode(self.key_id + self.signature).decode()}"


def format_note(body: str, signatures: list[NoteSignature]) -> str:
    """The note text: ``body`` (ending in a newline), a blank line, a line per signature."""
    if not body.endswith("\n"):
        raise NoteError("note body: expected text ending in a newline")
    return body + "\n" + "".join(sig.line + "\n" for sig in signatures)


def split_note(text: str) -> tuple[str, list[NoteSignature]]:
    """The body and the signature lines of a note; :class:`NoteError` says what is malformed."""
    body, sep, sigs = text.rpartition("\n\n")
    if not sep or not sigs.endswith("\n"):
        raise NoteError("note: expected a body, a blank line and signature lines each ending in a newline")
    body += "\n"
    signatures = []
    for line in sigs[:-1].split("\n"):
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != DASH:
            raise NoteError(f"note signature line {line[:60]!r}: expected '{DASH} NAME BASE64'")
        try:
            raw = base64.b64decode(parts[2], validate=True)
        except binascii.Error as exc:
            raise NoteError(f"note signature by {parts[1]!r}: not base64: {exc}") from exc
        if len(raw) < 5:
            raise NoteError(f"note signature by {parts[1]!r}: expected a key id and a signature")
        signatures.append(NoteSignature(parts[1], raw[:4], raw[4:]))
    if not signatures:
        raise NoteError("note: expected at least one signature line")
    return body, signatures
