"""The ledger's Ed25519 keys, beside the link's CURVE certificates in the key directory.

Layout (made by ``isru keys init``, or :func:`init_ledger_keys` for an older directory)::

    DIR/ledger/              mode 0700
      rover.skey             the rover's record-signing key (mode 0600; flight only)
      rover.vkey             its signed-note verifier key (partners need it)
      log.skey               the ground log's checkpoint-signing key (mode 0600; the ground hub only)
      log.vkey               its verifier key (partners need it)
      witnesses/NAME.skey    a partner's cosigning key (type 0x04; the partner only)
      witnesses/NAME.vkey

Key files hold C2SP signed-note key text (:mod:`link.note`) on one line.
"""

from __future__ import annotations

from pathlib import Path

from link.errors import KeyFileError, NoteError
from link.note import ALG_COSIGNATURE, Signer, Verifier, generate

__all__ = ["LOG", "ROVER", "add_witness", "init_ledger_keys", "load_signer", "load_verifier", "signer_path"]

ROVER = "rover"
LOG = "log"
DEFAULT_ROVER_NAME = "isru-rover"
DEFAULT_LOG_NAME = "isru-ground/ledger"


def _folder(root: Path) -> Path:
    folder = root / "ledger"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    return folder


def _write(folder: Path, role: str, signer: Signer) -> None:
    secret = folder / f"{role}.skey"
    try:
        secret.write_text(signer.skey + "\n")
        secret.chmod(0o600)
        (folder / f"{role}.vkey").write_text(signer.verifier.vkey + "\n")
    except OSError as exc:
        raise KeyFileError(f"{folder}: cannot write the {role} key: {exc}") from exc


def signer_path(directory: str | Path, role: str) -> Path:
    """Where the secret key of ``role`` (``rover``, ``log`` or ``witnesses/NAME``) lives."""
    return Path(directory) / "ledger" / f"{role}.skey"


def init_ledger_keys(
    directory: str | Path,
    *,
    rover_name: str = DEFAULT_ROVER_NAME,
    log_name: str = DEFAULT_LOG_NAME,
    force: bool = False,
) -> Path:
    """Make the rover's and the log's keys in ``DIR/ledger`` unless they exist (or ``force``); returns the folder."""
    folder = _folder(Path(directory))
    for role, name in ((ROVER, rover_name), (LOG, log_name)):
        if (folder / f"{role}.skey").exists() and not force:
            continue
        try:
            _write(folder, role, generate(name))
        except NoteError as exc:
            raise KeyFileError(f"{folder}: {role} key name {name!r}: {exc}") from exc
    return folder


def add_witness(directory: str | Path, name: str) -> Path:
    """Make a partner's cosigning (witness) key ``DIR/ledger/witnesses/NAME.skey``; returns it."""
    folder = _folder(Path(directory)) / "witnesses"
    folder.mkdir(mode=0o700, exist_ok=True)
    stem = name.replace("/", "_")
    if (folder / f"{stem}.skey").exists():
        raise KeyFileError(f"{folder}: witness {name!r} already exists; expected a new name")
    try:
        signer = generate(name, ALG_COSIGNATURE)
    except NoteError as exc:
        raise KeyFileError(f"witness name {name!r}: {exc}") from exc
    _write(folder, stem, signer)
    return folder / f"{stem}.skey"


def load_signer(path: str | Path) -> Signer:
    """The secret key in ``path`` (must be mode 0600)."""
    path = Path(path)
    try:
        if path.stat().st_mode & 0o077:
            raise KeyFileError(f"{path}: secret key readable by others; expected mode 600")
        return Signer.parse(path.read_text())
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read the key: {exc}; expected a file made by `isru keys init`") from exc
    except NoteError as exc:
        raise KeyFileError(f"{path}: {exc}") from exc


def load_verifier(path: str | Path) -> Verifier:
    """The verifier key in ``path`` (a ``.vkey`` file, or the vkey text itself)."""
    text = str(path)
    if "+" not in text or Path(text).exists():
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise KeyFileError(f"{path}: cannot read the verifier key: {exc}") from exc
    try:
        return Verifier.parse(text)
    except NoteError as exc:
        raise KeyFileError(f"{path}: {exc}") from exc
