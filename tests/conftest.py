"""Fixtures shared across test files: real pseudo-terminals.

Fixtures that only one test file needs live in that file.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.ptyfake import PtyPair


@pytest.fixture
def pty_pair() -> Iterator[PtyPair]:
    """A real pty: ``master_fd`` for a device in the test, ``path`` for the host to open. Closed after."""
    pair = PtyPair()
    try:
        yield pair
    finally:
        pair.close()
