"""Replace a file's contents atomically: after a crash or power cut it holds the old or the new bytes.

The new contents go to a temporary file in the same directory (so the rename stays on one file
system), which is flushed and fsynced, renamed over the target with ``os.replace``, and then the
directory itself is fsynced so the rename is durable.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

#: Permissions of a written file (mkstemp creates it 0600).
FILE_MODE = 0o644


def atomic_write(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically; raises ``OSError`` (and leaves no temporary file) on failure."""
    path = Path(path)
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as tmp:
            os.fchmod(tmp.fileno(), FILE_MODE)
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise
    fsync_directory(directory)


def fsync_directory(directory: str | Path) -> None:
    """Make renames and creations in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
