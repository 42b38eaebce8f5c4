"""One flight process per file: an advisory lock beside flight's store and spool.

Two flight processes on one store would overwrite each other's mission state and backups; on one spool they
would number packets over each other, and ground would archive the intruder's packets as if they were the
rover's. So flight takes an exclusive ``flock`` on ``PATH.lock`` (holding its process id, for the message)
before it writes either file, and keeps it until it closes the file. The kernel drops the lock when the
process dies, so a crash never leaves a stale lock behind; tools that only read (``isru store show``,
``isru store check``) take none.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

__all__ = ["FileLock", "FileLocked"]


class FileLocked(OSError):
    """The lock could not be taken: another process holds it, or its file cannot be opened; the message names
    the file, the holder and what to do."""


class FileLock:
    """The exclusive lock of ``PATH.lock`` for the file ``path`` (``what`` names it in messages)."""

    def __init__(self, path: Path, what: str) -> None:
        self.path = Path(f"{path}.lock")
        self._fd: int | None = None
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise FileLocked(f"{path}: cannot open the {what}'s lock file {self.path}: {exc}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise FileLocked(
                f"{path}: another flight process (pid {holder}) is using this {what}; expected one flight process "
                f"per {what}: stop that one first, or give this one its own file"
            ) from None
        except OSError as exc:
            os.close(fd)
            raise FileLocked(f"{path}: cannot lock the {what}'s lock file {self.path}: {exc}") from exc
        try:  # the holder's pid, for the message above (the lock is what counts, not the text)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        except OSError:
            pass  # a full disk: the lock holds all the same
        self._fd = fd

    def release(self) -> None:
        """Let the file go (idempotent)."""
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None
