"""Fixtures shared across test files: real pseudo-terminals, a small real disk to fill.

Fixtures that only one test file needs live in that file.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.disks import small_disk  # noqa: F401  (a fixture: a 2 MiB tmpfs for full-disk tests)
from tests.support.ptyfake import PtyPair


@pytest.fixture
def pty_pair() -> Iterator[PtyPair]:
    """A real pty: ``master_fd`` for a device in the test, ``path`` for the host to open. Closed after."""
    pair = PtyPair()
    try:
        yield pair
    finally:
        pair.close()
