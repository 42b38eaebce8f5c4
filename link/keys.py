"""The link's key directory: CURVE certificates for flight and every ground client, and who may connect.

Layout made by :func:`init_keys` (``isru keys init DIR``)::

    DIR/                       mode 0700
      server.key               flight's public key (ground needs it)
      server.key_secret        flight's secret key (mode 0600; flight only)
      clients/                 mode 0700: the ground side's certificates
        operator.key  operator.key_secret
        observer.key  observer.key_secret
        archive.key  archive.key_secret
      allowed/                 mode 0700: the public keys flight lets in, one folder per role
        operator/operator.key
        observer/observer.key
        archive/archive.key
        safety/                (empty until ``add-client NAME --role safety``)
      ledger/                  mode 0700: the ledger's Ed25519 keys (:mod:`link.ledger_keys`)
        rover.skey rover.vkey log.skey log.vkey

A client's role is the folder its public key is in and its name is the file name (see :data:`ROLES`).
:func:`add_client` (``isru keys add-client DIR NAME --role ROLE``) adds one.
Flight needs ``server.key_secret`` and ``allowed/``; a ground station needs ``server.key`` and its own
``clients/NAME.key_secret``: copy only those to each machine.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

import zmq.auth

from link.errors import KeyFileError
from link.ledger_keys import init_ledger_keys

_LOGGER = logging.getLogger(__name__)

__all__ = [
    "COMMANDING_ROLES",
    "ROLES",
    "SAFETY_COMMANDS",
    "STATION_ROLES",
    "ClientIdentity",
    "add_client",
    "add_missing_clients",
    "allowed_signature",
    "init_keys",
    "load_allowed",
    "load_client_keys",
    "load_server_keys",
]

#: Client roles: ``operator`` may command; ``observer`` only reads; ``archive`` is the archiving ground station —
#: it commands like an operator and only its acknowledgements let flight prune its spool; ``safety`` may only
#: send :data:`SAFETY_COMMANDS` (a safety officer's console).
ROLES = ("operator", "observer", "archive", "safety")
#: The roles of ground *stations* — what a flight process admits by default (``[link] admit``). People and
#: partners (consoles, observers) log in to the ground hub instead, never to flight: an ``observer`` key is
#: refused unless flight is configured to admit that role.
STATION_ROLES = ("archive", "operator", "safety")
#: Roles that may send any command.
COMMANDING_ROLES = frozenset({"operator", "archive"})
#: The only commands a ``safety`` client may send: the emergency stop and holding the mission.
SAFETY_COMMANDS = frozenset({"estop", "mission.hold"})
#: The clients ``init_keys`` makes, one per role named after it.
_INITIAL = ("operator", "observer", "archive")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
SERVER = "server"


@dataclass(frozen=True)
class ClientIdentity:
    """Who a connected client is: its name (certificate file name), role, and Z85 public key (b"" if none)."""

    name: str
    role: str
    key: bytes = b""

    def may_send(self, command: str) -> bool:
        """This client's role lets it send ``command``."""
        return self.role in COMMANDING_ROLES or (self.role == "safety" and command in SAFETY_COMMANDS)


def _private_dir(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def _check_name(name: str) -> str:
    if not _NAME.match(name) or name == SERVER:
        raise KeyFileError(
            f"client name {name!r}: expected 1-64 letters, digits, '_', '-' or '.', starting with a letter or "
            f"digit, and not {SERVER!r}"
        )
    return name


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise KeyFileError(f"role {role!r}: expected one of {list(ROLES)}")
    return role


def _create(directory: Path, name: str) -> tuple[Path, Path]:
    try:
        public, secret = zmq.auth.create_certificates(directory, name)
        Path(secret).chmod(0o600)
        Path(public).chmod(0o644)
    except OSError as exc:
        raise KeyFileError(f"{directory}: cannot write the certificates of {name!r}: {exc}") from exc
    return Path(public), Path(secret)


def init_keys(directory: str | Path, *, force: bool = False) -> Path:
    """Create a key directory with the server, an ``operator`` and an ``observer`` client; returns it.

    Refuses (KeyFileError) to overwrite an existing ``server.key_secret`` unless ``force``.
    """
    root = _private_dir(Path(directory))
    if (root / f"{SERVER}.key_secret").exists() and not force:
        raise KeyFileError(f"{root}: already holds {SERVER}.key_secret; expected an empty or new directory")
    _create(root, SERVER)
    _private_dir(root / "clients")
    allowed = _private_dir(root / "allowed")
    for role in ROLES:
        _private_dir(allowed / role)
    for role in _INITIAL:
        add_client(root, role, role=role)
    init_ledger_keys(root, force=force)
    _LOGGER.info("link keys created in %s", root)
    return root


def add_client(directory: str | Path, name: str, *, role: str) -> Path:
    """Create client ``name`` with ``role`` and allow it; returns its secret certificate file."""
    root = Path(directory)
    _check_name(name)
    _check_role(role)
    if not (root / f"{SERVER}.key").exists():
        raise KeyFileError(f"{root}: no {SERVER}.key; expected a directory made by `isru keys init`")
    for other in ROLES:
        if (root / "allowed" / other / f"{name}.key").exists():
            raise KeyFileError(f"{root}: client {name!r} already exists (role {other}); expected a new name")
    clients = _private_dir(root / "clients")
    public, secret = _create(clients, name)
    allowed = _private_dir(root / "allowed" / role)
    (allowed / f"{name}.key").write_bytes(public.read_bytes())
    return secret


def _load(path: Path, *, secret: bool) -> tuple[bytes, bytes | None]:
    if not path.is_file():
        raise KeyFileError(f"{path}: no such certificate; expected a file made by `isru keys init`")
    if secret:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise KeyFileError(f"{path}: secret key readable by others (mode {mode:o}); expected mode 600")
    try:
        public_key, secret_key = zmq.auth.load_certificate(path)
    except (OSError, ValueError) as exc:
        raise KeyFileError(f"{path}: not a CURVE certificate: {exc}") from exc
    if secret and not secret_key:
        raise KeyFileError(f"{path}: no secret-key in the certificate; expected a .key_secret file")
    for key in (public_key, secret_key):
        if key is not None and len(key) != 40:
            raise KeyFileError(f"{path}: expected 40-character Z85 keys, found one of {len(key)}")
    return public_key, secret_key


def load_server_keys(directory: str | Path) -> tuple[bytes, bytes]:
    """Flight's ``(public, secret)`` Z85 keys from ``DIR/server.key_secret``."""
    public, secret = _load(Path(directory) / f"{SERVER}.key_secret", secret=True)
    assert secret is not None
    return public, secret


def add_missing_clients(directory: str | Path) -> list[str]:
    """Add the clients ``isru keys init`` makes (operator, observer, archive, each in its own role) that a key
    directory made by an older version lacks; returns their names. A name already allowed in any role is left
    alone."""
    root = Path(directory)
    added = []
    for name in _INITIAL:
        if not any((root / "allowed" / role / f"{name}.key").exists() for role in ROLES):
            add_client(root, name, role=name)
            added.append(name)
    return added


def load_client_keys(directory: str | Path, name: str) -> tuple[bytes, bytes, bytes]:
    """Client ``name``'s ``(public, secret, server_public)`` Z85 keys."""
    root = Path(directory)
    public, secret = _load(root / "clients" / f"{_check_name(name)}.key_secret", secret=True)
    server_public, _ = _load(root / f"{SERVER}.key", secret=False)
    assert secret is not None
    return public, secret, server_public


def parse_roles(text: str) -> tuple[str, ...]:
    """``"archive, operator"`` → ``("archive", "operator")``; :class:`KeyFileError` naming an unknown role."""
    roles = tuple(part.strip() for part in str(text).split(",") if part.strip())
    if not roles:
        raise KeyFileError(f"admitted roles {text!r}: expected a comma-separated list of {', '.join(ROLES)}")
    for role in roles:
        _check_role(role)
    return roles


def load_allowed(
    directory: str | Path, errors: list[str] | None = None, *, roles: tuple[str, ...] = ROLES
) -> dict[bytes, ClientIdentity]:
    """Every allowed client's Z85 public key → its identity, from ``DIR/allowed/<role>/<name>.key``, for the
    ``roles`` admitted (keys in the other role folders are left out: flight refuses them).

    A bad key file (unreadable, not a certificate, a key allowed twice) raises :class:`KeyFileError` naming it;
    with ``errors`` given it is skipped instead and the error appended there, so one bad file never stops the
    others from loading."""
    root = Path(directory) / "allowed"
    if not root.is_dir():
        raise KeyFileError(f"{root}: no such directory; expected the allowed-keys folder made by `isru keys init`")
    allowed: dict[bytes, ClientIdentity] = {}
    for role in roles:
        folder = root / role
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.key")):
            try:
                public, _ = _load(path, secret=False)
                if public in allowed:
                    raise KeyFileError(f"{path}: the same key is also allowed as {allowed[public]}; expected one role")
            except KeyFileError as exc:
                if errors is None:
                    raise
                errors.append(str(exc))
                continue
            allowed[public] = ClientIdentity(path.stem, role, public)
    return allowed


def allowed_signature(directory: str | Path) -> tuple[tuple[str, int, int], ...]:
    """What the allowed-keys folder holds, cheaply: (path, size, mtime ns) of every key file, sorted. A change
    means the keys must be read again."""
    root = Path(directory) / "allowed"
    entries = []
    for path in sorted(root.glob("*/*.key")):
        try:
            info = path.stat()
        except OSError:
            continue
        entries.append((str(path), info.st_size, info.st_mtime_ns))
    return tuple(entries)


def key_file_mode(path: str | Path) -> int:
    """Permission bits of ``path`` (for checks and tests)."""
    return stat.S_IMODE(os.stat(path).st_mode)
