"""Fixtures shared by every test package: the repository root and real pseudo-terminals.

Test-specific fixtures live in the test files that use them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ptyfake import PtyPair

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def repo_root() -> Path:
    """The repository checkout (where ``docs/``, ``configs/`` and ``hal/`` live)."""
    return REPO_ROOT


@pytest.fixture
def pty_pair() -> Iterator[PtyPair]:
    """A real pty: ``master_fd`` for a device in the test, ``path`` for the host to open. Closed after."""
    pair = PtyPair()
    try:
        yield pair
    finally:
        pair.close()
